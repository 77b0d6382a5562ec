/**
 * The content hash's two parts must never change their output: fingerprints are stored in manifests
 * and compared with ones computed later. They are held here against their definitions written the
 * plain way (a BigInt sum mod 2^256 of SHA-256 digests; `JSON.stringify` of a key-sorted copy) on
 * random records of every shape, and against fixed values.
 */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { canonicalJson, MultisetHash } from '../../src/model/content-hash.ts';

function referenceSortKeys(value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return value.map(referenceSortKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, referenceSortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
const referenceJson = (value: unknown) => JSON.stringify(referenceSortKeys(value));

function referenceHash(records: string[]): string {
  let sum = 0n;
  for (const r of records)
    sum = (sum + BigInt(`0x${createHash('sha256').update(r).digest('hex')}`)) % (1n << 256n);
  return sum.toString(16).padStart(64, '0');
}

/** A small deterministic generator (the same values every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

const KEYS = [
  'a',
  'b',
  'Z',
  'é',
  'ő',
  '10',
  '2',
  '0',
  'toJSON',
  'key with "quotes"',
  '$int',
  '',
  '__proto__',
];

function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 2 ? 9 : 12));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return [0, -0, 1.5, -2e-7, 1e21, Number.NaN, Infinity, 2 ** 53 + 2][Math.floor(next() * 8)];
    case 3:
      return ['', 'P0123', 'ű\u2028\n"\\', '\ud800'][Math.floor(next() * 4)];
    case 4:
      return BigInt(Math.floor(next() * 1e9)) * 10n ** 12n;
    case 5:
      return undefined;
    case 6:
      return new Date(Date.UTC(2026, 0, 1 + Math.floor(next() * 300)));
    case 7:
      return Buffer.from([1, 2, Math.floor(next() * 255)]);
    case 8:
      return () => 1;
    default: {
      if (pick === 9)
        return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 5); i > 0; i--) {
        Object.defineProperty(object, KEYS[Math.floor(next() * KEYS.length)]!, {
          value: randomValue(next, depth + 1),
          enumerable: true,
          configurable: true,
          writable: true,
        });
      }
      return object;
    }
  }
}

it('canonicalJson is JSON.stringify of a key-sorted copy, for values of every shape', () => {
  const next = rng(42);
  for (let i = 0; i < 20_000; i++) {
    const value = randomValue(next, 0);
    expect(canonicalJson(value)).toBe(referenceJson(value));
  }
  // Objects already in canonical form are written as they are; a class's own toJSON is not used.
  class Point {
    x = 1;
    toJSON() {
      return 'not used';
    }
  }
  const sorted = { a: new Date(0), b: Buffer.from('hi'), c: [new Point(), { d: 1, e: null }] };
  expect(canonicalJson(sorted)).toBe(referenceJson(sorted));
  expect(canonicalJson(sorted)).toContain('{"x":1}');
  // Keys that look like array indexes go first in JSON.stringify's order, ascending; the rest sorted.
  expect(canonicalJson({ b: 1, 10: 2, 9: 3, a: [{ z: 1n, y: undefined }] })).toBe(
    '{"9":3,"10":2,"a":[{"z":"1n"}],"b":1}',
  );
});

it('MultisetHash is the sum of SHA-256 digests mod 2^256, in any order, carries included', () => {
  const next = rng(7);
  const records = Array.from({ length: 3000 }, (_, i) => `record ${i} ${next()}`);
  const hash = new MultisetHash();
  for (const r of records) hash.add(r);
  expect(hash.count).toBe(3000);
  expect(hash.digest()).toBe(referenceHash(records));
  const reversed = new MultisetHash();
  for (const r of [...records].reverse()) reversed.add(Buffer.from(r));
  expect(reversed.digest()).toBe(hash.digest());
  expect(new MultisetHash().digest()).toBe('0'.repeat(64));
  // A fixed value, so a change of either definition shows here too.
  const fixed = new MultisetHash();
  for (const r of ['{"a":1}', '{"b":2}', '']) fixed.add(r);
  expect(fixed.digest()).toBe(referenceHash(['{"a":1}', '{"b":2}', '']));
  expect(fixed.digest()).toMatchInlineSnapshot(
    `"efbd28958a8ec65bd34dad10049ba938a181cd22a5b24cb79c4a63f8e0a18b4a"`,
  );
});
