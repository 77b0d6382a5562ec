/**
 * `backup --verify --all` on `memory://` (design §11.10): a clean repository passes with its leftovers
 * and reclaimable blobs reported but not failed; a deleted, damaged or truncated pack, a damaged or lost
 * index file and a blob no index lists are failures naming the object and the snapshots that need it.
 * The repository is made with small chunks and packs, so files have list blobs and span several packs.
 */
import { smallRepositoryStorage } from '../support/small-repository.ts';
import { writeNodesSnapshot } from '../support/snapshot.ts';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Repository } from '../../src/repository/repository.ts';
import { verifyAll, type VerifyAllSummary } from '../../src/operations/verify.ts';
import { silentReporter } from '../../src/progress.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import { listAll, readBytes } from '../../src/storage/storage-helpers.ts';

const FIRST = 'full_20260101_000000';
const SECOND = 'full_20260101_010000';

const rowsOf = (salt: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({ id: `${salt}${i}`, code: `P${String(i).padStart(4, '0')}`, text: `hiba ${i * 7919}` }),
  );

async function writeSnapshot(repository: Repository, id: string, rows: string[]): Promise<void> {
  await writeNodesSnapshot(repository, id, rows);
}

/** Two snapshots sharing most blobs, in a repository with 256-byte chunks and 64 KiB packs. */
async function twoSnapshots(name: string): Promise<MemoryStorage> {
  const storage = await smallRepositoryStorage(name, new Date().toISOString());
  const repository = Repository.onStorage(storage);
  await writeSnapshot(repository, FIRST, rowsOf('a', 6000));
  await writeSnapshot(repository, SECOND, [...rowsOf('a', 6000), ...rowsOf('b', 3000)]);
  (await repository.blobs())!.close(); // Repository.close would close the storage too
  return storage;
}

async function check(storage: MemoryStorage): Promise<VerifyAllSummary> {
  const repository = Repository.onStorage(storage);
  try {
    return await verifyAll(repository, silentReporter);
  } finally {
    (await repository.blobs().catch(() => undefined))?.close();
  }
}

const lines = (s: VerifyAllSummary) => [
  ...s.snapshots.flatMap((v) => v.problems.map((p) => `${v.id}/${p.file}: ${p.problem}`)),
  ...(s.repository?.problems.map((p) => `${p.object}: ${p.problem}`) ?? []),
];

/** The keys of the repository's packs, sorted. */
async function packsOf(storage: MemoryStorage): Promise<string[]> {
  return (await listAll(storage, 'data/')).map((o) => o.key).sort();
}

