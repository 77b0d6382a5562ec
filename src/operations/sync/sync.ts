/**
 * `acx-data sync` (docs/design.md §10): the chosen directions in the fixed order of SYNC_DIRECTIONS
 * (neo4j-postgres, translations, postgres-neo4j, postgres-qdrant). A direction that fails ends there (its committed batches
 * stay, and are counted); the next ones still run, and the outcome says which failed.
 */
import { AcxError } from '../../errors.ts';
import { canonicalTimestamp } from '../../model/dtc-sync.ts';
import { failureOf, outcomeOf, type Outcome, type RunFailure } from '../outcome.ts';
import {
  SYNC_DIRECTIONS,
  TARGET,
  emptyDirection,
  storeOf,
  type DirectionSummary,
  type SyncContext,
  type SyncDirection,
} from './sync-context.ts';
import { syncPostgresToNeo4j } from './sync-nodes.ts';
import { requireEmbeddings, syncPostgresToQdrant } from './sync-points.ts';
import { syncNeo4jToPostgres } from './sync-reverse.ts';
import { syncTranslations, translationSummaries } from './sync-translations.ts';

export { SYNC_DIRECTIONS, type SyncDirection, type DirectionSummary } from './sync-context.ts';

export type SyncOptions = Omit<SyncContext, 'now'> & { directions: readonly SyncDirection[] };

export interface SyncSummary {
  outcome: Outcome;
  dryRun: boolean;
  force: boolean;
  prune: boolean;
  batchSize: number;
  labelScheme: string;
  /** The embedding model used, when a direction writes Qdrant. */
  embeddingModel?: string;
  directions: DirectionSummary[];
  failures: RunFailure[];
  /** Source records not written, over every direction (each listed in its direction). */
  rejected: number;
  seconds: number;
}

/** The stores the chosen directions read or write. */
export function storesFor(directions: readonly SyncDirection[]): ('postgres' | 'neo4j' | 'qdrant')[] {
  const needed = new Set<'postgres' | 'neo4j' | 'qdrant'>(['postgres']);
  for (const d of directions) {
    if (d !== 'postgres-qdrant') needed.add('neo4j');
    if (d === 'postgres-qdrant' || d === 'translations') needed.add('qdrant');
  }
  return [...needed];
}

/** True when a direction writes vectors (an embedding provider is required). */
export const needsEmbeddings = (directions: readonly SyncDirection[]): boolean =>
  directions.includes('postgres-qdrant') || directions.includes('translations');

async function runDirection(ctx: SyncContext, direction: SyncDirection): Promise<DirectionSummary[]> {
  if (direction === 'translations') {
    const summaries = translationSummaries();
    await timed(summaries.postgres, () => syncTranslations(ctx, summaries));
    return [summaries.postgres, summaries.neo4j, summaries.qdrant];
  }
  const summary = emptyDirection(direction);
  const work = {
    'postgres-neo4j': syncPostgresToNeo4j,
    'postgres-qdrant': syncPostgresToQdrant,
    'neo4j-postgres': syncNeo4jToPostgres,
  }[direction];
  await timed(summary, () => work(ctx, summary));
  return [summary];
}

/** Runs `work`, recording its time and, when it fails, the failure (INTERRUPTED too: the caller stops there). */
async function timed(summary: DirectionSummary, work: () => Promise<void>): Promise<void> {
  const started = performance.now();
  try {
    await work();
  } catch (error) {
    summary.failure = failureOf(summary.direction, error);
  } finally {
    summary.seconds = (performance.now() - started) / 1000;
  }
}

/** How many source records a direction compares (for progress bars); undefined when not known cheaply. */
async function sourceTotal(ctx: SyncContext, direction: SyncDirection): Promise<number | undefined> {
  try {
    if (direction === 'postgres-neo4j' || direction === 'postgres-qdrant')
      return (await storeOf(ctx, 'postgres').counts({ labels: ctx.labels, collection: '' })).tables
        ?.dtc_codes;
    if (direction === 'neo4j-postgres')
      return (await storeOf(ctx, 'neo4j').counts({ labels: ctx.labels, collection: '' })).labels?.[
        ctx.labels.label('dtc')
      ];
  } catch {
    // A count is only for the progress bar: the direction itself reports a store that fails.
  }
  return undefined;
}

export async function runSync(options: SyncOptions): Promise<SyncSummary> {
  const started = performance.now();
  const ctx: SyncContext = { ...options, now: canonicalTimestamp(new Date().toISOString()) };
  const order = SYNC_DIRECTIONS.filter((d) => options.directions.includes(d));
  if (order.length === 0)
    throw new AcxError(
      'USAGE',
      'name a direction: --all, --postgres-neo4j, --postgres-qdrant, --neo4j-postgres or --translations',
    );
  if (needsEmbeddings(order)) requireEmbeddings(ctx);
  const directions: DirectionSummary[] = [];
  for (const direction of order) {
    const total = await sourceTotal(ctx, direction);
    ctx.reporter.emit({
      type: 'dataset-start',
      store: TARGET[direction],
      dataset: direction,
      ...(total === undefined ? {} : { total }),
    });
    const done = await runDirection(ctx, direction);
    directions.push(...done);
    // Ctrl-C ends the run here, with what each direction committed so far in the summary.
    if (done.some((d) => d.failure?.code === 'INTERRUPTED')) break;
    const first = done[0];
    if (first)
      ctx.reporter.emit({
        type: 'dataset-done',
        store: first.target,
        dataset: direction,
        records: first.checked,
        seconds: first.seconds,
      });
  }
  const failures = directions.flatMap((d) => (d.failure ? [d.failure] : []));
  const rejected = directions.reduce((n, d) => n + d.rejectedCount, 0);
  const outcome = outcomeOf(failures, order.length);
  return {
    // Records that could not be written (each listed) leave the run incomplete, like a failed direction.
    outcome: outcome === 'complete' && rejected > 0 ? 'incomplete' : outcome,
    rejected,
    dryRun: options.dryRun,
    force: options.force,
    prune: options.prune,
    batchSize: options.batchSize,
    labelScheme: options.labels.scheme,
    ...(options.embeddings && needsEmbeddings(order) ? { embeddingModel: options.embeddings.model } : {}),
    directions,
    failures,
    seconds: (performance.now() - started) / 1000,
  };
}
