/**
 * Neo4j → PostgreSQL (docs/design.md §10.2): rows for the DTC nodes whose code PostgreSQL lacks, with a
 * valid value for every NOT NULL column. A code in both stores is never written: PostgreSQL wins.
 */
import {
  DTC_FIELDS,
  canonicalDtc,
  canonicalFromNode,
  differingFields,
  rowFromNode,
} from '../../model/dtc-sync.ts';
import {
  DTC_TABLE,
  dtcNodes,
  noteRejected,
  progress,
  storeOf,
  type DirectionSummary,
  type SyncContext,
} from './sync-context.ts';
import { pages } from './sync-pages.ts';

async function reverseBatch(
  ctx: SyncContext,
  page: readonly Record<string, unknown>[],
  summary: DirectionSummary,
): Promise<void> {
  const postgres = storeOf(ctx, 'postgres');
  const nodes = page.map(canonicalFromNode);
  const { found } = await postgres.readByKey(
    DTC_TABLE,
    nodes.map((n) => n.code),
  );
  const upsert: Record<string, unknown>[] = [];
  for (const node of nodes) {
    summary.checked++;
    const row = found.get(node.code);
    if (row !== undefined) {
      if (differingFields(canonicalDtc(row), node).length === 0) summary.unchanged++;
      else summary.different++;
      continue;
    }
    const made = rowFromNode(node, ctx.now);
    if ('problem' in made) noteRejected(summary, node.code, made.problem);
    else upsert.push(Object.fromEntries(DTC_FIELDS.map((f) => [f, made.row[f] ?? null])));
  }
  if (upsert.length > 0 && !ctx.dryRun) await postgres.writeByKey(DTC_TABLE, { upsert });
  summary.created += upsert.length;
}

export async function syncNeo4jToPostgres(ctx: SyncContext, summary: DirectionSummary): Promise<void> {
  await storeOf(ctx, 'postgres').prepareDataset(DTC_TABLE, { create: false });
  for await (const page of pages(
    storeOf(ctx, 'neo4j'),
    dtcNodes(ctx.labels, true),
    ctx.batchSize,
    ctx.signal,
  )) {
    await reverseBatch(ctx, page, summary);
    progress(ctx, summary);
  }
}
