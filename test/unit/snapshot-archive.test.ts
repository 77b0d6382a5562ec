/**
 * writeSnapshotArchive (design §12.5, `--download ID --archive FILE`): the gzip'd tar, unpacked by the
 * system's `tar -xzf`, is a repository holding exactly that snapshot — it passes `--verify --all` and
 * reads back the source's bytes — for format 2 (only the snapshot's packs, one index), format 1 and an
 * encrypted repository (no plaintext in any archived file). A damaged pack is never archived.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { acxErrorOf } from '../support/acx-error.ts';
import {
  access,
  contentOf,
  rowsOf,
  smallRepository,
  tempDirs,
  verifyProblems,
} from '../support/small-repository.ts';
import { writeHandMadeSnapshot, writeNodesSnapshot } from '../support/snapshot.ts';
import { writeSnapshotArchive } from '../../src/repository/snapshot-archive.ts';
import { Repository } from '../../src/repository/repository.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import { listAll, readBytes } from '../../src/storage/storage-helpers.ts';

const run = promisify(execFile);
const FIRST = 'full_20260101_000000';
const SECOND = 'full_20260101_010000';
const SECRET = 'Kipufogó titok 4242';

const tempDir = tempDirs('acx-archive-');

/** Writes the archive of `id` to a file, unpacks it with the system's tar; returns the folder. */
async function archiveAndExtract(source: Repository, id: string): Promise<string> {
  const dir = await tempDir();
  const file = join(dir, `${id}.tar.gz`);
  await writeSnapshotArchive({ source, id, output: createWriteStream(file) });
  const out = join(dir, 'out');
  await run('mkdir', [out]);
  await run('tar', ['-xzf', file, '-C', out]);
  expect(await readdir(out)).toEqual([id]);
  return join(out, id);
}

