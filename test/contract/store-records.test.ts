/**
 * Records by key (Store `readByKey`, `scanByKey`, `prepareDataset`, `writeByKey`; sync, docs/design.md
 * §10) on each live store, through the Store interface. Each suite works in a scratch dataset of its own
 * (table `acx_records_test`, label `AcxRecordsTest`, collection `acx_records_test`) and drops it after:
 * other suites use the same stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelMap } from '../../src/model/labels.ts';
import { pointId } from '../../src/model/qdrant-model.ts';
import { neo4jKeyConstraintName } from '../../src/stores/neo4j/neo4j-records.ts';
import { neo4jSchemaStatements } from '../../src/stores/neo4j/neo4j-schema.ts';
import type { RecordDataset, Store } from '../../src/stores/store.ts';
import { openTestStores, type TestStores } from '../support/stores.ts';
import { acxErrorOf } from '../support/acx-error.ts';

let stores: TestStores;

beforeAll(async () => {
  stores = await openTestStores();
});

afterAll(async () => {
  await stores?.close();
});

/** Every record of a scan, page by page, with the size of each page. */
async function scanAll(store: Store, dataset: RecordDataset, limit: number) {
  const records: Record<string, unknown>[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.scanByKey(dataset, cursor, limit);
    records.push(...page.records);
    pages.push(page.records.length);
    cursor = page.cursor;
  } while (cursor !== null && pages.length < 100);
  return { records, pages };
}

