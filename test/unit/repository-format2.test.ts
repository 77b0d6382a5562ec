/**
 * Format 2 (design §11) end to end on `memory://`: files written as deduplicated blobs, the manifest
 * last, listed, read back; a second snapshot of the same content adds almost nothing; an encrypted
 * repository holds no plaintext and refuses wrong or missing keys; damage is detected, never decoded.
 */
import { writeNodesSnapshot } from '../support/snapshot.ts';
import { describe, expect, it } from 'vitest';
import { acxErrorOf } from '../support/acx-error.ts';
import { type Manifest } from '../../src/repository/manifest.ts';
import { Repository, type RepositoryAccess } from '../../src/repository/repository.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import { listAll, readBytes } from '../../src/storage/storage-helpers.ts';

const ROWS = Array.from({ length: 20_000 }, (_, i) =>
  JSON.stringify({
    id: `n${i}`,
    labels: ['DTC'],
    code: `P${String(i).padStart(4, '0')}`,
    text: `Kipufogó hiba ${i * 7919}`,
  }),
);
const SECRET_ROW = 'Kipufogó hiba 79190';

function access(password?: string): RepositoryAccess {
  return {
    env: password === undefined ? {} : { ACX_REPOSITORY_PASSWORD: password },
    readSecretFile: () => {
      throw new Error('no files here');
    },
  };
}

async function writeSnapshot(
  repository: Repository,
  id: string,
  rows: string[],
  encrypt = false,
): Promise<Manifest> {
  return writeNodesSnapshot(repository, id, rows, { encrypt });
}

async function readRows(repository: Repository, id: string): Promise<string[]> {
  const reader = await repository.open(id);
  const rows: string[] = [];
  for await (const line of reader.lines('neo4j/nodes.jsonl')) rows.push(line);
  return rows;
}

async function storedBytes(storage: MemoryStorage, prefix: string): Promise<number> {
  return (await listAll(storage, prefix)).reduce((sum, o) => sum + o.size, 0);
}

describe('format 2 repository', () => {
  it('round-trips a file through blobs and deduplicates an unchanged second snapshot', async () => {
    const storage = new MemoryStorage('f2-dedup');
    const repository = Repository.onStorage(storage);
    const first = await writeSnapshot(repository, 'full_20260101_000000', ROWS);
    expect(first.files['neo4j/nodes.jsonl']!.records).toBe(ROWS.length);
    const afterFirst = await storedBytes(storage, 'data/');
    expect(afterFirst).toBeGreaterThan(10_000);

    const second = await writeSnapshot(repository, 'full_20260101_010000', ROWS);
    expect(await storedBytes(storage, 'data/')).toBe(afterFirst);
    const listing = await repository.list();
    const byId = new Map(listing.snapshots.map((s) => [s.id, s]));
    expect(byId.get(second.id)!.addedBytes).toBeLessThan(afterFirst / 100);
    expect(byId.get(first.id)!.addedBytes).toBeGreaterThanOrEqual(afterFirst);
    expect(byId.get(second.id)!.logicalBytes).toBe(Buffer.byteLength(ROWS.join('\n')) + 1);

    // 1 % of the rows changed: a few new chunks only.
    const changed = ROWS.map((r, i) => (i % 100 === 50 ? r.replace('hiba', 'HIBA') : r));
    await writeSnapshot(repository, 'full_20260101_020000', changed);
    const third = (await repository.list()).snapshots.find((s) => s.id === 'full_20260101_020000')!;
    expect(third.addedBytes).toBeGreaterThan(0);

    expect(await readRows(repository, first.id)).toEqual(ROWS);
    expect(await readRows(repository, 'full_20260101_020000')).toEqual(changed);
    await repository.close();
  });

  it('keeps the index cache out of memory between runs: a new Repository reads the index files', async () => {
    const storage = new MemoryStorage('f2-reopen');
    const first = Repository.onStorage(storage);
    await writeSnapshot(first, 'full_20260101_000000', ROWS);
    const second = Repository.onStorage(storage);
    expect(await readRows(second, 'full_20260101_000000')).toEqual(ROWS);
  });

  it('encrypts: no row value in any stored object, wrong or missing key refused, manifest edits detected', async () => {
    const storage = new MemoryStorage('f2-encrypted');
    const repository = Repository.onStorage(storage, access('correct horse'));
    const manifest = await writeSnapshot(repository, 'full_20260101_000000', ROWS, true);
    expect(manifest.encryption).toEqual({ scheme: 'aes-256-gcm' });
    for (const object of await listAll(storage, '')) {
      const bytes = await readBytes(storage, object.key);
      expect(bytes.includes(Buffer.from(SECRET_ROW)), object.key).toBe(false);
      expect(bytes.includes(Buffer.from('correct horse')), object.key).toBe(false);
    }
    expect(await readRows(Repository.onStorage(storage, access('correct horse')), manifest.id)).toEqual(ROWS);

    const wrong = await acxErrorOf(Repository.onStorage(storage, access('wrong')).open(manifest.id));
    expect(wrong.code).toBe('CONFIG');
    expect(wrong.message).not.toContain('wrong');
    expect((await acxErrorOf(Repository.onStorage(storage, access()).open(manifest.id))).code).toBe('CONFIG');
    expect((await acxErrorOf(Repository.onStorage(storage).open(manifest.id))).code).toBe('CONFIG');
  });

  it('detects a flipped byte in a pack as damage, not data', async () => {
    const storage = new MemoryStorage('f2-flip');
    const repository = Repository.onStorage(storage);
    await writeSnapshot(repository, 'full_20260101_000000', ROWS);
    const pack = (await listAll(storage, 'data/'))[0]!;
    const bytes = await readBytes(storage, pack.key);
    bytes[100] = bytes[100]! ^ 0x01;
    await storage.put(pack.key, bytes);
    const error = await acxErrorOf(readRows(Repository.onStorage(storage), 'full_20260101_000000'));
    expect(error.code).toBe('INTEGRITY');
  });
});
