/**
 * Phase 2 of `--cleanup` for format 2 (docs/design.md §11.9): removes the blobs no remaining snapshot
 * uses. The caller holds the repository lock and has already deleted the dropped snapshots' manifests.
 *
 * 1. Mark: every blob a remaining format-2 manifest uses (its data blobs and list blobs, lists
 *    expanded) goes into a temporary SQLite table, never a JS set: memory stays bounded.
 * 2. Plan, per pack of the index (packs most used first, so a blob held by two packs after a crash is
 *    kept once): all of its blobs needed → keep; none → obsolete; some → repack when the unneeded
 *    bytes exceed 20 %, keep otherwise.
 * 3. Apply, in this order, each step complete before the next starts: put the new packs (the used
 *    blobs of repacked packs, copied as stored — the aad is the blob id, so the stored form does not
 *    depend on its place); put new index files listing every kept and new pack; delete the old index
 *    files; delete the obsolete and repacked packs and the packs no index lists (a killed writer's).
 *
 * A kill at any moment leaves every remaining manifest's blobs listed by an index file whose pack
 * exists: a pack is deleted only once no index file lists it, an index file only once its replacement
 * is stored. Running prune again after a kill finishes the work; on a pruned repository it changes
 * nothing.
 */
import { AcxError } from '../errors.ts';
import type { FileEntry } from '../model/snapshot.ts';
import type { ProgressReporter } from '../progress.ts';
import { readBytes } from '../storage/storage-helpers.ts';
import { decodeBlob, type BlobEntry } from './blobs/blob-codec.ts';
import type { BlobStore } from './blobs/blob-store.ts';
import {
  INDEX_FILE_BLOBS,
  INDEX_PREFIX,
  indexKey,
  writeIndexFile,
  type PackIndex,
} from './blobs/index-files.ts';
import { DATA_PREFIX, PackBuilder, packKey } from './blobs/pack.ts';
import { dataBlobIds } from './blob-snapshot-reader.ts';
import type { Manifest } from './manifest.ts';
import { columnValues, openDatabase, transaction, type Database } from '../sqlite.ts';

/** A partly used pack is rewritten when more than this share of its blob bytes is unused. */
export const REPACK_UNUSED_SHARE = 0.2;

export interface PruneOptions {
  /** Plan and report only: nothing is written or deleted. */
  dryRun: boolean;
}

export interface PruneSummary {
  dryRun: boolean;
  /** Packs under data/ before the prune, and their bytes. */
  packsBefore: number;
  bytesBefore: number;
  /** Packs kept as they are. */
  packsKept: number;
  /** Indexed packs none of whose blobs a snapshot uses: deleted. */
  packsObsolete: number;
  /** Partly used packs whose used blobs were copied into `packsWritten` new packs, then deleted. */
  packsRepacked: number;
  packsWritten: number;
  /** Packs no index file listed (a killed run's): deleted. */
  packsUnindexed: number;
  /** Distinct blobs the remaining manifests use, and indexed blobs dropped. */
  usedBlobs: number;
  blobsRemoved: number;
  indexFilesWritten: number;
  indexFilesRemoved: number;
  /** Stored bytes deleted (packs and index files) minus stored bytes written (dry run: packs only). */
  bytesReclaimed: number;
}

type PackAction = 'keep' | 'obsolete' | 'repack' | 'new';

interface PackUse {
  pack: string;
  total: number;
  used: number;
}

/** The temporary tables: SQLite's private temporary database, deleted on close, spilled to disk. */
function createTables(): Database {
  const db = openDatabase('');
  db.exec(`
    CREATE TABLE entries (pack TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, offset INTEGER NOT NULL,
      length INTEGER NOT NULL, rawLength INTEGER NOT NULL, compression TEXT NOT NULL,
      PRIMARY KEY (pack, offset, id)) WITHOUT ROWID;
    CREATE INDEX entries_id ON entries (id);
    CREATE TABLE present (pack TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE used (id TEXT PRIMARY KEY, snapshot TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE covered (id TEXT PRIMARY KEY, pack TEXT NOT NULL) WITHOUT ROWID;
    CREATE INDEX covered_pack ON covered (pack);
    CREATE TABLE plan (pack TEXT PRIMARY KEY, action TEXT NOT NULL) WITHOUT ROWID;
  `);
  return db;
}

