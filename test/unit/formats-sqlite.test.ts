import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportRecord, ExportValue, FieldSpec, TabularDataset } from '../../src/model/dataset.ts';
import { quoteIdentifier, SqliteExportWriter } from '../../src/formats/sqlite/sqlite-format.ts';
import { parseExactJson } from '../../src/model/exact-json.ts';
import { FIELDS, RECORDS, awkwardDataset, LARGE_FIELDS, largeRecord } from '../support/awkward-records.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-sqlite-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dataset = (
  records: Parameters<typeof awkwardDataset>[0],
  name?: string,
  extra: Partial<TabularDataset> = {},
) => awkwardDataset(records, name, { indexed: ['label', 'at'], ...extra });

/** A statement reading 64-bit integers as bigint. */
function bigInts(statement: StatementSync): StatementSync {
  statement.setReadBigInts(true);
  return statement;
}

/** The first column of a row, or undefined. */
function firstColumn(row: Record<string, unknown> | undefined): unknown {
  return row === undefined ? undefined : Object.values(row)[0];
}

/** Reads a table with a separate, read-only connection, 64-bit integers as bigint, back into typed records. */
function readTable(path: string, table: string, fields: readonly FieldSpec[]): ExportRecord[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = bigInts(db.prepare(`SELECT * FROM ${quoteIdentifier(table)} ORDER BY rowid`)).all() as Array<
      Record<string, null | bigint | number | string | Uint8Array>
    >;
    return rows.map((row) => {
      const out: ExportRecord = {};
      for (const field of fields) {
        const v = row[field.name];
        if (v === null || v === undefined) out[field.name] = null;
        else if (field.type === 'integer') out[field.name] = Number(v);
        else if (field.type === 'boolean')
          out[field.name] = v === 1n ? true : v === 0n ? false : `bad ${String(v)}`;
        else if (field.type === 'json' || field.type === 'array')
          out[field.name] = parseExactJson(v as string) as ExportValue;
        else if (v instanceof Uint8Array) out[field.name] = Buffer.from(v);
        else out[field.name] = v;
      }
      return out;
    });
  } finally {
    db.close();
  }
}

/** What the reader gets back: bigint as bigint, `-0` as `0` (SQLite stores it as an integral 0.0). */
function expected(record: ExportRecord): ExportRecord {
  const out: ExportRecord = {};
  for (const field of FIELDS) {
    const value: ExportValue | undefined = record[field.name];
    out[field.name] = value === undefined ? null : Object.is(value, -0) ? 0 : value;
  }
  return out;
}

