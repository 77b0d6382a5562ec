/**
 * The host's cache of a repository's index (docs/design.md §11.5): an SQLite database with one row per
 * index entry, keyed by blob id, and the index files it has read. Opening reconciles it with the
 * repository's `index/` listing — new files are read, rows of files that are gone are dropped — so a
 * lookup never trusts an entry that no index file in the repository holds. Memory stays SQLite's page
 * cache whatever the number of blobs.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { openDatabase, transaction, type Database, type Statement } from '../../sqlite.ts';
import type { Storage } from '../../storage/storage.ts';
import type { MasterKey } from './blob-crypto.ts';
import type { BlobEntry } from './blob-codec.ts';
import { listIndexFiles, readIndexFile, type PackIndex } from './index-files.ts';

export interface LocatedBlob extends BlobEntry {
  pack: string;
}

export class IndexCache {
  private readonly lookupStatement: Statement;

  private readonly db: Database;

  private constructor(db: Database) {
    this.db = db;

    this.lookupStatement = db.prepare(
      'SELECT id, type, pack, offset, length, rawLength, compression FROM entries WHERE id = ? LIMIT 1',
    );
  }

  /**
   * The cache for repository `repositoryId` on `storage`, reconciled with the storage's index files.
   * `dir`: where caches live (the state directory's `cache/`); undefined keeps the cache in memory.
   */
  static async open(
    storage: Storage,
    repositoryId: string,
    key: MasterKey | undefined,
    dir: string | undefined,
  ): Promise<IndexCache> {
    let file = ':memory:';
    if (dir) file = join(dir, cacheFileName(repositoryId, storage.location));
    const db = openDatabase(file, { timeout: 30_000 });
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS entries (
        id TEXT NOT NULL, file TEXT NOT NULL, pack TEXT NOT NULL, type TEXT NOT NULL,
        offset INTEGER NOT NULL, length INTEGER NOT NULL, rawLength INTEGER NOT NULL, compression TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS entries_id ON entries (id);
      CREATE INDEX IF NOT EXISTS entries_file ON entries (file);
      CREATE INDEX IF NOT EXISTS entries_pack ON entries (pack);
    `);
    const cache = new IndexCache(db);
    try {
      await cache.reconcile(storage, key);
    } catch (error) {
      db.close();
      throw error;
    }
    return cache;
  }

  /** Reads the index files the cache lacks and forgets those the repository no longer has. */
  async reconcile(storage: Storage, key: MasterKey | undefined): Promise<void> {
    const present = new Set(await listIndexFiles(storage));
    const known = new Set(
      (this.db.prepare('SELECT name FROM files').all() as Array<{ name: string }>).map((r) => r.name),
    );
    const gone = [...known].filter((name) => !present.has(name));
    if (gone.length > 0) transaction(this.db, () => gone.forEach((name) => this.forget(name)));
    for (const name of present) {
      if (known.has(name)) continue;
      this.add(name, await readIndexFile(storage, name, key));
    }
  }

  /** Records the entries of index file `name` (one the caller has just written or read). */
  add(name: string, packs: readonly PackIndex[]): void {
    const insert = this.db.prepare(
      'INSERT INTO entries (id, file, pack, type, offset, length, rawLength, compression) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    transaction(this.db, () => {
      if (this.db.prepare('SELECT 1 FROM files WHERE name = ?').get(name)) return;
      for (const p of packs)
        for (const b of p.blobs)
          insert.run(b.id, name, p.pack, b.type, b.offset, b.length, b.rawLength, b.compression);
      this.db.prepare('INSERT INTO files (name) VALUES (?)').run(name);
    });
  }

  /** Drops the entries of an index file that was deleted (a failed run's). */
  forget(name: string): void {
    transaction(this.db, () => {
      this.db.prepare('DELETE FROM entries WHERE file = ?').run(name);
      this.db.prepare('DELETE FROM files WHERE name = ?').run(name);
    });
  }

  lookup(id: string): LocatedBlob | undefined {
    return this.lookupStatement.get(id) as LocatedBlob | undefined;
  }

  /** Whether an index file lists `pack`. */
  listsPack(pack: string): boolean {
    return this.db.prepare('SELECT 1 FROM entries WHERE pack = ? LIMIT 1').get(pack) !== undefined;
  }

  /** The entries the index lists for `pack`, in the pack's order (each once, however many files list it). */
  entriesOf(pack: string): BlobEntry[] {
    return this.db
      .prepare(
        'SELECT DISTINCT id, type, offset, length, rawLength, compression FROM entries WHERE pack = ? ORDER BY offset, id',
      )
      .all(pack) as unknown as BlobEntry[];
  }

  /** Every pack the index lists, with its blobs, one pack at a time (prune, verify --all). */
  *packs(): Generator<{ pack: string; blobs: BlobEntry[] }> {
    let current: { pack: string; blobs: BlobEntry[] } | undefined;
    const rows = this.db
      .prepare(
        'SELECT DISTINCT pack, id, type, offset, length, rawLength, compression FROM entries ORDER BY pack, offset',
      )
      .iterate() as unknown as IterableIterator<LocatedBlob>;
    for (const row of rows) {
      if (current && current.pack !== row.pack) {
        yield current;
        current = undefined;
      }
      current ??= { pack: row.pack, blobs: [] };
      const { pack: _pack, ...entry } = row;
      current.blobs.push(entry);
    }
    if (current) yield current;
  }

  /** The index files the cache holds (all of the repository's, after reconcile). */
  files(): string[] {
    return (this.db.prepare('SELECT name FROM files ORDER BY name').all() as Array<{ name: string }>).map(
      (r) => r.name,
    );
  }

  /** The SQLite handle, for set operations over blob ids (prune's mark phase). */
  get database(): Database {
    return this.db;
  }

  close(): void {
    this.db.close();
  }
}

/**
 * The cache's file name (design §12.3): the repository's id and a digest of its location, since a
 * replica (copySnapshot) has the same id and must not share its host's cache with the original. Files
 * of the earlier `<id>.index.sqlite` name are no longer opened: a first open reads the index again.
 */
export function cacheFileName(repositoryId: string, location: string): string {
  const where = createHash('sha256').update(location).digest('hex').slice(0, 16);
  return `${repositoryId}-${where}.index.sqlite`;
}
