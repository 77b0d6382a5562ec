/**
 * `linesToBuffer`, which a Qdrant backup writes each page of points with: the UTF-8 of every line and a
 * newline after each, the same bytes as joining the lines, for text of one to four bytes per character;
 * `joinToBuffer` under it, which also writes a restore's upsert bodies.
 */
import { expect, it } from 'vitest';
import { linesToBuffer } from '../../src/stores/qdrant/qdrant-backup.ts';
import { canonicalVectors } from '../../src/stores/qdrant/qdrant-fingerprint.ts';
import { joinToBuffer } from '../../src/stores/qdrant/qdrant-json.ts';

it('writes each line in UTF-8 followed by a newline', () => {
  const lines = ['{"a":1}', '', 'Levegőtömeg-mérő', 'CITROËN €', '𝄞 and \u0000', 'x'.repeat(70_000)];
  expect(linesToBuffer(lines).equals(Buffer.from(lines.map((l) => `${l}\n`).join('')))).toBe(true);
  expect(linesToBuffer([]).length).toBe(0);
});

it('joins parts as an upsert body: before, the parts with a separator between them, after', () => {
  const points = ['{"id":1,"payload":{"make":"CITROËN"}}', '{"id":2}', '{"id":"𝄞"}'];
  expect(joinToBuffer(points, ',', '{"points":[', ']}').toString()).toBe(`{"points":[${points.join(',')}]}`);
  expect(joinToBuffer([], ',', '{"points":[', ']}').toString()).toBe('{"points":[]}');
  expect(joinToBuffer(['only'], ',').toString()).toBe('only');
});

it('gives each vector its own float32 hex, however long the vectors before it', () => {
  const long = Array.from({ length: 3000 }, (_, i) => i / 7);
  const short = [0.5, -1, 3];
  const expected = (v: number[]) => Buffer.from(Float32Array.from(v).buffer).toString('hex');
  expect(canonicalVectors(long)).toBe(expected(long));
  expect(canonicalVectors(short)).toBe(expected(short));
  expect(canonicalVectors(Float64Array.from(long))).toBe(expected(long));
  expect(canonicalVectors({ b: short, a: long })).toEqual({ a: expected(long), b: expected(short) });
});
