/**
 * What an import remembers while it runs, on disk instead of in memory, so that memory stays bounded
 * whatever the input's size: SQLite's private temporary database (an empty file name), which SQLite
 * unlinks as soon as it creates it (under $TMPDIR, else /var/tmp), so nothing is left behind even when
 * the process is killed (a folder of our own was left in /tmp by every killed import):
 *
 * - the identity of every record seen so far (a key seen twice in one import is a duplicate: the first
 *   record counts, later ones are rejected naming the first's line);
 * - each imported node's id in the input → its key label and key value, so relationships that name
 *   their endpoints by input id (GraphML, and CSV/SQLite/JSON `start_id`/`end_id`) find them.
 */
import type { ImportLedger, NodeRef } from '../model/import.ts';
import { openDatabase, transaction, type Database, type Statement } from '../sqlite.ts';

export class SqliteImportLedger implements ImportLedger {
  private readonly db: Database;
  private readonly seenInsert: Statement;
  private readonly seenGet: Statement;
  private readonly nodeInsert: Statement;
  private readonly nodeGet: Statement;

  constructor() {
    this.db = openDatabase('');
    // SQLite's defensive mode refuses journal_mode=OFF; an in-memory journal is as cheap here.
    this.db.exec('PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA cache_size = -16000');
    this.db
      .exec(`CREATE TABLE seen (scope TEXT NOT NULL, key TEXT NOT NULL, line INTEGER NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID;
                  CREATE TABLE nodes (source TEXT NOT NULL, id TEXT NOT NULL, label TEXT NOT NULL, property TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (source, id)) WITHOUT ROWID;`);
    this.seenInsert = this.db.prepare('INSERT OR IGNORE INTO seen (scope, key, line) VALUES (?, ?, ?)');
    this.seenGet = this.db.prepare('SELECT line FROM seen WHERE scope = ? AND key = ?');
    this.nodeInsert = this.db.prepare(
      'INSERT OR REPLACE INTO nodes (source, id, label, property, key) VALUES (?, ?, ?, ?, ?)',
    );
    this.nodeGet = this.db.prepare('SELECT label, property, key FROM nodes WHERE source = ? AND id = ?');
  }

  /**
   * Records that `key` was seen in `scope` (a label, a relationship type, a collection) at `line`.
   * Returns null the first time, and the first line when the key was seen before.
   */
  firstSeen(scope: string, key: string, line: number): number | null {
    const result = this.seenInsert.run(scope, key, line);
    if (result.changes === 1) return null;
    return (this.seenGet.get(scope, key) as { line: number }).line;
  }

  /** Remembers a node of input `source` (a file) by its input id. */
  rememberNode(source: string, id: string, ref: NodeRef): void {
    this.nodeInsert.run(source, id, ref.label, ref.keyProperty, ref.key);
  }

  findNode(source: string, id: string): NodeRef | undefined {
    const row = this.nodeGet.get(source, id) as { label: string; property: string; key: string } | undefined;
    return row ? { label: row.label, keyProperty: row.property, key: row.key } : undefined;
  }

  /** Groups many writes into one SQLite transaction: call it around each batch of records. */
  batch<T>(work: () => T): T {
    return transaction(this.db, work);
  }

  close(): void {
    this.db.close();
  }
}
