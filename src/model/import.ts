/**
 * Shared vocabulary of the import: counts per dataset, rejected records, and the context every store's
 * importer gets. Importers never print; they report through `ImportContext`.
 */
import type { ConflictStrategy } from './conflict.ts';
import type { ProgressEvent, ProgressReporter, StoreName } from '../progress.ts';
import type { InputTarget } from './input.ts';

export interface DatasetCounts {
  /** New records written. */
  inserted: number;
  /** Stored records changed by the conflict strategy. */
  updated: number;
  /** Stored records left as they were (the strategy kept them). */
  skipped: number;
  /** Invalid records: never written, each reported. */
  rejected: number;
}

export const zeroCounts = (): DatasetCounts => ({ inserted: 0, updated: 0, skipped: 0, rejected: 0 });

/** One invalid record: where it is (store, dataset, file, line, field) and why it cannot be imported. */
export type Rejection = Omit<Extract<ProgressEvent, { type: 'rejected' }>, 'type'>;

export interface ImportContext {
  strategy: ConflictStrategy;
  /** Records per write batch (`--batch-size`). */
  batchSize: number;
  /** `import` writes; `dry-run` and `validate` do the same work and write nothing. */
  writes: boolean;
  reporter: ProgressReporter;
  reject(rejection: Rejection): void;
  signal?: AbortSignal;
  /**
   * A folder for what must outlive a killed run (the Qdrant undo file): the run journal's folder in the
   * state directory (docs/design.md §9). None: a store uses a temporary folder of its own.
   */
  workDir?: string;
}

export interface DatasetResult {
  store: StoreName;
  dataset: string;
  file: string;
  /** What it was written to: a table, label, relationship type or collection. */
  target: string;
  counts: DatasetCounts;
  /** Why some records were skipped without being invalid (e.g. personal data an export left out). */
  notes?: string[];
}

/** The problems of one invalid record, each reported; the record counts once as rejected. */
export function rejectRecord(
  ctx: ImportContext,
  counts: DatasetCounts,
  store: StoreName,
  dataset: { name: string; file: string },
  line: number,
  problems: readonly { field?: string; reason: string }[],
): void {
  for (const p of problems)
    ctx.reject({ store, dataset: dataset.name, file: dataset.file, line, field: p.field, reason: p.reason });
  counts.rejected++;
}

/**
 * Reads a dataset's records in batches of `--batch-size` and hands each batch to `handle`, with a
 * dataset-start event, progress after each batch and an abort check before it; returns the records read.
 */
export async function forEachBatch<T>(
  ctx: ImportContext,
  store: StoreName,
  dataset: { name: string; records(): AsyncIterable<T> },
  handle: (batch: T[]) => Promise<void>,
): Promise<number> {
  ctx.reporter.emit({ type: 'dataset-start', store, dataset: dataset.name });
  let batch: T[] = [];
  let done = 0;
  const flush = async () => {
    ctx.signal?.throwIfAborted();
    await handle(batch);
    done += batch.length;
    batch = [];
    ctx.reporter.emit({ type: 'dataset-progress', store, dataset: dataset.name, done });
  };
  for await (const record of dataset.records()) {
    batch.push(record);
    if (batch.length >= ctx.batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  return done;
}

/** Seconds since `started` (a `performance.now()`). */
export const secondsSince = (started: number): number => (performance.now() - started) / 1000;

/** Reports a dataset as done (`records` read, in `seconds`) and returns its result. */
export function datasetDone(
  ctx: ImportContext,
  result: DatasetResult,
  records: number,
  seconds: number,
): DatasetResult {
  ctx.reporter.emit({ type: 'dataset-done', store: result.store, dataset: result.dataset, records, seconds });
  return result;
}

/** A node an import has written, by its key: what relationships naming it by input id resolve to. */
export interface NodeRef {
  label: string;
  keyProperty: string;
  /** The key value, JSON-encoded with the tags of stores/neo4j/neo4j-values.ts. */
  key: string;
}

/**
 * What an import remembers while it runs, outside memory (the operation provides it: a temporary
 * SQLite file). Store importers use it to find duplicate keys and to resolve relationship endpoints.
 */
export interface ImportLedger {
  /** Records that `key` was seen in `scope` at `line`: null the first time, else the first line. */
  firstSeen(scope: string, key: string, line: number): number | null;
  /** Remembers a node of input `source` (a file) by its input id. */
  rememberNode(source: string, id: string, ref: NodeRef): void;
  findNode(source: string, id: string): NodeRef | undefined;
  /** Groups many writes: call it around each batch of records. */
  batch<T>(work: () => T): T;
  close(): void;
}

/** Tables an import never writes: accounts cannot be recreated from an export (no password hashes). */
export const NOT_IMPORTED_TABLES: Record<string, string> = {
  users: 'accounts are never imported (exports hold no password hashes); create users in the application',
  alembic_version: 'migration bookkeeping belongs to the target database',
};

/** Why an input dataset is never imported (what it is, and why), or undefined. */
export function notImported(target: InputTarget): { object: string; reason: string } | undefined {
  if (target.store !== 'postgres') return undefined;
  const reason = NOT_IMPORTED_TABLES[target.table];
  return reason ? { object: `table ${target.table}`, reason } : undefined;
}
