/**
 * SQLite export database (node:sqlite): one table per dataset with typed columns, the dataset's
 * primary key and indexes, plus the original exporter's `_export_metadata(key, value)` table and
 * `_export_fields(table_name, position, name, type, source)`: every dataset's fields with their export
 * type (a column's SQLite type alone does not tell a boolean from an integer, or JSON from text), so an
 * import reads the values back as they were.
 *
 * Column types (declared type → SQLite affinity), by field type:
 *
 * - integer, boolean → `INTEGER` (booleans as 0/1); bigint → `INTEGER` (64-bit, bound as BigInt, exact);
 * - float → `REAL` (NaN, which SQLite would turn into NULL, is stored as the text `'NaN'`);
 * - bytes → `BLOB`;
 * - json, array → `TEXT` holding compact JSON (`jsonText`);
 * - text, numeric, timestamp, date, uuid → `TEXT` (numeric keeps its exact decimal text).
 *
 * NULL is SQL NULL; the empty string stays `''`. No STRICT tables and a rollback-journal (DELETE) file,
 * so any SQLite 3 client reads it.
 *
 * The database is built as `<path>.partial` with the journal and syncs off (it is discarded on any
 * failure, so it needs neither), and renamed to `path` by `close()`.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ExportValue, FieldSpec, FieldType, TabularDataset } from '../../model/dataset.ts';
import { openDatabase, transaction, type Database } from '../../sqlite.ts';
import { jsonText } from '../text-values.ts';

/** How often (in records) a running write looks at its abort signal. */
const SIGNAL_EVERY = 1000;
/** Rows per transaction. */
const BATCH_ROWS = 10_000;

export const SQLITE_COLUMN_TYPES: Record<FieldType, 'INTEGER' | 'REAL' | 'TEXT' | 'BLOB'> = {
  text: 'TEXT',
  integer: 'INTEGER',
  bigint: 'INTEGER',
  float: 'REAL',
  numeric: 'TEXT',
  boolean: 'INTEGER',
  timestamp: 'TEXT',
  date: 'TEXT',
  uuid: 'TEXT',
  json: 'TEXT',
  array: 'TEXT',
  bytes: 'BLOB',
};

/** The name of the metadata table, as the original exporter named it. */
export const METADATA_TABLE = '_export_metadata';

/** The table of every dataset's fields: `(table_name, position, name, type, source)`, position from 0. */
export const FIELDS_TABLE = '_export_fields';

