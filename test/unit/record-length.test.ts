/**
 * Record length is bounded: a line longer than the record limit in a snapshot file is refused with
 * INTEGRITY naming the file and the line, as soon as it passes the limit (never "Cannot create a string
 * longer than …" after buffering hundreds of MiB). The long lines are generated as streams.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { SnapshotFiles } from '../../src/repository/snapshot-files.ts';
import { SnapshotReader } from '../../src/repository/snapshot-reader.ts';
import type { Manifest } from '../../src/repository/manifest.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import { checkLineLength, MAX_RECORD_BYTES, readLines } from '../../src/streams.ts';

const MIB = 1024 * 1024;

/** `before` short lines, then one line of `length` bytes ('a'), sent in 64 KiB chunks; counts what is read. */
function longLine(before: number, length: number) {
  const read = { bytes: 0 };
  async function* chunks() {
    for (let i = 0; i < before; i++) yield Buffer.from(`{"n":${i}}\n`);
    const piece = Buffer.alloc(64 * 1024, 'a');
    for (let left = length; left > 0; left -= piece.length) {
      const chunk = left >= piece.length ? piece : piece.subarray(0, left);
      read.bytes += chunk.length;
      yield chunk;
    }
    yield Buffer.from('\n{"n":"after"}\n');
  }
  return { stream: chunks(), read };
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

describe('readLines', () => {
  it('accepts a line of exactly the limit and refuses one byte more, naming the source and line', async () => {
    const limit = 200 * 1024;
    const ok = await collect(
      readLines(longLine(2, limit).stream, { maxLineBytes: limit, source: 'f.jsonl' }),
    );
    expect(ok.map((l) => l.length)).toEqual([7, 7, limit, 13]);

    const { stream, read } = longLine(2, 10 * limit);
    const error = await collect(readLines(stream, { maxLineBytes: limit, source: 'f.jsonl' })).catch(
      (e) => e,
    );
    expect(error).toMatchObject({ code: 'INTEGRITY', message: expect.stringContaining('f.jsonl: line 3') });
    expect(read.bytes).toBeLessThanOrEqual(limit + 64 * 1024); // stopped within one chunk of the limit
  });

  it('checkLineLength passes bytes unchanged and stops a long line the same way', async () => {
    const limit = 100 * 1024;
    const { stream, read } = longLine(1, 5 * limit);
    const sink = new Writable({ write: (_c, _e, callback) => callback() });
    await expect(
      pipeline(stream, checkLineLength({ maxLineBytes: limit, source: 'public.t.copy.zst' }), sink),
    ).rejects.toMatchObject({
      code: 'INTEGRITY',
      message: expect.stringContaining('public.t.copy.zst: line 2'),
    });
    expect(read.bytes).toBeLessThanOrEqual(limit + 64 * 1024);
  });
});

describe('a snapshot file holding one line over the record limit', () => {
  it('is refused by lines() and text() with INTEGRITY naming the file, at the real limit', async () => {
    const storage = new MemoryStorage('record-length');
    const id = 'full_20260101_000000';
    const files = new SnapshotFiles(storage, id, 'zstd');
    const writer = await files.createFile('neo4j/nodes.jsonl', { records: true });
    const { stream } = longLine(1, MAX_RECORD_BYTES + MIB);
    await writer.writeFrom(stream);
    await files.closeFile(writer);
    const reader = new SnapshotReader(storage, { id, files: files.entries } as unknown as Manifest);
    const lines = await collect(reader.lines('neo4j/nodes.jsonl.zst')).catch((e) => e);
    expect(lines).toMatchObject({
      code: 'INTEGRITY',
      message: expect.stringContaining(`snapshot ${id}: neo4j/nodes.jsonl.zst: line 2 is longer than`),
    });
    await expect(reader.text('neo4j/nodes.jsonl.zst')).rejects.toMatchObject({ code: 'INTEGRITY' });
  }, 60_000);
});
