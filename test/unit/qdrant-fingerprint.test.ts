/** The Qdrant fingerprint's vector form: float32 bytes, so equal vectors agree and different ones do not. */
import { describe, expect, it } from 'vitest';
import { canonicalPoint } from '../../src/stores/qdrant/qdrant-fingerprint.ts';

describe('canonicalPoint', () => {
  it('tells multivectors apart row by row (they once all became the same NaNs)', () => {
    const a = canonicalPoint({
      id: 1,
      vector: {
        colbert: [
          [0.1, 0.2],
          [0.3, 0.4],
        ],
      },
      payload: {},
    });
    const b = canonicalPoint({
      id: 1,
      vector: {
        colbert: [
          [0.1, 0.2],
          [0.3, 0.5],
        ],
      },
      payload: {},
    });
    const same = canonicalPoint({
      id: 1,
      vector: {
        colbert: [
          [0.1, 0.2],
          [0.3, 0.4],
        ],
      },
      payload: {},
    });
    expect(a).not.toBe(b);
    expect(a).toBe(same);
    expect(a).not.toContain('NaN');
  });

  it('compares dense vectors as float32 (the float64 expansion and the short form agree)', () => {
    const long = canonicalPoint({ id: 2, vector: [0.6000000238418579, -0], payload: null });
    const short = canonicalPoint({ id: 2, vector: [0.6, -0], payload: null });
    expect(long).toBe(short);
  });

  it('encodes a backup typed vectors (Float64Array) as the decimal arrays they were read from', () => {
    const plain = canonicalPoint({
      id: 3,
      vector: { '': [0.25, -1.5], colbert: [[0.1, 0.2]], sparse: { indices: [4, 9], values: [0.5, 0.75] } },
      payload: { a: 1 },
    });
    const typed = canonicalPoint({
      id: 3,
      vector: {
        '': Float64Array.from([0.25, -1.5]),
        colbert: [Float64Array.from([0.1, 0.2])],
        sparse: { indices: [4, 9], values: Float64Array.from([0.5, 0.75]) },
      },
      payload: { a: 1 },
    });
    expect(typed).toBe(plain);
    expect(canonicalPoint({ id: 3, vector: Float64Array.from([0.25]), payload: null })).toBe(
      canonicalPoint({ id: 3, vector: [0.25], payload: null }),
    );
  });
});
