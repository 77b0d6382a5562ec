/**
 * `sync --verify` (docs/design.md §10.5): the three stores compared over every synced field. Each pass
 * streams one store in key order and looks each page up in the others by key; issues go to an on-disk
 * log and come back sorted. Unreachable stores are errors, never "everything missing".
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  EMBEDDING_TEXT_KEY,
  canonicalDtc,
  canonicalFromNode,
  differingFields,
  differingPayload,
  linkDifference,
  embeddingText,
  nodeFields,
  pointPayload,
  relatedCodesOf,
  sha256Hex,
  type CanonicalDtc,
} from '../../model/dtc-sync.ts';
import { EMBEDDING_DIMENSION, pointId } from '../../model/qdrant-model.ts';
import {
  DTC_POINTS,
  DTC_TABLE,
  codesPostgresLacks,
  dtcNodes,
  storeOf,
  type SyncContext,
} from './sync-context.ts';
import { ISSUE_KINDS, IssueLog, type IssueKind } from './sync-issues.ts';
import { pages } from './sync-pages.ts';
import { extraPointsOf, vectorProblem } from './sync-points.ts';
import { TRANSLATION_CACHE, readTranslationCache } from './sync-translations.ts';

export type VerifyContext = Pick<
  SyncContext,
  'stores' | 'labels' | 'batchSize' | 'dataDir' | 'reporter' | 'signal'
>;

/** What verify found: the original report's keys, lists abbreviated here (the report file has them whole). */
export interface VerifyResult {
  timestamp: string;
  is_consistent: boolean;
  counts: { postgres: number; neo4j: number; qdrant: number };
  issues: Record<IssueKind, unknown[]>;
  issue_counts: Record<IssueKind, number>;
  checked: { codes: number; fields: number; translations: number };
  label_scheme: string;
  /** Entries kept per list in `issues` (the report file keeps all). */
  shown_per_list: number;
}

export const SHOWN_PER_LIST = 50;

interface Pass {
  ctx: VerifyContext;
  log: IssueLog;
  counts: VerifyResult['counts'];
  checked: VerifyResult['checked'];
  dimension: number;
}

/** PostgreSQL against Neo4j for one page: missing nodes, differing fields, differing RELATED_TO targets. */
async function checkNodes(pass: Pass, records: readonly CanonicalDtc[]): Promise<void> {
  const neo4j = storeOf(pass.ctx, 'neo4j');
  const { found } = await neo4j.readByKey(
    dtcNodes(pass.ctx.labels, true),
    records.map((r) => r.code),
  );
  const related = relatedCodesOf(records);
  const exist =
    related.length === 0 ? new Map() : (await neo4j.readByKey(dtcNodes(pass.ctx.labels), related)).found;
  const fields = nodeFields(pass.ctx.labels.scheme);
  for (const record of records) {
    const props = found.get(record.code);
    if (props === undefined) {
      pass.log.add('missing_in_neo4j', record.code);
      continue;
    }
    const node = canonicalDtc(props);
    pass.checked.fields += fields.length;
    const differing = differingFields(record, node, fields);
    if (differing.length > 0)
      pass.log.add('content_mismatches', record.code, {
        source: 'postgres_vs_neo4j',
        fields: Object.fromEntries(differing.map((f) => [f, { postgres: record[f], neo4j: node[f] }])),
      });
    const { missing, extra } = linkDifference(record, props._links, exist);
    if (missing.length + extra.length > 0)
      pass.log.add('relationship_mismatches', record.code, { missing, extra });
  }
}

/** PostgreSQL against Qdrant for one page: missing points, differing payloads, unusable or stale vectors. */
async function checkPoints(pass: Pass, records: readonly CanonicalDtc[]): Promise<void> {
  const ids = records.map((r) => pointId('dtc', r.code).toString());
  const { found } = await storeOf(pass.ctx, 'qdrant').readByKey(DTC_POINTS, ids);
  records.forEach((record, i) => {
    const point = found.get(ids[i] ?? '');
    if (point === undefined) return pass.log.add('missing_in_qdrant', record.code);
    const payload = (point.payload ?? {}) as Record<string, unknown>;
    const expected = pointPayload(record);
    const differing = differingPayload(expected, payload);
    pass.checked.fields += Object.keys(expected).length;
    if (differing.length > 0)
      pass.log.add('payload_mismatches', record.code, {
        fields: Object.fromEntries(
          differing.map((f) => [f, { postgres: expected[f] ?? null, qdrant: payload[f] ?? null }]),
        ),
      });
    const problem = vectorProblem(point.vector, pass.dimension);
    if (problem !== null) pass.log.add('vector_issues', record.code, { problem });
    else if (
      typeof payload[EMBEDDING_TEXT_KEY] === 'string' &&
      payload[EMBEDDING_TEXT_KEY] !== sha256Hex(embeddingText(record))
    )
      pass.log.add('vector_issues', record.code, {
        problem: 'embedded from another text: the vector is stale',
      });
  });
}

