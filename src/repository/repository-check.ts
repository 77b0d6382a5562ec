/**
 * The repository half of `backup --verify --all` (docs/design.md §11.10), for format 2: the index files
 * are read again from the repository (never trusted from the host's cache), every index entry's pack
 * must exist and its header list the entry at the same place, every pack is read whole, hashed against
 * its name and each of its blobs decoded, and every blob a manifest names must have an index entry whose
 * pack exists. Packs no index lists are a killed run's leftovers and blobs no snapshot uses are
 * reclaimable: both reported, neither a failure.
 *
 * Memory stays bounded whatever the repository's size: the entries, the packs and the blobs the
 * manifests need live in a private temporary SQLite database (on disk once it outgrows its page cache);
 * one index file and one pack are in memory at a time.
 */
import { createHash } from 'node:crypto';
import { AcxError } from '../errors.ts';
import type { FileEntry } from '../model/snapshot.ts';
import type { ProgressReporter } from '../progress.ts';
import { readBytes } from '../storage/storage-helpers.ts';
import type { BlobEntry } from './blobs/blob-codec.ts';
import { decodeBlob } from './blobs/blob-codec.ts';
import type { BlobStore } from './blobs/blob-store.ts';
import { listIndexFiles, readIndexFile } from './blobs/index-files.ts';
import { DATA_PREFIX, packKey, readPackHeader } from './blobs/pack.ts';
import { dataBlobIds } from './blob-snapshot-reader.ts';
import type { Manifest } from './manifest.ts';
import { columnValues, openDatabase, transaction, type Database } from '../sqlite.ts';

/** One thing wrong with the repository, naming the object (a pack, an index file, a blob). */
export interface RepositoryProblem {
  object: string;
  problem: string;
}

export interface RepositoryCheck {
  ok: boolean;
  indexFiles: number;
  packs: number;
  /** Stored bytes of every pack under data/, read whole. */
  packBytes: number;
  /** Index entries (a blob listed twice counts twice). */
  entries: number;
  /** Distinct blobs the format-2 manifests name (data and list blobs). */
  usedBlobs: number;
  problems: RepositoryProblem[];
  /** Problems beyond the ones listed (a repository missing a whole index would list thousands). */
  moreProblems: number;
  /** Packs no index file lists: a killed run's, removed by a cleanup. Not a failure. */
  leftoverPacks: Array<{ pack: string; bytes: number }>;
  /** Objects under data/ that are not named as packs: never read, nothing needs them. Not a failure. */
  strays: string[];
  /** Indexed blobs no snapshot uses, and their stored bytes: what a cleanup can reclaim. */
  reclaimable: { blobs: number; bytes: number };
}

/** Problems listed one by one; the rest are counted. */
const MAX_PROBLEMS = 200;
/** Snapshots named in one problem line. */
const MAX_NAMED = 5;

/** The snapshot ids a blob is needed by, as a phrase. */
function neededBy(db: Database, id: string): string {
  const rows = columnValues<string>(
    db,
    'SELECT snapshot FROM needs WHERE id = ? ORDER BY snapshot LIMIT ?',
    id,
    MAX_NAMED + 1,
  );
  if (rows.length === 0) return 'no snapshot uses it';
  const more = rows.length > MAX_NAMED ? ' and others' : '';
  return `needed by ${rows.slice(0, MAX_NAMED).join(', ')}${more}`;
}

class Findings {
  readonly problems: RepositoryProblem[] = [];
  more = 0;
  private readonly reporter: ProgressReporter;

  constructor(reporter: ProgressReporter) {
    this.reporter = reporter;
  }
  add(object: string, problem: string): void {
    if (this.problems.length >= MAX_PROBLEMS) {
      this.more++;
      return;
    }
    this.problems.push({ object, problem });
    this.reporter.emit({ type: 'warning', store: 'repository', message: `${object}: ${problem}` });
  }
}

function createTables(): Database {
  // '' : SQLite's private temporary database, deleted on close, spilled to disk when large.
  const db = openDatabase('');
  db.exec(`
    CREATE TABLE entries (id TEXT NOT NULL, file TEXT NOT NULL, pack TEXT NOT NULL, type TEXT NOT NULL,
      offset INTEGER NOT NULL, length INTEGER NOT NULL, rawLength INTEGER NOT NULL, compression TEXT NOT NULL);
    CREATE INDEX entries_id ON entries (id);
    CREATE INDEX entries_pack ON entries (pack, offset);
    CREATE TABLE packs (pack TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE needs (id TEXT NOT NULL, snapshot TEXT NOT NULL, type TEXT NOT NULL,
      PRIMARY KEY (id, snapshot)) WITHOUT ROWID;
  `);
  return db;
}

