import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import type { VectorCollection, VectorPoint } from '../../src/model/dataset.ts';
import type { InputRecord } from '../../src/model/input.ts';
import { writeVectorsFile } from '../../src/formats/vectors/vectors-format.ts';
import { openVectorsInput } from '../../src/formats/vectors/vectors-reader.ts';
import { expectInvalidInput, failure, readAll } from '../support/input-readers.ts';
import { seededRandom } from '../../src/seed/random.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-vectors-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rand = seededRandom(11);
const float32s = (size: number) => Array.from({ length: size }, () => Math.fround(rand() * 2 - 1));

function collection(name: string, config: Record<string, unknown>, points: VectorPoint[]): VectorCollection {
  return {
    name,
    config,
    async *points() {
      yield* points;
    },
  };
}

/** Bit-exact float32 equality of number lists (typed arrays come back as arrays). */
function expectFloat32(actual: unknown, expected: ArrayLike<number>): void {
  expect(Array.isArray(actual)).toBe(true);
  const a = Float32Array.from(actual as number[]);
  const b = Float32Array.from(expected);
  expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
}

const UNNAMED_CONFIG = { params: { vectors: { size: 8, distance: 'Cosine' } }, hnsw_config: { m: 16 } };
const UNNAMED: VectorPoint[] = [
  {
    id: 9036396042225763098n,
    vector: float32s(8),
    payload: {
      code: 'P0100',
      description_hu: 'Levegőtömeg-áramlás – ű',
      nested: { big: 9223372036854775807n, tiny: 1e-300, list: [null, '', 'tab\t', '\u0001', '🚗'] },
      empty: '',
      nothing: null,
    },
  },
  { id: 1, vector: [0.1, -0, 1e-30, 3.4028234663852886e38, -1, 0, 0.5, 2 ** -149], payload: null },
  { id: 18446744073709551615n, vector: Float32Array.from(float32s(8)), payload: {} },
  { id: '0b7e3f52-8a6c-4c55-9f1e-2d1f3b5a9c01', vector: float32s(8), payload: { k: 'v' } },
];
const NAMED_CONFIG = {
  params: {
    vectors: { dense: { size: 4, distance: 'Dot' } },
    sparse_vectors: { keywords: { modifier: 'idf' } },
  },
};
const NAMED: VectorPoint[] = [
  {
    id: 7,
    vector: {
      dense: float32s(4),
      keywords: { indices: [1, 5, 4_000_000_000], values: [0.5, Math.fround(0.1), -2.25] },
    },
    payload: { k: 'ő' },
  },
  { id: 8, vector: { dense: float32s(4), keywords: { indices: [], values: [] } }, payload: null },
];

function expectPoints(records: InputRecord[], expected: VectorPoint[]): void {
  expect(records).toHaveLength(expected.length);
  expected.forEach((point, i) => {
    const back = records[i]!;
    expect(back.problems).toBeUndefined();
    expect(Object.keys(back.values)).toEqual(['id', 'vector', 'payload']);
    expect(back.values.id).toStrictEqual(point.id); // bigint stays bigint, UUID string
    expect(back.values.payload).toStrictEqual(point.payload);
    if (Array.isArray(point.vector) || ArrayBuffer.isView(point.vector)) {
      expectFloat32(back.values.vector, point.vector as ArrayLike<number>);
      if (Array.isArray(point.vector)) expect(back.values.vector).toStrictEqual(point.vector); // -0 kept
    } else {
      const named = point.vector as Record<string, unknown>;
      const got = back.values.vector as Record<string, unknown>;
      expect(Object.keys(got)).toEqual(Object.keys(named));
      for (const [name, v] of Object.entries(named)) {
        if (Array.isArray(v)) expectFloat32(got[name], v);
        else expect(got[name]).toStrictEqual(v);
      }
    }
  });
}