async function postgresPass(pass: Pass): Promise<void> {
  for await (const page of pages(
    storeOf(pass.ctx, 'postgres'),
    DTC_TABLE,
    pass.ctx.batchSize,
    pass.ctx.signal,
  )) {
    const records = page.map(canonicalDtc);
    pass.counts.postgres += records.length;
    pass.checked.codes += records.length;
    await checkNodes(pass, records);
    await checkPoints(pass, records);
    pass.ctx.reporter.emit({
      type: 'dataset-progress',
      store: 'postgres',
      dataset: 'verify',
      done: pass.counts.postgres,
    });
  }
}

/** Neo4j's and Qdrant's DTC records that PostgreSQL lacks (and points under an id not their code's). */
async function reversePasses(pass: Pass): Promise<void> {
  for await (const page of pages(
    storeOf(pass.ctx, 'neo4j'),
    dtcNodes(pass.ctx.labels),
    pass.ctx.batchSize,
    pass.ctx.signal,
  )) {
    pass.counts.neo4j += page.length;
    const lacking = await codesPostgresLacks(
      pass.ctx,
      page.map((n) => canonicalFromNode(n).code),
    );
    for (const code of lacking) {
      pass.log.add('extra_in_neo4j', code);
      pass.log.add('missing_in_postgres', code);
    }
  }
  for await (const page of pages(
    storeOf(pass.ctx, 'qdrant'),
    DTC_POINTS,
    pass.ctx.batchSize,
    pass.ctx.signal,
  )) {
    pass.counts.qdrant += page.length;
    for (const { id, code, why } of await extraPointsOf(pass.ctx, page)) {
      if (why === 'no code') pass.log.add('extra_in_qdrant', `point ${id}`);
      else if (why === 'foreign id') pass.log.add('extra_in_qdrant', `${code} (point ${id})`);
      else if (why === 'not in postgres' && code !== undefined) {
        pass.log.add('extra_in_qdrant', code);
        pass.log.add('missing_in_postgres', code);
      }
    }
  }
}

/** Cache entries not applied to PostgreSQL (when the application's cache exists). */
async function translationPass(pass: Pass): Promise<void> {
  if (!existsSync(join(pass.ctx.dataDir, TRANSLATION_CACHE))) return;
  const entries = await readTranslationCache(pass.ctx.dataDir);
  for (let i = 0; i < entries.length; i += pass.ctx.batchSize) {
    const batch = entries.slice(i, i + pass.ctx.batchSize);
    const { found } = await storeOf(pass.ctx, 'postgres').readByKey(
      DTC_TABLE,
      batch.map((e) => e.code),
    );
    for (const entry of batch) {
      pass.checked.translations++;
      const row = found.get(entry.code);
      if ('problem' in entry)
        pass.log.add('translation_cache_invalid_entries', entry.code, { problem: entry.problem });
      else if (row === undefined) pass.log.add('translation_cache_unknown_codes', entry.code);
      else if (canonicalDtc(row).description_hu !== entry.translation)
        pass.log.add('translation_mismatches', entry.code, {
          cache: entry.translation,
          postgres: canonicalDtc(row).description_hu,
        });
    }
  }
}

/**
 * Compares the stores; `writeReport` (when given) receives the log to write the complete report before
 * the log is removed.
 */
export async function verifyStores(
  ctx: VerifyContext,
  writeReport?: (result: VerifyResult, log: IssueLog) => Promise<void>,
): Promise<VerifyResult> {
  const log = new IssueLog();
  try {
    const info = await storeOf(ctx, 'qdrant').prepareDataset(DTC_POINTS, { create: false });
    const pass: Pass = {
      ctx,
      log,
      counts: { postgres: 0, neo4j: 0, qdrant: 0 },
      checked: { codes: 0, fields: 0, translations: 0 },
      dimension: info.vectorSize ?? EMBEDDING_DIMENSION,
    };
    await postgresPass(pass);
    await reversePasses(pass);
    await translationPass(pass);
    const issueCounts = log.counts();
    const result: VerifyResult = {
      timestamp: new Date().toISOString(),
      is_consistent: Object.values(issueCounts).every((n) => n === 0),
      counts: pass.counts,
      issues: Object.fromEntries(
        ISSUE_KINDS.map((k) => [k, [...log.entries(k, SHOWN_PER_LIST)].map((e) => JSON.parse(e) as unknown)]),
      ) as Record<IssueKind, unknown[]>,
      issue_counts: issueCounts,
      checked: pass.checked,
      label_scheme: ctx.labels.scheme,
      shown_per_list: SHOWN_PER_LIST,
    };
    if (writeReport) await writeReport(result, log);
    return result;
  } finally {
    log.close();
  }
}