/** Copies the index (from the host's cache, reconciled with index/ when the store was opened). */
function loadIndex(blobs: BlobStore, db: Database): void {
  const insert = db.prepare(
    'INSERT OR IGNORE INTO entries (pack, id, type, offset, length, rawLength, compression) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  let batch: Array<{ pack: string; blobs: BlobEntry[] }> = [];
  const write = (packs: Array<{ pack: string; blobs: BlobEntry[] }>) =>
    transaction(db, () => {
      for (const p of packs)
        for (const b of p.blobs)
          insert.run(p.pack, b.id, b.type, b.offset, b.length, b.rawLength, b.compression);
    });
  for (const pack of blobs.index.packs()) {
    batch.push(pack);
    if (batch.length >= 64) {
      write(batch);
      batch = [];
    }
  }
  write(batch);
}

async function loadPresentPacks(blobs: BlobStore, db: Database): Promise<void> {
  const insert = db.prepare('INSERT OR IGNORE INTO present (pack, size) VALUES (?, ?)');
  for await (const info of blobs.storage.list(DATA_PREFIX)) {
    const id = info.key.slice(info.key.lastIndexOf('/') + 1);
    // Only objects named like packs: anything else under data/ is not ours to delete.
    if (/^[0-9a-f]{64}$/.test(id) && packKey(id) === info.key) insert.run(id, info.size);
  }
}

/** Marks every blob the manifests use; a list blob that cannot be read stops the prune (INTEGRITY). */
async function markUsed(blobs: BlobStore, db: Database, manifests: Manifest[]): Promise<void> {
  const insert = db.prepare('INSERT OR IGNORE INTO used (id, snapshot) VALUES (?, ?)');
  const batch: string[] = [];
  const write = (snapshot: string): void => {
    transaction(db, () => {
      for (const id of batch) insert.run(id, snapshot);
    });
    batch.length = 0;
  };
  for (const manifest of manifests) {
    for (const entry of Object.values(manifest.files) as FileEntry[]) {
      batch.push(...(entry.lists ?? []));
      for await (const id of dataBlobIds(blobs, entry)) {
        batch.push(id);
        if (batch.length >= 10_000) write(manifest.id);
      }
      write(manifest.id);
    }
  }
}

/** INTEGRITY when a used blob is in no existing indexed pack: deleting anything could lose it for good. */
function refuseMissing(db: Database): void {
  const missing = db
    .prepare(
      `SELECT u.id, u.snapshot FROM used u WHERE NOT EXISTS (
         SELECT 1 FROM entries e JOIN present p USING (pack) WHERE e.id = u.id) LIMIT 1`,
    )
    .get() as { id: string; snapshot: string } | undefined;
  if (missing)
    throw new AcxError(
      'INTEGRITY',
      `cleanup stopped before removing any blob: blob ${missing.id.slice(0, 12)}, used by snapshot ${missing.snapshot}, is in no pack the index lists`,
      {
        subject: missing.snapshot,
        hint: 'run acx-data backup --verify --all to see what is damaged; delete the snapshots that cannot be restored, then run the cleanup again',
      },
    );
}

/**
 * Decides every indexed pack's fate (the `plan` table) and which pack keeps each used blob (`covered`).
 * Packs most used first: after a crashed prune a blob may be in an old partly used pack and in a new
 * fully used one, and the new one should keep it.
 */
function planPacks(db: Database): void {
  const uses = db
    .prepare(
      `SELECT e.pack, sum(e.length) total,
         sum(CASE WHEN EXISTS (SELECT 1 FROM used u WHERE u.id = e.id) THEN e.length ELSE 0 END) used
       FROM entries e JOIN present USING (pack) GROUP BY e.pack`,
    )
    .all() as unknown as PackUse[];
  const share = (p: PackUse): number => (p.total === 0 ? 1 : p.used / p.total);
  uses.sort((a, b) => share(b) - share(a) || a.pack.localeCompare(b.pack));
  const blobsOf = db.prepare(
    `SELECT e.id, e.length, EXISTS (SELECT 1 FROM used u WHERE u.id = e.id) isUsed,
       EXISTS (SELECT 1 FROM covered c WHERE c.id = e.id) isCovered
     FROM entries e WHERE e.pack = ? ORDER BY e.offset`,
  );
  const cover = db.prepare('INSERT OR IGNORE INTO covered (id, pack) VALUES (?, ?)');
  const decide = db.prepare('INSERT INTO plan (pack, action) VALUES (?, ?)');
  transaction(db, () => {
    for (const { pack, total } of uses) {
      const rows = blobsOf.all(pack) as Array<{
        id: string;
        length: number;
        isUsed: number;
        isCovered: number;
      }>;
      const needed = rows.filter((r) => r.isUsed && !r.isCovered);
      const neededBytes = needed.reduce((sum, r) => sum + r.length, 0);
      let action: PackAction;
      if (needed.length === 0) action = 'obsolete';
      else if (needed.length === rows.length) action = 'keep';
      else action = total - neededBytes > REPACK_UNUSED_SHARE * total ? 'repack' : 'keep';
      if (action !== 'obsolete') for (const r of needed) cover.run(r.id, pack);
      decide.run(pack, action);
    }
  });
}

function count(db: Database, sql: string): number {
  return ((db.prepare(sql).get() as { n: number | null }).n ?? 0) as number;
}

/**
 * Removes the blobs no manifest in `manifests` uses from the repository behind `blobs` (see the file's
 * comment for the order). `manifests` must be every format-2 manifest that remains: a blob only a
 * missing manifest names is deleted.
 */
export async function pruneRepository(
  blobs: BlobStore,
  manifests: Manifest[],
  reporter: ProgressReporter,
  options: PruneOptions,
): Promise<PruneSummary> {
  const db = createTables();
  try {
    reporter.emit({ type: 'phase', store: 'repository', message: 'marking the blobs snapshots use' });
    loadIndex(blobs, db);
    await loadPresentPacks(blobs, db);
    await markUsed(blobs, db, manifests);
    refuseMissing(db);
    planPacks(db);
    const summary = summarizePlan(db, options.dryRun);
    const removedPackBytes = count(
      db,
      "SELECT sum(size) n FROM present p WHERE NOT EXISTS (SELECT 1 FROM plan WHERE pack = p.pack AND action = 'keep')",
    );
    if (options.dryRun) {
      const copied = count(
        db,
        `SELECT sum(e.length) n FROM covered c JOIN plan p ON p.pack = c.pack AND p.action = 'repack'
         JOIN entries e ON e.pack = c.pack AND e.id = c.id`,
      );
      summary.bytesReclaimed = removedPackBytes - copied;
      return summary;
    }
    // Index entries of packs that are gone are dropped too: a rewrite is due whenever the index changes.
    const dangling = count(
      db,
      'SELECT count(*) n FROM entries e WHERE NOT EXISTS (SELECT 1 FROM present WHERE pack = e.pack)',
    );
    const rewrite = summary.packsObsolete + summary.packsRepacked > 0 || dangling > 0;
    if (!rewrite && summary.packsUnindexed === 0) return summary;
    // What killed puts left behind: nothing else writes here (the caller holds the lock).
    await blobs.storage.deleteAbandoned?.(DATA_PREFIX);
    await blobs.storage.deleteAbandoned?.(INDEX_PREFIX);
    const written = rewrite ? await replaceIndex(blobs, db, reporter, summary) : 0;
    await deleteUnlisted(blobs, db, reporter);
    summary.bytesReclaimed = removedPackBytes - written;
    return summary;
  } finally {
    db.close();
  }
}

/** What the plan does, before it is applied. */
function summarizePlan(db: Database, dryRun: boolean): PruneSummary {
  const planned = (action: PackAction): number =>
    count(db, `SELECT count(*) n FROM plan WHERE action = '${action}'`);
  return {
    dryRun,
    packsBefore: count(db, 'SELECT count(*) n FROM present'),
    bytesBefore: count(db, 'SELECT sum(size) n FROM present'),
    packsKept: planned('keep'),
    packsObsolete: planned('obsolete'),
    packsRepacked: planned('repack'),
    packsWritten: 0,
    packsUnindexed: count(
      db,
      'SELECT count(*) n FROM present p WHERE NOT EXISTS (SELECT 1 FROM plan WHERE pack = p.pack)',
    ),
    usedBlobs: count(db, 'SELECT count(*) n FROM used'),
    // Indexed blobs that neither a kept pack nor a new one will hold.
    blobsRemoved: count(
      db,
      `SELECT count(DISTINCT e.id) n FROM entries e JOIN present USING (pack)
       WHERE NOT EXISTS (SELECT 1 FROM covered c WHERE c.id = e.id) AND NOT EXISTS (
         SELECT 1 FROM entries k JOIN plan p ON p.pack = k.pack AND p.action = 'keep' WHERE k.id = e.id)`,
    ),
    indexFilesWritten: 0,
    indexFilesRemoved: 0,
    bytesReclaimed: 0,
  };
}

/**
 * Steps 1–3: the new packs, then the new index files, then the old index files deleted (and forgotten
 * by the cache before any pack goes). Returns the stored bytes written minus the index bytes deleted.
 */
async function replaceIndex(
  blobs: BlobStore,
  db: Database,
  reporter: ProgressReporter,
  summary: PruneSummary,
): Promise<number> {
  const oldIndexFiles = blobs.index.files();
  reporter.emit({ type: 'phase', store: 'repository', message: `repacking ${summary.packsRepacked} packs` });
  const repacked = await repack(blobs, db, reporter);
  summary.packsWritten = repacked.packs;
  let written = repacked.bytes;
  reporter.emit({ type: 'phase', store: 'repository', message: 'writing the new index' });
  const newIndexFiles = new Set(await writeIndex(blobs, db));
  for (const id of newIndexFiles) written += (await blobs.storage.stat(indexKey(id)))?.size ?? 0;
  summary.indexFilesWritten = newIndexFiles.size;
  reporter.emit({ type: 'phase', store: 'repository', message: 'deleting the old index' });
  for (const id of oldIndexFiles) {
    // An unchanged index file has the same name (content-addressed): it is the new one too.
    if (newIndexFiles.has(id)) continue;
    written -= (await blobs.storage.stat(indexKey(id)))?.size ?? 0;
    await blobs.storage.delete(indexKey(id));
    summary.indexFilesRemoved++;
  }
  await blobs.index.reconcile(blobs.storage, blobs.key);
  return written;
}

/** Step 4: every pack the new index does not list (obsolete, repacked, a killed writer's). */
async function deleteUnlisted(blobs: BlobStore, db: Database, reporter: ProgressReporter): Promise<void> {
  reporter.emit({ type: 'phase', store: 'repository', message: 'deleting unused packs' });
  const doomed = columnValues<string>(
    db,
    `SELECT pack FROM present p WHERE NOT EXISTS (
       SELECT 1 FROM plan WHERE pack = p.pack AND action IN ('keep', 'new'))`,
  );
  let done = 0;
  for (const pack of doomed) {
    await blobs.storage.delete(packKey(pack));
    reporter.emit({
      type: 'dataset-progress',
      store: 'repository',
      dataset: 'packs deleted',
      done: ++done,
      total: doomed.length,
    });
  }
  await blobs.storage.deleteAbandoned?.(DATA_PREFIX);
}

/**
 * Copies the blobs the repacked packs keep into new packs (each stored blob checked by decoding it, so
 * damage is never copied), recording the new packs in `entries` and `plan`.
 */
async function repack(
  blobs: BlobStore,
  db: Database,
  reporter: ProgressReporter,
): Promise<{ packs: number; bytes: number }> {
  const sources = columnValues<string>(db, "SELECT pack FROM plan WHERE action = 'repack' ORDER BY pack");
  const kept = db.prepare(
    `SELECT e.id, e.type, e.offset, e.length, e.rawLength, e.compression FROM covered c
     JOIN entries e ON e.pack = c.pack AND e.id = c.id WHERE c.pack = ? ORDER BY e.offset`,
  );
  const insert = db.prepare(
    'INSERT OR IGNORE INTO entries (pack, id, type, offset, length, rawLength, compression) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const decide = db.prepare("INSERT OR REPLACE INTO plan (pack, action) VALUES (?, 'new')");
  let builder = new PackBuilder();
  const result = { packs: 0, bytes: 0 };
  const close = async (): Promise<void> => {
    if (builder.empty) return;
    const built = builder.finish(blobs.key);
    builder = new PackBuilder();
    await blobs.storage.put(packKey(built.id), built.bytes);
    transaction(db, () => {
      for (const b of built.blobs)
        insert.run(built.id, b.id, b.type, b.offset, b.length, b.rawLength, b.compression);
      decide.run(built.id);
    });
    result.packs++;
    result.bytes += built.bytes.length;
  };
  let done = 0;
  for (const source of sources) {
    const entries = kept.all(source) as unknown as BlobEntry[];
    const bytes = await readBytes(blobs.storage, packKey(source));
    for (const entry of entries) {
      const stored = bytes.subarray(entry.offset, entry.offset + entry.length);
      decodeBlob(stored, entry, blobs.key, `pack ${source.slice(0, 12)}`);
      builder.add(
        { id: entry.id, stored: Buffer.from(stored), compression: entry.compression },
        entry.type,
        entry.rawLength,
      );
      if (builder.size >= blobs.config.packSize) await close();
    }
    reporter.emit({
      type: 'dataset-progress',
      store: 'repository',
      dataset: 'packs repacked',
      done: ++done,
      total: sources.length,
    });
  }
  await close();
  return result;
}

/** Writes index files listing every kept and new pack, at most INDEX_FILE_BLOBS blobs each. */
async function writeIndex(blobs: BlobStore, db: Database): Promise<string[]> {
  const packs = columnValues<string>(
    db,
    "SELECT pack FROM plan WHERE action IN ('keep', 'new') ORDER BY pack",
  );
  const entriesOf = db.prepare(
    'SELECT id, type, offset, length, rawLength, compression FROM entries WHERE pack = ? ORDER BY offset, id',
  );
  const ids: string[] = [];
  let group: PackIndex[] = [];
  let groupBlobs = 0;
  const flush = async (): Promise<void> => {
    if (group.length === 0) return;
    const id = await writeIndexFile(blobs.storage, group, blobs.key);
    blobs.index.add(id, group);
    ids.push(id);
    group = [];
    groupBlobs = 0;
  };
  for (const pack of packs) {
    const entries = entriesOf.all(pack) as unknown as BlobEntry[];
    if (groupBlobs > 0 && groupBlobs + entries.length > INDEX_FILE_BLOBS) await flush();
    group.push({ pack, blobs: entries });
    groupBlobs += entries.length;
  }
  await flush();
  return ids;
}