describe('SQLite format', () => {
  it('writes every awkward value so that a separate connection reads the same records back', async () => {
    const path = join(dir, 'autocognitix_export.db');
    const writer = new SqliteExportWriter();
    await writer.open(path);
    expect(await writer.writeDataset(dataset(RECORDS))).toEqual({ records: RECORDS.length });
    writer.writeMetadata({
      export_time: '2025-03-30T01:30:00+00:00',
      source: 'AutoCognitix',
      version: '2.0',
    });
    expect(existsSync(path)).toBe(false);
    await writer.close();
    expect(await readdir(dir)).toEqual(['autocognitix_export.db']);

    expect(readTable(path, 'awkward', FIELDS)).toEqual(RECORDS.map(expected));

    const db = new DatabaseSync(path, { readOnly: true });
    try {
      // storage classes, exactly: NULL vs '', bigint, 0/1 booleans, JSON text, blobs, text numerics
      const raw = bigInts(
        db.prepare(
          'SELECT typeof(label) tl, label, typeof(big) tb, big, typeof(x) tx, typeof(ok) tok, ok, typeof(doc) td, doc, ' +
            'typeof(tags) tt, tags, typeof(blob) tbl, blob, typeof(price) tp, price FROM awkward ORDER BY rowid',
        ),
      ).all() as Array<Record<string, unknown>>;
      expect(raw[0]).toMatchObject({
        tb: 'integer',
        big: 9036396042225763098n,
        tx: 'real',
        tok: 'integer',
        ok: 1n,
      });
      expect(raw[0]).toMatchObject({ td: 'text', tt: 'text', tbl: 'blob', tp: 'text', price: '12345.6700' });
      expect(raw[0]!.tags).toBe('["a,b","q\\"uote","new\\nline",null,"","crlf\\r\\n"]');
      expect(raw[0]!.doc).toContain('"leírás":"Gyújtás ő/ű é"');
      expect(raw[0]!.doc).toContain('"big":9036396042225763098}');
      expect(raw[1]).toMatchObject({
        tl: 'text',
        label: '',
        tok: 'integer',
        ok: 0n,
        doc: '{}',
        tags: '[]',
        tbl: 'blob',
      });
      expect(raw[2]).toMatchObject({
        tl: 'null',
        tb: 'null',
        tx: 'null',
        tok: 'null',
        td: 'null',
        tbl: 'null',
      });
      expect(raw[3]).toMatchObject({ doc: '"a JSON string, \\"quoted\\" ő"', big: 9223372036854775807n });

      // the file is an ordinary rollback-journal database
      expect(firstColumn(db.prepare('PRAGMA journal_mode').get())).toBe('delete');
      expect(firstColumn(db.prepare('PRAGMA integrity_check').get())).toBe('ok');

      // primary key and indexes
      const columns = db.prepare('PRAGMA table_info(awkward)').all() as Array<{
        name: string;
        type: string;
        pk: number;
      }>;
      expect(columns.map((c) => [c.name, c.type, c.pk])).toEqual([
        ['id', 'TEXT', 1],
        ['label', 'TEXT', 0],
        ['n', 'INTEGER', 0],
        ['big', 'INTEGER', 0],
        ['x', 'REAL', 0],
        ['price', 'TEXT', 0],
        ['ok', 'INTEGER', 0],
        ['at', 'TEXT', 0],
        ['day', 'TEXT', 0],
        ['doc', 'TEXT', 0],
        ['tags', 'TEXT', 0],
        ['blob', 'BLOB', 0],
      ]);
      const indexes = db
        .prepare(
          "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'awkward' ORDER BY name",
        )
        .all() as Array<{ name: string; sql: string | null }>;
      expect(indexes.map((i) => i.name)).toEqual([
        'idx_awkward_at',
        'idx_awkward_label',
        'sqlite_autoindex_awkward_1', // the primary key
      ]);
      expect(db.prepare('SELECT key, value FROM _export_metadata ORDER BY key').all()).toEqual([
        { key: 'export_time', value: '2025-03-30T01:30:00+00:00' },
        { key: 'source', value: 'AutoCognitix' },
        { key: 'version', value: '2.0' },
      ]);
      // JSON text works with SQLite's own JSON functions
      expect(
        firstColumn(
          db.prepare("SELECT json_extract(doc, '$.nested.list[1]') v FROM awkward ORDER BY rowid").get(),
        ),
      ).toBe('két');
    } finally {
      db.close();
    }
  });

  it('quotes names taken from data, keeps composite keys, and stores NaN as text', async () => {
    const path = join(dir, 'names.db');
    const fields: FieldSpec[] = [
      { name: 'from"id', type: 'integer' },
      { name: 'to id', type: 'bigint' },
      { name: 'sel;ect', type: 'float' },
    ];
    const writer = new SqliteExportWriter();
    await writer.open(path);
    await writer.writeDataset(
      {
        name: 'relationships_HAS "CAUSE"; DROP TABLE x',
        kind: 'relationships',
        fields,
        key: ['from"id', 'to id'],
        indexed: ['to id'],
        records: async function* () {
          yield { 'from"id': 1, 'to id': 2n, 'sel;ect': NaN };
          yield { 'from"id': 1, 'to id': 3n, 'sel;ect': Infinity };
          yield { 'from"id': 2, 'to id': 2n, 'sel;ect': -1.5 };
        },
      },
      { tableName: 'rel "x"' },
    );
    await writer.close();
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const rows = db.prepare('SELECT * FROM "rel ""x""" ORDER BY rowid');
      rows.setReturnArrays(true);
      expect(rows.all()).toEqual([
        [1, 2, 'NaN'],
        [1, 3, Infinity],
        [2, 2, -1.5],
      ]);
      const pk = (
        db.prepare('PRAGMA table_info("rel ""x""")').all() as Array<{ name: string; pk: number }>
      ).filter((c) => c.pk > 0);
      expect(pk.map((c) => c.name)).toEqual(['from"id', 'to id']);
      expect(
        db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
          .all()
          .map((row) => row.name),
      ).toEqual(['idx_rel "x"_to id', 'sqlite_autoindex_rel "x"_1']);
    } finally {
      db.close();
    }
  });

  it('publishes nothing after a failed or aborted dataset, and replaces a stale partial file', async () => {
    const path = join(dir, 'failed.db');
    await writeFile(`${path}.partial`, 'stale bytes from an interrupted run');
    const writer = new SqliteExportWriter();
    await writer.open(path);
    await expect(
      writer.writeDataset(
        dataset(async function* () {
          yield RECORDS[0]!;
          throw new Error('store went away');
        }),
      ),
    ).rejects.toThrow('store went away');
    await expect(writer.close()).rejects.toThrow(/discarded/);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.partial`)).toBe(false);

    const controller = new AbortController();
    const aborted = new SqliteExportWriter();
    await aborted.open(path);
    await expect(
      aborted.writeDataset(
        dataset(async function* () {
          for (let i = 0; i < 5000; i++) {
            if (i === 1500) controller.abort();
            yield { ...RECORDS[2]!, id: `id-${i}` };
          }
        }),
        { signal: controller.signal },
      ),
    ).rejects.toThrow(/abort/i);
    await aborted.discard();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.partial`)).toBe(false);

    // a duplicate primary key fails the dataset too
    const duplicate = new SqliteExportWriter();
    await duplicate.open(path);
    await expect(duplicate.writeDataset(dataset([RECORDS[0]!, RECORDS[0]!]))).rejects.toThrow(/UNIQUE/);
    await expect(duplicate.close()).rejects.toThrow();
    expect(existsSync(path)).toBe(false);
  });

  it('writes 1 M rows of a 6-column table in bounded memory', async () => {
    const path = join(dir, 'large.db');
    const rows = 1_000_000;
    const fields = LARGE_FIELDS;
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const writer = new SqliteExportWriter();
    await writer.open(path);
    const started = performance.now();
    const result = await writer.writeDataset({
      name: 'large',
      kind: 'table',
      fields,
      key: ['id'],
      indexed: ['code'],
      records: async function* () {
        for (let i = 0; i < rows; i++) {
          if (i % 50_000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
          yield largeRecord(i);
        }
      },
    });
    await writer.close();
    const seconds = (performance.now() - started) / 1000;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    console.log(
      `SQLite: ${rows} rows in ${seconds.toFixed(2)} s (${Math.round(rows / seconds)} rows/s), ` +
        `RSS ${(rssBefore / 2 ** 20).toFixed(0)} → peak ${(peakRss / 2 ** 20).toFixed(0)} MiB, ` +
        `file ${((await stat(path)).size / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(result).toEqual({ records: rows });
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      expect(firstColumn(db.prepare('SELECT count(*) FROM large').get())).toBe(rows);
      expect(firstColumn(db.prepare('SELECT code FROM large WHERE id = ?').get(rows - 1))).toBe('P999999');
    } finally {
      db.close();
    }
  }, 120_000);
});