/** Reads every index file again from the repository into `entries`; a damaged one is a problem. */
async function loadIndex(blobs: BlobStore, db: Database, findings: Findings): Promise<number> {
  const insert = db.prepare(
    'INSERT INTO entries (id, file, pack, type, offset, length, rawLength, compression) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const files = await listIndexFiles(blobs.storage);
  for (const file of files) {
    try {
      const packs = await readIndexFile(blobs.storage, file, blobs.key);
      transaction(db, () => {
        for (const p of packs)
          for (const b of p.blobs)
            insert.run(b.id, file, p.pack, b.type, b.offset, b.length, b.rawLength, b.compression);
      });
    } catch (error) {
      if (!(error instanceof AcxError)) throw error;
      findings.add(`index/${file}`, error.message);
    }
  }
  return files.length;
}

/** Lists data/ into `packs`; returns the objects there that are not named as packs. */
async function loadPacks(blobs: BlobStore, db: Database): Promise<string[]> {
  const strays: string[] = [];
  const insert = db.prepare('INSERT OR IGNORE INTO packs (pack, size) VALUES (?, ?)');
  for await (const info of blobs.storage.list(DATA_PREFIX)) {
    const id = info.key.slice(info.key.lastIndexOf('/') + 1);
    if (!/^[0-9a-f]{64}$/.test(id) || packKey(id) !== info.key) {
      if (strays.length < MAX_PROBLEMS) strays.push(info.key);
      continue;
    }
    insert.run(id, info.size);
  }
  return strays;
}

/** Records every blob the format-2 manifests name, list blobs expanded (read through the index). */
async function loadNeeds(blobs: BlobStore, db: Database, manifests: Manifest[]): Promise<void> {
  const insert = db.prepare('INSERT OR IGNORE INTO needs (id, snapshot, type) VALUES (?, ?, ?)');
  const batch: string[] = [];
  const write = (snapshot: string) => {
    transaction(db, () => {
      for (const id of batch) insert.run(id, snapshot, 'data');
    });
    batch.length = 0;
  };
  for (const manifest of manifests) {
    for (const entry of Object.values(manifest.files) as FileEntry[]) {
      for (const list of entry.lists ?? []) insert.run(list, manifest.id, 'list');
      try {
        for await (const id of dataBlobIds(blobs, entry)) {
          batch.push(id);
          if (batch.length >= 10_000) write(manifest.id);
        }
      } catch (error) {
        // A list blob that cannot be read: its own check (unindexed, missing pack, damaged) names it.
        if (!(error instanceof AcxError)) throw error;
      }
      write(manifest.id);
    }
  }
}

/** The header's entry at the index's place, or what differs. */
function headerMismatch(header: Map<string, BlobEntry>, e: BlobEntry): string | undefined {
  const h = header.get(`${e.id}@${e.offset}`);
  if (!h) return `its header does not list blob ${e.id.slice(0, 12)} at offset ${e.offset}`;
  for (const k of ['type', 'length', 'rawLength', 'compression'] as const)
    if (h[k] !== e[k]) return `its header gives blob ${e.id.slice(0, 12)} ${k} ${h[k]}, the index ${e[k]}`;
  return undefined;
}

/** One pack: header against the index, bytes against the pack's name, every blob decoded. */
async function checkPack(
  blobs: BlobStore,
  db: Database,
  pack: string,
  size: number,
  findings: Findings,
): Promise<void> {
  const object = packKey(pack);
  let header: BlobEntry[];
  try {
    header = await readPackHeader(blobs.storage, pack, size, blobs.key);
  } catch (error) {
    if (!(error instanceof AcxError)) throw error;
    findings.add(object, `${error.message} (${neededByPack(db, pack)})`);
    return;
  }
  const byPlace = new Map(header.map((h) => [`${h.id}@${h.offset}`, h]));
  const indexed = db.prepare('SELECT DISTINCT * FROM entries WHERE pack = ?').all(pack) as unknown as Array<
    BlobEntry & { file: string }
  >;
  for (const e of indexed) {
    const wrong = headerMismatch(byPlace, e);
    if (wrong) findings.add(object, `${wrong} (index/${e.file}; ${neededBy(db, e.id)})`);
  }
  const bytes = await readBytes(blobs.storage, object);
  let damaged = 0;
  for (const h of header) {
    try {
      decodeBlob(bytes.subarray(h.offset, h.offset + h.length), h, blobs.key, `pack ${pack.slice(0, 12)}`);
    } catch (error) {
      if (!(error instanceof AcxError)) throw error;
      damaged++;
      findings.add(object, `${error.message} (${neededBy(db, h.id)})`);
    }
  }
  // Damage no blob shows (between blobs, in the header's padding) still makes the pack another one.
  if (damaged === 0 && createHash('sha256').update(bytes).digest('hex') !== pack)
    findings.add(object, 'its bytes do not hash to its name: it is damaged');
}

/** Which snapshots need blobs of a pack that no other existing pack holds. */
function neededByPack(db: Database, pack: string): string {
  const rows = columnValues<string>(
    db,
    `SELECT DISTINCT n.snapshot FROM entries e JOIN needs n ON n.id = e.id
       WHERE e.pack = ? AND NOT EXISTS (
         SELECT 1 FROM entries o JOIN packs p ON p.pack = o.pack WHERE o.id = e.id AND o.pack <> e.pack)
       ORDER BY n.snapshot LIMIT ?`,
    pack,
    MAX_NAMED + 1,
  );
  if (rows.length === 0) return 'no snapshot needs its blobs';
  return `needed by ${rows.slice(0, MAX_NAMED).join(', ')}${rows.length > MAX_NAMED ? ' and others' : ''}`;
}

/**
 * Checks the format-2 repository behind `blobs` against the manifests of its complete format-2
 * snapshots. Never throws for damage: every problem is in the result.
 */
export async function checkRepository(
  blobs: BlobStore,
  manifests: Manifest[],
  reporter: ProgressReporter,
): Promise<RepositoryCheck> {
  const findings = new Findings(reporter);
  const db = createTables();
  try {
    reporter.emit({ type: 'phase', store: 'repository', message: 'reading the index files' });
    const indexFiles = await loadIndex(blobs, db, findings);
    const strays = await loadPacks(blobs, db);
    await loadNeeds(blobs, db, manifests);
    reporter.emit({ type: 'phase', store: 'repository', message: 'reading every pack' });
    const missing = db
      .prepare(
        'SELECT DISTINCT e.pack, e.file FROM entries e LEFT JOIN packs p USING (pack) WHERE p.pack IS NULL',
      )
      .all() as Array<{ pack: string; file: string }>;
    for (const m of missing)
      findings.add(packKey(m.pack), `is missing, listed by index/${m.file} (${neededByPack(db, m.pack)})`);
    const indexedPacks = db
      .prepare(
        'SELECT p.pack, p.size FROM packs p WHERE EXISTS (SELECT 1 FROM entries e WHERE e.pack = p.pack)',
      )
      .all() as Array<{ pack: string; size: number }>;
    let done = 0;
    for (const p of indexedPacks) {
      await checkPack(blobs, db, p.pack, p.size, findings);
      reporter.emit({
        type: 'dataset-progress',
        store: 'repository',
        dataset: 'packs',
        done: ++done,
        total: indexedPacks.length,
      });
    }
    reportUnindexed(db, findings);
    return { ...summarize(db, indexFiles, findings), strays };
  } finally {
    db.close();
  }
}

/** Blobs a manifest names that no index file lists. */
function reportUnindexed(db: Database, findings: Findings): void {
  const rows = db
    .prepare(
      `SELECT n.id, n.type FROM needs n WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = n.id)
       GROUP BY n.id ORDER BY n.id`,
    )
    .iterate() as IterableIterator<{ id: string; type: string }>;
  for (const r of rows)
    findings.add(`blob ${r.id.slice(0, 12)}`, `${r.type} blob in no index file (${neededBy(db, r.id)})`);
}

function summarize(db: Database, indexFiles: number, findings: Findings): Omit<RepositoryCheck, 'strays'> {
  const one = <T>(sql: string): T => db.prepare(sql).get() as T;
  const packs = one<{ n: number; bytes: number | null }>('SELECT count(*) n, sum(size) bytes FROM packs');
  const leftoverPacks = (
    db
      .prepare(
        'SELECT pack, size FROM packs p WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.pack = p.pack) ORDER BY pack',
      )
      .all() as Array<{ pack: string; size: number }>
  ).map((p) => ({ pack: p.pack, bytes: p.size }));
  // Stored copies (a blob in two packs counts twice) in existing packs that no snapshot needs.
  const reclaimable = one<{ blobs: number; bytes: number | null }>(
    `SELECT count(*) blobs, sum(length) bytes FROM (SELECT DISTINCT e.id, e.pack, e.length FROM entries e
       JOIN packs USING (pack) WHERE NOT EXISTS (SELECT 1 FROM needs n WHERE n.id = e.id))`,
  );
  return {
    ok: findings.problems.length === 0,
    indexFiles,
    packs: packs.n,
    packBytes: packs.bytes ?? 0,
    entries: one<{ n: number }>('SELECT count(*) n FROM entries').n,
    usedBlobs: one<{ n: number }>('SELECT count(DISTINCT id) n FROM needs').n,
    problems: findings.problems,
    moreProblems: findings.more,
    leftoverPacks,
    reclaimable: { blobs: reclaimable.blobs, bytes: reclaimable.bytes ?? 0 },
  };
}
