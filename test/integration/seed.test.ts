/**
 * The generator against the real stores: counts agree across stores, the same seed gives the same
 * content, schema objects exist, Neo4j keeps its own types, and non-empty stores are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import { labelMap } from '../../src/model/labels.ts';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { AUTOCOGNITIX_COLLECTION, POINT_TYPES } from '../../src/model/qdrant-model.ts';
import type { TestStores } from '../support/stores.ts';
import { seedStores, type SeedSummary } from '../../src/operations/seed.ts';
import { SEED_TABLES } from '../../src/seed/postgres-rows.ts';
import { fingerprint, openTestStores, seed } from '../support/stores.ts';

const SCALE = 0.05;
let stores: TestStores;
let summary: SeedSummary;
let first: Fingerprint;

async function dtcCodesInAllStores(s: TestStores, dtcLabel = 'DTC') {
  const pg = (await s.postgres.query<{ code: string }>('SELECT code FROM dtc_codes')).rows.map((r) => r.code);
  const graph = await s.neo4j.driver.executeQuery(
    `MATCH (d:${dtcLabel}) RETURN d.code AS code`,
    {},
    { database: s.neo4j.database },
  );
  const neo = graph.records.map((r) => r.get('code') as string);
  const qd: string[] = [];
  const pages = s.qdrant.scrollAll(AUTOCOGNITIX_COLLECTION, {
    filter: { must: [{ key: 'type', match: { value: 'dtc' } }] },
    withVector: false,
  });
  for await (const page of pages) for (const point of page) qd.push((point.payload as { code: string }).code);
  return { pg: pg.sort(), neo: neo.sort(), qd: qd.sort() };
}

beforeAll(async () => {
  stores = await openTestStores();
  summary = await seed(stores, SCALE, 11);
  first = await fingerprint(stores);
});

afterAll(async () => {
  await stores?.close();
});

describe('seed at a small scale', () => {
  it('writes the planned rows to every PostgreSQL table', () => {
    for (const table of SEED_TABLES) {
      expect(summary.inventory.postgres[table.table], table.table).toBe(table.count(summary.expected));
    }
  });

  it('agrees across stores', () => {
    expect(summary.inventory.agreement.length).toBeGreaterThan(4);
    for (const row of summary.inventory.agreement) expect(row.agrees, row.entity).toBe(true);
    const collection = summary.inventory.qdrant.collections[AUTOCOGNITIX_COLLECTION] ?? 0;
    const byType = Object.values(summary.inventory.qdrant.types).reduce((a, b) => a + b, 0);
    expect(collection).toBeGreaterThan(0);
    expect(byType).toBe(collection);
  });

  it('puts every DTC code in all three stores', async () => {
    const { pg, neo, qd } = await dtcCodesInAllStores(stores);
    expect(pg.length).toBe(summary.expected.dtc);
    expect(neo).toEqual(pg);
    expect(qd).toEqual(pg);
  });

  it('fills every node label and relationship type of the production model', () => {
    for (const label of [
      'DTC',
      'Symptom',
      'Component',
      'Repair',
      'Part',
      'Vehicle',
      'Engine',
      'Complaint',
      'Recall',
      'Category',
    ]) {
      expect(summary.inventory.neo4j.labels[label], label).toBeGreaterThan(0);
    }
    for (const type of [
      'CAUSES',
      'INDICATES_FAILURE_OF',
      'REPAIRED_BY',
      'USES_PART',
      'RELATED_TO',
      'BELONGS_TO',
      'HAS_COMMON_ISSUE',
    ]) {
      expect(summary.inventory.neo4j.types[type], type).toBeGreaterThan(0);
    }
    for (const type of POINT_TYPES.filter((t) => t !== 'vehicle_signal')) {
      expect(summary.inventory.qdrant.types[type], type).toBeGreaterThan(0);
    }
  });

  it('creates the schema objects: GIN and full-text indexes, sequences, constraints, payload indexes', async () => {
    const indexes = await stores.postgres.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'dtc_codes'",
    );
    const defs = indexes.rows.map((r) => r.indexdef).join('\n');
    expect(defs).toMatch(/USING gin/);
    expect(defs).toMatch(/to_tsvector/);
    const seqs = await stores.postgres.query("SELECT 1 FROM pg_class WHERE relkind = 'S'");
    expect(seqs.rowCount).toBeGreaterThan(3);
    const constraints = await stores.neo4j.driver.executeQuery(
      'SHOW CONSTRAINTS YIELD name RETURN collect(name) AS names',
    );
    expect(constraints.records[0]?.get('names')).toContain('dtc_code_unique');
    const fulltext = await stores.neo4j.driver.executeQuery(
      "SHOW INDEXES YIELD name, type WHERE type = 'FULLTEXT' RETURN collect(name) AS names",
    );
    expect(fulltext.records[0]?.get('names')).toContain('dtc_description_hu_idx');
    const info = await stores.qdrant.getCollection(AUTOCOGNITIX_COLLECTION);
    expect(Object.keys((info as { payload_schema: object }).payload_schema)).toEqual(
      expect.arrayContaining(['type', 'code']),
    );
  });

  it('keeps realistic values: accents, NULL next to empty, nested JSONB, soft deletes, a year of timestamps', async () => {
    const q = async (sql: string) => Number((await stores.postgres.query<{ n: string }>(sql)).rows[0]?.n);
    expect(await q("SELECT count(*) AS n FROM dtc_codes WHERE description_hu ~ '[őű]'")).toBeGreaterThan(0);
    expect(await q('SELECT count(*) AS n FROM dtc_codes WHERE description_hu IS NULL')).toBeGreaterThan(0);
    expect(await q("SELECT count(*) AS n FROM dtc_codes WHERE description_hu = ''")).toBeGreaterThan(0);
    expect(await q('SELECT count(*) AS n FROM dtc_codes WHERE cardinality(symptoms) = 0')).toBeGreaterThan(0);
    expect(await q('SELECT count(*) AS n FROM dtc_codes WHERE cardinality(symptoms) > 1')).toBeGreaterThan(0);
    expect(
      await q(
        "SELECT count(*) AS n FROM diagnosis_sessions WHERE jsonb_typeof(diagnosis_result->'meta'->'pipeline') = 'object'",
      ),
    ).toBeGreaterThan(0);
    expect(await q('SELECT count(*) AS n FROM diagnosis_sessions WHERE is_deleted')).toBeGreaterThan(0);
    expect(
      await q('SELECT extract(day FROM max(created_at) - min(created_at))::int AS n FROM dtc_codes'),
    ).toBeGreaterThan(300);
    expect(await q('SELECT count(DISTINCT left(code, 1)) AS n FROM dtc_codes')).toBe(4);
  });

  it('stores Neo4j values with their own types', async () => {
    const result = await stores.neo4j.driver.executeQuery(
      'MATCH (d:DTC) WITH d LIMIT 1 RETURN valueType(d.created_at) AS created, valueType(d.code) AS code',
    );
    expect(result.records[0]?.get('created')).toMatch(/ZONED DATETIME/);
    expect(result.records[0]?.get('code')).toMatch(/STRING/);
  });
});

describe('determinism and safety', () => {
  it('refuses non-empty stores without --force and leaves them unchanged', async () => {
    const attempt = seedStores(stores.set, {
      scale: SCALE,
      seed: 99,
      force: false,
      labels: labelMap('production'),
    });
    await expect(attempt).rejects.toBeInstanceOf(AcxError);
    await expect(attempt).rejects.toMatchObject({ code: 'NOT_EMPTY', exitCode: 7 });
    expect(diffFingerprints(first, await fingerprint(stores))).toEqual([]);
  });

  it('gives the same content for the same seed, different content for another seed', async () => {
    await seed(stores, SCALE, 11);
    const again = await fingerprint(stores);
    expect(diffFingerprints(first, again)).toEqual([]);
    expect(Object.keys(first).length).toBeGreaterThan(20);
    await seed(stores, SCALE, 12);
    const other = await fingerprint(stores);
    expect(diffFingerprints(first, other).length).toBeGreaterThan(10);
  });

  it('serves the legacy label scheme (DTCNode, …)', async () => {
    const legacy = await seed(stores, SCALE, 11, 'legacy');
    expect(legacy.inventory.neo4j.labels.DTCNode).toBe(legacy.expected.dtc);
    expect(legacy.inventory.neo4j.labels.DTC).toBeUndefined();
    const { pg, neo } = await dtcCodesInAllStores(stores, 'DTCNode');
    expect(neo).toEqual(pg);
    for (const row of legacy.inventory.agreement) expect(row.agrees, row.entity).toBe(true);
  });
});
