/**
 * copySnapshot (design §12.4) between real repositories on `memory://` and local folders: the target
 * becomes a replica that passes `--verify --all` and reads back the same bytes; a second snapshot sends
 * only its new packs; encrypted repositories stay encrypted; another repository is refused untouched;
 * an aborted copy leaves no snapshot and a re-run sends only the rest; damage is never copied; format 1
 * files are streamed and checked; a copy of what is there already is a no-op.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import { copySnapshot, type CopyProgress } from '../../src/repository/copy-snapshot.ts';
import { Repository, type RepositoryAccess } from '../../src/repository/repository.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { listAll, readBytes } from '../../src/storage/storage-helpers.ts';

const FIRST = 'full_20260101_000000';
const SECOND = 'full_20260101_010000';
const SECRET = 'Kipufogó titok 4242';

/** `--verify --all` of a repository on `storage`: its problems, one line each (none when it passes). */
async function problemsOf(storage: Storage, with_?: RepositoryAccess): Promise<string[]> {
  const repository = Repository.onStorage(storage, with_);
  try {
    return await verifyProblems(repository);
  } finally {
    (await repository.blobs().catch(() => undefined))?.close();
  }
}

/** Every object of a storage with its bytes, for "unchanged" comparisons. */
async function objectsOf(storage: Storage): Promise<Map<string, string>> {
  const objects = new Map<string, string>();
  for (const o of await listAll(storage, ''))
    objects.set(
      o.key,
      createHash('sha256')
        .update(await readBytes(storage, o.key))
        .digest('hex'),
    );
  return objects;
}

const packsOf = async (storage: Storage) => (await listAll(storage, 'data/')).map((o) => o.key).sort();
const bytesUnder = async (storage: Storage, prefix: string) =>
  (await listAll(storage, prefix)).reduce((sum, o) => sum + o.size, 0);

const tempDir = tempDirs('acx-copy-');

