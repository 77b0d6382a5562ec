/**
 * PackBuilder: the bytes of a pack (blobs back to back, header, header length) whatever the sizes of
 * the blobs, and its memory: it keeps copies of the blobs, never the Buffers it was given, which are
 * often views of a shared 64 KiB pool slab (a 16 MiB pack once held 200 MiB of slabs).
 */
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { PackBuilder, parsePackHeader } from '../../src/repository/blobs/pack.ts';

const blob = (i: number, length: number) => {
  const stored = Buffer.alloc(length, i & 0xff);
  return { id: createHash('sha256').update(`blob ${i}`).digest('hex'), stored, compression: 'none' as const };
};

const SIZES = [0, 1, 100, 1024 * 1024 - 50, 70, 3 * 1024 * 1024, 5, 1024 * 1024];
const TOTAL = SIZES.reduce((a, b) => a + b, 0);

// The first segment of 1 MiB (the default: several segments), big enough for the blobs but not the
// header (the header still goes after them), and big enough for both (the header written in place).
it.each([
  ['1 MiB segments', undefined],
  ['a first segment that holds the blobs but not the header', TOTAL + 10],
  ['a first segment that holds the whole pack', TOTAL + 64 * 1024],
])('lays out blobs of every size back to back, then the header: %s', (_, firstSegment) => {
  const builder = new PackBuilder(firstSegment);
  expect(builder.empty).toBe(true);
  const sizes = SIZES;
  const blobs = sizes.map((size, i) => blob(i, size));
  for (const b of blobs) builder.add(b, 'data', b.stored.length);
  expect(builder.size).toBe(sizes.reduce((a, b) => a + b, 0));
  const built = builder.finish(undefined);

  const headerLength = built.bytes.readUInt32LE(built.bytes.length - 4);
  const dataBytes = built.bytes.length - 4 - headerLength;
  expect(dataBytes).toBe(builder.size);
  const entries = parsePackHeader(
    built.id,
    built.bytes.subarray(dataBytes, dataBytes + headerLength),
    dataBytes,
  );
  expect(entries.map((e) => e.id)).toEqual(blobs.map((b) => b.id));
  for (const [i, e] of entries.entries()) {
    expect(built.bytes.subarray(e.offset, e.offset + e.length).equals(blobs[i]!.stored)).toBe(true);
  }
  expect(built.id).toBe(createHash('sha256').update(built.bytes).digest('hex'));
});

/**
 * ArrayBuffer bytes after full collections. V8 frees dead backing stores on a background sweeper, so one
 * reading right after gc() can still count some: the lowest of a few readings, each after gc() and a
 * turn of the event loop, is what stays alive (a busy CI machine once read 24 MiB more than that).
 */
async function liveArrayBuffers(gc: () => void): Promise<number> {
  let lowest = Infinity;
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    lowest = Math.min(lowest, process.memoryUsage().arrayBuffers);
  }
  return lowest;
}

it('keeps no Buffer it was given alive: views of 64 KiB slabs cost their own bytes, not the slabs', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const before = await liveArrayBuffers(gc);
  const builder = new PackBuilder();
  for (let i = 0; i < 2000; i++) {
    // 200 bytes in the middle of a slab of their own, as a pooled Buffer.from() gives.
    const slab = Buffer.allocUnsafeSlow(64 * 1024);
    const stored = slab.subarray(1000, 1200).fill(i & 0xff);
    builder.add(
      { id: createHash('sha256').update(`${i}`).digest('hex'), stored, compression: 'none' },
      'data',
      200,
    );
  }
  const held = (await liveArrayBuffers(gc)) - before;
  // 2000 × 200 B of blobs in one 1 MiB segment; the slabs would be 125 MiB.
  expect(held).toBeLessThan(8 * 1024 * 1024);
  expect(
    builder
      .finish(undefined)
      .bytes.subarray(200, 400)
      .every((b) => b === 1),
  ).toBe(true);
});
