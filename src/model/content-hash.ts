/**
 * Order-independent content hashes: a dataset's hash is the sum (mod 2^256) of the SHA-256 of each of
 * its records' canonical encodings. Two datasets hash equal exactly when they hold the same multiset of
 * records, whatever order a store returns them in, so no store has to sort to be compared.
 */
import { createHash } from 'node:crypto';

const MOD = 1n << 256n;

export class MultisetHash {
  private sum = 0n;
  count = 0;

  add(canonical: string | Buffer): void {
    const digest = createHash('sha256').update(canonical).digest('hex');
    this.sum = (this.sum + BigInt(`0x${digest}`)) % MOD;
    this.count++;
  }

  digest(): string {
    return this.sum.toString(16).padStart(64, '0');
  }
}

export interface DatasetFingerprint {
  records: number;
  hash: string;
}

export type Fingerprint = Record<string, DatasetFingerprint>;

/** JSON with object keys sorted at every depth; bigint written as a decimal string with an `n` suffix. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
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
