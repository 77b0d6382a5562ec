/**
 * PostgreSQL → Neo4j (docs/design.md §10): DTC nodes first, then their `RELATED_TO` relationships (once
 * every node exists), then the nodes PostgreSQL lacks (reported; deleted with `--prune`).
 */
import {
  canonicalDtc,
  differingFields,
  linkDifference,
  nodeFields,
  nodeProperties,
  relatedCodesOf,
  timestampProblem,
  type CanonicalDtc,
} from '../../model/dtc-sync.ts';
import {
  DTC_TABLE,
  codesPostgresLacks,
  dtcNodes,
  noteExtra,
  noteRejected,
  progress,
  storeOf,
  type DirectionSummary,
  type SyncContext,
} from './sync-context.ts';
import { pages } from './sync-pages.ts';

/** Brings one batch of PostgreSQL records into Neo4j as nodes: missing ones created, different ones rewritten with `force`. */
export async function syncNodeBatch(
  ctx: SyncContext,
  records: readonly CanonicalDtc[],
  summary: DirectionSummary,
  force: boolean,
): Promise<void> {
  const neo4j = storeOf(ctx, 'neo4j');
  const dataset = dtcNodes(ctx.labels);
  const { found } = await neo4j.readByKey(
    dataset,
    records.map((r) => r.code),
  );
  const fields = nodeFields(ctx.labels.scheme);
  const upsert: Record<string, unknown>[] = [];
  let created = 0;
  let updated = 0;
  for (const record of records) {
    summary.checked++;
    const problem = timestampProblem(record);
    if (problem !== null) {
      noteRejected(summary, record.code, problem);
      continue;
    }
    const node = found.get(record.code);
    const differs = node === undefined || differingFields(record, canonicalDtc(node), fields).length > 0;
    if (!differs) summary.unchanged++;
    else if (node !== undefined && !force) summary.different++;
    else {
      upsert.push(nodeProperties(record, ctx.labels.scheme));
      if (node === undefined) created++;
      else updated++;
    }
  }
  if (upsert.length > 0 && !ctx.dryRun) await neo4j.writeByKey(dataset, { upsert });
  summary.created += created;
  summary.updated += updated;
}

/** The codes among `codes` that are DTC nodes (or, in a dry run, would be: rows of `dtc_codes`). */
async function existingCodes(ctx: SyncContext, codes: readonly string[]): Promise<Set<string>> {
  if (codes.length === 0) return new Set();
  const { found } = await storeOf(ctx, 'neo4j').readByKey(dtcNodes(ctx.labels), codes);
  const exist = new Set(found.keys());
  if (ctx.dryRun)
    for (const code of (await storeOf(ctx, 'postgres').readByKey(DTC_TABLE, codes)).found.keys())
      exist.add(code);
  return exist;
}

/**
 * Makes one batch's `RELATED_TO` relationships match `related_codes` ∩ DTC nodes: missing ones created,
 * extra ones counted (deleted with `--prune`).
 */
export async function syncLinkBatch(
  ctx: SyncContext,
  records: readonly CanonicalDtc[],
  summary: DirectionSummary,
): Promise<void> {
  const neo4j = storeOf(ctx, 'neo4j');
  const dataset = dtcNodes(ctx.labels, true);
  const { found } = await neo4j.readByKey(
    dataset,
    records.map((r) => r.code),
  );
  const exist = await existingCodes(ctx, relatedCodesOf(records));
  const link: [string, string][] = [];
  const unlink: [string, string][] = [];
  for (const record of records) {
    const { missing, extra } = linkDifference(record, found.get(record.code)?._links, exist);
    for (const code of missing) link.push([record.code, code]);
    for (const code of extra) unlink.push([record.code, code]);
  }
  const writes = { link, unlink: ctx.prune ? unlink : [] };
  if (!ctx.dryRun && (writes.link.length > 0 || writes.unlink.length > 0))
    await neo4j.writeByKey(dataset, writes);
  summary.linksCreated += link.length;
  summary.extraLinks += unlink.length;
  summary.linksDeleted += writes.unlink.length;
}

/** DTC nodes whose code PostgreSQL lacks: counted and named; deleted with `--prune`. */
export async function findExtraNodes(ctx: SyncContext, summary: DirectionSummary): Promise<void> {
  const neo4j = storeOf(ctx, 'neo4j');
  const dataset = dtcNodes(ctx.labels);
  for await (const page of pages(neo4j, dataset, ctx.batchSize, ctx.signal)) {
    const extra = await codesPostgresLacks(
      ctx,
      page.map((n) => String(n.code)),
    );
    noteExtra(summary, extra);
    if (ctx.prune && extra.length > 0) {
      if (!ctx.dryRun) await neo4j.writeByKey(dataset, { remove: extra });
      summary.pruned += extra.length;
    }
  }
}

export async function syncPostgresToNeo4j(ctx: SyncContext, summary: DirectionSummary): Promise<void> {
  const postgres = storeOf(ctx, 'postgres');
  await storeOf(ctx, 'neo4j').prepareDataset(dtcNodes(ctx.labels), { create: !ctx.dryRun });
  for await (const page of pages(postgres, DTC_TABLE, ctx.batchSize, ctx.signal)) {
    await syncNodeBatch(ctx, page.map(canonicalDtc), summary, ctx.force);
    progress(ctx, summary);
  }
  for await (const page of pages(postgres, DTC_TABLE, ctx.batchSize, ctx.signal))
    await syncLinkBatch(ctx, page.map(canonicalDtc), summary);
  await findExtraNodes(ctx, summary);
}