describe('backup --verify --all', () => {
  it('passes a clean repository, reading every pack, with list blobs counted as used', async () => {
    const storage = await twoSnapshots('check-clean');
    const summary = await check(storage);
    expect(lines(summary)).toEqual([]);
    expect(summary.ok).toBe(true);
    expect(summary.snapshots.map((s) => [s.id, s.ok])).toEqual([
      [FIRST, true],
      [SECOND, true],
    ]);
    const r = summary.repository!;
    expect(r.packs).toBe((await packsOf(storage)).length);
    expect(r.packs).toBeGreaterThan(1);
    expect(r.indexFiles).toBe((await listAll(storage, 'index/')).length);
    expect(r.leftoverPacks).toEqual([]);
    expect(r.reclaimable).toEqual({ blobs: 0, bytes: 0 });
    // Every indexed blob is used by a snapshot (lists included): more than the inline limit of 1 000.
    expect(r.usedBlobs).toBe(r.entries);
    expect(r.usedBlobs).toBeGreaterThan(1000);
  });

  it('reports a pack no index lists as a leftover and blobs no snapshot uses as reclaimable, not failures', async () => {
    const storage = await twoSnapshots('check-leftover');
    const stray = Buffer.from('a killed run wrote this pack and no index');
    const strayId = createHash('sha256').update(stray).digest('hex');
    await storage.put(`data/${strayId.slice(0, 2)}/${strayId}`, stray);
    await storage.put('data/00/not-a-pack', Buffer.from('stray'));
    await storage.delete(`${SECOND}/manifest.json`);
    const summary = await check(storage);
    expect(summary.repository!.strays).toEqual(['data/00/not-a-pack']);
    expect(lines(summary)).toEqual([]);
    expect(summary.ok).toBe(true);
    expect(summary.repository!.leftoverPacks).toEqual([{ pack: strayId, bytes: stray.length }]);
    expect(summary.repository!.reclaimable.blobs).toBeGreaterThan(10);
    expect(summary.repository!.reclaimable.bytes).toBeGreaterThan(1000);
  });

  it('names a deleted pack and the snapshots that need its blobs', async () => {
    const storage = await twoSnapshots('check-deleted');
    const [first] = await packsOf(storage);
    await storage.delete(first!);
    const summary = await check(storage);
    expect(summary.ok).toBe(false);
    const repoLines = summary.repository!.problems.map((p) => `${p.object}: ${p.problem}`);
    expect(repoLines).toContainEqual(
      expect.stringMatching(new RegExp(`^${first}: is missing, listed by index/`)),
    );
    expect(repoLines.join('\n')).toContain(`needed by ${FIRST}, ${SECOND}`);
    expect(summary.snapshots.every((s) => !s.ok)).toBe(true);
  });

  it('names a damaged blob inside a pack, and a truncated pack', async () => {
    const storage = await twoSnapshots('check-damaged');
    const [first, second] = await packsOf(storage);
    const bytes = await readBytes(storage, first!);
    bytes[10] = bytes[10]! ^ 0x40;
    await storage.put(first!, bytes);
    const other = await readBytes(storage, second!);
    await storage.put(second!, other.subarray(0, other.length - 10));
    const summary = await check(storage);
    expect(summary.ok).toBe(false);
    const repoLines = summary.repository!.problems.map((p) => `${p.object}: ${p.problem}`);
    expect(repoLines).toContainEqual(
      expect.stringMatching(new RegExp(`^${first}: blob [0-9a-f]{12} .*(does not|damaged)`)),
    );
    expect(repoLines).toContainEqual(
      expect.stringMatching(new RegExp(`^${second}: pack [0-9a-f]{12} is damaged`)),
    );
  });

  it('re-reads index files instead of trusting the cache: a damaged one is named, its blobs unindexed', async () => {
    const storage = await twoSnapshots('check-index');
    const repository = Repository.onStorage(storage);
    await repository.blobs(); // the cache is filled before the damage, as on a host that read it earlier
    const [index] = (await listAll(storage, 'index/')).map((o) => o.key);
    const bytes = await readBytes(storage, index!);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x40;
    await storage.put(index!, bytes);
    const summary = await verifyAll(repository, silentReporter);
    (await repository.blobs())!.close();
    expect(summary.ok).toBe(false);
    const repoLines = summary.repository!.problems.map((p) => `${p.object}: ${p.problem}`);
    expect(repoLines[0]).toMatch(new RegExp(`^${index}: index file [0-9a-f]{12} is damaged`));
    expect(repoLines).toContainEqual(
      expect.stringMatching(/^blob [0-9a-f]{12}: data blob in no index file \(needed by full_/),
    );
    // Its packs are then listed by no index: leftovers, and the snapshots still decode from them.
    expect(summary.repository!.leftoverPacks.length).toBeGreaterThan(0);
  });

  it('names blobs no index lists when an index file is lost, and the snapshots needing them', async () => {
    const storage = await twoSnapshots('check-lost-index');
    for (const o of await listAll(storage, 'index/')) await storage.delete(o.key);
    const summary = await check(storage);
    expect(summary.ok).toBe(false);
    const problems = summary.repository!.problems;
    expect(problems.length + summary.repository!.moreProblems).toBe(summary.repository!.usedBlobs);
    expect(problems.some((p) => p.problem.startsWith('list blob in no index file'))).toBe(true);
    expect(summary.repository!.leftoverPacks.length).toBe((await packsOf(storage)).length);
    expect(summary.snapshots.every((s) => !s.ok)).toBe(true);
  });
});