describe('PostgreSQL records by key', () => {
  const TABLE = 'acx_records_test';
  const dataset: RecordDataset = { store: 'postgres', table: TABLE, key: 'key' };
  const pg = () => stores.set.postgres;
  const rows = async () =>
    (await stores.postgres.query(`SELECT id, key, n, note FROM ${TABLE} ORDER BY key`)).rows;

  beforeAll(async () => {
    await stores.postgres.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await stores.postgres.query(`CREATE TABLE ${TABLE} (
      id serial PRIMARY KEY, key text NOT NULL UNIQUE, n integer, note text, tags text[],
      at timestamptz, local_at timestamp, day date, ats timestamptz[])`);
  });
  afterAll(async () => {
    await stores.postgres.query(`DROP TABLE IF EXISTS ${TABLE}`);
  });

  it('prepareDataset reports an existing table and refuses a missing one (NOT_FOUND)', async () => {
    expect(await pg().prepareDataset(dataset, { create: true })).toEqual({ exists: true });
    const missing = { ...dataset, table: 'acx_records_test_missing' };
    const error = await acxErrorOf(pg().prepareDataset(missing, { create: true }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain('acx_records_test_missing');
  });

  it('upserts create rows (a carried serial id is ignored) and are read back by key', async () => {
    await pg().writeByKey(dataset, {
      upsert: [
        { id: 9999, key: 'k01', n: 1, note: 'one', tags: ['a', 'b'] },
        { id: 9998, key: 'k02', n: 2, note: '' },
        // Another set of columns in the same call.
        { key: 'k03', tags: [] },
      ],
    });
    const { found } = await pg().readByKey(dataset, ['k01', 'k03', 'k99']);
    expect([...found.keys()].sort()).toEqual(['k01', 'k03']);
    expect(found.get('k01')).toMatchObject({ key: 'k01', n: 1, note: 'one', tags: ['a', 'b'] });
    expect(found.get('k03')).toMatchObject({ key: 'k03', n: null, note: null, tags: [] });
    expect((await rows()).map((r) => r.id)).not.toContain(9999);
  });

  it('an upsert replaces the columns it carries, keeps the others, and a NULL clears', async () => {
    await pg().writeByKey(dataset, { upsert: [{ key: 'k01', note: null, tags: ['c'] }] });
    const { found } = await pg().readByKey(dataset, ['k01']);
    expect(found.get('k01')).toMatchObject({ n: 1, note: null, tags: ['c'] });
  });

  it('date and time values come back as PostgreSQL text, microseconds kept', async () => {
    await pg().writeByKey(dataset, {
      upsert: [
        {
          key: 'k04',
          at: '2025-03-01T10:00:00.123456Z',
          local_at: '2025-03-01T10:00:00.000001',
          day: '2025-03-01',
          ats: ['2025-03-01T10:00:00.5Z', '2024-12-31T23:59:59.999999Z'],
        },
      ],
    });
    const { rows: texts } = await stores.postgres.query(
      `SELECT at::text, local_at::text, day::text, ats[1]::text AS a1, ats[2]::text AS a2 FROM ${TABLE} WHERE key = 'k04'`,
    );
    const expected = texts[0];
    const { found } = await pg().readByKey(dataset, ['k04']);
    expect(found.get('k04')).toMatchObject({
      at: expected.at,
      local_at: '2025-03-01 10:00:00.000001',
      day: '2025-03-01',
      ats: [expected.a1, expected.a2],
    });
    expect(expected.at).toMatch(/^2025-03-01 \d\d:00:00\.123456[+-]\d\d/);
  });

  it('a batch with one bad value writes nothing (all or nothing)', async () => {
    const before = await rows();
    const error = await acxErrorOf(
      pg().writeByKey(dataset, {
        upsert: [
          { key: 'k05', n: 5 },
          { key: 'k01', n: 100 },
          // Another set of columns: another statement of the same transaction.
          { key: 'k06', n: 'not a number', note: 'six' },
        ],
        remove: ['k02'],
      }),
    );
    expect(error.code).toBe('STORE');
    expect(await rows()).toEqual(before);
  });

  it('scan pages cover every row once, in key order, across page boundaries', async () => {
    await pg().writeByKey(dataset, {
      upsert: ['k05', 'k06', 'k07', 'k08', 'k09'].map((key, i) => ({ key, n: i })),
    });
    const keys = (await rows()).map((r) => r.key as string);
    expect(keys).toHaveLength(9);
    for (const limit of [1, 3, 4, 9, 50]) {
      const { records, pages } = await scanAll(pg(), dataset, limit);
      expect(records.map((r) => r.key)).toEqual(keys);
      expect(pages.slice(0, -1).every((n) => n === limit)).toBe(true);
    }
    const page = await pg().scanByKey(dataset, 'k04', 2);
    expect(page.records.map((r) => r.key)).toEqual(['k05', 'k06']);
    expect(page.cursor).toBe('k06');
  });

  it('remove deletes the rows of the keys', async () => {
    await pg().writeByKey(dataset, { remove: ['k02', 'k03', 'k99'] });
    const { found } = await pg().readByKey(dataset, ['k01', 'k02', 'k03']);
    expect([...found.keys()]).toEqual(['k01']);
  });
});

describe('Neo4j records by key', () => {
  const LABEL = 'AcxRecordsTest';
  const TYPE = 'ACX_RECORDS_TEST_LINK';
  const dataset: RecordDataset = { store: 'neo4j', label: LABEL, key: 'key', links: TYPE };
  const neo = () => stores.set.neo4j;
  const run = (query: string, params: Record<string, unknown> = {}) =>
    stores.neo4j.driver.executeQuery(query, params, { database: stores.neo4j.database });
  const cleanUp = async () => {
    await run(`MATCH (n) WHERE n:${LABEL} OR n:${LABEL}None DETACH DELETE n`);
    await run(`DROP CONSTRAINT ${LABEL}_key_unique IF EXISTS`);
  };
  const constraints = async (label: string) =>
    (
      await run(
        'SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties WHERE labelsOrTypes = [$label] RETURN name, properties',
        { label },
      )
    ).records.map((r) => [r.get('name'), r.get('properties')]);
  const snapshot = async () =>
    (
      await run(
        `MATCH (n:${LABEL}) OPTIONAL MATCH (n)-[r:${TYPE}]->(m) WITH n, collect(m.key) AS out
         RETURN n.key AS k, properties(n) AS p, out ORDER BY k`,
      )
    ).records.map((r) => JSON.stringify([r.get('k'), r.get('p'), r.get('out')]));

  beforeAll(cleanUp);
  afterAll(cleanUp);

  it('names the key constraint as the schema does', () => {
    for (const scheme of ['production', 'legacy'] as const) {
      const labels = labelMap(scheme);
      const name = neo4jKeyConstraintName(labels.label('dtc'), 'code');
      expect(neo4jSchemaStatements(labels)).toContain(
        `CREATE CONSTRAINT ${name} IF NOT EXISTS FOR (n:\`${labels.label('dtc')}\`) REQUIRE n.\`code\` IS UNIQUE`,
      );
    }
    expect(neo4jKeyConstraintName(LABEL, 'key')).toBe(`${LABEL}_key_unique`);
  });

  it('prepareDataset creates the key constraint once, and only when told to', async () => {
    const none = { ...dataset, label: `${LABEL}None` };
    expect(await neo().prepareDataset(none, { create: false })).toEqual({ exists: false });
    expect(await constraints(`${LABEL}None`)).toEqual([]);
    expect(await neo().prepareDataset(dataset, { create: true })).toEqual({ exists: false });
    expect(await constraints(LABEL)).toEqual([[`${LABEL}_key_unique`, ['key']]]);
    expect(await neo().prepareDataset(dataset, { create: true })).toEqual({ exists: true });
    expect(await constraints(LABEL)).toHaveLength(1);
  });

  it('prepareDataset finds a uniqueness constraint on (label, key) under another name', async () => {
    const other = { ...dataset, label: `${LABEL}None` };
    await run(
      `CREATE CONSTRAINT acx_records_test_other IF NOT EXISTS FOR (n:${LABEL}None) REQUIRE n.key IS UNIQUE`,
    );
    try {
      expect(await neo().prepareDataset(other, { create: true })).toEqual({ exists: true });
      expect(await constraints(`${LABEL}None`)).toEqual([['acx_records_test_other', ['key']]]);
    } finally {
      await run('DROP CONSTRAINT acx_records_test_other IF EXISTS');
    }
  });

  it('upserts create nodes from the tagged form and are read back by key in export form', async () => {
    await neo().writeByKey(dataset, {
      upsert: [
        {
          key: 'a',
          note: 'one',
          big: { $int: '9007199254740993' },
          at: { $datetime: { local: '2025-03-01T10:00:00.123456', offset: 0, zone: null } },
          tags: ['x', 'y'],
        },
        { key: 'b', note: '' },
        { key: 'c', flag: true },
      ],
    });
    const { found } = await neo().readByKey(dataset, ['a', 'b', 'zz']);
    expect([...found.keys()].sort()).toEqual(['a', 'b']);
    expect(found.get('a')).toEqual({
      key: 'a',
      note: 'one',
      big: 9007199254740993n,
      at: '2025-03-01T10:00:00.123456000Z',
      tags: ['x', 'y'],
      _links: [],
    });
  });

  it('an upsert merges the properties it carries, and a NULL removes one', async () => {
    await neo().writeByKey(dataset, { upsert: [{ key: 'a', note: null, extra: 'e' }] });
    const { found } = await neo().readByKey(dataset, ['a']);
    const a = found.get('a')!;
    expect('note' in a).toBe(false);
    expect(a).toMatchObject({ key: 'a', extra: 'e', tags: ['x', 'y'], big: 9007199254740993n });
    expect(
      (await run(`MATCH (n:${LABEL} {key: 'a'}) RETURN keys(n) AS k`)).records[0]?.get('k'),
    ).not.toContain('note');
  });

  it('links are added once, read as sorted _links, unlinked; a missing endpoint is skipped', async () => {
    await neo().writeByKey(dataset, {
      link: [
        ['a', 'c'],
        ['a', 'b'],
        ['b', 'a'],
        ['a', 'zz'],
      ],
    });
    await neo().writeByKey(dataset, { link: [['a', 'b']] });
    const count = await run(`MATCH (:${LABEL} {key: 'a'})-[r:${TYPE}]->() RETURN count(r) AS n`);
    expect(Number(count.records[0]?.get('n'))).toBe(2);
    let { found } = await neo().readByKey(dataset, ['a', 'b', 'c']);
    expect(found.get('a')?._links).toEqual(['b', 'c']);
    expect(found.get('b')?._links).toEqual(['a']);
    expect(found.get('c')?._links).toEqual([]);
    expect(await run(`MATCH (n:${LABEL} {key: 'zz'}) RETURN n`).then((r) => r.records)).toEqual([]);
    await neo().writeByKey(dataset, { unlink: [['a', 'c']] });
    ({ found } = await neo().readByKey(dataset, ['a']));
    expect(found.get('a')?._links).toEqual(['b']);
  });

  it('a batch with one bad value writes nothing (all or nothing)', async () => {
    const before = await snapshot();
    const error = await acxErrorOf(
      neo().writeByKey(dataset, {
        upsert: [
          { key: 'd', note: 'new' },
          { key: 'a', note: 'changed' },
          // A map is not a property value.
          { key: 'e', nested: { inner: 1 } },
        ],
        link: [['a', 'c']],
        remove: ['b'],
      }),
    );
    expect(error.code).toBe('STORE');
    expect(await snapshot()).toEqual(before);
  });

  it('scan pages cover every node once, in key order, across page boundaries', async () => {
    await neo().writeByKey(dataset, { upsert: ['d', 'e', 'f', 'g'].map((key) => ({ key })) });
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    for (const limit of [1, 3, 7, 50]) {
      const { records, pages } = await scanAll(neo(), dataset, limit);
      expect(records.map((r) => r.key)).toEqual(keys);
      expect(pages.slice(0, -1).every((n) => n === limit)).toBe(true);
    }
    const page = await neo().scanByKey(dataset, 'a', 2);
    expect(page.records).toEqual([
      { key: 'b', note: '', _links: ['a'] },
      { key: 'c', flag: true, _links: [] },
    ]);
    expect(page.cursor).toBe('c');
  });

  it('remove deletes the nodes of the keys and their relationships', async () => {
    await neo().writeByKey(dataset, { remove: ['b', 'zz'] });
    const { found } = await neo().readByKey(dataset, ['a', 'b']);
    expect([...found.keys()]).toEqual(['a']);
    expect(found.get('a')?._links).toEqual([]);
  });
});

describe('Qdrant records by key', () => {
  const COLLECTION = 'acx_records_test';
  const dataset: RecordDataset = { store: 'qdrant', collection: COLLECTION };
  const dtc: RecordDataset = { ...dataset, type: 'dtc' };
  const qd = () => stores.set.qdrant;
  const cleanUp = async () => {
    if (await stores.qdrant.collectionExists(COLLECTION)) await stores.qdrant.deleteCollection(COLLECTION);
  };
  const big = pointId('dtc', 'P0100');
  const uuid = '5c56c793-69f3-4fbf-87e6-c4bf54c28c26';
  const point = (id: bigint | number | string, type: string, vector: number[] | Float32Array) => ({
    id,
    vector,
    payload: { type, code: String(id), extra: 'x' },
  });
  const allPoints = async () => {
    const out: unknown[] = [];
    for await (const page of stores.qdrant.scrollAll(COLLECTION)) out.push(...page);
    return out;
  };

  beforeAll(cleanUp);
  afterAll(cleanUp);

  it('a missing collection holds no points; prepareDataset without create leaves it missing', async () => {
    expect(await qd().scanByKey(dataset, null, 10)).toEqual({ records: [], cursor: null });
    expect((await qd().readByKey(dataset, ['1', uuid])).found.size).toBe(0);
    expect(await qd().prepareDataset(dataset, { create: false })).toEqual({ exists: false });
    expect(await stores.qdrant.collectionExists(COLLECTION)).toBe(false);
  });

  it('prepareDataset creates the collection with its vector size and payload indexes, then reports it', async () => {
    expect(await qd().prepareDataset(dataset, { create: true, vectorSize: 4 })).toEqual({
      exists: false,
      vectorSize: 4,
      distance: 'Cosine',
    });
    const info = (await stores.qdrant.getCollection(COLLECTION)) as {
      config: { params: { vectors: unknown } };
      payload_schema: Record<string, unknown>;
    };
    expect(info.config.params.vectors).toMatchObject({ size: 4, distance: 'Cosine' });
    expect(Object.keys(info.payload_schema).sort()).toEqual(['category', 'code', 'type']);
    expect(await qd().prepareDataset(dataset, { create: true, vectorSize: 8 })).toEqual({
      exists: true,
      vectorSize: 4,
      distance: 'Cosine',
    });
  });

  it('upserts write points (exact 64-bit ids, Float32Array vectors) read back by id', async () => {
    await qd().writeByKey(dataset, {
      upsert: [
        point(big, 'dtc', Float32Array.from([0.6, 0.8, 0, 0])),
        point(3, 'dtc', [1, 0, 0, 0]),
        point(uuid, 'dtc', [0, 1, 0, 0]),
        point('7', 'recall', [0, 0, 1, 0]),
      ],
    });
    const { found } = await qd().readByKey(dataset, [String(big), '3', uuid, '4', 'not-an-id']);
    expect([...found.keys()].sort()).toEqual([String(big), '3', uuid].sort());
    const first = found.get(String(big))!;
    expect(first.id).toBe(big);
    expect(first.payload).toEqual({ type: 'dtc', code: String(big), extra: 'x' });
    const vector = first.vector as number[];
    expect(vector.map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.6, 0.8, 0, 0]);
  });

  it('an upsert replaces the payload whole', async () => {
    await qd().writeByKey(dataset, {
      upsert: [{ id: '3', vector: [1, 0, 0, 0], payload: { type: 'dtc', code: '3', description: null } }],
    });
    const { found } = await qd().readByKey(dataset, ['3']);
    expect(found.get('3')?.payload).toEqual({ type: 'dtc', code: '3', description: null });
  });

  it('a batch with one bad point writes nothing', async () => {
    const before = await allPoints();
    const error = await acxErrorOf(
      qd().writeByKey(dataset, {
        upsert: [
          point(11, 'dtc', [1, 0, 0, 0]),
          point(3, 'other', [0, 1, 0, 0]),
          point(12, 'dtc', [0, 'x', 0, 0] as never),
        ],
      }),
    );
    expect(error.code).toBe('STORE');
    expect(await allPoints()).toEqual(before);
    const bad = await acxErrorOf(
      qd().writeByKey(dataset, { upsert: [point(13, 'dtc', [1, 0, 0, 0])], remove: ['-1'] }),
    );
    expect(bad.code).toBe('INVALID_INPUT');
    expect(await allPoints()).toEqual(before);
  });

  it('scan pages cover every point once in id order, filtered by payload type', async () => {
    await qd().writeByKey(dataset, {
      upsert: [5, 6, 8, 9].map((id) => point(id, id % 2 === 0 ? 'dtc' : 'recall', [1, 0, 0, 0])),
    });
    const numeric = [3, 5, 6, 7, 8, 9].map(BigInt).concat(big);
    for (const limit of [1, 2, 3, 50]) {
      const all = await scanAll(qd(), dataset, limit);
      expect(all.records.map((r) => String(r.id))).toEqual([...numeric.map(String), uuid]);
      const only = await scanAll(qd(), dtc, limit);
      expect(only.records.map((r) => String(r.id))).toEqual(['3', '6', '8', String(big), uuid]);
      expect(only.records.every((r) => (r.payload as { type: string }).type === 'dtc')).toBe(true);
    }
    const page = await qd().scanByKey(dtc, '6', 2);
    expect(page.records.map((r) => String(r.id))).toEqual(['6', '8']);
    expect(page.cursor).toBe(String(big));
  });

  it('remove deletes the points of the ids', async () => {
    await qd().writeByKey(dataset, { remove: [String(big), uuid, '404'] });
    const { found } = await qd().readByKey(dataset, [String(big), uuid, '3']);
    expect([...found.keys()]).toEqual(['3']);
  });
});
