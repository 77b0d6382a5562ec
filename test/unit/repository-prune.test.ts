/**
 * The format-2 cleanup's prune (design §11.9) on `memory://`, with 64 KiB packs so a few thousand rows
 * fill many: snapshots sharing blobs, the oldest dropped by `--keep 2`; what remains reads back byte for
 * byte, the repository shrinks, what no snapshot uses leaves the index, and a second cleanup changes
 * nothing. Crash safety: the storage refuses every write from its N-th on (a kill: the process stops
 * there), for every N a whole cleanup reaches; a fresh Repository then reads every remaining snapshot
 * the same, and a complete cleanup succeeds. Refusals: a manifest it cannot read, or a kept snapshot's
 * missing pack, leaves every pack in place.
 */
import { writeNodesSnapshot } from '../support/snapshot.ts';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { acxErrorOf } from '../support/acx-error.ts';
import { cleanupSnapshots, type CleanupSummary } from '../../src/operations/cleanup.ts';
import { silentReporter } from '../../src/progress.ts';
import { LOCK_FILE } from '../../src/repository/layout.ts';
import { checkRepository } from '../../src/repository/repository-check.ts';
import { newMasterKey } from '../../src/repository/blobs/blob-crypto.ts';
import { encodeBlob } from '../../src/repository/blobs/blob-codec.ts';
import { PackBuilder, packKey } from '../../src/repository/blobs/pack.ts';
import { addKey } from '../../src/repository/blobs/keys.ts';
import { createConfig, CONFIG_FILE } from '../../src/repository/blobs/repo-config.ts';
import { Repository, type RepositoryAccess } from '../../src/repository/repository.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import type {
  GetOptions,
  ObjectInfo,
  OperationOptions,
  PutData,
  PutOptions,
  Storage,
} from '../../src/storage/storage.ts';
import { listAll, putJson, readBytes } from '../../src/storage/storage-helpers.ts';

/** Rows that compress little (a hash in each), so 64 KiB packs hold a few chunks each. */
function rows(from: number, to: number, tag = ''): string[] {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    const noise = createHash('sha256').update(`${tag}${i}`).digest('hex');
    return JSON.stringify({ id: `n${i}`, code: `P${String(i).padStart(5, '0')}`, noise });
  });
}

const BASE = rows(0, 15_000);
/** Each snapshot's rows, oldest first; `--keep 2` drops the first two. */
const SNAPSHOTS: Array<{ id: string; rows: string[] }> = [
  { id: 'full_20260101_000000', rows: BASE },
  // A changed region: new blobs only the dropped snapshot uses (obsolete packs).
  {
    id: 'full_20260102_000000',
    rows: [...BASE.slice(0, 2000), ...rows(2000, 5000, 'b'), ...BASE.slice(5000)],
  },
  { id: 'full_20260103_000000', rows: rows(0, 6000, 'c') },
  // The first snapshot's packs around the changed rows become partly unused.
  {
    id: 'full_20260104_000000',
    rows: [
      ...BASE.slice(0, 500),
      ...rows(500, 501, 'd'),
      ...BASE.slice(501, 3000),
      ...rows(3000, 3600, 'd'),
      ...BASE.slice(3600, 8000),
      ...rows(8000, 9500, 'd'),
      ...BASE.slice(9500, 12_000),
      ...rows(12_000, 12_050, 'd'),
      ...BASE.slice(12_050),
    ],
  },
];
const KEPT = SNAPSHOTS.slice(2);

function access(password?: string): RepositoryAccess {
  return {
    env: password === undefined ? {} : { ACX_REPOSITORY_PASSWORD: password },
    readSecretFile: () => {
      throw new Error('no files here');
    },
  };
}

/** A repository whose config asks for 64 KiB packs (the smallest allowed), before anything is written. */
async function smallPackRepository(storage: Storage, password?: string): Promise<Repository> {
  const config = await createConfig(storage, { encrypted: password !== undefined });
  await putJson(storage, CONFIG_FILE, { ...config, packSize: 64 * 1024 });
  if (password !== undefined) {
    // A run creating the repository writes its key file first; here the config is there first.
    await addKey(storage, newMasterKey(), { kind: 'password', value: Buffer.from(password) });
  }
  return Repository.onStorage(storage, access(password));
}

async function writeSnapshot(
  repository: Repository,
  id: string,
  lines: string[],
  day: number,
): Promise<void> {
  await writeNodesSnapshot(repository, id, lines, { time: `2026-01-0${day}T00:00:00.000Z` });
}

async function build(storage: Storage, password?: string): Promise<void> {
  const repository = await smallPackRepository(storage, password);
  for (const [i, s] of SNAPSHOTS.entries()) await writeSnapshot(repository, s.id, s.rows, i + 1);
  const blobs = (await repository.blobs())!;
  // A killed backup's pack: stored, but its index file never was.
  const leftover = new PackBuilder();
  leftover.add(encodeBlob(Buffer.from("a killed run's chunk"), 'data', 'zstd', blobs.key), 'data', 20);
  const built = leftover.finish(blobs.key);
  await storage.put(packKey(built.id), built.bytes);
  blobs.close();
}

