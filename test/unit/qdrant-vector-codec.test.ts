/**
 * Binary float32 vectors of format-2 points files (qdrant-vector-codec.ts): round trips in every vector
 * position, the sign of zero, what stays decimal, damaged binary data, lines mixing both forms; and
 * (logged, not asserted) the speed and size against decimal text for 768-dim points.
 */
import { describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { AcxError } from '../../src/errors.ts';
import { planCounts } from '../../src/seed/plan.ts';
import { POINT_SETS } from '../../src/seed/points.ts';
import { memberSpan, parseQdrantJson, stringifyQdrantJson } from '../../src/stores/qdrant/qdrant-json.ts';
import {
  decodePointLine,
  decodeVectors,
  encodeVectors,
  float32Text,
} from '../../src/stores/qdrant/qdrant-vector-codec.ts';

const source = { where: 'qdrant/c/points.jsonl line 1', subject: 'c' };

/** encode → JSON text → parse → decode, as a backup and a restore see it. */
function roundTrip(vector: unknown): { text: string; decoded: unknown } {
  const text = JSON.stringify(encodeVectors(vector));
  return { text, decoded: decodeVectors(JSON.parse(text), source) };
}

const f32 = (values: number[]): number[] => values.map((v) => Math.fround(v));
const bits = (values: number[]): string => Buffer.from(Float32Array.from(values).buffer).toString('hex');

function integrityError(run: () => unknown): AcxError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AcxError);
  expect((caught as AcxError).code).toBe('INTEGRITY');
  return caught as AcxError;
}

describe('binary vectors round-trip in every position', () => {
  it('a dense vector becomes $f32 with its float32 little-endian bytes', () => {
    const vector = f32([0.5, -1.25, 3.1415927, 1e-30, 65504]);
    const encoded = encodeVectors(vector) as { $f32: string };
    expect(Object.keys(encoded)).toEqual(['$f32']);
    const bytes = Buffer.from(encoded.$f32, 'base64');
    expect(bytes.length).toBe(20);
    expect(bytes.readFloatLE(4)).toBe(-1.25);
    expect(roundTrip(vector).decoded).toEqual(vector);
  });

  it('named vectors, the unnamed default, sparse and multivectors each in their form', () => {
    const vector = {
      '': f32([0.1, 0.2]),
      image: f32([1, 2, 3]),
      keywords: { indices: [3, 17, 4096], values: f32([0.25, 0.7, -2]) },
      colbert: [f32([0.1, 0.2]), f32([0.3, 0.4]), f32([-0.5, 0.6])],
    };
    const { text, decoded } = roundTrip(vector);
    const written = JSON.parse(text) as Record<string, Record<string, unknown>>;
    expect(Object.keys(written['']!)).toEqual(['$f32']);
    expect(written.keywords!.indices).toEqual([3, 17, 4096]);
    expect(Object.keys(written.keywords!.values as object)).toEqual(['$f32']);
    expect(written.colbert).toEqual({ $f32m: { dim: 2, data: expect.any(String) as string } });
    expect(Buffer.from((written.colbert!.$f32m as { data: string }).data, 'base64').length).toBe(24);
    expect(decoded).toEqual(vector);
  });

  it('a top-level multivector and a named vector called $f32 are not confused with tags', () => {
    const multi = [f32([1, 2, 3]), f32([4, 5, 6])];
    expect(roundTrip(multi).decoded).toEqual(multi);
    const named = { $f32: f32([1, 2]), $f32m: [f32([3]), f32([4])] };
    const { text, decoded } = roundTrip(named);
    expect(JSON.parse(text)).toEqual({
      $f32: { $f32: expect.any(String) as string },
      $f32m: { $f32m: { dim: 1, data: expect.any(String) as string } },
    });
    expect(decoded).toEqual(named);
    // The same names in a format-1 line stay as they are.
    expect(decodeVectors({ $f32: [1, 2], $f32m: [[3], [4]] }, source)).toEqual(named);
  });

  it('-0 keeps its sign, in the decoded numbers and in the JSON sent to Qdrant', () => {
    const { decoded } = roundTrip([-0, 0, 1]);
    expect(Object.is((decoded as number[])[0], -0)).toBe(true);
    expect(Object.is((decoded as number[])[1], 0)).toBe(true);
    const line = stringifyQdrantJson({ id: 1, vector: encodeVectors({ a: [-0, 1] }), payload: null });
    expect(decodePointLine(line, source)).toBe('{"id":1,"vector":{"a":[-0.0,100000000e-8]},"payload":null}');
  });

  it('a decimal Qdrant printed in shortest float32 form is stored as that float32', () => {
    // Qdrant 1.18 prints 0.6, the double 0.6000000238418579: the same float32 either way.
    const shortest = [0.6, -0.1, 0.33333334];
    const { decoded } = roundTrip(shortest);
    expect(decoded).toEqual(f32(shortest));
    expect(bits(decoded as number[])).toBe(bits(shortest));
  });
});

