import { mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportRecord, ExportValue, FieldSpec, TabularDataset } from '../../src/model/dataset.ts';
import { SqliteExportWriter } from '../../src/formats/sqlite/sqlite-format.ts';
import { openSqliteInput } from '../../src/formats/sqlite/sqlite-reader.ts';
import type { InputDataset } from '../../src/model/input.ts';
import { FIELDS, NULLS, RECORDS, awkwardDataset, largeDataset } from '../support/awkward-records.ts';
import { failure, readAll } from '../support/input-readers.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acx-sqlite-reader-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let files = 0;
const fresh = (name = 'input.db') => join(root, `${++files}-${name}`);

/** The records as exported, but for `-0`, which SQLite stores as `0`. */
function expected(record: ExportRecord, fields: readonly FieldSpec[] = FIELDS): ExportRecord {
  const out: ExportRecord = {};
  for (const field of fields) {
    const value: ExportValue | undefined = record[field.name];
    out[field.name] = value === undefined ? null : Object.is(value, -0) ? 0 : value;
  }
  return out;
}

const AWKWARD: ExportRecord[] = [
  ...RECORDS,
  { ...NULLS, id: '66666666-6666-4666-8666-666666666666', x: NaN, label: 'NaN' },
  { ...NULLS, id: '77777777-7777-4777-8777-777777777777', x: -Infinity, n: 9007199254740991 },
];

const NODE_FIELDS: FieldSpec[] = [
  { name: '_element_id', type: 'text' },
  { name: '_labels', type: 'array' },
  { name: 'code', type: 'text' },
  { name: 'count', type: 'bigint', source: 'INTEGER' },
  { name: 'since', type: 'json', source: 'DURATION' },
];
const NODES: ExportRecord[] = [
  {
    _element_id: '4:abc:0',
    _labels: ['DTC', 'Fault'],
    code: 'P0300',
    count: 9223372036854775807n,
    since: { months: 1, days: 2, seconds: 3, nanoseconds: 9223372036854775807n },
  },
  { _element_id: '4:abc:1', _labels: ['DTC'], code: '', count: 12n, since: null },
];
const REL_FIELDS: FieldSpec[] = [
  { name: '_element_id', type: 'text' },
  { name: 'start_id', type: 'text' },
  { name: 'start_label', type: 'text' },
  { name: 'start_key', type: 'text' },
  { name: 'end_id', type: 'text' },
  { name: 'end_label', type: 'text' },
  { name: 'end_key', type: 'text' },
  { name: 'confidence', type: 'float', source: 'FLOAT' },
];
const RELS: ExportRecord[] = [
  {
    _element_id: '5:abc:9',
    start_id: '4:abc:0',
    start_label: 'DTC',
    start_key: 'P0300',
    end_id: '4:abc:1',
    end_label: 'DTC',
    end_key: '',
    confidence: 0.75,
  },
];

function tabular(
  name: string,
  kind: TabularDataset['kind'],
  fields: FieldSpec[],
  records: ExportRecord[],
): TabularDataset {
  return {
    name,
    kind,
    fields,
    key: ['_element_id'],
    records: async function* () {
      yield* records;
    },
  };
}

/** Writes an export database as `export-formats.ts` does, with the real writer. */
async function writeExport(): Promise<string> {
  const path = fresh('autocognitix_export.db');
  const writer = new SqliteExportWriter();
  await writer.open(path);
  await writer.writeDataset(tabular('neo4j_rel_CAUSES', 'relationships', REL_FIELDS, RELS));
  await writer.writeDataset(awkwardDataset(AWKWARD, 'pg_awkward', { indexed: ['label'] }), {
    tableName: 'awkward',
  });
  await writer.writeDataset(tabular('neo4j_DTC', 'nodes', NODE_FIELDS, NODES));
  await writer.writeDataset(
    {
      name: 'translations',
      kind: 'table',
      fields: [
        { name: 'code', type: 'text' },
        { name: 'translated', type: 'boolean' },
      ],
      records: async function* () {
        yield { code: 'P0300', translated: true };
      },
    },
    { tableName: 'translations' },
  );
  writer.writeMetadata({ export_time: '2025-03-30T01:30:00Z', source: 'AutoCognitix', version: '2.0' });
  await writer.close();
  return path;
}

/** A database made with node:sqlite directly: `build` runs on it. */
function database(build: (db: DatabaseSync) => void, name?: string): string {
  const path = fresh(name);
  const db = new DatabaseSync(path);
  try {
    build(db);
  } finally {
    db.close();
  }
  return path;
}

