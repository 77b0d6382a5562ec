/**
 * Each `--on-conflict` strategy on crafted conflicts — an older, a newer and an equal timestamp, NULL
 * against a value, arrays — in PostgreSQL, Neo4j and Qdrant, with the outcome of every field asserted;
 * relationships never duplicated; `--dry-run` counts equal to what the import then does; a refused or
 * failed import leaves every store unchanged.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import neo4j from 'neo4j-driver';
import type { VectorCollection } from '../../src/model/dataset.ts';
import { writeVectorsFile } from '../../src/formats/vectors/vectors-format.ts';
import type { ConflictStrategy } from '../../src/model/conflict.ts';
import { diffFingerprints } from '../../src/model/content-hash.ts';
import { labelMap } from '../../src/model/labels.ts';
import { importData, type ImportInput, type ImportSummary } from '../../src/operations/import.ts';
import type { TestStores } from '../support/stores.ts';
import { silentReporter } from '../../src/progress.ts';
import { AcxError } from '../../src/errors.ts';
import { emptySchemas, fingerprint, openTestStores } from '../support/stores.ts';

let stores: TestStores;
let work: string;
let jsonFile: string;
let vectorsFile: string;
const COLLECTION = 'acx_conflicts';

const T1 = '2024-01-01T00:00:00+00:00';
const T2 = '2024-01-02T00:00:00+00:00';
const T3 = '2024-01-03T00:00:00+00:00';

// -------------------------------------------------------------------------------- the input files

const pgFields = [
  { name: 'code', type: 'text' },
  { name: 'description_en', type: 'text' },
  { name: 'description_hu', type: 'text' },
  { name: 'category', type: 'text' },
  { name: 'severity', type: 'text' },
  { name: 'is_generic', type: 'boolean' },
  { name: 'system', type: 'text' },
  { name: 'symptoms', type: 'array' },
  { name: 'updated_at', type: 'timestamp' },
];
const dtc = (code: string, updated: string, over: Record<string, unknown> = {}) => ({
  code,
  description_en: `new ${code}`,
  description_hu: `új ${code}`,
  category: 'powertrain',
  severity: 'high',
  is_generic: true,
  system: 'Fuel',
  symptoms: ['new'],
  updated_at: updated,
  ...over,
});
const incomingDtc = [
  dtc('P0001', T1), // older than stored
  dtc('P0002', T3), // newer
  dtc('P0003', T2), // equal
  dtc('P0004', T1), // not stored
];

const nodeFields = [
  { name: '_element_id', type: 'text' },
  { name: '_labels', type: 'array' },
  { name: 'code', type: 'text', source: 'STRING' },
  { name: 'id', type: 'text', source: 'STRING' },
  { name: 'note', type: 'text', source: 'STRING' },
  { name: 'tags', type: 'array', source: 'LIST<STRING>' },
  { name: 'updated_at', type: 'timestamp', source: 'ZONED DATETIME' },
];
const node = (id: string, labels: string[], props: Record<string, unknown>) => ({
  _element_id: id,
  _labels: labels,
  code: null,
  id: null,
  note: null,
  tags: null,
  updated_at: null,
  ...props,
});
const incomingNodes = [
  node('n1', ['DTC'], { code: 'P0001', note: 'new', tags: ['b'], updated_at: '2024-01-01T00:00:00Z' }),
  node('n2', ['DTC'], { code: 'P0002', note: 'new', tags: ['b'], updated_at: '2024-01-03T00:00:00Z' }),
  node('n3', ['DTC'], { code: 'P0003', note: 'new', tags: ['b'], updated_at: '2024-01-02T00:00:00Z' }),
  node('n4', ['DTC'], { code: 'P0004', note: 'new', tags: ['b'] }), // stored without a timestamp? no: not stored
  node('n5', ['DTC'], { code: 'P0005', note: 'new' }), // stored has a timestamp, incoming none
  node('s1', ['Symptom'], { id: 'sym-1', note: 'new' }),
];
const relFields = [
  { name: '_element_id', type: 'text' },
  { name: 'start_id', type: 'text' },
  { name: 'start_label', type: 'text' },
  { name: 'start_key', type: 'text' },
  { name: 'end_id', type: 'text' },
  { name: 'end_label', type: 'text' },
  { name: 'end_key', type: 'text' },
  { name: 'weight', type: 'float', source: 'FLOAT' },
  { name: 'source', type: 'text', source: 'STRING' },
];
const rel = (id: string, start: string, code: string, weight: number | null, source: string | null) => ({
  _element_id: id,
  start_id: start,
  start_label: 'DTC',
  start_key: code,
  end_id: 's1',
  end_label: 'Symptom',
  end_key: 'sym-1',
  weight,
  source,
});
const incomingRels = [rel('r1', 'n1', 'P0001', 0.9, 'new'), rel('r2', 'n2', 'P0002', 0.5, null)];

const dataset = (fields: { name: string; type?: string; source?: string }[], data: unknown[]) => ({
  columns: fields.map((f) => f.name),
  fields,
  data,
  row_count: data.length,
});

async function writeInputs(): Promise<void> {
  jsonFile = join(work, 'conflicts.json');
  await writeFile(
    jsonFile,
    JSON.stringify({
      export_time: T3,
      source: 'AutoCognitix',
      version: '2.0',
      postgresql: { dtc_codes: dataset(pgFields, incomingDtc) },
      neo4j: {
        nodes: {
          DTC: dataset(
            nodeFields,
            incomingNodes.filter((n) => n._labels[0] === 'DTC'),
          ),
          Symptom: dataset(
            nodeFields,
            incomingNodes.filter((n) => n._labels[0] === 'Symptom'),
          ),
        },
        relationships: { CAUSES: dataset(relFields, incomingRels) },
      },
    }),
  );
  const info = await stores.qdrant.getCollection(COLLECTION);
  const points = [
    { id: 1, vector: [1, 0, 0, 0], payload: { code: 'P0001', note: 'new', tags: ['b'], updated_at: T1 } },
    { id: 2, vector: [0, 1, 0, 0], payload: { code: 'P0002', note: 'new', tags: ['b'], updated_at: T3 } },
    { id: 3, vector: [0, 0, 1, 0], payload: { code: 'P0003', note: 'new', tags: ['b'], updated_at: T2 } },
    { id: 4, vector: [0, 0, 0, 1], payload: { code: 'P0004', note: 'new' } },
    { id: 5, vector: [0.5, 0.5, 0, 0], payload: { code: 'P0005', note: 'new' } },
  ];
  const collection: VectorCollection = {
    name: COLLECTION,
    config: info,
    async *points() {
      yield* points;
    },
  };
  vectorsFile = join(work, 'vectors.json.gz');
  await writeVectorsFile(vectorsFile, [collection]);
}

// -------------------------------------------------------------------------------- the stored state

async function storeExisting(): Promise<void> {
  await emptySchemas(stores);
  await stores.postgres.query(
    `INSERT INTO dtc_codes (code, description_en, description_hu, category, severity, is_generic, system, symptoms, updated_at) VALUES
      ('P0001', 'old P0001', 'régi', 'powertrain', 'low', false, NULL, '{}', $1),
      ('P0002', 'old P0002', NULL, 'powertrain', 'low', false, 'Air', '{old}', $1),
      ('P0003', 'old P0003', 'régi', 'powertrain', 'low', false, 'Air', NULL, $1)`,
    [T2],
  );
  const dt = (iso: string) => neo4j.types.DateTime.fromStandardDate(new Date(iso), 0);
  await stores.neo4j.driver.executeQuery(
    `CREATE (a:DTC {code: 'P0001', note: 'old', tags: [], updated_at: $t2, keep: 'stored only'})
     CREATE (b:DTC {code: 'P0002', note: 'old', updated_at: $t2})
     CREATE (c:DTC {code: 'P0003', note: 'old', tags: ['a'], updated_at: $t2})
     CREATE (e:DTC {code: 'P0005', note: 'old', updated_at: $t2})
     CREATE (s:Symptom {id: 'sym-1', note: 'old'})
     CREATE (a)-[:CAUSES {weight: 0.1, source: 'old'}]->(s)`,
    { t2: dt(T2) },
    { database: stores.neo4j.database },
  );
  await stores.qdrant.createCollection(COLLECTION, { vectors: { size: 4, distance: 'Cosine' } });
  await stores.qdrant.upsert(COLLECTION, [
    {
      id: 1,
      vector: [0.1, 0.2, 0.3, 0.4],
      payload: { code: 'P0001', note: 'old', tags: [], updated_at: T2, keep: 1 },
    },
    { id: 2, vector: [0.1, 0.2, 0.3, 0.4], payload: { code: 'P0002', note: 'old', updated_at: T2 } },
    {
      id: 3,
      vector: [0.1, 0.2, 0.3, 0.4],
      payload: { code: 'P0003', note: 'old', tags: ['a'], updated_at: T2 },
    },
    { id: 5, vector: [0.1, 0.2, 0.3, 0.4], payload: { code: 'P0005', note: 'old', updated_at: T2 } },
  ]);
}

async function run(
  strategy: ConflictStrategy,
  mode: 'import' | 'dry-run' = 'import',
  inputs: ImportInput[] = [
    { format: 'json', path: jsonFile },
    { format: 'vectors', path: vectorsFile },
  ],
): Promise<ImportSummary> {
  return importData({
    inputs,
    stores: {
      postgres: async () => stores.set.postgres,
      neo4j: async () => stores.set.neo4j,
      qdrant: async () => stores.set.qdrant,
    },
    strategy,
    mode,
    skipInvalid: false,
    batchSize: 2,
    labels: labelMap('production'),
    reporter: silentReporter,
  });
}

async function pgRows(): Promise<Record<string, Record<string, unknown>>> {
  const { rows } = await stores.postgres.query(
    `SELECT code, description_en, description_hu, severity, is_generic, system, symptoms, updated_at::text AS updated_at
       FROM dtc_codes ORDER BY code`,
  );
  return Object.fromEntries(rows.map((r: Record<string, unknown>) => [r.code as string, r]));
}

async function nodes(): Promise<Record<string, Record<string, unknown>>> {
  const { records } = await stores.neo4j.driver.executeQuery(
    'MATCH (n:DTC) RETURN n.code AS code, properties(n) AS p',
    {},
    { database: stores.neo4j.database },
  );
  return Object.fromEntries(
    records.map((r) => {
      const p = { ...(r.get('p') as Record<string, unknown>) };
      if (p.updated_at) p.updated_at = new Date(String(p.updated_at)).toISOString();
      return [r.get('code') as string, p];
    }),
  );
}

async function rels(): Promise<Record<string, unknown>[]> {
  const { records } = await stores.neo4j.driver.executeQuery(
    'MATCH (a:DTC)-[r:CAUSES]->(s:Symptom) RETURN a.code AS code, properties(r) AS p ORDER BY code',
    {},
    { database: stores.neo4j.database },
  );
  return records.map((r) => ({ code: r.get('code'), ...(r.get('p') as object) }));
}

async function points(): Promise<Record<number, { vector: number[]; payload: Record<string, unknown> }>> {
  const out: Record<number, { vector: number[]; payload: Record<string, unknown> }> = {};
  for await (const page of stores.qdrant.scrollAll(COLLECTION))
    for (const p of page) out[Number(p.id)] = { vector: p.vector as number[], payload: p.payload ?? {} };
  return out;
}

const ISO = (iso: string) => new Date(iso).toISOString();
const pgTime = (iso: string) => `${iso.slice(0, 10)} 00:00:00+00`;

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-import-conflicts-'));
  await storeExisting();
  await writeInputs();
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(storeExisting);

describe('skip', () => {
  it('keeps every stored record and inserts the new ones', async () => {
    const s = await run('skip');
    expect(s.outcome).toBe('written');
    const pg = await pgRows();
    expect(pg.P0001).toMatchObject({
      description_en: 'old P0001',
      description_hu: 'régi',
      system: null,
      symptoms: [],
    });
    expect(pg.P0002).toMatchObject({ description_en: 'old P0002', description_hu: null, severity: 'low' });
    expect(pg.P0004).toMatchObject({ description_en: 'new P0004', system: 'Fuel', symptoms: ['new'] });
    const n = await nodes();
    expect(n.P0001).toMatchObject({ note: 'old', tags: [], keep: 'stored only' });
    expect(n.P0004).toMatchObject({ note: 'new', tags: ['b'] });
    expect(await rels()).toEqual([
      { code: 'P0001', weight: 0.1, source: 'old' },
      { code: 'P0002', weight: 0.5 },
    ]);
    const p = await points();
    expect(p[1]?.payload).toEqual({ code: 'P0001', note: 'old', tags: [], updated_at: T2, keep: 1 });
    expect(p[4]?.payload).toEqual({ code: 'P0004', note: 'new' });
    const byStore = (store: string) => s.datasets.filter((d) => d.store === store);
    expect(byStore('postgres')[0]?.counts).toEqual({ inserted: 1, updated: 0, skipped: 3, rejected: 0 });
    expect(byStore('qdrant')[0]?.counts).toEqual({ inserted: 1, updated: 0, skipped: 4, rejected: 0 });
  });
});

describe('overwrite', () => {
  it('replaces every field the input carries, NULLs included, and keeps the fields it lacks', async () => {
    const s = await run('overwrite');
    const pg = await pgRows();
    expect(pg.P0001).toEqual({
      code: 'P0001',
      description_en: 'new P0001',
      description_hu: 'új P0001',
      severity: 'high',
      is_generic: true,
      system: 'Fuel',
      symptoms: ['new'],
      updated_at: pgTime(T1),
    });
    const n = await nodes();
    expect(n.P0001).toEqual({
      code: 'P0001',
      note: 'new',
      tags: ['b'],
      updated_at: ISO(T1),
      keep: 'stored only',
    });
    // The input's NULL updated_at removes the stored property.
    expect(n.P0005).toEqual({ code: 'P0005', note: 'new' });
    expect(await rels()).toEqual([
      { code: 'P0001', weight: 0.9, source: 'new' },
      { code: 'P0002', weight: 0.5 },
    ]);
    const p = await points();
    expect(p[1]).toEqual({
      vector: [1, 0, 0, 0],
      payload: { code: 'P0001', note: 'new', tags: ['b'], updated_at: T1, keep: 1 },
    });
    expect(s.datasets.find((d) => d.store === 'postgres')?.counts).toEqual({
      inserted: 1,
      updated: 3,
      skipped: 0,
      rejected: 0,
    });
  });
});

describe('merge', () => {
  it('fills only NULL fields; stored values, [] included, stay; arrays are not combined', async () => {
    const storedVector = (await points())[1]?.vector;
    const s = await run('merge');
    const pg = await pgRows();
    // P0001: system NULL → filled; symptoms [] stays; description_hu stays.
    expect(pg.P0001).toMatchObject({
      description_en: 'old P0001',
      description_hu: 'régi',
      system: 'Fuel',
      symptoms: [],
    });
    // P0002: description_hu NULL → filled; symptoms {old} not combined with [new].
    expect(pg.P0002).toMatchObject({
      description_hu: 'új P0002',
      system: 'Air',
      symptoms: ['old'],
      severity: 'low',
    });
    // P0003: symptoms NULL → filled.
    expect(pg.P0003).toMatchObject({ description_hu: 'régi', symptoms: ['new'], updated_at: pgTime(T2) });
    const n = await nodes();
    expect(n.P0001).toEqual({
      code: 'P0001',
      note: 'old',
      tags: [],
      updated_at: ISO(T2),
      keep: 'stored only',
    });
    expect(n.P0002).toEqual({ code: 'P0002', note: 'old', tags: ['b'], updated_at: ISO(T2) });
    // The relationship P0001→sym-1 has every field: it stays; no second one appears.
    expect(await rels()).toEqual([
      { code: 'P0001', weight: 0.1, source: 'old' },
      { code: 'P0002', weight: 0.5 },
    ]);
    const p = await points();
    expect(p[1]).toEqual({
      vector: storedVector,
      payload: { code: 'P0001', note: 'old', tags: [], updated_at: T2, keep: 1 },
    });
    expect(p[2]?.payload).toEqual({ code: 'P0002', note: 'old', tags: ['b'], updated_at: T2 });
    expect(s.datasets.find((d) => d.store === 'postgres')?.counts).toEqual({
      inserted: 1,
      updated: 3,
      skipped: 0,
      rejected: 0,
    });
  });
});

describe('newest', () => {
  it('the later updated_at wins whole; older, equal and missing timestamps keep the stored record', async () => {
    const s = await run('newest');
    const pg = await pgRows();
    expect(pg.P0001).toMatchObject({ description_en: 'old P0001', updated_at: pgTime(T2) });
    expect(pg.P0002).toMatchObject({
      description_en: 'new P0002',
      description_hu: 'új P0002',
      severity: 'high',
      updated_at: pgTime(T3),
    });
    expect(pg.P0003).toMatchObject({ description_en: 'old P0003', updated_at: pgTime(T2) });
    const n = await nodes();
    expect(n.P0001?.note).toBe('old');
    expect(n.P0002).toEqual({ code: 'P0002', note: 'new', tags: ['b'], updated_at: ISO(T3) });
    expect(n.P0003?.note).toBe('old');
    expect(n.P0005?.note).toBe('old'); // incoming has no timestamp: older
    const p = await points();
    expect(p[2]).toEqual({
      vector: [0, 1, 0, 0],
      payload: { code: 'P0002', note: 'new', tags: ['b'], updated_at: T3 },
    });
    expect(p[3]?.payload.note).toBe('old');
    expect(p[5]?.payload.note).toBe('old');
    expect(s.datasets.find((d) => d.store === 'postgres')?.counts).toEqual({
      inserted: 1,
      updated: 1,
      skipped: 2,
      rejected: 0,
    });
  });
});

describe('bounded memory', () => {
  it("the driver internal the Neo4j import empties after each batch exists (else one transaction's results pile up)", async () => {
    const session = stores.neo4j.driver.session({ database: stores.neo4j.database });
    const tx = session.beginTransaction();
    try {
      await tx.run('RETURN 1');
      const results = (tx as unknown as { _results?: unknown })._results;
      expect(Array.isArray(results) && results.length === 1).toBe(true);
    } finally {
      await tx.rollback();
      await session.close();
    }
  });
});

describe('dry run and all-or-nothing', () => {
  it('--dry-run counts exactly what the import then does, and writes nothing', async () => {
    for (const strategy of ['skip', 'overwrite', 'merge', 'newest'] as const) {
      await storeExisting();
      const before = await fingerprint(stores);
      const dry = await run(strategy, 'dry-run');
      expect(dry.outcome).toBe('rolled-back');
      expect(diffFingerprints(before, await fingerprint(stores))).toEqual([]);
      const real = await run(strategy);
      expect(
        real.datasets.map((d) => d.counts),
        strategy,
      ).toEqual(dry.datasets.map((d) => d.counts));
    }
  });

  it('one invalid record anywhere: nothing is written in any store, and the record is named', async () => {
    const bad = join(work, 'bad-vectors.json.gz');
    const info = await stores.qdrant.getCollection(COLLECTION);
    await writeVectorsFile(bad, [
      {
        name: COLLECTION,
        config: info,
        async *points() {
          yield { id: 9, vector: [1, 0, 0, 0], payload: {} };
          yield { id: 10, vector: [1, 0, 0], payload: {} };
        },
      },
    ]);
    const before = await fingerprint(stores);
    const s = await run('overwrite', 'import', [
      { format: 'json', path: jsonFile },
      { format: 'vectors', path: bad },
    ]);
    expect(s.outcome).toBe('refused');
    expect(s.rejections).toEqual([
      expect.objectContaining({
        store: 'qdrant',
        file: bad,
        reason: expect.stringMatching(/3 dimensions.*4/),
      }),
    ]);
    expect(diffFingerprints(before, await fingerprint(stores))).toEqual([]);
  });

  it('references that point nowhere are rejected: a foreign key, a relationship endpoint, a duplicate key', async () => {
    const file = join(work, 'dangling.json');
    const modelFields = [
      { name: 'id', type: 'text' },
      { name: 'name', type: 'text' },
      { name: 'make_id', type: 'text' },
      { name: 'year_start', type: 'integer' },
    ];
    await writeFile(
      file,
      JSON.stringify({
        postgresql: {
          vehicle_makes: dataset(
            [
              { name: 'id', type: 'text' },
              { name: 'name', type: 'text' },
            ],
            [{ id: 'skoda', name: 'Škoda' }],
          ),
          vehicle_models: dataset(modelFields, [
            { id: 'octavia', name: 'Octavia', make_id: 'skoda', year_start: 1996 },
            { id: 'ghost', name: 'Ghost', make_id: 'no-such-make', year_start: 2000 },
            { id: 'octavia', name: 'Octavia again', make_id: 'skoda', year_start: 1997 },
          ]),
        },
        neo4j: {
          nodes: { DTC: dataset(nodeFields, [node('x1', ['DTC'], { code: 'P0700', note: 'x' })]) },
          relationships: {
            CAUSES: dataset(relFields, [
              rel('e1', 'x1', 'P0700', 1, null),
              { ...rel('e2', 'x1', 'P0700', 1, null), end_id: 'nope', end_key: 'sym-missing' },
            ]),
          },
        },
      }),
    );
    const before = await fingerprint(stores);
    const s = await run('skip', 'import', [{ format: 'json', path: file }]);
    expect(s.outcome).toBe('refused');
    const reasons = s.rejections.map((r) => `${r.dataset}:${r.line}:${r.field ?? ''}: ${r.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^vehicle_models:\d+:make_id: make_id = no-such-make refers to vehicle_makes\.id, which is neither in the store nor in the input$/,
        ),
        expect.stringMatching(/^vehicle_models:\d+:id: duplicate id octavia \(first at line \d+\)$/),
        expect.stringMatching(
          /^neo4j_rel_CAUSES:\d+:: CAUSES: DTC code=P0700 → Symptom id=sym-missing: an endpoint is neither in the input nor in the store$/,
        ),
      ]),
    );
    expect(s.rejectionsTotal).toBe(3);
    expect(diffFingerprints(before, await fingerprint(stores))).toEqual([]);
  });

  it('an input failing half-way (after Qdrant was written) rolls every store back', async () => {
    const before = await fingerprint(stores);
    const truncated = join(work, 'truncated.json.gz');
    const bytes = await readFile(vectorsFile);
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expect(
      run('overwrite', 'import', [
        { format: 'json', path: jsonFile },
        { format: 'vectors', path: vectorsFile },
        { format: 'vectors', path: truncated },
      ]),
    ).rejects.toSatisfy((e: unknown) => e instanceof AcxError && e.code === 'INVALID_INPUT');
    expect(diffFingerprints(before, await fingerprint(stores))).toEqual([]);
  });
});