/** Every file under a folder, as relative paths, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('writeSnapshotArchive', () => {
  it('format 2: a repository with exactly the snapshot, its packs only and one index', async () => {
    const source = await smallRepository('archive-f2');
    await writeNodesSnapshot(source, FIRST, rowsOf('a', 3000));
    const firstPacks = (await listAll(source.storage, 'data/')).map((o) => o.key).sort();
    await writeNodesSnapshot(source, SECOND, rowsOf('b', 3000));
    expect((await listAll(source.storage, 'data/')).length).toBeGreaterThan(firstPacks.length);

    const dir = await archiveAndExtract(source, FIRST);

    const files = await filesUnder(dir);
    expect(files.filter((f) => f.startsWith('data/'))).toEqual(firstPacks);
    expect(files.filter((f) => f.startsWith('index/'))).toHaveLength(1);
    expect(files.filter((f) => !f.startsWith('data/') && !f.startsWith('index/'))).toEqual([
      'config.json',
      `${FIRST}/manifest.json`,
    ]);
    expect(await readFile(join(dir, 'config.json'))).toEqual(await readBytes(source.storage, 'config.json'));
    const extracted = await Repository.open(dir, { create: false });
    expect((await extracted.list()).snapshots.map((s) => s.id)).toEqual([FIRST]);
    expect(await contentOf(extracted, FIRST)).toEqual(await contentOf(source, FIRST));
    expect(await verifyProblems(extracted)).toEqual([]);
    await extracted.close();
  });

  it('format 1: the snapshot files and manifest under <id>/<id>/', async () => {
    const sourceDir = await tempDir();
    const lines = rowsOf('n', 2000);
    await writeHandMadeSnapshot(sourceDir, FIRST, lines);
    const source = await Repository.open(sourceDir, { create: false });

    const dir = await archiveAndExtract(source, FIRST);

    expect(await filesUnder(dir)).toEqual([`${FIRST}/manifest.json`, `${FIRST}/neo4j/nodes.jsonl.gz`]);
    expect(await readFile(join(dir, FIRST, 'neo4j', 'nodes.jsonl.gz'))).toEqual(
      await readFile(join(sourceDir, FIRST, 'neo4j', 'nodes.jsonl.gz')),
    );
    const extracted = await Repository.open(dir, { create: false });
    const read: string[] = [];
    for await (const line of (await extracted.open(FIRST)).lines('neo4j/nodes.jsonl.gz')) read.push(line);
    expect(read).toEqual(lines);
    expect(await verifyProblems(extracted)).toEqual([]);
    await extracted.close();
    await source.close();
  });

  it('an encrypted snapshot: keys archived, no seeded plaintext in any file, opens with the password', async () => {
    const source = Repository.onStorage(new MemoryStorage('archive-enc'), access('correct horse'));
    await writeNodesSnapshot(source, FIRST, [...rowsOf('a', 1000), JSON.stringify({ text: SECRET })], {
      encrypt: true,
    });

    const dir = await archiveAndExtract(source, FIRST);

    const files = await filesUnder(dir);
    expect(files.filter((f) => f.startsWith('keys/'))).toHaveLength(1);
    for (const file of files) {
      const bytes = await readFile(join(dir, file));
      expect(bytes.includes(Buffer.from(SECRET)), file).toBe(false);
      expect(bytes.includes(Buffer.from('correct horse')), file).toBe(false);
    }
    const extracted = await Repository.open(dir, { create: false, access: access('correct horse') });
    const content = await contentOf(extracted, FIRST);
    expect(content.get('neo4j/nodes.jsonl')!.toString()).toContain(SECRET);
    expect(content).toEqual(await contentOf(source, FIRST));
    expect(await verifyProblems(extracted)).toEqual([]);
    await extracted.close();
  });

  it('refuses a damaged pack (INTEGRITY naming it) and ends the output', async () => {
    const source = await smallRepository('archive-flip');
    await writeNodesSnapshot(source, FIRST, rowsOf('a', 3000));
    const [, damaged] = (await listAll(source.storage, 'data/')).map((o) => o.key).sort();
    const bytes = await readBytes(source.storage, damaged!);
    bytes[300] = bytes[300]! ^ 0x01;
    await source.storage.put(damaged!, bytes);
    const dir = await tempDir();
    const output = createWriteStream(join(dir, 'x.tar.gz'));

    const error = await acxErrorOf(writeSnapshotArchive({ source, id: FIRST, output }));

    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain(damaged!.slice(damaged!.lastIndexOf('/') + 1, -52));
    expect(output.destroyed).toBe(true);
  });

  it('stops when aborted: rejects with the reason and destroys the output', async () => {
    const source = await smallRepository('archive-abort');
    await writeNodesSnapshot(source, FIRST, rowsOf('a', 3000));
    const dir = await tempDir();
    const output = createWriteStream(join(dir, 'x.tar.gz'));
    const controller = new AbortController();
    const reason = new Error('stopped by the test');
    const done: number[] = [];

    const stopped = writeSnapshotArchive({
      source,
      id: FIRST,
      output,
      signal: controller.signal,
      onProgress: (p) => {
        done.push(p.packsDone);
        controller.abort(reason);
      },
    });

    await expect(stopped).rejects.toBe(reason);
    expect(done).toEqual([1]);
    expect(output.destroyed).toBe(true);
  });

  it('refuses a tampered format-1 file while it streams (INTEGRITY naming it)', async () => {
    const sourceDir = await tempDir();
    await writeHandMadeSnapshot(sourceDir, FIRST, rowsOf('n', 2000));
    const file = join(sourceDir, FIRST, 'neo4j', 'nodes.jsonl.gz');
    const bytes = await readFile(file);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0x01;
    await writeFile(file, bytes);
    const source = await Repository.open(sourceDir, { create: false });
    const output = createWriteStream(join(await tempDir(), 'x.tar.gz'));

    const error = await acxErrorOf(writeSnapshotArchive({ source, id: FIRST, output }));

    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('neo4j/nodes.jsonl.gz');
    expect(output.destroyed).toBe(true);
    await source.close();
  });
});
