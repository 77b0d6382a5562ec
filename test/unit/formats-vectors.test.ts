import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, createGunzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorCollection, VectorPoint } from '../../src/model/dataset.ts';
import { writeVectorsFile } from '../../src/formats/vectors/vectors-format.ts';
import { parseExactJson } from '../../src/model/exact-json.ts';
import { seededRandom } from '../../src/seed/random.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-vectors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function vector(rand: () => number, size: number): number[] {
  return Array.from({ length: size }, () => Math.fround(rand() * 2 - 1));
}

function collection(name: string, config: Record<string, unknown>, points: VectorPoint[]): VectorCollection {
  return {
    name,
    config,
    async *points() {
      yield* points;
    },
  };
}

/** Bit-exact float32 comparison of two number lists. */
function expectFloat32Equal(actual: unknown, expected: ArrayLike<number>, where: string): void {
  expect(Array.isArray(actual), where).toBe(true);
  const a = new Float32Array(actual as number[]);
  const b = Float32Array.from(expected);
  expect(a.length, where).toBe(b.length);
  expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), where).toBe(true);
}

function expectVectorEqual(actual: unknown, expected: unknown, where: string): void {
  if (Array.isArray(expected) || ArrayBuffer.isView(expected)) {
    expectFloat32Equal(actual, expected as ArrayLike<number>, where);
    return;
  }
  const exp = expected as Record<string, unknown>;
  const act = actual as Record<string, unknown>;
  expect(Object.keys(act).sort(), where).toEqual(Object.keys(exp).sort());
  for (const [name, value] of Object.entries(exp)) {
    if (Array.isArray(value) || ArrayBuffer.isView(value)) {
      expectFloat32Equal(act[name], value as ArrayLike<number>, `${where}.${name}`);
    } else {
      const sparse = value as { indices: ArrayLike<number>; values: ArrayLike<number> };
      const back = act[name] as { indices: number[]; values: number[] };
      expect(back.indices, `${where}.${name}.indices`).toEqual(Array.from(sparse.indices));
      expectFloat32Equal(back.values, sparse.values, `${where}.${name}.values`);
    }
  }
}

const rand = seededRandom(42);
const UNNAMED_CONFIG = {
  params: { vectors: { size: 8, distance: 'Cosine' }, on_disk_payload: true },
  hnsw_config: { m: 16, ef_construct: 100 },
};
const UNNAMED: VectorPoint[] = [
  {
    id: 9036396042225763098n,
    vector: vector(rand, 8),
    payload: {
      type: 'dtc',
      code: 'P0100',
      description_hu: 'Levegőtömeg-áramlás érzékelő – hiba ű',
      tags: [],
      mixed: [null, 'with "quotes"', 'a,b', 'line\nbreak', 'tab\t', '\u0001', '🚗'],
      nested: { deep: { big: 9223372036854775807n, small: 0.1, tiny: 1e-300 } },
      empty: '',
      nothing: null,
      at: '2025-03-30T01:30:00.123456+00:00',
      xml: '<a> & "b" \'c\' ]]>',
      numeric: '12345.6700',
    },
  },
  { id: 1, vector: [0.1, -0, 1e-30, 3.4028234663852886e38, -1, 0, 0.5, 2 ** -149], payload: null },
  { id: '0b7e3f52-8a6c-4c55-9f1e-2d1f3b5a9c01', vector: Float32Array.from(vector(rand, 8)), payload: {} },
];

const NAMED_CONFIG = {
  params: {
    vectors: { dense: { size: 4, distance: 'Dot' }, title: { size: 3, distance: 'Euclid' } },
    sparse_vectors: { keywords: { modifier: 'idf' } },
  },
};
const NAMED: VectorPoint[] = [
  {
    id: 7,
    vector: {
      dense: vector(rand, 4),
      title: vector(rand, 3),
      keywords: { indices: [1, 5, 4_000_000_000], values: [0.5, Math.fround(0.1), -2.25] },
    },
    payload: { k: 'ő' },
  },
  {
    id: 18446744073709551615n,
    vector: { dense: Float32Array.from(vector(rand, 4)), keywords: { indices: [], values: [] } },
    payload: { k: null },
  },
];