describe('what stays decimal', () => {
  it('with exactOnly, a vector with one component that is not exactly float32', () => {
    const vector = [0.5, 0.1, 0.25];
    expect(encodeVectors(vector, { exactOnly: true })).toEqual(vector);
    expect(encodeVectors(f32(vector), { exactOnly: true })).toHaveProperty('$f32');
    const named = { a: f32([0.5]), b: [0.1] };
    expect(encodeVectors(named, { exactOnly: true })).toEqual({
      a: { $f32: expect.any(String) as string },
      b: [0.1],
    });
  });

  it('NaN, ±Infinity, a float32 overflow, non-numbers, empty vectors and ragged multivectors', () => {
    for (const vector of [
      [1, Number.NaN],
      [Infinity, 1],
      [1, -Infinity],
      [1e39, 1],
      [1, null],
      [1, '2'],
      [],
      [[1, 2], [3]],
      [[1, 2], 3],
      [[], []],
    ]) {
      expect(encodeVectors(vector)).toBe(vector);
    }
    const sparse = { s: { indices: [1], values: [Number.NaN] } };
    expect(encodeVectors(sparse)).toEqual(sparse);
  });

  it('a format-1 line is returned exactly as it is', () => {
    const line = '{"id":9036396042225763098,"vector":[0.6,-0.1],"payload":{"x":1.0,"note":"$f32"}}';
    expect(decodePointLine(line, source)).toBe(line);
    const named = '{"id":1,"vector":{"$f32":[1.0,1e2,-0.0]},"payload":null}';
    expect(decodePointLine(named, source)).toBe(named);
  });
});

describe('damaged binary vectors are INTEGRITY errors naming the point', () => {
  const line = (vector: unknown): string =>
    `{"id":"5c56c793-69f3-4fbf-87e6-c4bf54c28c26","vector":${JSON.stringify(vector)},"payload":null}`;
  const good = (encodeVectors(f32([1, 2, 3])) as { $f32: string }).$f32;

  it.each([
    ['truncated base64', { $f32: good.slice(0, -4) }, /not a whole number of float32/],
    ['base64 cut mid-group', { $f32: good.slice(0, -1) }, /not valid base64/],
    ['a character outside the alphabet', { $f32: `*${good.slice(1)}` }, /not valid base64/],
    ['a number where base64 belongs', { v: { indices: [1], values: { $f32: 12 } } }, /not base64 text/],
    ['multivector rows cut', { $f32m: { dim: 2, data: good } }, /3 components, not rows of 2/],
    ['multivector without a dimension', { $f32m: { dim: 0, data: good } }, /dim 0/],
  ])('%s', (_name, vector, message) => {
    const error = integrityError(() => decodePointLine(line(vector), source));
    expect(error.message).toMatch(message);
    expect(error.message).toContain(
      'qdrant/c/points.jsonl line 1 (point "5c56c793-69f3-4fbf-87e6-c4bf54c28c26")',
    );
    expect(error.subject).toBe('c');
  });
});

describe('float32 as JSON text', () => {
  it('every float32 reads back as itself, from a million random bit patterns and the extremes', () => {
    const bits = new Uint32Array(1 << 20);
    for (let i = 0; i < bits.length; i++) bits[i] = (Math.random() * 2 ** 32) >>> 0;
    const extremes = [3.4028234663852886e38, 1.1754943508222875e-38, 1e-45, -1e-40, -0, 0, 1, 0.1, 1e10];
    const values = Float32Array.from([...new Float32Array(bits.buffer), ...extremes]).filter((v) =>
      Number.isFinite(v),
    );
    const back = Float32Array.from(JSON.parse(float32Text(values)) as number[]);
    let differing = 0;
    for (let i = 0; i < values.length; i++) if (!Object.is(back[i], values[i])) differing++;
    expect(differing).toBe(0);
    expect(float32Text(Float32Array.from([0.5, -1e-40, -0, 3e38]))).toBe(
      '[500000000e-9,-9.99994610111476e-41,-0.0,300000001e30]',
    );
  });
});