/** A safely quoted SQLite identifier (names come from data: tables, labels, relationship types). */
export function quoteIdentifier(name: string): string {
  if (name.includes('\u0000'))
    throw new Error(`SQLite identifier with a NUL character: ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

type SqliteValue = null | number | bigint | string | Buffer;

/** One export value as the value bound to its SQLite column. */
export function sqliteValue(value: ExportValue | undefined, type: FieldType): SqliteValue {
  if (value === null || value === undefined) return null;
  if (type === 'json' || type === 'array') return jsonText(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : value;
  if (typeof value === 'string' || typeof value === 'bigint' || Buffer.isBuffer(value)) return value;
  // An object that strayed into another type: JSON text rather than a failed bind.
  return jsonText(value);
}

export interface SqliteDatasetOptions {
  /** Defaults to the dataset's name. */
  tableName?: string;
  signal?: AbortSignal;
}

/**
 * Writes one SQLite database: `open()`, then `writeDataset()` per dataset and `writeMetadata()`, then
 * `close()` to publish it. After a failed write the database is unusable: `close()` then discards it
 * and rethrows; `discard()` removes it without trying.
 */
export class SqliteExportWriter {
  private db: Database | undefined;
  private path: string | undefined;
  private failure: unknown;

  private get partial(): string {
    if (this.path === undefined) throw new Error('SQLite export is not open');
    return `${this.path}.partial`;
  }

  private database(): Database {
    if (!this.db) throw new Error('SQLite export is not open');
    if (this.failure !== undefined) throw new Error('SQLite export failed earlier', { cause: this.failure });
    return this.db;
  }

  async open(path: string): Promise<void> {
    if (this.db) throw new Error('SQLite export is already open');
    this.path = path;
    this.failure = undefined;
    await mkdir(dirname(path), { recursive: true });
    // A stale partial file from an interrupted run must not be appended to.
    await removeDatabaseFiles(this.partial);
    const db = openDatabase(this.partial);
    // journal_mode = OFF is refused (kept DELETE) under SQLite's defensive flag, on in Node 24.
    db.exec(`
      PRAGMA journal_mode = OFF;
      PRAGMA synchronous = OFF;
      PRAGMA locking_mode = EXCLUSIVE;
      PRAGMA temp_store = MEMORY;
      PRAGMA cache_size = -32768; -- 32 MiB
    `);
    this.db = db;
  }

  /** Creates the dataset's table, streams its records in, then adds its indexes. */
  async writeDataset(
    dataset: TabularDataset,
    options: SqliteDatasetOptions = {},
  ): Promise<{ records: number }> {
    const db = this.database();
    const { signal } = options;
    signal?.throwIfAborted();
    const table = options.tableName ?? dataset.name;
    const fields = dataset.fields;
    const names = new Set(fields.map((field) => field.name));
    for (const name of [...(dataset.key ?? []), ...(dataset.indexed ?? [])]) {
      if (!names.has(name))
        throw new Error(`dataset ${dataset.name}: key or indexed field ${name} is not a field`);
    }
    let records = 0;
    try {
      const columns = fields.map(
        (field) => `${quoteIdentifier(field.name)} ${SQLITE_COLUMN_TYPES[field.type]}`,
      );
      if (dataset.key && dataset.key.length > 0) {
        columns.push(`PRIMARY KEY (${dataset.key.map(quoteIdentifier).join(', ')})`);
      }
      db.exec(`CREATE TABLE ${quoteIdentifier(table)} (\n  ${columns.join(',\n  ')}\n)`);
      this.writeFields(db, table, fields);

      const insert = db.prepare(
        `INSERT INTO ${quoteIdentifier(table)} (${fields.map((f) => quoteIdentifier(f.name)).join(', ')}) ` +
          `VALUES (${fields.map(() => '?').join(', ')})`,
      );
      const insertBatch = (rows: SqliteValue[][]) =>
        transaction(db, () => {
          for (const row of rows) insert.run(...row);
        });
      let batch: SqliteValue[][] = [];
      for await (const record of dataset.records()) {
        if (records % SIGNAL_EVERY === 0) signal?.throwIfAborted();
        const row = new Array<SqliteValue>(fields.length);
        for (let i = 0; i < fields.length; i++) {
          const field = fields[i]!;
          row[i] = sqliteValue(record[field.name], field.type);
        }
        batch.push(row);
        records++;
        if (batch.length >= BATCH_ROWS) {
          insertBatch(batch);
          batch = [];
        }
      }
      if (batch.length > 0) insertBatch(batch);
      signal?.throwIfAborted();

      // Indexes after the data: one sort instead of a b-tree update per row.
      const key = dataset.key ?? [];
      for (const name of dataset.indexed ?? []) {
        if (key.length === 1 && key[0] === name) continue; // the primary key is indexed already
        db.exec(
          `CREATE INDEX ${quoteIdentifier(`idx_${table}_${name}`)} ` +
            `ON ${quoteIdentifier(table)} (${quoteIdentifier(name)})`,
        );
      }
    } catch (error) {
      this.failure = error;
      throw error;
    }
    return { records };
  }

  /**
   * Records the table's fields in `_export_fields`, creating it with the first dataset (`WITHOUT ROWID`:
   * the primary key is the table, no second index).
   */
  private writeFields(db: Database, table: string, fields: readonly FieldSpec[]): void {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(FIELDS_TABLE)} (table_name TEXT, position INTEGER, ` +
        `name TEXT, type TEXT, source TEXT, PRIMARY KEY (table_name, position)) WITHOUT ROWID`,
    );
    const insert = db.prepare(
      `INSERT INTO ${quoteIdentifier(FIELDS_TABLE)} (table_name, position, name, type, source) VALUES (?, ?, ?, ?, ?)`,
    );
    transaction(db, () => {
      fields.forEach((field, position) =>
        insert.run(table, position, field.name, field.type, field.source ?? null),
      );
    });
  }

  /** Stores `key → value` pairs in `_export_metadata(key TEXT PRIMARY KEY, value TEXT)`. */
  writeMetadata(entries: Record<string, string>): void {
    const db = this.database();
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(METADATA_TABLE)} (key TEXT PRIMARY KEY, value TEXT)`,
    );
    const upsert = db.prepare(
      `INSERT OR REPLACE INTO ${quoteIdentifier(METADATA_TABLE)} (key, value) VALUES (?, ?)`,
    );
    transaction(db, () => {
      for (const [key, value] of Object.entries(entries)) upsert.run(key, value);
    });
  }

  /** Finishes the file as an ordinary rollback-journal database and renames it into place. */
  async close(): Promise<void> {
    const db = this.db;
    if (!db) throw new Error('SQLite export is not open');
    if (this.failure !== undefined) {
      const failure = this.failure;
      await this.discard();
      throw new Error('SQLite export failed earlier and was discarded', { cause: failure });
    }
    const partial = this.partial;
    try {
      db.exec('PRAGMA locking_mode = NORMAL; PRAGMA journal_mode = DELETE');
      db.close();
      this.db = undefined;
      const handle = await open(partial, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(partial, this.path!);
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  /** Closes and deletes the partial database (after a failure or an abort). */
  async discard(): Promise<void> {
    if (this.db?.isOpen) this.db.close();
    this.db = undefined;
    if (this.path !== undefined) await removeDatabaseFiles(this.partial);
  }
}

async function removeDatabaseFiles(file: string): Promise<void> {
  for (const suffix of ['', '-journal', '-wal', '-shm']) await rm(`${file}${suffix}`, { force: true });
}
