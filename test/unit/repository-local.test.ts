/**
 * The repository on a local directory: the files on disk are design §7.1's layout, snapshots written
 * by hand in format 1 (as earlier versions wrote them) stay readable, a snapshot copied elsewhere opens
 * by its path (under its own name), and neither a failed run nor a killed one leaves a directory behind.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifySnapshot } from '../../src/operations/verify.ts';
import { silentReporter } from '../../src/progress.ts';
import { Repository } from '../../src/repository/repository.ts';
import { writeHandMadeSnapshot } from '../support/snapshot.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'acx-repository-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const everything = async (dir: string) => (await readdir(dir, { recursive: true })).map(String).sort();

describe('a repository on a local directory', () => {
  it('writes the layout of design §7.1 and reads format-1 snapshots written before', async () => {
    const lines = ['{"id":"a","labels":["DTC"],"properties":{}}', '{"id":"b","labels":[],"properties":{}}'];
    await writeHandMadeSnapshot(root, 'full_20260101_000000', lines);
    const repository = await Repository.open(root, { create: false });
    expect(repository.dir).toBe(root);
    expect(repository.snapshotDir('full_20260101_000000')).toBe(join(root, 'full_20260101_000000'));

    const reader = await repository.open('full_20260101_000000');
    expect(await verifySnapshot(reader, silentReporter)).toMatchObject({
      ok: true,
      records: 2,
      unlisted: [],
    });
    const back: string[] = [];
    for await (const line of reader.lines('neo4j/nodes.jsonl.gz')) back.push(line);
    expect(back).toEqual(lines);

    const lock = await repository.lock('backup');
    expect(JSON.parse(await readFile(join(root, '.acx-lock'), 'utf8'))).toMatchObject({
      pid: process.pid,
      host: hostname(),
      command: 'backup',
    });
    const files = await repository.createSnapshot('full_20260102_000000', {
      formatVersion: 1,
      compression: 'zstd',
    });
    await files.writeLines('postgres/sequences.jsonl', ['{"schema":"public"}']);
    await repository.finishSnapshot({
      ...reader.manifest,
      id: 'full_20260102_000000',
      compression: 'zstd',
      stores: {},
      files: files.entries,
    });
    await lock.release();
    expect(await everything(root)).toEqual([
      'full_20260101_000000',
      'full_20260101_000000/manifest.json',
      'full_20260101_000000/neo4j',
      'full_20260101_000000/neo4j/nodes.jsonl.gz',
      'full_20260102_000000',
      'full_20260102_000000/manifest.json',
      'full_20260102_000000/postgres',
      'full_20260102_000000/postgres/sequences.jsonl.zst',
    ]);
    const written = JSON.parse(await readFile(join(root, 'full_20260102_000000', 'manifest.json'), 'utf8'));
    expect(written).toMatchObject({ id: 'full_20260102_000000', formatVersion: 1 });
    expect((await repository.list()).snapshots.map((s) => s.id)).toEqual([
      'full_20260102_000000',
      'full_20260101_000000',
    ]);
  });

  it('opens a snapshot by its path, also one copied out of the repository', async () => {
    await writeHandMadeSnapshot(root, 'full_20260101_000000', ['{}']);
    const repository = await Repository.open(join(root), { create: false });
    const inside = await repository.open(join(root, 'full_20260101_000000'));
    expect(inside.storage).toBe(repository.storage);
    expect((await repository.open('./full_20260101_000000/')).id).toBe('full_20260101_000000');

    const elsewhere = join(root, 'copies', 'full_20260101_000000');
    await cp(join(root, 'full_20260101_000000'), elsewhere, { recursive: true });
    const copy = await repository.open(elsewhere);
    expect(copy.id).toBe('full_20260101_000000');
    expect(copy.dir).toBe(elsewhere);
    expect((await verifySnapshot(copy, silentReporter)).ok).toBe(true);
    await repository.writeVerification(copy, { at: 'now', ok: true, tool: 'test', problems: [] });
    expect(await readdir(elsewhere)).toContain('verification.json');
    // A copy keeps its directory name: a renamed one holds a manifest of another snapshot.
    const renamed = join(root, 'copies', 'full_20990101_000000');
    await cp(elsewhere, renamed, { recursive: true });
    await expect(repository.open(renamed)).rejects.toMatchObject({ code: 'INTEGRITY' });
  });

  it('leaves no directory after a failed run, nor after a killed one', async () => {
    const repository = await Repository.open(root, { create: true });
    await writeHandMadeSnapshot(root, 'full_20260101_000000', ['{}']);

    // Failed: a file written, one being written when the run gave up, in a directory of its own.
    const controller = new AbortController();
    const failed = await repository.createSnapshot(
      'full_20260102_000000',
      { formatVersion: 1, compression: 'zstd' },
      controller.signal,
    );
    await failed.writeLines('neo4j/schema.jsonl', ['{}']);
    const open = await failed.createFile('qdrant/c/points.jsonl', { records: true });
    await open.writeLine('{"id":1}');
    controller.abort(new Error('Ctrl-C'));
    await repository.discardSnapshot(failed);
    expect(await readdir(root)).toEqual(['full_20260101_000000']);

    // Killed: one file finished, another's temp file left in its own directory, and a second run
    // killed before any file was finished (only temp files: no command can list it).
    await mkdir(join(root, 'full_20260103_000000', 'neo4j'), { recursive: true });
    await mkdir(join(root, 'full_20260103_000000', 'qdrant', 'c'), { recursive: true });
    await writeFile(join(root, 'full_20260103_000000', 'neo4j', 'schema.jsonl.zst'), 'finished');
    await writeFile(join(root, 'full_20260103_000000', 'qdrant', 'c', '.tmp-0123456789abcdef'), 'half');
    await mkdir(join(root, 'full_20260104_000000', 'postgres'), { recursive: true });
    await writeFile(join(root, 'full_20260104_000000', 'postgres', '.tmp-fedcba9876543210'), 'half');
    const stale = { pid: 2 ** 22 + 1, host: hostname(), command: 'backup', since: 'x', token: 'dead' };
    await writeFile(join(root, '.acx-lock'), JSON.stringify({ ...stale, snapshot: 'full_20260104_000000' }));

    const lock = await repository.lock('backup');
    expect(await repository.removeIncomplete()).toEqual(['full_20260103_000000']);
    await lock.release();
    expect(await everything(root)).toEqual([
      'full_20260101_000000',
      'full_20260101_000000/manifest.json',
      'full_20260101_000000/neo4j',
      'full_20260101_000000/neo4j/nodes.jsonl.gz',
    ]);
  });

  it('names the folder of a missing repository, and of one it cannot write', async () => {
    await expect(Repository.open(join(root, 'missing'), { create: false })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining(join(root, 'missing')) as string,
    });
    await writeFile(join(root, 'file'), 'x');
    await expect(Repository.open(join(root, 'file'), { create: true })).rejects.toMatchObject({
      code: 'USAGE',
    });
    const repository = await Repository.open('/proc/acx-cannot-write-here', { create: true });
    await expect(repository.lock('backup')).rejects.toMatchObject({ code: 'USAGE' });
  });
});
