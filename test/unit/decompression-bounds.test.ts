/**
 * Decompression of snapshot files is bounded: whatever the ratio, the decompressor waits for its reader
 * (memory stays flat), and a file expanding past the size its manifest records is refused as soon as it
 * does, not after expanding all of it. The bombs are zeros: 512 MiB zstd (≈16 KiB stored) and 256 MiB
 * gzip (≈250 KiB), read in a child process so its memory is measured alone.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const MIB = 1024 * 1024;

interface Probe {
  storedBytes: number;
  contentBytes: number;
  received: number;
  peakArrayBuffers: number;
  outcome?: { code?: string; message: string };
  problem?: string;
}

function probe(kind: 'zstd' | 'gzip', mib: number, mode: 'exact' | 'lying'): Probe {
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', 'test/support/decompress-probe.ts', kind, String(mib), mode],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (child.status !== 0) throw new Error(`probe failed: ${child.stderr}`);
  const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Probe;
  console.log(kind, mode, JSON.stringify(result));
  return result;
}

describe.each([
  ['zstd', 512],
  ['gzip', 256],
] as const)('a %s bomb of %i MiB', (kind, mib) => {
  it('is read to its end with bounded memory when the manifest records its size', () => {
    const result = probe(kind, mib, 'exact');
    expect(result.contentBytes).toBe(mib * MIB);
    expect(result.storedBytes).toBeLessThan(mib * 1024);
    expect(result.outcome).toBeUndefined();
    expect(result.received).toBe(mib * MIB);
    expect(result.problem).toBeUndefined();
    expect(result.peakArrayBuffers).toBeLessThan(16 * MIB);
  }, 120_000);

  it('is refused (INTEGRITY) once it expands past the size the manifest records', () => {
    const result = probe(kind, mib, 'lying');
    expect(result.outcome?.code).toBe('INTEGRITY');
    expect(result.outcome?.message).toContain('neo4j/nodes.jsonl');
    expect(result.received).toBeLessThanOrEqual(MIB); // nothing past the recorded size reaches the reader
    expect(result.problem).toMatch(/more than 1048576 bytes/);
    expect(result.peakArrayBuffers).toBeLessThan(16 * MIB);
  }, 120_000);
});
