/**
 * SQLite keeps TEXT as the bytes it was given, valid UTF-8 or not. The reader must not turn bytes that are
 * not UTF-8 into U+FFFD without a word (every other format refuses them): the cell becomes a record
 * problem naming the table, row and column; a genuine U+FFFD stays as it is; a table or column name that
 * is not UTF-8 is refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteInput } from '../../src/formats/sqlite/sqlite-reader.ts';
import { expectInvalidInput, failure, readAll } from '../support/input-readers.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acx-sqlite-utf8-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let files = 0;
function database(sql: string): string {
  const file = join(root, `${++files}.db`);
  const db = new DatabaseSync(file);
  db.exec(sql);
  db.close();
  return file;
}

describe('SQLite text that is not UTF-8', () => {
  it('is a record problem naming the row and column; valid text and a real U+FFFD pass', async () => {
    const file = database(`
      CREATE TABLE dtc_codes (code TEXT, description TEXT, notes TEXT);
      INSERT INTO dtc_codes VALUES ('P0300', 'Égéskimaradás', 'ok ' || char(65533));
      INSERT INTO dtc_codes VALUES ('P0301', CAST(X'4CE97A6572' AS TEXT), NULL);
      INSERT INTO dtc_codes VALUES ('P0302', 'ok', CAST(X'61C3' AS TEXT));
      CREATE TABLE pairs (a TEXT, b TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
      INSERT INTO pairs VALUES ('a', 'x'), ('b', CAST(X'80' AS TEXT)), ('c', char(65533));
    `);
    const read = await readAll(await openSqliteInput(file));
    const codes = read.find((d) => d.dataset.name === 'dtc_codes')!.records;
    expect(codes[0]).toEqual({
      line: 1,
      values: { code: 'P0300', description: 'Égéskimaradás', notes: 'ok \ufffd' },
    });
    // 'Lézer' in Latin-1: byte 0xE9 at offset 1
    expect(codes[1]!.line).toBe(2);
    expect(codes[1]!.problems).toEqual([
      { field: 'description', reason: expect.stringMatching(/not UTF-8.*byte 1\b.*0xe9/) },
    ]);
    // cut in the middle of a two-byte character
    expect(codes[2]!.line).toBe(3);
    expect(codes[2]!.problems).toEqual([
      { field: 'notes', reason: expect.stringMatching(/not UTF-8.*byte 1\b.*0xc3/) },
    ]);
    const pairs = read.find((d) => d.dataset.name === 'pairs')!.records;
    expect(pairs.map((r) => [r.line, r.problems?.map((p) => p.field)])).toEqual([
      [1, undefined],
      [2, ['b']],
      [3, undefined],
    ]);
    expect(pairs[2]!.values).toEqual({ a: 'c', b: '\ufffd' });
  });

  it('is a problem also in a typed column and in a JSON column of an export', async () => {
    const file = database(`
      CREATE TABLE _export_fields (table_name TEXT, position INTEGER, name TEXT, type TEXT, source TEXT);
      INSERT INTO _export_fields VALUES ('vehicles', 0, 'make', 'text', NULL), ('vehicles', 1, 'meta', 'json', 'JSONB');
      CREATE TABLE vehicles (make TEXT, meta TEXT);
      INSERT INTO vehicles VALUES (CAST(X'53EB6F6461' AS TEXT), '{"a":1}');
      INSERT INTO vehicles VALUES ('Skoda', CAST(X'7B2261223A2241FF227D' AS TEXT));
    `);
    const [vehicles] = await readAll(await openSqliteInput(file));
    expect(vehicles!.records.map((r) => r.problems?.map((p) => p.field))).toEqual([['make'], ['meta']]);
    expect(vehicles!.records[1]!.problems![0]!.reason).toMatch(/not UTF-8.*byte 7\b.*0xff/);
  });

  it('refuses a table or column name that is not UTF-8, naming the file', async () => {
    const table = database(`CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('x');`);
    // SQLite's own SQL cannot spell a name that is not UTF-8: write one through the schema table.
    const bad = new DatabaseSync(table, { defensive: false }); // lets writable_schema write
    bad.exec('PRAGMA writable_schema = ON');
    bad.exec(
      `UPDATE sqlite_schema SET name = CAST(X'74FF' AS TEXT), tbl_name = CAST(X'74FF' AS TEXT),
         sql = 'CREATE TABLE "' || CAST(X'74FF' AS TEXT) || '" (a TEXT)' WHERE name = 't'`,
    );
    bad.close();
    expectInvalidInput(await failure(() => openSqliteInput(table)), table, /not UTF-8/);

    const column = database(`CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('x');`);
    const badColumn = new DatabaseSync(column, { defensive: false });
    badColumn.exec('PRAGMA writable_schema = ON');
    badColumn.exec(
      `UPDATE sqlite_schema SET sql = 'CREATE TABLE t ("' || CAST(X'61FF' AS TEXT) || '" TEXT)' WHERE name = 't'`,
    );
    badColumn.close();
    const error = await failure(() => openSqliteInput(column));
    expectInvalidInput(error, column, /table t: .*column.*not UTF-8/);
  });
});
