/**
 * The little the code needs around Node's built-in `node:sqlite` (ADR 0017): an opener with the options
 * we use, transactions, single-column reads, and BLOBs as Buffers. Everything else is `DatabaseSync` and
 * `StatementSync` as Node gives them: rows are null-prototype objects, integers are numbers unless
 * `readBigInts`, BLOBs come back as Uint8Array, invalid UTF-8 in TEXT is decoded as U+FFFD.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { AcxError } from './errors.ts';

export type { DatabaseSync as Database, StatementSync as Statement, SQLInputValue as SqliteInput };

export interface OpenDatabaseOptions {
  /** Opens an existing file read-only (it must exist). Default false. */
  readOnly?: boolean;
  /** How long a statement waits for another connection's lock, in ms (SQLite's busy timeout). Default 0. */
  timeout?: number;
  /** Every statement reads INTEGERs as bigint. Default false. */
  readBigInts?: boolean;
  /**
   * SQLite's defensive flag, which refuses SQL that could corrupt the file (`writable_schema`,
   * `journal_mode = OFF`). On by default, as in better-sqlite3 and Node 24; tests that forge a damaged
   * file turn it off. Node 22 ignores the option and runs without it.
   */
  defensive?: boolean;
}

/** Page cache per connection, in KiB: better-sqlite3's built-in default (Node's SQLite has 2 000). */
const CACHE_KIB = 16_000;

/**
 * Opens `file` (`':memory:'` in memory; `''` a private temporary database that spills to disk).
 * Foreign keys are enforced, double-quoted strings are identifiers and the page cache is 16 MB, as
 * better-sqlite3 had it: with Node's 2 MB, random inserts into an index of a million blob ids run
 * several times slower (bench/sqlite.ts).
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): DatabaseSync {
  const db = new DatabaseSync(file, {
    readOnly: options.readOnly ?? false,
    timeout: options.timeout ?? 0,
    readBigInts: options.readBigInts ?? false,
    defensive: options.defensive ?? true,
  });
  db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
  return db;
}

let savepoints = 0;

/**
 * Runs `work` in a transaction (BEGIN IMMEDIATE: it takes the write lock at once, so a transaction that
 * reads before it writes cannot fail on upgrading its lock) and commits, or rolls back and rethrows. A
 * call inside another transaction is a SAVEPOINT: its failure undoes only its own writes. `work` is
 * synchronous; a Promise is refused (SQLite would commit before it settles).
 */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  const nested = db.isTransaction;
  const savepoint = `acx_${++savepoints}`;
  db.exec(nested ? `SAVEPOINT ${savepoint}` : 'BEGIN IMMEDIATE');
  let result: T;
  try {
    result = work();
    if (result instanceof Promise)
      throw new AcxError('INTERNAL', 'an SQLite transaction was given asynchronous work', {
        hint: 'run only synchronous statements inside transaction()',
      });
  } catch (error) {
    // SQLite may already have rolled the transaction back (SQLITE_FULL, SQLITE_IOERR…).
    if (nested) {
      if (db.isTransaction) db.exec(`ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
    } else if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
  db.exec(nested ? `RELEASE ${savepoint}` : 'COMMIT');
  return result;
}

/** The first column of every row `sql` returns (better-sqlite3's `.pluck().all()`). */
export function columnValues<T>(db: DatabaseSync, sql: string, ...params: SQLInputValue[]): T[] {
  const statement = db.prepare(sql);
  statement.setReturnArrays(true);
  return (statement.all(...params) as unknown as unknown[][]).map((row) => row[0] as T);
}

/** A statement whose `firstValue` reads the first column of its first row (`.pluck().get()`). */
export function prepareValue(db: DatabaseSync, sql: string): StatementSync {
  const statement = db.prepare(sql);
  statement.setReturnArrays(true);
  return statement;
}

/** The first column of the first row of a `prepareValue` statement, undefined when there is no row. */
export function firstValue<T>(statement: StatementSync, ...params: SQLInputValue[]): T | undefined {
  const row = statement.get(...params) as unknown as unknown[] | undefined;
  return row?.[0] as T | undefined;
}

/** A BLOB as a Buffer, sharing its memory (node:sqlite returns Uint8Array). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
