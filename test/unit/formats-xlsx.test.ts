import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportRecord, FieldSpec, TabularDataset } from '../../src/model/dataset.ts';
import {
  EXCEL_MAX_CELL_CHARS,
  TRUNCATION_MARKER,
  XlsxExportWriter,
  escapeXstring,
  safeSheetName,
  unescapeXstring,
} from '../../src/formats/xlsx/xlsx-format.ts';
import { parseExactJson } from '../../src/model/exact-json.ts';
import { FORMULA_RECORDS } from '../support/awkward-records.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-xlsx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FIELDS: FieldSpec[] = [
  { name: 'id', type: 'uuid' },
  { name: 'label', type: 'text' },
  { name: 'n', type: 'integer' },
  { name: 'big', type: 'bigint' },
  { name: 'x', type: 'float' },
  { name: 'price', type: 'numeric' },
  { name: 'ok', type: 'boolean' },
  { name: 'at', type: 'timestamp' },
  { name: 'day', type: 'date' },
  { name: 'doc', type: 'json' },
  { name: 'tags', type: 'array' },
  { name: 'blob', type: 'bytes' },
];

const LONG = 'ő'.repeat(EXCEL_MAX_CELL_CHARS + 5000);

const RECORDS: ExportRecord[] = [
  {
    id: '0b7e3f52-8a6c-4c55-9f1e-2d1f3b5a9c01',
    label: 'Szívó <oldal> & "levegő" \'hiba\' ]]> ű',
    n: 42,
    big: 9036396042225763098n,
    x: 0.1,
    price: '12345.6700',
    ok: true,
    at: '2025-03-30T01:30:00.123456+00:00',
    day: '2025-03-30',
    doc: { leírás: 'Gyújtás ő/ű', nested: { list: [1, 'két', null], big: 9036396042225763098n }, empty: {} },
    tags: [],
    blob: Buffer.from([0, 1, 2, 254, 255]),
  },
  {
    id: 'ffffffff-ffff-4fff-bfff-ffffffffffff',
    label: '',
    n: -7,
    big: -5n,
    x: 1e-300,
    price: '-0.000001',
    ok: false,
    at: '1999-12-31T23:59:59.999999-05:30',
    day: '1899-12-31',
    doc: [1, 'two', { three: 3 }],
    tags: [null, 'with "quotes"', 'a,b', 'line\nbreak'],
    blob: Buffer.alloc(0),
  },
  {
    id: null,
    label: null,
    n: null,
    big: null,
    x: null,
    price: null,
    ok: null,
    at: null,
    day: null,
    doc: null,
    tags: null,
    blob: null,
  },
  {
    id: '00000000-0000-0000-0000-000000000000',
    label: 'tab\there\r\nCRLF \u0001 ctrl _x0041_ literal 🚗 emoji  ',
    n: 9_007_199_254_740_991,
    big: 123_456_789_012_345n,
    x: 1e20,
    price: '0',
    ok: true,
    at: '2025-01-01T00:00:00+01:00',
    day: '2024-02-29',
    doc: 'just a string',
    tags: ['ő', 'ű', 1, true],
    blob: Buffer.from('hello'),
  },
  {
    id: '11111111-2222-4333-8444-555555555555',
    label: LONG,
    n: 0,
    big: 1_000_000_000_000_000n,
    x: -Infinity,
    price: '1e5',
    ok: false,
    at: '2025-06-01T12:00:00Z',
    day: '9999-12-31',
    doc: { a: null },
    tags: [''],
    blob: Buffer.from([0x00]),
  },
  { x: Number.NaN, n: 1e15, big: 999_999_999_999_999n, label: 'sparse record: missing fields are NULL' },
];

function dataset(name: string, records: ExportRecord[], fields: FieldSpec[] = FIELDS): TabularDataset {
  return {
    name,
    kind: 'table',
    fields,
    async *records() {
      yield* records;
    },
  };
}

/** What the independent reader must see in a cell, written from the documented type table. */
function expectedCell(type: FieldSpec['type'], value: ExportRecord[string]): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'integer':
    case 'bigint': {
      const digits = String(value);
      return digits.replace('-', '').length > 15 ? digits : Number(value);
    }
    case 'float':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'date': {
      const text = value as string;
      return text >= '1900-03-01' ? { date: text } : text;
    }
    case 'json':
    case 'array':
      return { json: value };
    case 'bytes':
      return { base64: (value as Buffer).toString('base64') };
    default: {
      const text = value as string;
      if (text.length <= EXCEL_MAX_CELL_CHARS) return text;
      return { truncated: text };
    }
  }
}

/** The cell as exceljs reads it, reduced to plain JS. */
function readCell(cell: ExcelJS.Cell): unknown {
  const value = cell.value;
  if (value === null || value === undefined) return null;
  if (typeof value === 'object' && 'richText' in value) return value.richText.map((r) => r.text).join('');
  return value;
}

