/**
 * What every sync direction shares: the options of the run, the stores, the datasets they read and
 * write (docs/design.md §10), and the counters a direction reports.
 */
import type { EmbeddingProvider } from '../../embeddings/embedding-provider.ts';
import type { LabelMap } from '../../model/labels.ts';
import { AUTOCOGNITIX_COLLECTION } from '../../model/qdrant-model.ts';
import { RELATED_TO } from '../../model/dtc-sync.ts';
import type { ProgressReporter } from '../../progress.ts';
import type { RecordDataset, Store } from '../../stores/store.ts';
import { AcxError } from '../../errors.ts';
import type { RunFailure } from '../outcome.ts';

/**
 * The directions in the order they run (docs/design.md §10.1): Neo4j → PostgreSQL first, so that codes
 * only Neo4j held are in PostgreSQL before the forward directions compare (otherwise `--all --prune`
 * would delete them first, and a second `--all --force` would still write); translations next, so that
 * the forward directions carry the new texts.
 */
export const SYNC_DIRECTIONS = [
  'neo4j-postgres',
  'translations',
  'postgres-neo4j',
  'postgres-qdrant',
] as const;
export type SyncDirection = (typeof SYNC_DIRECTIONS)[number];

export interface SyncContext {
  stores: { postgres?: Store; neo4j?: Store; qdrant?: Store };
  labels: LabelMap;
  force: boolean;
  dryRun: boolean;
  prune: boolean;
  batchSize: number;
  /** The application's data folder (`--data-dir`): the translation cache is under it. */
  dataDir: string;
  /**
   * `--all` without `--translations`: an application without a translation cache has nothing to
   * translate (noted), where a `--translations` named on its own refuses a missing cache (NOT_FOUND).
   */
  cacheOptional?: boolean;
  embeddings?: EmbeddingProvider;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  /** The run's time, canonical (timestamps of rows the sync creates or translates). */
  now: string;
}

/** What one direction did (a dry run: what it would do), exactly: only committed batches count. */
export interface DirectionSummary {
  direction: SyncDirection;
  /** The store written (translations report PostgreSQL, then the Neo4j and Qdrant writes they cause). */
  target: 'postgres' | 'neo4j' | 'qdrant';
  /** Source records compared. */
  checked: number;
  /** Records created in the target. */
  created: number;
  /** Records whose synced content differed, rewritten (`--force`). */
  updated: number;
  /** Records whose synced content differed, left as they are (no `--force`). */
  different: number;
  /** Records equal in both stores: never written. */
  unchanged: number;
  /** Records only in the target (reported; deleted with `--prune`). */
  extra: number;
  /** The first extra codes met (in key order; Qdrant: point-id order), at most EXTRA_CODES_SHOWN. */
  extraCodes: string[];
  /** Records deleted by `--prune`. */
  pruned: number;
  /** `RELATED_TO` relationships created and deleted (PostgreSQL → Neo4j). */
  linksCreated: number;
  linksDeleted: number;
  /** Extra `RELATED_TO` relationships (reported; deleted with `--prune`). */
  extraLinks: number;
  /** Texts embedded (a dry run: that would be embedded). */
  embeddings: number;
  /** Source records that cannot be written, each with the reason. */
  rejected: { code: string; reason: string }[];
  /** All records not written as invalid (`rejected` keeps the first RECORDS_LISTED). */
  rejectedCount: number;
  /** Source records left out for a reason that is no error (a cache entry naming a code PostgreSQL lacks). */
  skipped: { code: string; reason: string }[];
  skippedCount: number;
  seconds: number;
  failure?: RunFailure;
  /** Why the direction had nothing to do, when that is no failure (no translation cache under `--all`). */
  note?: string;
}

/** The store each direction writes (translations: PostgreSQL first). */
export const TARGET: Record<SyncDirection, 'postgres' | 'neo4j' | 'qdrant'> = {
  'postgres-neo4j': 'neo4j',
  'postgres-qdrant': 'qdrant',
  'neo4j-postgres': 'postgres',
  translations: 'postgres',
};

export const EXTRA_CODES_SHOWN = 20;

export function emptyDirection(
  direction: SyncDirection,
  target: DirectionSummary['target'] = TARGET[direction],
): DirectionSummary {
  return {
    direction,
    target,
    checked: 0,
    created: 0,
    updated: 0,
    different: 0,
    unchanged: 0,
    extra: 0,
    extraCodes: [],
    pruned: 0,
    linksCreated: 0,
    linksDeleted: 0,
    extraLinks: 0,
    embeddings: 0,
    rejected: [],
    rejectedCount: 0,
    skipped: [],
    skippedCount: 0,
    seconds: 0,
  };
}

/** Records listed in a summary's `rejected` and `skipped`; the counts are complete. */
export const RECORDS_LISTED = 100;

/** A source record that cannot be written (invalid): the run ends incomplete. */
export function noteRejected(summary: DirectionSummary, code: string, reason: string): void {
  summary.rejectedCount++;
  if (summary.rejected.length < RECORDS_LISTED) summary.rejected.push({ code, reason });
}

/** A source record left out for a reason that is no error. */
export function noteSkipped(summary: DirectionSummary, code: string, reason: string): void {
  summary.skippedCount++;
  if (summary.skipped.length < RECORDS_LISTED) summary.skipped.push({ code, reason });
}

export function noteExtra(summary: DirectionSummary, codes: readonly string[]): void {
  summary.extra += codes.length;
  for (const code of codes) if (summary.extraCodes.length < EXTRA_CODES_SHOWN) summary.extraCodes.push(code);
}

export const DTC_TABLE: RecordDataset = { store: 'postgres', table: 'dtc_codes', key: 'code' };

export const dtcNodes = (labels: LabelMap, withLinks = false): RecordDataset => ({
  store: 'neo4j',
  label: labels.label('dtc'),
  key: 'code',
  ...(withLinks ? { links: RELATED_TO } : {}),
});

export const DTC_POINTS: RecordDataset = {
  store: 'qdrant',
  collection: AUTOCOGNITIX_COLLECTION,
  type: 'dtc',
};

/** The store a direction needs; the CLI opens every store the chosen directions need. */
export function storeOf(ctx: Pick<SyncContext, 'stores'>, name: 'postgres' | 'neo4j' | 'qdrant'): Store {
  const store = ctx.stores[name];
  if (!store) throw new AcxError('INTERNAL', `sync needs ${name}, which was not opened`);
  return store;
}

/** Reports how far a direction is (records compared so far). */
export function progress(
  ctx: Pick<SyncContext, 'reporter'>,
  summary: DirectionSummary,
  total?: number,
): void {
  ctx.reporter.emit({
    type: 'dataset-progress',
    store: summary.target,
    dataset: summary.direction,
    done: summary.checked,
    ...(total === undefined ? {} : { total }),
  });
}

/** The codes among `codes` that `dtc_codes` lacks (DTC nodes or points PostgreSQL has no row for). */
export async function codesPostgresLacks(
  ctx: Pick<SyncContext, 'stores'>,
  codes: readonly string[],
): Promise<string[]> {
  const { found } = await storeOf(ctx, 'postgres').readByKey(DTC_TABLE, codes);
  return codes.filter((c) => !found.has(c));
}