async function readRows(repository: Repository, id: string): Promise<string[]> {
  const reader = await repository.open(id);
  const lines: string[] = [];
  for await (const line of reader.lines('neo4j/nodes.jsonl')) lines.push(line);
  return lines;
}

/** Every listed snapshot reads back as it was written. Returns the ids listed. */
async function expectIntact(storage: Storage, password?: string): Promise<string[]> {
  const repository = Repository.onStorage(storage, access(password));
  const { snapshots } = await repository.list();
  for (const s of snapshots) {
    const expected = SNAPSHOTS.find((x) => x.id === s.id)!.rows;
    const actual = await readRows(repository, s.id);
    expect(actual.length, s.id).toBe(expected.length);
    expect(actual.join('\n') === expected.join('\n'), `${s.id} reads back identical`).toBe(true);
  }
  (await repository.blobs())?.close();
  return snapshots.map((s) => s.id);
}

async function cleanup(storage: Storage, password?: string, dryRun = false): Promise<CleanupSummary> {
  const repository = Repository.onStorage(storage, access(password));
  try {
    return await cleanupSnapshots(repository, { keep: 2 }, dryRun, silentReporter);
  } finally {
    (await repository.blobs().catch(() => undefined))?.close();
  }
}

async function storedBytes(storage: Storage): Promise<number> {
  const objects = [...(await listAll(storage, 'data/')), ...(await listAll(storage, 'index/'))];
  return objects.reduce((sum, o) => sum + o.size, 0);
}

/** Every object's bytes, to compare two states of a storage. */
async function contents(storage: Storage): Promise<Map<string, string>> {
  const all = new Map<string, string>();
  for (const o of await listAll(storage, ''))
    all.set(
      o.key,
      createHash('sha256')
        .update(await readBytes(storage, o.key))
        .digest('hex'),
    );
  return all;
}

async function copyOf(source: MemoryStorage, name: string): Promise<MemoryStorage> {
  const copy = new MemoryStorage(name);
  for (const o of await listAll(source, '')) await copy.put(o.key, await readBytes(source, o.key));
  return copy;
}

/** The repository check's view after a prune: no leftovers, nothing wrong, the blobs snapshots use. */
async function check(storage: Storage, password?: string) {
  const repository = Repository.onStorage(storage, access(password));
  const blobs = (await repository.blobs())!;
  const manifests = (await repository.list()).snapshots.map((s) => s.manifest);
  const result = await checkRepository(blobs, manifests, silentReporter);
  blobs.close();
  return result;
}

