/**
 * The repository lock's edges (design §7.6): a lock that cannot be read is refused, never taken over,
 * on memory:// and on a local directory; and `list()` tells the snapshot a live run is writing
 * ("running") from the directories of killed runs ("incomplete").
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import { Repository } from '../../src/repository/repository.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import { putJson, putText, readText } from '../../src/storage/storage-helpers.ts';

const GARBAGE = ['', 'garbage', '{"pid":', '[]', 'null', '{}', '{"pid":"12","host":1}'];
/** Above Linux's pid_max: never alive. */
const DEAD_PID = 2 ** 22 + 4321;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'acx-lock-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a lock that cannot be read', () => {
  it.each(GARBAGE)('is refused with LOCKED on memory:// and left in place (%j)', async (content) => {
    const storage = new MemoryStorage(`garbage-${GARBAGE.indexOf(content)}`);
    await putText(storage, '.acx-lock', content);
    const error = await Repository.onStorage(storage)
      .lock('backup')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcxError);
    expect(error).toMatchObject({ code: 'LOCKED', subject: expect.stringContaining('.acx-lock') as string });
    expect((error as AcxError).message).toContain(`${storage.location}/.acx-lock`);
    expect((error as AcxError).message).toMatch(/cannot be read/);
    expect((error as AcxError).hint).toMatch(/no acx-data run .*delete .*\.acx-lock/);
    expect(await readText(storage, '.acx-lock')).toBe(content);
  });

  it('is refused with LOCKED on a local directory, naming the file to delete, and nothing is removed', async () => {
    // A killed run's directory, which taking over the lock would have removed.
    await mkdir(join(root, 'full_20260101_000000', 'neo4j'), { recursive: true });
    await writeFile(join(root, 'full_20260101_000000', 'neo4j', 'nodes.jsonl.zst'), 'x');
    await writeFile(join(root, '.acx-lock'), 'not json at all\n');
    const repository = await Repository.open(root, { create: true });
    const error = (await repository.lock('backup').catch((e: unknown) => e)) as AcxError;
    expect(error).toMatchObject({ code: 'LOCKED' });
    expect(error.message).toContain(join(root, '.acx-lock'));
    expect(error.hint).toContain(join(root, '.acx-lock'));
    expect(await readFile(join(root, '.acx-lock'), 'utf8')).toBe('not json at all\n');
    expect((await repository.list()).incomplete).toEqual(['full_20260101_000000']);

    // Deleted as the hint says: the next run takes the lock.
    await rm(join(root, '.acx-lock'));
    const lock = await repository.lock('backup');
    await lock.release();
  });

  it('still takes over a readable lock whose process is gone', async () => {
    const storage = new MemoryStorage('stale');
    await putJson(storage, '.acx-lock', {
      pid: DEAD_PID,
      host: hostname(),
      command: 'backup',
      since: '2026-02-01T12:00:00.000Z',
      token: 'dead',
    });
    const lock = await Repository.onStorage(storage).lock('backup');
    await lock.release();
  });
});

describe('listing while a run holds the lock', () => {
  async function killedAndRunning(storage: MemoryStorage): Promise<Repository> {
    const repository = Repository.onStorage(storage);
    for (const id of ['full_20260101_000000', 'full_20260102_000000']) {
      await putText(storage, `${id}/neo4j/nodes.jsonl.zst`, 'x');
    }
    return repository;
  }

  it('calls the directory a live run writes "running", and the others incomplete', async () => {
    const storage = new MemoryStorage('running');
    const repository = await killedAndRunning(storage);
    // Before any run: both are leftovers of interrupted runs.
    expect(await repository.list()).toMatchObject({
      running: [],
      incomplete: ['full_20260101_000000', 'full_20260102_000000'],
    });

    const writer = Repository.onStorage(storage);
    const lock = await writer.lock('backup');
    const files = await writer.createSnapshot('full_20260103_000000', {
      formatVersion: 1,
      compression: 'zstd',
    });
    await files.writeLines('neo4j/schema.jsonl', ['{}']);
    expect(await repository.list()).toMatchObject({
      snapshots: [],
      running: ['full_20260103_000000'],
      incomplete: ['full_20260101_000000', 'full_20260102_000000'],
    });
    await lock.release();

    // Released without a manifest (the run died after its lock was released, or was killed and its lock
    // removed by hand): now it is an interrupted run's directory.
    expect(await repository.list()).toMatchObject({
      running: [],
      incomplete: ['full_20260101_000000', 'full_20260102_000000', 'full_20260103_000000'],
    });
  });

  it('calls the directory a dead holder named incomplete, and one named by another host running', async () => {
    const storage = new MemoryStorage('dead-holder');
    const repository = await killedAndRunning(storage);
    const holder = { host: hostname(), command: 'backup', since: 'x', token: 't' };
    await putJson(storage, '.acx-lock', { ...holder, pid: DEAD_PID, snapshot: 'full_20260102_000000' });
    expect(await repository.list()).toMatchObject({
      running: [],
      incomplete: ['full_20260101_000000', 'full_20260102_000000'],
    });
    // Another host's run cannot be checked from here: like the lock, the listing takes it as live.
    await putJson(storage, '.acx-lock', {
      ...holder,
      host: 'elsewhere',
      pid: 1,
      snapshot: 'full_20260102_000000',
    });
    expect(await repository.list()).toMatchObject({
      running: ['full_20260102_000000'],
      incomplete: ['full_20260101_000000'],
    });
    // A lock that cannot be read names nothing.
    await putText(storage, '.acx-lock', 'garbage');
    expect((await repository.list()).running).toEqual([]);
  });
});