describe('copySnapshot, format 2', () => {
  it('makes an empty target a replica that passes --verify --all and reads the same bytes', async () => {
    const source = await smallRepository('copy-src');
    await writeNodesSnapshot(source, FIRST, rowsOf('a', 4000));
    const target = Repository.onStorage(new MemoryStorage('copy-dst'));
    const progress: CopyProgress[] = [];

    const summary = await copySnapshot({ source, target, id: FIRST, onProgress: (p) => progress.push(p) });

    const sourcePacks = await packsOf(source.storage);
    expect(sourcePacks.length).toBeGreaterThan(2);
    expect(summary).toMatchObject({
      id: FIRST,
      formatVersion: 2,
      from: 'memory://copy-src',
      to: 'memory://copy-dst',
      packsSent: sourcePacks.length,
      packsPresent: 0,
      filesSent: 0,
      alreadyPresent: false,
    });
    expect(summary.bytesSent).toBeGreaterThan(await bytesUnder(source.storage, 'data/'));
    expect(progress.map((p) => p.packsDone)).toEqual(sourcePacks.map((_, i) => i + 1));
    expect(progress.at(-1)!.packsTotal).toBe(sourcePacks.length);
    expect(await packsOf(target.storage)).toEqual(sourcePacks);
    expect(await readBytes(target.storage, 'config.json')).toEqual(
      await readBytes(source.storage, 'config.json'),
    );
    expect(await readBytes(target.storage, `${FIRST}/manifest.json`)).toEqual(
      await readBytes(source.storage, `${FIRST}/manifest.json`),
    );
    expect((await listAll(target.storage, 'index/')).length).toBe(1);
    expect(await contentOf(Repository.onStorage(target.storage), FIRST)).toEqual(
      await contentOf(source, FIRST),
    );
    expect(await problemsOf(target.storage)).toEqual([]);
    expect(await target.storage.stat('.acx-lock')).toBeUndefined();
  });

  it('sends only the packs a second snapshot adds, into a local folder with its own index cache', async () => {
    const source = await smallRepository('copy-incremental');
    await writeNodesSnapshot(source, FIRST, rowsOf('a', 6000));
    const dir = await tempDir();
    const cacheDir = await tempDir();
    const target = await Repository.open(dir, { create: true, access: access(undefined, cacheDir) });
    await copySnapshot({ source, target, id: FIRST });
    const packsBefore = await packsOf(source.storage);

    await writeNodesSnapshot(source, SECOND, [...rowsOf('a', 6000), ...rowsOf('b', 400)]);
    const added = (await packsOf(source.storage)).filter((p) => !packsBefore.includes(p));
    expect(added.length).toBeGreaterThan(0);
    const summary = await copySnapshot({ source, target, id: SECOND });

    expect(summary.packsSent).toBe(added.length);
    expect(summary.packsPresent).toBeGreaterThan(added.length);
    expect(summary.alreadyPresent).toBe(false);
    expect(summary.bytesSent).toBeLessThan((await bytesUnder(source.storage, 'data/')) / 4);
    expect(await contentOf(Repository.onStorage(target.storage), SECOND)).toEqual(
      await contentOf(source, SECOND),
    );
    expect(await problemsOf(target.storage)).toEqual([]);
    // The host's index cache of the replica is named by its location, not only by the shared id.
    const config = JSON.parse((await readFile(join(dir, 'config.json'))).toString()) as { id: string };
    const where = createHash('sha256').update(target.location).digest('hex').slice(0, 16);
    expect((await readdir(cacheDir)).filter((f) => f.endsWith('.index.sqlite'))).toEqual([
      `${config.id}-${where}.index.sqlite`,
    ]);
    await target.close();
  });

  it('copies an encrypted repository: the replica opens with the same password and holds no plaintext', async () => {
    const source = Repository.onStorage(new MemoryStorage('copy-enc-src'), access('correct horse'));
    const rows = [...rowsOf('a', 3000), JSON.stringify({ id: 'secret', text: SECRET })];
    await writeNodesSnapshot(source, FIRST, rows, { encrypt: true });
    const targetStorage = new MemoryStorage('copy-enc-dst');
    const target = Repository.onStorage(targetStorage, access('correct horse'));

    const summary = await copySnapshot({ source, target, id: FIRST });

    expect(summary.packsSent).toBeGreaterThan(0);
    expect((await listAll(targetStorage, 'keys/')).map((o) => o.key)).toEqual(
      (await listAll(source.storage, 'keys/')).map((o) => o.key),
    );
    for (const object of await listAll(targetStorage, '')) {
      const bytes = await readBytes(targetStorage, object.key);
      expect(bytes.includes(Buffer.from(SECRET)), object.key).toBe(false);
      expect(bytes.includes(Buffer.from('correct horse')), object.key).toBe(false);
    }
    const copied = await contentOf(Repository.onStorage(targetStorage, access('correct horse')), FIRST);
    expect(copied.get('neo4j/nodes.jsonl')!.toString()).toContain(SECRET);
    expect(copied).toEqual(await contentOf(source, FIRST));
    expect(await problemsOf(targetStorage, access('correct horse'))).toEqual([]);
    const wrong = await acxErrorOf(Repository.onStorage(targetStorage, access('wrong')).open(FIRST));
    expect(wrong.code).toBe('CONFIG');
  });

  it('refuses a target holding another repository, naming both locations, and writes nothing', async () => {
    const source = await smallRepository('copy-mine');
    await writeNodesSnapshot(source, FIRST, rowsOf('a', 500));
    const target = await smallRepository('copy-theirs');
    await writeNodesSnapshot(target, SECOND, rowsOf('z', 500));
    const before = await objectsOf(target.storage);

    const error = await acxErrorOf(copySnapshot({ source, target, id: FIRST }));

    expect(error.code).toBe('USAGE');
    expect(error.message).toContain('memory://copy-mine');
    expect(error.message).toContain('memory://copy-theirs');
    expect(error.hint).toBeTruthy();
    expect(await objectsOf(target.storage)).toEqual(before);
  });

  it('leaves no snapshot when aborted after the first pack; a re-run sends only the rest', async () => {
    const source = await smallRepository('copy-abort');
    await writeNodesSnapshot(source, FIRST, rowsOf('a', 6000));
    const total = (await packsOf(source.storage)).length;
    const target = Repository.onStorage(new MemoryStorage('copy-abort-dst'));
    const controller = new AbortController();
    const reason = new Error('stopped by the test');

    const stopped = copySnapshot({
      source,
      target,
      id: FIRST,
      concurrency: 2,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.packsDone === 1) controller.abort(reason);
      },
    });

    await expect(stopped).rejects.toBe(reason);
    expect(await target.storage.stat(`${FIRST}/manifest.json`)).toBeUndefined();
    expect((await target.list()).snapshots).toEqual([]);
    expect(await target.storage.stat('.acx-lock')).toBeUndefined();
    const sent = (await packsOf(target.storage)).length;
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(sent).toBeLessThan(total);

    const rerun = await copySnapshot({ source, target, id: FIRST });
    expect(rerun.packsPresent).toBe(sent);
    expect(rerun.packsSent).toBe(total - sent);
    expect(await contentOf(Repository.onStorage(target.storage), FIRST)).toEqual(
      await contentOf(source, FIRST),
    );
    expect(await problemsOf(target.storage)).toEqual([]);
  });

  it('refuses a source pack with one flipped byte (INTEGRITY) and puts no manifest', async () => {
    const source = await smallRepository('copy-flip');
    await writeNodesSnapshot(source, FIRST, rowsOf('a', 3000));
    const [, damaged] = await packsOf(source.storage);
    const bytes = await readBytes(source.storage, damaged!);
    bytes[200] = bytes[200]! ^ 0x01;
    await source.storage.put(damaged!, bytes);
    const target = Repository.onStorage(new MemoryStorage('copy-flip-dst'));

    const error = await acxErrorOf(copySnapshot({ source, target, id: FIRST }));

    const packId = damaged!.slice(damaged!.lastIndexOf('/') + 1);
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain(packId.slice(0, 12));
    expect(error.message).toContain('memory://copy-flip');
    expect(await target.storage.stat(`${FIRST}/manifest.json`)).toBeUndefined();
    expect(await target.storage.stat(damaged!)).toBeUndefined();
    expect(await listAll(target.storage, 'index/')).toEqual([]);
  });

  it('is a no-op that says so when the target holds the snapshot already', async () => {
    const source = await smallRepository('copy-twice');
    await writeNodesSnapshot(source, FIRST, rowsOf('a', 2000));
    const target = Repository.onStorage(new MemoryStorage('copy-twice-dst'));
    const first = await copySnapshot({ source, target, id: FIRST });
    expect(first.alreadyPresent).toBe(false);
    const before = await objectsOf(target.storage);

    const second = await copySnapshot({ source, target, id: FIRST });

    expect(second).toMatchObject({ alreadyPresent: true, packsSent: 0, bytesSent: 0 });
    expect(second.packsPresent).toBe(first.packsSent);
    expect(await objectsOf(target.storage)).toEqual(before);
  });
});

