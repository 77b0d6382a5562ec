/**
 * The repository end to end on the `memory://` storage: a snapshot written through SnapshotFiles, its
 * manifest last, listed, verified, read back, damaged, deleted; incomplete snapshots, the lock and a
 * failed run. Nothing here has a file system under it, which is the point: the repository reaches its
 * bytes through the Storage alone (and the last test checks that src/repository imports no node:fs).
 */
import { readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import { verifySnapshot } from '../../src/operations/verify.ts';
import { silentReporter } from '../../src/progress.ts';
import { MANIFEST_FORMAT, manifestDigest, type Manifest } from '../../src/repository/manifest.ts';
import { Repository } from '../../src/repository/repository.ts';
import type { SnapshotWriter } from '../../src/repository/repository.ts';
import { RetryingStorage } from '../../src/storage/decorators/retrying-storage.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import type { ObjectInfo, PutData, PutOptions } from '../../src/storage/storage.ts';
import { StorageError } from '../../src/storage/storage-error.ts';
import { listAll, putJson, readJson, readText } from '../../src/storage/storage-helpers.ts';

const NODES = Array.from({ length: 3000 }, (_, i) =>
  JSON.stringify({ id: `n${i}`, labels: ['DTC'], ő: 'ű' }),
);
const SCHEMA = ['{"kind":"constraint","name":"dtc_code_unique"}'];

/** Writes one snapshot the way a backup does: files first, manifest last. Returns its manifest. */
async function writeSnapshot(repository: Repository, id: string, time: string): Promise<Manifest> {
  const files = await repository.createSnapshot(id, { formatVersion: 1, compression: 'zstd' });
  const schema = await files.writeLines('neo4j/schema.jsonl', SCHEMA);
  const writer = await files.createFile('neo4j/nodes.jsonl', { records: true });
  for (const line of NODES) await writer.writeLine(line);
  await files.closeFile(writer);
  const native = await files.createFile('qdrant/c/native.snapshot', { records: false, compression: 'none' });
  await native.writeFrom(Readable.from([Buffer.from('opaque server bytes')]));
  await files.closeFile(native);
  const manifest = manifestOf(id, time, files, [schema, writer.path, native.path]);
  await repository.finishSnapshot(manifest, files);
  return manifest;
}

function manifestOf(id: string, time: string, files: SnapshotWriter, paths: string[]): Manifest {
  return {
    format: MANIFEST_FORMAT,
    formatVersion: 1,
    id,
    kind: 'full',
    parent: null,
    tool: { name: 'acx-data', version: 'test' },
    startedAt: time,
    completedAt: time,
    compression: 'zstd',
    encryption: null,
    consistency: { method: 'test' },
    stores: {
      neo4j: {
        serverVersion: '5',
        readStartedAt: time,
        readFinishedAt: time,
        datasets: [
          { name: 'schema', kind: 'schema', records: 1, files: [paths[0]!] },
          { name: 'nodes', kind: 'nodes', records: NODES.length, files: [paths[1]!] },
        ],
      },
      qdrant: {
        serverVersion: '1',
        readStartedAt: time,
        readFinishedAt: time,
        datasets: [{ name: 'c/native', kind: 'native-snapshot', records: 0, files: [paths[2]!] }],
      },
    },
    files: { ...files.entries },
  };
}

async function keys(repository: Repository, prefix = ''): Promise<string[]> {
  return (await listAll(repository.storage, prefix)).map((info) => info.key);
}

describe('a repository on memory://', () => {
  it('writes, lists, verifies, reads back and deletes a snapshot', async () => {
    const repository = await Repository.open('memory://repo', { create: true });
    expect(repository.location).toBe('memory://repo');
    const lock = await repository.lock('backup');
    const id = await repository.newSnapshotId('full', new Date('2026-02-01T12:00:00.400Z'));
    expect(id).toBe('full_20260201_120000');
    const manifest = await writeSnapshot(repository, id, '2026-02-01T12:00:00.000Z');
    await lock.release();

    // The layout of design §7.1, byte for byte the manifest a local repository holds.
    expect(await keys(repository)).toEqual([
      `${id}/manifest.json`,
      `${id}/neo4j/nodes.jsonl.zst`,
      `${id}/neo4j/schema.jsonl.zst`,
      `${id}/qdrant/c/native.snapshot`,
    ]);
    // …with its own checksum as the last field.
    const sealed = { ...manifest, manifestSha256: manifestDigest(manifest) };
    expect(await readText(repository.storage, `${id}/manifest.json`)).toBe(
      `${JSON.stringify(sealed, null, 2)}\n`,
    );
    expect(manifest.files['neo4j/nodes.jsonl.zst']).toMatchObject({ compression: 'zstd', records: 3000 });

    const { snapshots, incomplete, damaged } = await repository.list();
    expect(snapshots.map((s) => s.id)).toEqual([id]);
    expect(snapshots[0]?.bytes).toBe(Object.values(manifest.files).reduce((sum, f) => sum + f.bytes, 0));
    expect(incomplete).toEqual([]);
    expect(damaged).toEqual([]);
    // A second run, one second later: the id moves on, the newest is listed first.
    await writeSnapshot(repository, 'full_20260201_120001', '2026-02-01T12:00:01.000Z');
    expect(await repository.newSnapshotId('full', new Date('2026-02-01T12:00:00Z'))).toBe(
      'full_20260201_120002',
    );
    expect((await repository.list()).snapshots.map((s) => s.id)).toEqual(['full_20260201_120001', id]);

    const reader = await repository.open(id);
    const summary = await verifySnapshot(reader, silentReporter);
    expect(summary).toMatchObject({ ok: true, files: 3, records: 3001, problems: [], unlisted: [] });
    const back: string[] = [];
    for await (const line of reader.lines('neo4j/nodes.jsonl.zst')) back.push(line);
    expect(back).toEqual(NODES);
    expect(await reader.text('neo4j/schema.jsonl.zst')).toBe(`${SCHEMA[0]}\n`);
    const stored: Buffer[] = [];
    for await (const chunk of reader.storedStream('qdrant/c/native.snapshot')) stored.push(chunk as Buffer);
    expect(Buffer.concat(stored).toString()).toBe('opaque server bytes');

    // The outcome is recorded next to the manifest, and listed.
    await repository.writeVerification(reader, { at: 'now', ok: true, tool: 'test', problems: [] });
    expect((await repository.list()).snapshots.find((s) => s.id === id)?.verification?.ok).toBe(true);

    await repository.delete(id);
    expect(await keys(repository, `${id}/`)).toEqual([]);
    expect((await repository.list()).snapshots.map((s) => s.id)).toEqual(['full_20260201_120001']);
    await expect(repository.open(id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('names damaged, missing and unlisted files when verifying', async () => {
    const repository = Repository.onStorage(new MemoryStorage('damage'));
    const id = 'full_20260201_120000';
    await writeSnapshot(repository, id, '2026-02-01T12:00:00.000Z');
    const storage = repository.storage;
    const nodes = `${id}/neo4j/nodes.jsonl.zst`;
    const good = Buffer.from(await readBytesOf(storage.get(nodes)));
    const flipped = Buffer.from(good);
    flipped[good.length >> 1] = (flipped[good.length >> 1] ?? 0) ^ 0x40;
    await storage.put(nodes, flipped);
    await storage.delete(`${id}/neo4j/schema.jsonl.zst`);
    await storage.put(`${id}/stray.txt`, 'not in the manifest');

    const summary = await verifySnapshot(await repository.open(id), silentReporter);
    expect(summary.ok).toBe(false);
    expect(summary.problems).toEqual([
      { file: 'neo4j/schema.jsonl.zst', problem: 'missing' },
      { file: 'neo4j/nodes.jsonl.zst', problem: 'SHA-256 differs from the manifest (corrupted)' },
    ]);
    expect(summary.unlisted).toEqual(['stray.txt']);
    await storage.put(nodes, good.subarray(0, 100));
    const short = await verifySnapshot(await repository.open(id), silentReporter);
    expect(short.problems.find((p) => p.file === 'neo4j/nodes.jsonl.zst')?.problem).toMatch(
      /^size is 100 bytes/,
    );
  });

  it('lists snapshots without a manifest as incomplete, never opens them, and removes them', async () => {
    const repository = Repository.onStorage(new MemoryStorage('incomplete'));
    await writeSnapshot(repository, 'full_20260201_120000', '2026-02-01T12:00:00.000Z');
    const files = await repository.createSnapshot('full_20260201_130000', {
      formatVersion: 1,
      compression: 'gzip',
    });
    await files.writeLines('postgres/sequences.jsonl', ['{}']);
    await repository.storage.put('full_20260201_140000/manifest.json', '{"format":');
    await repository.storage.put('not-a-snapshot/file', 'kept');

    const listing = await repository.list();
    expect(listing.snapshots.map((s) => s.id)).toEqual(['full_20260201_120000']);
    expect(listing.incomplete).toEqual(['full_20260201_130000']);
    expect(listing.damaged).toEqual([
      { id: 'full_20260201_140000', problem: expect.stringMatching(/not valid JSON/) as string },
    ]);
    await expect(repository.open('full_20260201_130000')).rejects.toThrow(/incomplete/);
    await expect(repository.open('full_20260201_150000')).rejects.toThrow(/not found/);

    expect(await repository.removeIncomplete()).toEqual(['full_20260201_130000']);
    expect(await keys(repository, 'full_20260201_130000/')).toEqual([]);
    expect(await keys(repository, 'not-a-snapshot/')).toEqual(['not-a-snapshot/file']);
    expect((await repository.list()).snapshots).toHaveLength(1);
  });

  it('removes everything a failed run wrote, also files still being written', async () => {
    const repository = Repository.onStorage(new MemoryStorage('failed'));
    const controller = new AbortController();
    const files = await repository.createSnapshot(
      'full_20260201_120000',
      { formatVersion: 1, compression: 'zstd' },
      controller.signal,
    );
    await files.writeLines('neo4j/schema.jsonl', SCHEMA);
    const open = await files.createFile('neo4j/nodes.jsonl', { records: true });
    await open.writeLine('{"half":');
    controller.abort(new Error('Ctrl-C'));
    await expect(open.writeLine('written after the abort')).rejects.toMatchObject({ code: 'INTERRUPTED' });
    await repository.discardSnapshot(files);
    expect(await keys(repository)).toEqual([]);
  });

  it('fails at once with LOCKED while a live run holds the lock, and takes over a dead one’s', async () => {
    const storage = new MemoryStorage('locks');
    const first = Repository.onStorage(storage);
    const second = Repository.onStorage(storage);
    const lock = await first.lock('backup');
    const error = await second.lock('cleanup').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcxError);
    expect(error).toMatchObject({ code: 'LOCKED' });
    expect((error as Error).message).toMatch(/locked by "backup" \(pid \d+ on /);
    await lock.release();
    await lock.release(); // idempotent
    expect(await listAll(storage, '')).toEqual([]);

    // A run killed while writing full_20260201_120000: its lock names the snapshot, its files stay.
    const killed = await second.createSnapshot('full_20260201_120000', {
      formatVersion: 1,
      compression: 'zstd',
    });
    await killed.writeLines('neo4j/schema.jsonl', SCHEMA);
    await putJson(storage, '.acx-lock', {
      pid: 2 ** 22 + 12345, // above Linux's pid_max: never alive
      host: hostname(),
      command: 'backup',
      since: '2026-02-01T12:00:00.000Z',
      token: 'someone else',
      snapshot: 'full_20260201_120000',
    });
    const taken = await first.lock('backup');
    expect(taken.abandoned).toBe('full_20260201_120000');
    expect(await first.removeIncomplete()).toEqual(['full_20260201_120000']);
    expect((await readJson(storage, '.acx-lock')) as { command: string }).toMatchObject({
      command: 'backup',
    });
    await taken.release();
    expect(await listAll(storage, '')).toEqual([]);

    // Another host's lock is never taken over: its process cannot be checked from here.
    await putJson(storage, '.acx-lock', {
      pid: 1,
      host: 'elsewhere',
      command: 'backup',
      since: 'x',
      token: 't',
    });
    await expect(first.lock('backup')).rejects.toMatchObject({ code: 'LOCKED' });
  });

  it('recognises its own lock when the answer to the create was lost and the create retried', async () => {
    const inner = new MemoryStorage('lost-answer');
    let lost = false;
    // Stores the lock, then reports a dropped connection once: the retry then meets the lock.
    const flaky = Object.create(inner) as MemoryStorage;
    flaky.put = async (key: string, data: PutData, options?: PutOptions): Promise<ObjectInfo> => {
      const info = await inner.put(key, data, options);
      if (key === '.acx-lock' && !lost) {
        lost = true;
        throw new StorageError('connection reset', {
          reason: 'transient',
          operation: 'put',
          location: 'x',
          key,
        });
      }
      return info;
    };
    const repository = Repository.onStorage(new RetryingStorage(flaky, { baseMs: 1 }));
    const lock = await repository.lock('backup');
    expect(lost).toBe(true);
    await lock.release();
    expect(await listAll(inner, '')).toEqual([]);
  });

  it('refuses a missing repository unless creating one', async () => {
    await expect(Repository.open('memory://empty', { create: false })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(Repository.open('nope://x', { create: true })).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('src/repository', () => {
  it('imports no node:fs: every byte goes through the Storage', async () => {
    const folder = fileURLToPath(new URL('../../src/repository/', import.meta.url));
    const sources = (await readdir(folder, { recursive: true })).map(String).filter((f) => f.endsWith('.ts'));
    expect(sources.length).toBeGreaterThan(5);
    for (const file of sources) {
      const text = await readFile(join(folder, file), 'utf8');
      expect(text, file).not.toMatch(/from ['"](node:)?fs(\/promises)?['"]/);
      expect(text, file).not.toMatch(/import\(['"](node:)?fs/);
    }
  });
});

async function readBytesOf(stream: Promise<NodeJS.ReadableStream>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