describe('vectors export', () => {
  it('writes every point of unnamed, named and sparse collections, read back exactly', async () => {
    const path = join(dir, 'qdrant_vectors.json.gz');
    const result = await writeVectorsFile(path, [
      collection('autocognitix', UNNAMED_CONFIG, UNNAMED),
      collection('named', NAMED_CONFIG, NAMED),
      collection('empty', { params: { vectors: { size: 768, distance: 'Manhattan' } } }, []),
    ]);
    expect(result).toEqual({ path, records: 5, collections: { autocognitix: 3, named: 2, empty: 0 } });
    expect(existsSync(`${path}.partial`)).toBe(false);

    const doc = parseExactJson(gunzipSync(await readFile(path)).toString('utf8')) as {
      format: string;
      version: number;
      collections: Record<string, Record<string, unknown>>;
    };
    expect(doc.format).toBe('acx-data-vectors');
    expect(doc.version).toBe(1);
    expect(Object.keys(doc.collections)).toEqual(['autocognitix', 'named', 'empty']);

    const unnamed = doc.collections.autocognitix!;
    expect(Object.keys(unnamed)).toEqual(['config', 'vector_size', 'distance', 'points', 'points_count']);
    expect(unnamed.config).toEqual(UNNAMED_CONFIG);
    expect(unnamed).toMatchObject({ vector_size: 8, distance: 'Cosine', points_count: 3 });
    const named = doc.collections.named!;
    expect(named).toMatchObject({ vector_size: null, distance: null, points_count: 2, config: NAMED_CONFIG });
    expect(doc.collections.empty).toMatchObject({ vector_size: 768, distance: 'Manhattan', points: [] });

    const check = (points: unknown, expected: VectorPoint[], name: string): void => {
      const back = points as Array<{ id: unknown; vector: unknown; payload: unknown }>;
      expect(back).toHaveLength(expected.length);
      expected.forEach((point, i) => {
        const where = `${name}[${i}]`;
        expect(Object.keys(back[i]!)).toEqual(['id', 'vector', 'payload']);
        expect(back[i]!.id, where).toStrictEqual(point.id); // bigint ids stay bigint
        expectVectorEqual(back[i]!.vector, point.vector, where);
        expect(back[i]!.payload, where).toStrictEqual(point.payload);
      });
    };
    check(unnamed.points, UNNAMED, 'autocognitix');
    check(named.points, NAMED, 'named');
  });

  it('accepts an async iterable of collections and leaves nothing on abort', async () => {
    const controller = new AbortController();
    async function* collections(): AsyncIterable<VectorCollection> {
      yield {
        name: 'c',
        config: {},
        async *points() {
          for (let i = 0; ; i++) {
            if (i === 3000) controller.abort();
            yield { id: i, vector: [i], payload: null };
          }
        },
      };
    }
    const path = join(dir, 'aborted.json.gz');
    await expect(writeVectorsFile(path, collections(), { signal: controller.signal })).rejects.toThrow(
      /abort/i,
    );
    expect((await readdir(dir)).filter((f) => f.startsWith('aborted'))).toEqual([]);
  });

  // 20k points (≈ 180 MB of JSON text, more than the memory bound) by default; ACX_VECTORS_TEST_POINTS=100000 for a longer run.
  it('streams many 768-dim points with bounded memory', { timeout: 600_000 }, async () => {
    const count = Number(process.env.ACX_VECTORS_TEST_POINTS ?? 20_000);
    const dims = 768;
    const prng = seededRandom(7);
    // Values as Qdrant's JSON gives them: float32s in short form (what JSON.parse makes of them).
    const vectors = Array.from({ length: 97 }, () =>
      Array.from({ length: dims }, () => Number(Math.fround(prng() * 2 - 1).toPrecision(8))),
    );
    const pointAt = (i: number): VectorPoint => ({
      id: 1_000_000_000_000_000_000n + BigInt(i),
      vector: vectors[i % vectors.length],
      payload: { type: 'dtc', i },
    });
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const started = performance.now();
    const path = join(dir, 'big.json.gz');
    const result = await writeVectorsFile(path, [
      {
        name: 'autocognitix',
        config: { params: { vectors: { size: dims, distance: 'Cosine' } } },
        async *points() {
          for (let i = 0; i < count; i++) yield pointAt(i);
        },
      },
    ]);
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    expect(result.records).toBe(count);
    const mb = (n: number): number => Math.round(n / 2 ** 20);
    console.log(
      `vectors: ${count} × ${dims} in ${seconds.toFixed(1)} s (${Math.round(count / seconds)} points/s), ` +
        `RSS ${mb(baseline)} → peak ${mb(peak)} MB`,
    );
    // 100k × 768 is ~1 GB of JSON text: holding it would dwarf this bound.
    expect(peak - baseline).toBeLessThan(200 * 2 ** 20);

    // Read back streaming: every point's id in order, some points parsed and compared exactly, the tail.
    let tail = '';
    let carry = '';
    let seen = 0;
    const marker = '{"id":';
    for await (const chunk of createReadStream(path).pipe(createGunzip({ chunkSize: 1 << 20 }))) {
      const text = carry + (chunk as Buffer).toString('latin1');
      let at = text.indexOf(marker);
      let last = 0;
      while (at !== -1) {
        const end = text.indexOf('}}', at);
        if (end === -1) break;
        const expected = pointAt(seen);
        if (!text.startsWith(`{"id":${expected.id},"vector":[`, at)) {
          throw new Error(`point ${seen} out of place: ${text.slice(at, at + 60)}`);
        }
        if (seen % 997 === 0) {
          const point = parseExactJson(text.slice(at, end + 2)) as { id: bigint; vector: number[] };
          expect(point.id).toBe(expected.id);
          expectFloat32Equal(point.vector, expected.vector as number[], `point ${seen}`);
          expect(point).toMatchObject({ payload: { type: 'dtc', i: seen } });
        }
        seen++;
        last = end + 2;
        at = text.indexOf(marker, last);
      }
      carry = text.slice(last);
      tail = (tail + text).slice(-200);
    }
    expect(seen).toBe(count);
    expect(tail.endsWith(`],"points_count":${count}}}}`)).toBe(true);
  });
});