describe('format 2 cleanup (prune)', () => {
  for (const password of [undefined, 'prune-test-password']) {
    const kind = password === undefined ? 'plain' : 'encrypted';
    it(`removes what no kept snapshot uses and keeps what they need (${kind})`, async () => {
      const storage = new MemoryStorage(`prune-${kind}`);
      await build(storage, password);
      const before = await storedBytes(storage);
      const checkBefore = await check(storage, password);
      expect(checkBefore.reclaimable.blobs).toBe(0); // every snapshot is still there
      expect(checkBefore.leftoverPacks.length).toBe(1);

      const dry = await cleanup(storage, password, true);
      expect(dry.prune!.packsObsolete).toBeGreaterThan(0);
      expect(await storedBytes(storage)).toBe(before);
      expect((await expectIntact(storage, password)).length).toBe(SNAPSHOTS.length);

      const started = performance.now();
      const summary = await cleanup(storage, password);
      const seconds = (performance.now() - started) / 1000;
      const p = summary.prune!;
      console.log(
        JSON.stringify({
          kind,
          seconds: Number(seconds.toFixed(2)),
          before,
          after: await storedBytes(storage),
          prune: p,
        }),
      );
      expect(summary.deleted.map((d) => d.id)).toEqual([SNAPSHOTS[1]!.id, SNAPSHOTS[0]!.id]);
      expect(p.packsObsolete).toBeGreaterThan(0);
      expect(p.packsRepacked).toBeGreaterThan(0);
      expect(p.packsWritten).toBeGreaterThan(0);
      expect(p.packsKept).toBeGreaterThan(0);
      expect(p.packsUnindexed).toBe(1);
      expect(p.bytesReclaimed).toBeGreaterThan(0);
      // The dry run announced the same packs.
      expect([dry.prune!.packsObsolete, dry.prune!.packsRepacked]).toEqual([
        p.packsObsolete,
        p.packsRepacked,
      ]);
      const after = await storedBytes(storage);
      expect(after).toBeLessThan(before);
      expect(before - after).toBe(p.bytesReclaimed);

      expect((await expectIntact(storage, password)).sort()).toEqual(KEPT.map((s) => s.id));
      const result = await check(storage, password);
      expect(result.problems).toEqual([]);
      expect(result.leftoverPacks).toEqual([]);
      // Only unused blobs of packs kept for being at least 80 % used remain.
      expect(result.reclaimable.blobs).toBeLessThan(p.blobsRemoved);
      expect(result.reclaimable.bytes).toBeLessThanOrEqual(0.2 * result.packBytes);
      expect(result.usedBlobs).toBe(p.usedBlobs);

      const state = await contents(storage);
      const again = await cleanup(storage, password);
      expect(again.deleted).toEqual([]);
      expect(again.prune).toMatchObject({
        packsObsolete: 0,
        packsRepacked: 0,
        packsUnindexed: 0,
        bytesReclaimed: 0,
      });
      expect(await contents(storage)).toEqual(state);
    });
  }

  it('removes no blob while a manifest cannot be read or a kept snapshot lacks a pack', async () => {
    const template = new MemoryStorage('prune-refusals');
    await build(template);

    // A damaged manifest could name any blob: the snapshots are cleaned up, the blobs are not.
    const damaged = await copyOf(template, 'prune-damaged-manifest');
    await damaged.put(
      `${SNAPSHOTS[3]!.id}/manifest.json`,
      '{"format": "acx-data-snapshot", "formatVersion": 2',
    );
    const packsBefore = (await listAll(damaged, 'data/')).length;
    const skipped = await cleanup(damaged);
    expect(skipped.prune).toBeUndefined();
    expect(skipped.pruneSkipped).toMatch(new RegExp(SNAPSHOTS[3]!.id));
    expect((await listAll(damaged, 'data/')).length).toBe(packsBefore);

    // A kept snapshot's pack is gone: INTEGRITY naming the snapshot, and no other pack deleted.
    const missing = await copyOf(template, 'prune-missing-pack');
    const repository = Repository.onStorage(missing);
    const listed = (await repository.list()).snapshots.find((s) => s.id === SNAPSHOTS[3]!.id)!;
    const firstBlob = listed.manifest.files['neo4j/nodes.jsonl']!.blobs![0]!;
    const pack = (await repository.blobs())!.locate(firstBlob)!.pack;
    await missing.delete(packKey(pack));
    const error = await acxErrorOf(cleanup(missing));
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain(SNAPSHOTS[3]!.id);
    expect((await listAll(missing, 'data/')).length).toBe(packsBefore - 1);
  });

  it('leaves every remaining snapshot readable when killed at any write, and a new cleanup finishes', async () => {
    const template = new MemoryStorage('prune-crash-template');
    await build(template);
    // A whole cleanup, counted: the number of writes a kill can interrupt.
    const counted = new FailingStorage(await copyOf(template, 'prune-crash-count'), Infinity);
    await cleanup(counted);
    const mutations = counted.mutations;
    expect(mutations).toBeGreaterThan(10);
    console.log(JSON.stringify({ mutations }));
    const reference = await storedBytes(counted.inner);

    for (let n = 1; n <= mutations; n++) {
      const inner = await copyOf(template, `prune-crash-${n}`);
      const failing = new FailingStorage(inner, n);
      await expect(cleanup(failing), `write ${n} of ${mutations}`).rejects.toThrow(/simulated kill/);
      // The killed process's lock is stale: a new run takes it over (lock.ts); here, the file goes.
      await inner.delete(LOCK_FILE);
      const remaining = await expectIntact(inner);
      expect(remaining, `write ${n}`).toEqual(expect.arrayContaining(KEPT.map((s) => s.id)));
      const summary = await cleanup(inner);
      expect(summary.prune, `write ${n}`).toBeDefined();
      expect((await expectIntact(inner)).sort()).toEqual(KEPT.map((s) => s.id));
      const result = await check(inner);
      expect(result.problems, `write ${n}`).toEqual([]);
      expect(result.leftoverPacks, `write ${n}`).toEqual([]);
      // Not more than an uninterrupted cleanup leaves (an interrupted repack may pack differently).
      expect(await storedBytes(inner), `write ${n}`).toBeLessThanOrEqual(reference * 1.05);
    }
  });
});

/**
 * A storage whose `failAt`-th mutation (put or delete) and every later one fails, as if the process
 * were killed there; reads pass through. Counts the mutations it let through.
 */
class FailingStorage implements Storage {
  readonly kind: string;
  readonly location: string;
  readonly capabilities: Storage['capabilities'];
  mutations = 0;

  readonly inner: Storage;
  private readonly failAt: number;

  constructor(inner: Storage, failAt: number) {
    this.inner = inner;
    this.failAt = failAt;

    this.kind = inner.kind;
    this.location = inner.location;
    this.capabilities = inner.capabilities;
  }

  private mutate(): void {
    this.mutations++;
    if (this.mutations >= this.failAt) throw new Error(`simulated kill at write ${this.failAt}`);
  }

  async put(key: string, data: PutData, options?: PutOptions): Promise<ObjectInfo> {
    this.mutate();
    return this.inner.put(key, data, options);
  }

  async delete(key: string, options?: OperationOptions): Promise<void> {
    this.mutate();
    return this.inner.delete(key, options);
  }

  get(key: string, options?: GetOptions): Promise<Readable> {
    return this.inner.get(key, options);
  }

  stat(key: string, options?: OperationOptions): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key, options);
  }

  list(prefix: string, options?: OperationOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, options);
  }

  listPrefixes(prefix: string, options?: OperationOptions): AsyncIterable<string> {
    return this.inner.listPrefixes(prefix, options);
  }

  async close(): Promise<void> {}
}
