/**
 * src/sqlite.ts (the little we add to node:sqlite) and the two temporary SQLite stores built on it that
 * only the stack's tests reach otherwise: the import ledger and sync --verify's issue log.
 */
import { describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import { SqliteImportLedger } from '../../src/operations/import-ledger.ts';
import { IssueLog } from '../../src/operations/sync/sync-issues.ts';
import {
  asBuffer,
  columnValues,
  firstValue,
  openDatabase,
  prepareValue,
  transaction,
} from '../../src/sqlite.ts';

function table(): ReturnType<typeof openDatabase> {
  const db = openDatabase(':memory:');
  db.exec('CREATE TABLE t (v TEXT PRIMARY KEY)');
  return db;
}

const values = (db: ReturnType<typeof openDatabase>): string[] =>
  columnValues<string>(db, 'SELECT v FROM t ORDER BY v');

describe('transaction', () => {
  it('commits what the work wrote and returns its result', () => {
    const db = table();
    const result = transaction(db, () => {
      db.prepare('INSERT INTO t VALUES (?)').run('a');
      return 42;
    });
    expect(result).toBe(42);
    expect(db.isTransaction).toBe(false);
    expect(values(db)).toEqual(['a']);
  });

  it('rolls everything back when the work throws, and rethrows', () => {
    const db = table();
    const failure = new Error('stop');
    expect(() =>
      transaction(db, () => {
        db.prepare('INSERT INTO t VALUES (?)').run('a');
        throw failure;
      }),
    ).toThrow(failure);
    expect(db.isTransaction).toBe(false);
    expect(values(db)).toEqual([]);
  });

  it('nests as a savepoint: an inner failure undoes only the inner writes', () => {
    const db = table();
    transaction(db, () => {
      db.prepare('INSERT INTO t VALUES (?)').run('outer');
      expect(() =>
        transaction(db, () => {
          db.prepare('INSERT INTO t VALUES (?)').run('inner');
          db.prepare('INSERT INTO t VALUES (?)').run('outer'); // a duplicate key
        }),
      ).toThrow(/UNIQUE/);
      transaction(db, () => db.prepare('INSERT INTO t VALUES (?)').run('kept'));
    });
    expect(values(db)).toEqual(['kept', 'outer']);
  });

  it('refuses asynchronous work and writes nothing', () => {
    const db = table();
    let error: unknown;
    try {
      transaction(db, async () => {
        db.prepare('INSERT INTO t VALUES (?)').run('a');
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AcxError);
    expect((error as AcxError).code).toBe('INTERNAL');
    expect(values(db)).toEqual([]);
  });
});

describe('single values and BLOBs', () => {
  it('reads the first column of every row, or of the first row', () => {
    const db = table();
    db.exec("INSERT INTO t VALUES ('b'), ('a')");
    expect(columnValues<string>(db, 'SELECT v, 1 FROM t WHERE v > ? ORDER BY v', '')).toEqual(['a', 'b']);
    const statement = prepareValue(db, 'SELECT count(*) FROM t WHERE v = ?');
    expect(firstValue<number>(statement, 'a')).toBe(1);
    expect(firstValue(prepareValue(db, 'SELECT v FROM t WHERE v = ?'), 'z')).toBeUndefined();
  });

  it('hands a BLOB over as a Buffer on the same bytes', () => {
    const db = openDatabase(':memory:');
    const blob = db.prepare("SELECT x'00ff10' AS b").get()!.b as Uint8Array;
    expect(Buffer.isBuffer(blob)).toBe(false);
    const buffer = asBuffer(blob);
    expect(Buffer.isBuffer(buffer)).toBe(true);
    expect(buffer.toString('hex')).toBe('00ff10');
    expect(buffer.buffer).toBe(blob.buffer);
  });

  it('opens with a 16 MB page cache, as better-sqlite3 had it', () => {
    const db = openDatabase(':memory:');
    expect(db.prepare('PRAGMA cache_size').get()).toEqual({ cache_size: -16000 });
  });

  it('reads integers as bigint when asked', () => {
    const db = openDatabase(':memory:', { readBigInts: true });
    expect(db.prepare('SELECT 9007199254740993 AS n').get()!.n).toBe(9007199254740993n);
  });
});

describe('the import ledger', () => {
  it('names the first line of a key seen twice, per scope, and finds nodes by input id', () => {
    const ledger = new SqliteImportLedger();
    try {
      const seen = ledger.batch(() => [
        ledger.firstSeen('DTC', 'P0300', 1),
        ledger.firstSeen('DTC', 'P0300', 7),
        ledger.firstSeen('Symptom', 'P0300', 8),
      ]);
      expect(seen).toEqual([null, 1, null]);
      ledger.rememberNode('a.graphml', 'n1', { label: 'DTC', keyProperty: 'code', key: 'P0300' });
      expect(ledger.findNode('a.graphml', 'n1')).toEqual({ label: 'DTC', keyProperty: 'code', key: 'P0300' });
      expect(ledger.findNode('b.graphml', 'n1')).toBeUndefined();
    } finally {
      ledger.close();
    }
  });
});

describe('the sync issue log', () => {
  it('counts each issue once and lists entries sorted by code, up to a limit', () => {
    const log = new IssueLog();
    try {
      log.add('missing_in_neo4j', 'P0302');
      log.add('missing_in_neo4j', 'P0300');
      log.add('missing_in_neo4j', 'P0300');
      log.add('content_mismatches', 'B1000', { field: 'severity' });
      expect(log.counts().missing_in_neo4j).toBe(2);
      expect(log.counts().content_mismatches).toBe(1);
      expect([...log.entries('missing_in_neo4j')]).toEqual(['"P0300"', '"P0302"']);
      expect([...log.entries('missing_in_neo4j', 1)]).toEqual(['"P0300"']);
      expect([...log.entries('content_mismatches')]).toEqual(['{"code":"B1000","field":"severity"}']);
    } finally {
      log.close();
    }
  });
});