describe('lines', () => {
  it('a line mixing binary and decimal vectors decodes to numbers, id and payload bytes untouched', () => {
    const vector = { a: { $f32: (encodeVectors(f32([0.5, 0.75])) as { $f32: string }).$f32 }, b: [0.1, 0.2] };
    const sparse = { indices: [7], values: encodeVectors(f32([2.5])) };
    const line = `{"id":9036396042225763098,"vector":${JSON.stringify({ ...vector, s: sparse })},"payload":{"x":1.0,"big":12345678901234567890,"t":"$f32"}}`;
    const decoded = decodePointLine(line, source);
    expect(decoded.startsWith('{"id":9036396042225763098,"vector":{"a":[')).toBe(true);
    expect(decoded.endsWith('},"payload":{"x":1.0,"big":12345678901234567890,"t":"$f32"}}')).toBe(true);
    expect((parseQdrantJson(decoded) as { vector: unknown }).vector).toEqual({
      a: [0.5, 0.75],
      b: [0.1, 0.2],
      s: { indices: [7], values: [2.5] },
    });
    expect((parseQdrantJson(decoded) as { id: unknown }).id).toBe(9036396042225763098n);
  });

  it('memberSpan finds top-level members past strings with braces and escapes', () => {
    const text = '{"p":{"a":"}\\"{,"},"id":7, "vector" : [1,[2]],"z":null}';
    const [start, end] = memberSpan(text, 'vector')!;
    expect(text.slice(start, end)).toBe('[1,[2]]');
    expect(memberSpan(text, 'a')).toBeUndefined();
    const [s2, e2] = memberSpan(text, 'id')!;
    expect(text.slice(s2, e2)).toBe('7');
  });
});

// ------------------------------------------------------------------------------------ figures

/** The shortest decimal that reads back as `f` in float32: how Qdrant 1.18 prints vectors. */
function shortestFloat32(f: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return Number(f.toPrecision(9));
}

function perSecond(count: number, run: () => void): number {
  run(); // warm up
  const started = performance.now();
  const rounds = 3;
  for (let i = 0; i < rounds; i++) run();
  return Math.round((count * rounds) / ((performance.now() - started) / 1000));
}

describe('figures (logged, not asserted)', () => {
  it('768-dim points: points/s and bytes per point, decimal text vs $f32, raw and zstd -3', () => {
    const counts = planCounts(1);
    const points = Array.from({ length: 2000 }, (_, i) => {
      const set = POINT_SETS[i % POINT_SETS.length]!;
      return set.point(1, Math.floor(i / POINT_SETS.length), counts);
    });
    const asQdrant = points.map((p) => ({ ...p, vector: p.vector.map(shortestFloat32) }));
    const lines = (pts: typeof points, binary: boolean): string[] =>
      pts.map((p) =>
        stringifyQdrantJson({
          id: p.id,
          vector: binary ? encodeVectors(p.vector) : p.vector,
          payload: p.payload,
        }),
      );
    const texts = {
      'decimal, float64 expansion (test double)': lines(points, false),
      'decimal, shortest float32 (Qdrant 1.18)': lines(asQdrant, false),
      '$f32 (format 2)': lines(points, true),
    };
    const n = points.length;
    const rows: string[] = [];
    for (const [name, text] of Object.entries(texts)) {
      const file = Buffer.from(text.join('\n') + '\n');
      const packed = compress(file, { compressionLevel: 3 });
      rows.push(
        `${name}: ${Math.round(file.length / n)} B/point raw, ${Math.round(packed.length / n)} B/point zstd -3`,
      );
    }
    const binaryLines = texts['$f32 (format 2)'];
    const speeds = {
      'encode+stringify, format 1 (double input)': perSecond(n, () => lines(points, false)),
      'encode+stringify, format 1 (Qdrant input)': perSecond(n, () => lines(asQdrant, false)),
      'encode+stringify, format 2': perSecond(n, () => lines(points, true)),
      'encode+stringify, format 2 (Qdrant input)': perSecond(n, () => lines(asQdrant, true)),
      'restore line (decodePointLine), format 2': perSecond(n, () =>
        binaryLines.forEach((l) => decodePointLine(l, source)),
      ),
      'parse+decode whole line, format 2': perSecond(n, () =>
        binaryLines.forEach((l) => decodeVectors((parseQdrantJson(l) as { vector: unknown }).vector, source)),
      ),
      'parse whole line, format 1 (Qdrant form)': perSecond(n, () =>
        texts['decimal, shortest float32 (Qdrant 1.18)'].forEach((l) => parseQdrantJson(l)),
      ),
    };
    console.log(
      [
        `qdrant vector codec, ${n} seed points of 768 dims:`,
        ...rows,
        ...Object.entries(speeds).map(([k, v]) => `${k}: ${v} points/s`),
      ].join('\n  '),
    );
    // Same float32 values whichever way the line was written.
    const back = decodeVectors((parseQdrantJson(binaryLines[0]!) as { vector: unknown }).vector, source);
    expect(bits(back as number[])).toBe(bits(asQdrant[0]!.vector));
  });
});
