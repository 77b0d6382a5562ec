/**
 * The Qdrant double writes float32 values as Qdrant does (Rust's ryu): the shortest decimal that reads
 * back as the same float32, in ryu's layout.
 */
import { describe, expect, it } from 'vitest';
import {
  exactShortestFloat32,
  Float32Values,
  formatFloat32,
  shortestFloat32,
  writeJson,
} from '../qdrant-double/float32-json.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (bits: number): number => {
  u32[0] = bits >>> 0;
  return f32[0]!;
};

/** Deterministic bit patterns (xorshift32), so a failure names a reproducible value. */
function* randomFloats(count: number, seed = 0x9e3779b9): Generator<number> {
  let state = seed;
  for (let produced = 0; produced < count;) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const f = fromBits(state);
    if (!Number.isFinite(f)) continue;
    produced++;
    yield f;
  }
}

/** Significant digits of a decimal text (`-1.25e-7` → 3). */
const significant = (text: string): number =>
  text.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length ||
  1;

/** The property: the text reads back as `f`, and no decimal with fewer significant digits does. */
function shortestProblem(f: number): string | null {
  const text = formatFloat32(f);
  if (!Object.is(Math.fround(Number(text)), f)) return `${f} → ${text} reads back as another float32`;
  const digits = significant(text);
  for (let p = 1; p < digits; p++) {
    if (Math.fround(Number(f.toPrecision(p))) === f)
      return `${f} → ${text}, but ${f.toPrecision(p)} is shorter`;
  }
  return null;
}

function expectShortest(values: Iterable<number>): void {
  const problems: string[] = [];
  for (const f of values) {
    const problem = shortestProblem(f);
    if (problem) problems.push(problem);
  }
  expect(problems.slice(0, 5)).toEqual([]);
}

describe('formatFloat32', () => {
  it('writes the edge cases as ryu does', () => {
    const cases: [number, string][] = [
      [0, '0.0'],
      [-0, '-0.0'],
      [Math.fround(0.6), '0.6'],
      [Math.fround(0.8), '0.8'],
      [Math.fround(0.1), '0.1'],
      [Math.fround(1 / 3), '0.33333334'],
      [Math.fround(1e-7), '1e-7'],
      [Math.fround(1e-6), '0.000001'],
      [Math.fround(-1.5e-6), '-0.0000015'],
      [1, '1.0'],
      [-3, '-3.0'],
      [16777216, '16777216.0'],
      [Math.fround(123456789), '123456790.0'],
      [Math.fround(1e12), '1000000000000.0'],
      [Math.fround(1e13), '1e13'],
      [Math.fround(1.5e20), '1.5e20'],
      [fromBits(0x7f7fffff), '3.4028235e38'],
      [fromBits(0xff7fffff), '-3.4028235e38'],
      [fromBits(0x00000001), '1e-45'],
      [fromBits(0x007fffff), '1.1754942e-38'],
      [fromBits(0x00800000), '1.1754944e-38'],
      [Number.NaN, 'null'],
      [Number.POSITIVE_INFINITY, 'null'],
    ];
    for (const [value, text] of cases) expect(formatFloat32(value), String(value)).toBe(text);
  });

  it('is the shortest decimal that reads back as the same float32, for edge cases', () => {
    const edges = [
      fromBits(0x00000001),
      fromBits(0x00000002),
      fromBits(0x000003ff),
      fromBits(0x007fffff),
      fromBits(0x00800000),
      fromBits(0x00800001),
      fromBits(0x7f7fffff),
      fromBits(0x7f000000),
      Math.fround(1e-7),
      Math.fround(0.1),
      Math.fround(1 / 3),
      Math.fround(Math.PI),
      2 ** 24 + 2,
      2 ** -10,
      2 ** 100,
    ];
    expectShortest([...edges, ...edges.map((f) => -f)]);
  });

  it('is the shortest decimal that reads back as the same float32, for random bit patterns', () => {
    expectShortest(randomFloats(100_000));
  });

  it('picks what toPrecision(p) gives at the shortest p that reads back, or the even digit at a tie', () => {
    let ties = 0;
    for (const f of randomFloats(20_000, 12345)) {
      const p = [1, 2, 3, 4, 5, 6, 7, 8, 9].find((n) => Math.fround(Number(f.toPrecision(n))) === f)!;
      const out = formatFloat32(f);
      if (Number(out) === Number(f.toPrecision(p))) continue;
      // toPrecision rounds a tie away from zero, ryu to the even digit: f is then exactly halfway.
      ties++;
      const longer = f.toPrecision(p + 1).replace(/e.*$/, '');
      expect(Number(f.toPrecision(p + 1)), `${f} is not halfway`).toBe(f);
      expect(longer.endsWith('5'), `${f}: ${longer}`).toBe(true);
      expect(Number(out.replace(/e.*$/, '').replace(/\.0$/, '').at(-1)) % 2, `${f} → ${out}`).toBe(0);
    }
    expect(ties).toBeLessThan(200);
  });

  it('agrees with the exact (BigInt) computation, powers of two and unit-vector components included', () => {
    const values = [...randomFloats(10_000, 777)];
    for (let e = -149; e <= 127; e++) values.push(2 ** e);
    for (let i = 0; i < 5_000; i++) values.push(Math.fround(Math.sin(i) / 27.7));
    const differing = values
      .filter((f) => f !== 0)
      .map(Math.abs)
      .filter((a) => {
        const fast = shortestFloat32(a);
        const exact = exactShortestFloat32(a);
        return fast.digits !== exact.digits || fast.exponent !== exact.exponent;
      });
    expect(differing.slice(0, 5)).toEqual([]);
  });
});

describe('writeJson', () => {
  it('writes vectors in float32 form and bigints as integers, everything else like JSON.stringify', () => {
    const body = {
      result: {
        points: [
          {
            id: 9036396042225763098n,
            payload: { name: 'a "quoted" text', score: 0.6, list: [1, null, true], skipped: undefined },
            vector: new Float32Values(Float32Array.from([0.6, 0.8, 0, -0.1])),
          },
        ],
        next_page_offset: null,
      },
      status: 'ok',
      time: 0.25,
    };
    expect(writeJson(body).toString('utf8')).toBe(
      '{"result":{"points":[{"id":9036396042225763098,"payload":{"name":"a \\"quoted\\" text","score":0.6,' +
        '"list":[1,null,true]},"vector":[0.6,0.8,0.0,-0.1]}],"next_page_offset":null},"status":"ok","time":0.25}',
    );
    const plain = { a: [1, 'x', { b: null }], c: 'é\u2028' };
    expect(writeJson(plain).toString('utf8')).toBe(JSON.stringify(plain));
  });
});