function compareCell(actual: unknown, expected: unknown, where: string): void {
  if (expected !== null && typeof expected === 'object') {
    const exp = expected as Record<string, unknown>;
    if ('date' in exp) {
      expect(actual, where).toBeInstanceOf(Date);
      expect((actual as Date).toISOString().slice(0, 10), where).toBe(exp.date);
      return;
    }
    expect(typeof actual, where).toBe('string');
    const text = actual as string;
    if ('json' in exp) expect(parseExactJson(text), where).toEqual(exp.json);
    else if ('base64' in exp) expect(text, where).toBe(exp.base64);
    else if ('truncated' in exp) {
      expect(text.length, where).toBe(EXCEL_MAX_CELL_CHARS);
      expect(text.endsWith(TRUNCATION_MARKER), where).toBe(true);
      expect((exp.truncated as string).startsWith(text.slice(0, -TRUNCATION_MARKER.length)), where).toBe(
        true,
      );
    }
    return;
  }
  if (typeof expected === 'number' && Number.isNaN(expected)) expect(Number.isNaN(actual), where).toBe(true);
  else expect(actual, where).toStrictEqual(expected);
}

async function readWorkbook(path: string): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(path);
  return workbook;
}

describe('xlsx export', () => {
  it('writes typed cells that read back equal, with a styled frozen header and a Summary first', async () => {
    const path = join(dir, 'all.xlsx');
    const writer = new XlsxExportWriter();
    await writer.open(path);
    expect(existsSync(path)).toBe(false);
    writer.addSummarySheet([
      ['Export Time:', '2025-03-30 01:30:00'],
      ['Filter Applied:', 'None <&>'],
      ['Tables:', 2],
    ]);
    const first = await writer.writeDataset(dataset('dtc_codes', RECORDS));
    expect(first).toEqual({ records: RECORDS.length, sheets: ['dtc_codes'], truncatedCells: 1 });
    const empty = await writer.writeDataset(dataset('empty_table', []));
    expect(empty.sheets).toEqual(['empty_table']);
    const closed = await writer.close();
    expect(closed).toMatchObject({
      path,
      records: RECORDS.length,
      sheets: { dtc_codes: RECORDS.length, empty_table: 0 },
      truncatedCells: 1,
    });
    expect(existsSync(`${path}.partial`)).toBe(false);

    const workbook = await readWorkbook(path);
    expect(workbook.worksheets.map((s) => s.name)).toEqual(['Summary', 'dtc_codes', 'empty_table']);

    const summary = workbook.getWorksheet('Summary') as ExcelJS.Worksheet;
    const summaryRows: unknown[][] = [];
    summary.eachRow((row) => summaryRows.push((row.values as unknown[]).slice(1)));
    expect(summaryRows).toEqual([
      ['AutoCognitix Data Export'],
      ['Export Time:', '2025-03-30 01:30:00'],
      ['Filter Applied:', 'None <&>'],
      ['Tables:', 2],
      ['Sheet', 'Rows'],
      ['dtc_codes', RECORDS.length],
      ['empty_table', 0],
    ]);

    const sheet = workbook.getWorksheet('dtc_codes') as ExcelJS.Worksheet;
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    const header = sheet.getRow(1);
    expect((header.values as unknown[]).slice(1)).toEqual(FIELDS.map((f) => f.name));
    const h1 = header.getCell(1);
    expect(h1.font).toMatchObject({ bold: true, color: { argb: 'FFFFFFFF' } });
    expect(h1.fill).toMatchObject({ type: 'pattern', pattern: 'solid', fgColor: { argb: 'FF4472C4' } });
    expect(h1.alignment).toMatchObject({ horizontal: 'center' });
    expect(h1.border?.top).toMatchObject({ style: 'thin' });
    for (let c = 1; c <= FIELDS.length; c++) {
      const width = sheet.getColumn(c).width ?? 0;
      expect(width).toBeGreaterThanOrEqual(8);
      expect(width).toBeLessThanOrEqual(50);
    }
    expect(sheet.getColumn(2).width).toBe(50); // the long text hits the cap

    expect(sheet.rowCount).toBe(1 + RECORDS.length);
    RECORDS.forEach((record, r) => {
      const row = sheet.getRow(r + 2);
      FIELDS.forEach((field, c) => {
        compareCell(
          readCell(row.getCell(c + 1)),
          expectedCell(field.type, record[field.name] ?? null),
          `${field.name}@${r}`,
        );
      });
    });
    // '' and NULL stay different.
    expect(readCell(sheet.getRow(3).getCell(2))).toBe('');
    expect(readCell(sheet.getRow(4).getCell(2))).toBeNull();
    // Date cells carry a date format.
    expect(sheet.getRow(2).getCell(9).numFmt).toBe('yyyy-mm-dd');

    const emptySheet = workbook.getWorksheet('empty_table') as ExcelJS.Worksheet;
    expect(emptySheet.rowCount).toBe(1);
  });

  it('writes formula-looking text as text cells, never formulas, and keeps it exact', async () => {
    const path = join(dir, 'formulas.xlsx');
    const writer = new XlsxExportWriter();
    await writer.open(path);
    writer.addSummarySheet([['=1+1', '@SUM(A1)']]);
    await writer.writeDataset(dataset('=formulas', FORMULA_RECORDS));
    await writer.close();
    const workbook = await readWorkbook(path);
    let cells = 0;
    for (const sheet of workbook.worksheets)
      sheet.eachRow((row) =>
        row.eachCell((cell) => {
          cells++;
          expect(cell.type, `${sheet.name}!${cell.address}`).not.toBe(ExcelJS.ValueType.Formula);
          expect(cell.formula, `${sheet.name}!${cell.address}`).toBeUndefined();
        }),
      );
    expect(cells).toBeGreaterThan(FORMULA_RECORDS.length * 5);
    const sheet = workbook.getWorksheet('=formulas') as ExcelJS.Worksheet;
    FORMULA_RECORDS.forEach((record, r) => {
      const label = sheet.getRow(r + 2).getCell(2);
      if (record.label === null) return;
      expect([ExcelJS.ValueType.String, ExcelJS.ValueType.RichText]).toContain(label.type);
      expect(readCell(label), `label@${r}`).toBe(record.label);
    });
    expect(sheet.getRow(2).getCell(3).value).toBe(-5);
  });

  it('continues a dataset past the row limit on numbered sheets, each with the header', async () => {
    const path = join(dir, 'split.xlsx');
    const fields: FieldSpec[] = [
      { name: 'i', type: 'integer' },
      { name: 'code', type: 'text' },
    ];
    const records = Array.from({ length: 25 }, (_, i) => ({ i, code: `P${String(i).padStart(4, '0')}` }));
    const writer = new XlsxExportWriter({ maxRowsPerSheet: 10 });
    await writer.open(path);
    const long = 'a_table_name_that_is_much_longer_than_31_chars';
    const result = await writer.writeDataset(dataset(long, records, fields));
    const base = long.slice(0, 31);
    expect(result.sheets).toEqual([base, `${long.slice(0, 27)} (2)`, `${long.slice(0, 27)} (3)`]);
    await writer.writeDataset(dataset(long, records.slice(0, 3), fields)); // same name again → unique
    const closed = await writer.close();
    expect(Object.values(closed.sheets)).toEqual([10, 10, 5, 3]);

    const workbook = await readWorkbook(path);
    const names = workbook.worksheets.map((s) => s.name);
    expect(names[0]).toBe('Summary');
    expect(names.slice(1, 4)).toEqual(result.sheets);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(31);
    const seen: unknown[] = [];
    for (const name of result.sheets) {
      const sheet = workbook.getWorksheet(name) as ExcelJS.Worksheet;
      expect((sheet.getRow(1).values as unknown[]).slice(1)).toEqual(['i', 'code']);
      expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
      sheet.eachRow((row, n) => {
        if (n > 1) seen.push({ i: row.getCell(1).value, code: row.getCell(2).value });
      });
    }
    expect(seen).toEqual(records);
  });

  it('makes sheet names Excel-safe', () => {
    expect(safeSheetName('a/b\\c:d*e?f[g]h')).toBe('a_b_c_d_e_f_g_h');
    expect(safeSheetName("'quoted'")).toBe('quoted');
    expect(safeSheetName('History')).toBe('History_');
    expect(safeSheetName('')).toBe('Sheet');
    expect(safeSheetName('x'.repeat(40))).toHaveLength(31);
  });

  it('escapes text XML cannot carry the OOXML way and reads it back', () => {
    const text = 'a\u0001b\rc _x0041_ _X00e9_ ok';
    const escaped = escapeXstring(text);
    expect(escaped).toBe('a_x0001_b_x000D_c _x005F_x0041_ _X00e9_ ok');
    expect(unescapeXstring(escaped)).toBe(text);
  });

  it('leaves nothing behind when aborted', async () => {
    const path = join(dir, 'aborted.xlsx');
    const controller = new AbortController();
    const writer = new XlsxExportWriter({ signal: controller.signal });
    await writer.open(path);
    const endless: TabularDataset = {
      name: 'endless',
      kind: 'table',
      fields: [{ name: 'i', type: 'integer' }],
      async *records() {
        for (let i = 0; ; i++) {
          if (i === 2500) controller.abort();
          yield { i };
        }
      },
    };
    await expect(writer.writeDataset(endless)).rejects.toThrow(/abort/i);
    await expect(writer.close()).rejects.toThrow();
    expect(existsSync(path)).toBe(false);
    expect((await readdir(dir)).filter((f) => f.startsWith('aborted'))).toEqual([]);
  });
});