describe('SQLite reader', () => {
  it('records every dataset’s fields in _export_fields', async () => {
    const path = await writeExport();
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const rows = db
        .prepare(
          'SELECT table_name, position, name, type, source FROM _export_fields ORDER BY table_name, position',
        )
        .all();
      expect(rows.filter((r) => (r as { table_name: string }).table_name === 'neo4j_DTC')).toEqual(
        NODE_FIELDS.map((f, position) => ({
          table_name: 'neo4j_DTC',
          position,
          name: f.name,
          type: f.type,
          source: f.source ?? null,
        })),
      );
      expect(rows).toHaveLength(FIELDS.length + NODE_FIELDS.length + REL_FIELDS.length + 2);
    } finally {
      db.close();
    }
  });

  it('reads back every awkward value of an export, typed by _export_fields', async () => {
    const path = await writeExport();
    const input = await openSqliteInput(path);
    expect(input).toMatchObject({ format: 'sqlite', file: path });
    expect(input.notices).toEqual([expect.stringContaining('table translations not imported')]);
    const all = await readAll(input);
    expect(all.map((d) => d.dataset.name)).toEqual(['awkward', 'neo4j_DTC', 'neo4j_rel_CAUSES']);
    const [table, nodes, rels] = all;

    expect(table!.dataset).toMatchObject({ file: path, target: { store: 'postgres', table: 'awkward' } });
    expect(table!.dataset.fields).toEqual(FIELDS);
    expect(table!.records.map((r) => r.values)).toEqual(AWKWARD.map((r) => expected(r)));
    expect(table!.records.map((r) => r.line)).toEqual(AWKWARD.map((_, i) => i + 1)); // rowids
    expect(table!.records.every((r) => r.problems === undefined)).toBe(true);
    const first = table!.records[0]!.values;
    expect(first.big).toBe(9036396042225763098n);
    expect(first.n).toBe(42);
    expect(first.ok).toBe(true);
    expect(table!.records[1]!.values).toMatchObject({ label: '', ok: false, big: -9223372036854775808n });
    expect(Buffer.isBuffer(table!.records[1]!.values.blob)).toBe(true);
    expect(table!.records[2]!.values.label).toBeNull();
    expect(table!.records[8]!.values.x).toBeNaN();

    expect(nodes!.dataset.target).toEqual({ store: 'neo4j', kind: 'nodes', label: 'DTC' });
    expect(nodes!.dataset.fields).toEqual(NODE_FIELDS);
    expect(nodes!.records.map((r) => r.values)).toEqual(NODES.map((r) => expected(r, NODE_FIELDS)));

    expect(rels!.dataset.target).toEqual({ store: 'neo4j', kind: 'relationships', type: 'CAUSES' });
    expect(rels!.dataset.fields).toEqual(REL_FIELDS);
    expect(rels!.records.map((r) => r.values)).toEqual(RELS);
  });

  it('without _export_fields gives SQLite’s own values, and reads the original tool’s layout', async () => {
    const path = database((db) => {
      db.exec(`
        CREATE TABLE dtc_codes (code TEXT, n INTEGER, big INTEGER, x REAL, ok INTEGER, tags TEXT, b BLOB);
        CREATE TABLE "neo4j_DTC" (_element_id TEXT, code TEXT, symptoms TEXT);
        CREATE TABLE neo4j_relationships (start_label TEXT, start_id TEXT, rel_type TEXT, rel_props TEXT, end_label TEXT, end_id TEXT);
        CREATE TABLE pairs (a TEXT, b TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
        CREATE TABLE _export_metadata (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO _export_metadata VALUES ('version', '2.0');
      `);
      db.prepare('INSERT INTO dtc_codes VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        'P0300',
        7,
        9036396042225763098n,
        0.5,
        1,
        '["a","b"]',
        Buffer.from([0, 255]),
      );
      db.prepare('INSERT INTO dtc_codes VALUES (?, ?, ?, ?, ?, ?, ?)').run('', null, -5, null, 0, '', null);
      db.prepare('INSERT INTO "neo4j_DTC" VALUES (?, ?, ?)').run('4:x:1', 'P0300', '["misfire"]');
      db.prepare('INSERT INTO neo4j_relationships VALUES (?, ?, ?, ?, ?, ?)').run(
        'DTC',
        '4:x:1',
        'CAUSES',
        '{"confidence":0.5,"note":"ő"}',
        'Symptom',
        '4:x:2',
      );
      db.prepare('INSERT INTO pairs VALUES (?, ?)').run('b', '1');
      db.prepare('INSERT INTO pairs VALUES (?, ?)').run('a', '2');
    });
    const input = await openSqliteInput(path);
    expect(input.notices).toEqual([]);
    const all = await readAll(input);
    expect(all.map((d) => d.dataset.name)).toEqual([
      'dtc_codes',
      'pairs',
      'neo4j_DTC',
      'neo4j_relationships',
    ]);
    const [codes, pairs, nodes, rels] = all;
    expect(codes!.dataset.fields).toEqual(
      ['code', 'n', 'big', 'x', 'ok', 'tags', 'b'].map((name) => ({ name })),
    );
    expect(codes!.records).toEqual([
      {
        line: 1,
        values: {
          code: 'P0300',
          n: 7,
          big: 9036396042225763098n,
          x: 0.5,
          ok: 1,
          tags: '["a","b"]',
          b: Buffer.from([0, 255]),
        },
      },
      { line: 2, values: { code: '', n: null, big: -5, x: null, ok: 0, tags: '', b: null } },
    ]);
    // WITHOUT ROWID: a running number, in key order
    expect(pairs!.records).toEqual([
      { line: 1, values: { a: 'a', b: '2' } },
      { line: 2, values: { a: 'b', b: '1' } },
    ]);
    expect(nodes!.dataset.fields[0]).toEqual({ name: '_labels', type: 'array' });
    expect(nodes!.records[0]!.values).toEqual({
      _labels: ['DTC'],
      _element_id: '4:x:1',
      code: 'P0300',
      symptoms: '["misfire"]',
    });
    expect(rels!.dataset.target).toEqual({ store: 'neo4j', kind: 'relationships', type: null });
    expect(rels!.dataset.fields.map((f) => f.name)).toEqual([
      'start_label',
      'start_id',
      '_type',
      'end_label',
      'end_id',
    ]);
    expect(rels!.records[0]!.values).toEqual({
      start_label: 'DTC',
      start_id: '4:x:1',
      _type: 'CAUSES',
      confidence: 0.5,
      note: 'ő',
      end_label: 'Symptom',
      end_id: '4:x:2',
    });
  });

  it('keeps a value that does not match its declared type, with a problem', async () => {
    const path = await writeExport();
    const db = new DatabaseSync(path);
    db.prepare(
      'UPDATE awkward SET ok = 2, n = 1.5, doc = ?, tags = ?, blob = ?, big = ? WHERE rowid = 1',
    ).run('{"broken":', '{"not":"an array"}', 'text, not bytes', 'twelve');
    db.close();
    const [table] = await readAll(await openSqliteInput(path));
    const record = table!.records[0]!;
    expect(record.values).toMatchObject({
      ok: 2,
      n: 1.5,
      doc: '{"broken":',
      tags: '{"not":"an array"}',
      blob: 'text, not bytes',
      big: 'twelve',
    });
    expect(record.problems?.map((p) => p.field).sort()).toEqual(['big', 'blob', 'doc', 'n', 'ok', 'tags']);
    expect(record.problems?.find((p) => p.field === 'ok')?.reason).toMatch(/not a boolean/);
    expect(table!.records[1]!.problems).toBeUndefined();
  });

  it('closes the database when the datasets end, on close(), and when a consumer leaves early', async () => {
    const path = await writeExport();
    const input = await openSqliteInput(path);
    for await (const dataset of input.datasets()) {
      for await (const record of dataset.records()) {
        expect(record.line).toBe(1);
        break;
      }
      break;
    }
    await input.close?.();
    await input.close?.();
    // closed: the file can be replaced and opened again
    await writeFile(path, await readFile(path));
    const again = await openSqliteInput(path);
    const iterator = again.datasets()[Symbol.asyncIterator]();
    const first = (await iterator.next()).value as InputDataset;
    const records = first.records()[Symbol.asyncIterator]();
    await records.next(); // an open statement…
    await again.close?.(); // …does not stop close()
  });

  it('streams a large table', async () => {
    const path = fresh();
    const writer = new SqliteExportWriter();
    await writer.open(path);
    await writer.writeDataset(largeDataset(50_000));
    await writer.close();
    let n = 0;
    for await (const dataset of (await openSqliteInput(path)).datasets())
      for await (const record of dataset.records()) {
        expect(record.line).toBe(++n);
        if (n === 49_999) expect(record.values).toMatchObject({ id: 49_998, ok: true, doc: { i: 49_998 } });
      }
    expect(n).toBe(50_000);
  }, 60_000); // writing and reading 50 000 rows takes 4–6 s on a busy two-core machine: not what is tested

  describe('broken inputs are INVALID_INPUT (or NOT_FOUND) errors naming the file', () => {
    it('a text file named .db', async () => {
      const path = fresh('notes.db');
      await writeFile(path, 'code,description\nP0300,misfire\n'.repeat(100));
      const error = await failure(() => openSqliteInput(path));
      expect(error).toMatchObject({ code: 'INVALID_INPUT', subject: path });
      expect(error.message).toMatch(new RegExp(`^${path}: not an SQLite 3 database`));
    });

    it('an empty file', async () => {
      const path = fresh();
      await writeFile(path, '');
      expect(await failure(() => openSqliteInput(path))).toMatchObject({
        code: 'INVALID_INPUT',
        message: `${path}: empty file, not an SQLite database`,
      });
    });

    it('a truncated database', async () => {
      const path = await writeExport();
      const { size } = await stat(path);
      await truncate(path, Math.floor(size / 2) + 100);
      const error = await failure(() => openSqliteInput(path));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(new RegExp(`^${path}: truncated`));
    });

    it('a database cut at a page boundary', async () => {
      const path = await writeExport();
      const { size } = await stat(path);
      await truncate(path, size - 4096);
      const error = await failure(() => openSqliteInput(path));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toContain(path);
    });

    it('a database with damaged pages', async () => {
      const path = await writeExport();
      const bytes = await readFile(path);
      bytes.fill(0xa5, 4096, bytes.length); // every page but the first (the schema) is garbage
      await writeFile(path, bytes);
      const error = await failure(() => openSqliteInput(path));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(new RegExp(`^${path}: .*damaged`));
    });

    it('a database whose data pages are damaged, found while reading the rows', async () => {
      const path = fresh();
      const writer = new SqliteExportWriter();
      await writer.open(path);
      await writer.writeDataset(largeDataset(20_000));
      await writer.close();
      const bytes = await readFile(path);
      bytes.fill(0xa5, bytes.length - 40 * 4096, bytes.length - 20 * 4096);
      await writeFile(path, bytes);
      const error = await failure(() => openSqliteInput(path));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(
        new RegExp(`^${path}: table large, after row \\d+: the database is damaged`),
      );
    });

    it('encrypted (random) bytes', async () => {
      const path = fresh();
      await writeFile(path, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 256)));
      expect(await failure(() => openSqliteInput(path))).toMatchObject({
        code: 'INVALID_INPUT',
        subject: path,
      });
    });

    it('an SQLite file with no tables', async () => {
      const path = database((db) => db.exec('PRAGMA user_version = 1'));
      const error = await failure(() => openSqliteInput(path));
      expect(error).toMatchObject({
        code: 'INVALID_INPUT',
        message: `${path}: the database holds no tables`,
      });
    });

    it('_export_fields lists a column the table does not have', async () => {
      const path = database((db) => {
        db.exec(`CREATE TABLE t (a INTEGER);
          CREATE TABLE _export_fields (table_name TEXT, position INTEGER, name TEXT, type TEXT, source TEXT);
          INSERT INTO _export_fields VALUES ('t', 0, 'a', 'integer', NULL), ('t', 1, 'gone', 'text', NULL);`);
      });
      const error = await failure(() => openSqliteInput(path));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toBe(
        `${path}: table t: _export_fields lists the column gone, which the table does not have`,
      );
    });

    it('_export_fields with an unknown type', async () => {
      const path = database((db) => {
        db.exec(`CREATE TABLE t (a INTEGER);
          CREATE TABLE _export_fields (table_name TEXT, position INTEGER, name TEXT, type TEXT, source TEXT);
          INSERT INTO _export_fields VALUES ('t', 0, 'a', 'varchar', NULL);`);
      });
      const error = await failure(() => openSqliteInput(path));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(/_export_fields: field a of t has the unknown type "varchar"/);
    });

    it('_export_fields without its columns', async () => {
      const path = database((db) => db.exec('CREATE TABLE t (a); CREATE TABLE _export_fields (x, y);'));
      const error = await failure(() => openSqliteInput(path));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(/_export_fields has no column table_name/);
    });

    it('a file that does not exist, or a folder', async () => {
      const missing = join(root, 'missing.db');
      expect(await failure(() => openSqliteInput(missing))).toMatchObject({
        code: 'NOT_FOUND',
        subject: missing,
      });
      const dir = join(root, 'folder.db');
      await mkdir(dir);
      expect(await failure(() => openSqliteInput(dir))).toMatchObject({ code: 'USAGE', subject: dir });
    });
  });
});
