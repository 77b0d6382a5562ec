/**
 * Order-independent content hashes: a dataset's hash is the sum (mod 2^256) of the SHA-256 of each of
 * its records' canonical encodings. Two datasets hash equal exactly when they hold the same multiset of
 * records, whatever order a store returns them in, so no store has to sort to be compared.
 */
import { hash } from 'node:crypto';

/**
 * The running sum: eight 32-bit limbs, most significant first (the digest's byte order), added with
 * carries and the last carry dropped (mod 2^256). A BigInt per record cost more than the SHA-256.
 */
export class MultisetHash {
  private readonly limbs = new Uint32Array(8);
  count = 0;

  add(canonical: string | Buffer): void {
    // One char per byte ('binary' is latin1): the fastest form of the digest to get and read (a Buffer
    // costs more).
    const digest = hash('sha256', canonical, 'binary');
    const limbs = this.limbs;
    let carry = 0;
    for (let i = 7; i >= 0; i--) {
      const at = i * 4;
      const word =
        ((digest.charCodeAt(at) << 24) |
          (digest.charCodeAt(at + 1) << 16) |
          (digest.charCodeAt(at + 2) << 8) |
          digest.charCodeAt(at + 3)) >>>
        0;
      const sum = limbs[i]! + word + carry;
      limbs[i] = sum >>> 0;
      carry = sum > 0xffffffff ? 1 : 0;
    }
    this.count++;
  }

  digest(): string {
    let out = '';
    for (const limb of this.limbs) out += limb.toString(16).padStart(8, '0');
    return out;
  }
}

export interface DatasetFingerprint {
  records: number;
  hash: string;
}

export type Fingerprint = Record<string, DatasetFingerprint>;

/**
 * JSON with object keys sorted at every depth; bigint written as a decimal string with an `n` suffix:
 * `JSON.stringify(sortKeys(value))`. A value already in that form (plain objects with their keys in
 * sorted order, no bigint, no key JSON.stringify would treat apart) is written as it is, without the
 * copy: the records of the hot paths are built that way.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(isCanonical(value) ? value : sortKeys(value));
}

/** Keys that look like array indexes: JSON.stringify writes them first, ascending, whatever the order. */
const INDEX_LIKE = /^\d+$/;

function isCanonical(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return typeof value !== 'bigint';
  if (Array.isArray(value)) {
    for (const item of value) if (!isCanonical(item)) return false;
    return true;
  }
  // A Date or Buffer is written by its toJSON either way; other classes may have one of their own.
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value instanceof Date || Buffer.isBuffer(value);
  let previous: string | undefined;
  for (const key of Object.keys(value)) {
    if ((previous !== undefined && !(previous < key)) || key === 'toJSON' || INDEX_LIKE.test(key))
      return false;
    if (!isCanonical((value as Record<string, unknown>)[key])) return false;
    previous = key;
  }
  return true;
}

function sortKeys(value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The datasets whose hashes differ (or exist on one side only), for readable test failures. */
export function diffFingerprints(a: Fingerprint, b: Fingerprint): string[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names.filter((n) => a[n]?.hash !== b[n]?.hash || a[n]?.records !== b[n]?.records);
}
