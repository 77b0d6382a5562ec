import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { checkFile, SnapshotFiles } from '../../src/repository/snapshot-files.ts';
import { readLines } from '../../src/streams.ts';
import type { Compression } from '../../src/repository/compression.ts';
import { openLocalStorage } from '../../src/storage/local/local-storage.ts';
import type { Storage } from '../../src/storage/storage.ts';

let dir: string | undefined;
let storage: Storage;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ID = 'full_20260101_000000';

/** A file written through a local storage: `path` is the real file (to damage), `key` its storage key. */
async function writeSample(compression: Compression, lines: string[]) {
  dir = await mkdtemp(join(tmpdir(), 'acx-files-'));
  storage = await openLocalStorage({ root: dir });
  const files = new SnapshotFiles(storage, ID, compression);
  const path = await files.writeLines('neo4j/nodes.jsonl', lines);
  const entry = files.entries[path];
  if (!entry) throw new Error('no entry');
  return { path: join(dir, ID, path), key: `${ID}/${path}`, relative: path, entry };
}

const sample = Array.from({ length: 5000 }, (_, i) =>
  JSON.stringify({ id: i, name: `csomópont ő ű ${i}`, tab: 'a\tb' }),
);

describe.each<Compression>(['zstd', 'gzip'])('%s data files', (compression) => {
  it('records size, hash, content size and record count, and read back identical lines', async () => {
    const { key, relative, entry } = await writeSample(compression, sample);
    expect(relative).toBe(`neo4j/nodes.jsonl${compression === 'zstd' ? '.zst' : '.gz'}`);
    expect(entry.records).toBe(5000);
    expect(entry.contentBytes).toBe(Buffer.byteLength(sample.join('\n') + '\n'));
    expect(await checkFile(storage, key, entry)).toBeUndefined();
    const { openDecompressed } = await import('../../src/repository/snapshot-files.ts');
    const back: string[] = [];
    for await (const line of readLines(openDecompressed(storage, key, compression, entry.contentBytes)))
      back.push(line);
    expect(back).toEqual(sample);
  });

  it('detects a flipped byte', async () => {
    const { path, key, entry } = await writeSample(compression, sample);
    const bytes = await readFile(path);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0x01;
    await writeFile(path, bytes);
    expect(await checkFile(storage, key, entry)).toMatch(/SHA-256/);
  });

  it('detects a truncated file', async () => {
    const { path, key, entry } = await writeSample(compression, sample);
    await truncate(path, entry.bytes - 10);
    expect(await checkFile(storage, key, entry)).toMatch(/truncated/);
  });

  it('detects a missing file', async () => {
    const { path, key, entry } = await writeSample(compression, sample);
    await rm(path);
    expect(await checkFile(storage, key, entry)).toBe('missing');
  });
});

describe('readLines', () => {
  it('keeps multi-byte characters split across chunks', async () => {
    const text = Buffer.from('első\nmásodik ő\nű', 'utf8');
    const chunks = Array.from(text, (b) => Buffer.from([b])); // one byte per chunk
    const lines: string[] = [];
    for await (const line of readLines(Readable.from(chunks))) lines.push(line);
    expect(lines).toEqual(['első', 'második ő', 'ű']);
  });
});