describe('vectors reader', () => {
  it('reads back every collection the export writes: ids, float32 vectors, named and sparse, payloads', async () => {
    const path = join(dir, 'qdrant_vectors.json.gz');
    await writeVectorsFile(path, [
      collection('autocognitix', UNNAMED_CONFIG, UNNAMED),
      collection('named', NAMED_CONFIG, NAMED),
      collection('empty', { params: { vectors: { size: 768, distance: 'Manhattan' } } }, []),
    ]);
    const source = await openVectorsInput(path);
    expect(source.format).toBe('vectors');
    const read = await readAll(source);
    // The export writes the `config` part of Qdrant's collection info; the target has the info's shape.
    expect(read.map((d) => [d.dataset.name, d.dataset.target])).toEqual([
      ['autocognitix', { store: 'qdrant', collection: 'autocognitix', config: { config: UNNAMED_CONFIG } }],
      ['named', { store: 'qdrant', collection: 'named', config: { config: NAMED_CONFIG } }],
      [
        'empty',
        {
          store: 'qdrant',
          collection: 'empty',
          config: { config: { params: { vectors: { size: 768, distance: 'Manhattan' } } } },
        },
      ],
    ]);
    expect(read[0]!.dataset.fields.map((f) => f.name)).toEqual(['id', 'vector', 'payload']);
    expectPoints(read[0]!.records, UNNAMED);
    expectPoints(read[1]!.records, NAMED);
    expect(read[2]!.records).toEqual([]);
    expect(read[0]!.records.every((r) => r.line === 1)).toBe(true);
    expect(source.notices).toEqual([]);
  });

  it("reads the original tool's layout (no config: built from vector_size/distance) and plain JSON", async () => {
    const path = join(dir, 'original.json');
    const text = `{"collections": {
  "autocognitix": {"points_count": 2, "vector_size": 3, "distance": "Cosine", "points": [
    {"id": 1, "payload": {"a": 1}, "vector": [0.5, -0.25, 1]},
    {"id": 9223372036854775807, "payload": null, "vector": [0, 0, 0]}
  ]},
  "no_params": {"points": [{"id": 2, "vector": [1]}], "vector_size": 1}
}}
`;
    await writeFile(path, text);
    const read = await readAll(await openVectorsInput(path));
    expect(read.map((d) => d.dataset.target)).toEqual([
      {
        store: 'qdrant',
        collection: 'autocognitix',
        config: { config: { params: { vectors: { size: 3, distance: 'Cosine' } } } },
      },
      // points before vector_size: nothing known yet
      { store: 'qdrant', collection: 'no_params', config: null },
    ]);
    expect(read[0]!.records).toStrictEqual([
      { line: 3, values: { id: 1, vector: [0.5, -0.25, 1], payload: { a: 1 } } },
      { line: 4, values: { id: 9223372036854775807n, vector: [0, 0, 0], payload: null } },
    ]);
    expect(read[1]!.records).toStrictEqual([{ line: 6, values: { id: 2, vector: [1], payload: null } }]);
  });

  it('takes a config that already has the collection-info shape as it is', async () => {
    const path = join(dir, 'info-shaped.json');
    const info = {
      status: 'green',
      config: { params: { vectors: { size: 2, distance: 'Dot' } } },
      payload_schema: { code: { data_type: 'keyword' } },
    };
    await writeFile(path, JSON.stringify({ collections: { c: { config: info, points: [] } } }));
    const [c] = await readAll(await openVectorsInput(path));
    expect(c!.dataset.target).toEqual({ store: 'qdrant', collection: 'c', config: info });
  });

  it('keeps a point with an unusable id as a record problem', async () => {
    const path = join(dir, 'bad-ids.json');
    await writeFile(
      path,
      '{"format":"acx-data-vectors","version":1,"collections":{"c":{"points":[{"id":-1,"vector":[1]},{"id":"nope","vector":[1],"payload":[1]},{"vector":[1]}]}}}',
    );
    const [c] = await readAll(await openVectorsInput(path));
    expect(c!.records.map((r) => r.problems)).toEqual([
      [{ field: 'id', reason: 'point id not an unsigned integer' }],
      [
        { field: 'id', reason: 'point id not a UUID' },
        { field: 'payload', reason: 'payload is not an object' },
      ],
      [{ field: 'id', reason: 'point id missing' }],
    ]);
  });
});

describe('vectors reader on broken input', () => {
  const good =
    '{"format":"acx-data-vectors","version":1,"collections":{"c":{"config":{},"vector_size":2,"distance":"Dot",' +
    '"points":[{"id":1,"vector":[0.5,0.25],"payload":{"a":"b"}},{"id":2,"vector":[1,2],"payload":null}],"points_count":2}}}';
  const cases: Array<{
    name: string;
    file: string;
    content: string | Buffer;
    line?: number;
    message: RegExp;
  }> = [
    {
      name: 'garbage named .gz',
      file: 'garbage.json.gz',
      content: Buffer.from('not gzip, not anything'),
      message: /not a complete gzip file/,
    },
    {
      name: 'random bytes with the gzip magic',
      file: 'magic.bin',
      content: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02]),
      message: /not a complete gzip file/,
    },
    {
      name: 'a truncated .gz',
      file: 'truncated.json.gz',
      content: gzipSync(Buffer.from(good)).subarray(0, 60),
      message: /not a complete gzip file/,
    },
    {
      name: 'a wrong format marker',
      file: 'wrong-format.json',
      content: '{"format":"something-else","collections":{}}',
      line: 1,
      message: /"format" is "something-else"/,
    },
    {
      name: 'a newer version',
      file: 'newer.json',
      content: '{"format":"acx-data-vectors","version":2,"collections":{}}',
      line: 1,
      message: /version 2/,
    },
    {
      name: 'points that are not an array',
      file: 'points-object.json',
      content: '{"collections":{"c":{\n"points":{"id":1}}}}',
      line: 2,
      message: /"points" is not an array/,
    },
    {
      name: 'a point that is not an object',
      file: 'point-number.json',
      content: '{"collections":{"c":{"points":[\n{"id":1,"vector":[1]},\n42]}}}',
      line: 3,
      message: /a point is not an object/,
    },
    {
      name: 'a root that is not an object',
      file: 'array.json',
      content: '[1,2,3]',
      line: 1,
      message: /is an array, not an object/,
    },
    {
      name: 'a JSON export',
      file: 'autocognitix_export.json',
      content: '{"export_time":"x","postgresql":{}}',
      line: 1,
      message: /JSON export, not a vectors file/,
    },
    {
      name: 'no collections',
      file: 'no-collections.json',
      content: '{"format":"acx-data-vectors","version":1}',
      line: 1,
      message: /no "collections"/,
    },
    {
      name: 'truncated plain JSON',
      file: 'truncated.json',
      content: good.slice(0, good.indexOf('{"id":2') + 10),
      line: 1,
      message: /truncated/,
    },
    {
      name: 'a collection that is not an object',
      file: 'collection-array.json',
      content: '{"collections":{"c":[1]}}',
      line: 1,
      message: /an object for collection "c"/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const path = join(dir, c.file);
      await writeFile(path, c.content);
      expectInvalidInput(await failure(() => openVectorsInput(path)), path, c.message, c.line);
    });
  }

  it('reports a missing file as NOT_FOUND', async () => {
    const path = join(dir, 'missing.json.gz');
    const error = await failure(() => openVectorsInput(path));
    expect(error).toBeInstanceOf(AcxError);
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain(path);
  });
});