describe('copySnapshot, format 1', () => {
  it('streams each file checked against the manifest, then the manifest; a second copy sends nothing', async () => {
    const dir = await tempDir();
    const lines = rowsOf('n', 2000);
    await writeHandMadeSnapshot(dir, FIRST, lines);
    const source = await Repository.open(dir, { create: false });
    const target = Repository.onStorage(new MemoryStorage('copy-f1'));

    const summary = await copySnapshot({ source, target, id: FIRST });

    expect(summary).toMatchObject({ formatVersion: 1, filesSent: 1, filesPresent: 0, packsSent: 0 });
    expect(summary.bytesSent).toBeGreaterThan(1000);
    expect(await target.storage.stat('config.json')).toBeUndefined();
    const copied = await Repository.onStorage(target.storage).open(FIRST);
    const read: string[] = [];
    for await (const line of copied.lines('neo4j/nodes.jsonl.gz')) read.push(line);
    expect(read).toEqual(lines);
    expect(await problemsOf(target.storage)).toEqual([]);

    const again = await copySnapshot({ source, target, id: FIRST });
    expect(again).toMatchObject({ alreadyPresent: true, filesSent: 0, filesPresent: 1 });
    await source.close();
  });

  it('refuses a tampered file (INTEGRITY): nothing of it, and no manifest, in the target', async () => {
    const dir = await tempDir();
    await writeHandMadeSnapshot(dir, FIRST, rowsOf('n', 500));
    const file = join(dir, FIRST, 'neo4j', 'nodes.jsonl.gz');
    const bytes = await readFile(file);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0x01; // same size, other bytes
    await writeFile(file, bytes);
    const source = await Repository.open(dir, { create: false });
    const target = Repository.onStorage(new MemoryStorage('copy-f1-tampered'));

    const error = await acxErrorOf(copySnapshot({ source, target, id: FIRST }));

    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('neo4j/nodes.jsonl.gz');
    expect(error.message).toContain(dir);
    expect(await listAll(target.storage, '')).toEqual([]);
    await source.close();
  });
});
