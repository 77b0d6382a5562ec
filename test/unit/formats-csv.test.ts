import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportRecord, ExportValue, TabularDataset } from '../../src/model/dataset.ts';
import { readCsvValue, writeCsvFile } from '../../src/formats/csv/csv-format.ts';
import {
  FIELDS,
  FORMULA_RECORDS,
  FORMULA_STARTS,
  RECORDS,
  awkwardDataset,
  largeDataset,
} from '../support/awkward-records.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dataset = (records: Parameters<typeof awkwardDataset>[0], name?: string) =>
  awkwardDataset(records, name);

/** What a CSV reader gets back: the values themselves, except that `-0` reads as `0` (`String(-0)`). */
function expected(record: ExportRecord): ExportRecord {
  const out: ExportRecord = {};
  for (const field of FIELDS) {
    const value: ExportValue | undefined = record[field.name];
    out[field.name] = value === undefined ? null : Object.is(value, -0) ? 0 : value;
  }
  return out;
}

/** Reads a CSV file with csv-parse, telling a quoted empty field ('') from an unquoted one (NULL). */
async function readBack(path: string): Promise<{ header: string[]; records: ExportRecord[] }> {
  const text = await readFile(path, 'utf8');
  const rows = parse(text, {
    cast: (value, context) => (value === '' && !context.quoting ? null : value),
  }) as Array<Array<string | null>>;
  const [header, ...data] = rows;
  return {
    header: (header ?? []) as string[],
    records: data.map((row) =>
      Object.fromEntries(FIELDS.map((field, i) => [field.name, readCsvValue(row[i], field.type)])),
    ),
  };
}

describe('CSV format', () => {
  it('writes every awkward value so that csv-parse reads the same records back', async () => {
    const path = join(dir, 'pg_awkward.csv');
    const result = await writeCsvFile(path, dataset(RECORDS));
    expect(result).toEqual({ records: RECORDS.length, escaping: 'leading-apostrophe' });
    const back = await readBack(path);
    expect(back.header).toEqual(FIELDS.map((f) => f.name));
    expect(back.records).toEqual(RECORDS.map(expected));
    // bigint and float precision, exactly
    expect(back.records[0]!.big).toBe(9036396042225763098n);
    expect((back.records[0]!.doc as { nested: { big: bigint } }).nested.big).toBe(9036396042225763098n);
    expect(back.records[3]!.x).toBe(1e-300);
    expect(await readdir(dir)).not.toContain('pg_awkward.csv.partial');
  });

  it('uses UTF-8 without BOM, CRLF, a header row, NULL as an unquoted empty field and "" for the empty string', async () => {
    const path = join(dir, 'conventions.csv');
    await writeCsvFile(path, dataset(RECORDS));
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
    const text = bytes.toString('utf8');
    expect(text.startsWith('id,label,n,big,x,price,ok,at,day,doc,tags,blob\r\n')).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    // record 2: '' label is quoted, the empty array and object are JSON, the empty Buffer is ''
    expect(text).toContain(
      '\r\nffffffff-ffff-4fff-bfff-ffffffffffff,"",0,-9223372036854775808,0,-0.0001,false,',
    );
    expect(text).toContain(',{},[],""\r\n');
    // record 3: all NULL but the id
    expect(text).toContain('\r\n00000000-0000-0000-0000-000000000000,,,,,,,,,,,\r\n');
    // JSON text keeps accents and bigints as they are
    expect(text).toContain('""leírás"":""Gyújtás ő/ű é""');
    expect(text).toContain('""big"":9036396042225763098}');
    expect(text).toContain(',true,2025-03-30T01:30:00.123456+00:00,2025-03-30,');
    expect(text).toContain('AAEC/v8=');
  });

  it('round-trips a single-column table whose values are NULL and empty', async () => {
    const path = join(dir, 'one.csv');
    const one: TabularDataset = {
      name: 'one',
      kind: 'table',
      fields: [{ name: 'v', type: 'text' }],
      records: async function* () {
        yield* [{ v: null }, { v: '' }, { v: 'x' }, { v: null }];
      },
    };
    await writeCsvFile(path, one);
    expect(await readFile(path, 'utf8')).toBe('v\r\n\r\n""\r\nx\r\n\r\n');
    const rows = parse(await readFile(path, 'utf8'), {
      cast: (value, context) => (value === '' && !context.quoting ? null : value),
      from_line: 2,
    }) as unknown[][];
    expect(rows).toEqual([[null], [''], ['x'], [null]]);
  });

  it('writes a header for an empty dataset', async () => {
    const path = join(dir, 'empty.csv');
    expect(await writeCsvFile(path, dataset([]))).toEqual({ records: 0, escaping: 'leading-apostrophe' });
    expect(await readFile(path, 'utf8')).toBe('id,label,n,big,x,price,ok,at,day,doc,tags,blob\r\n');
  });

  it('leaves neither the file nor a partial file when the records fail or the signal aborts', async () => {
    const failing = join(dir, 'failing.csv');
    await expect(
      writeCsvFile(
        failing,
        dataset(async function* () {
          yield RECORDS[0]!;
          throw new Error('store went away');
        }),
      ),
    ).rejects.toThrow('store went away');
    expect(existsSync(failing)).toBe(false);
    expect(existsSync(`${failing}.partial`)).toBe(false);

    const aborted = join(dir, 'aborted.csv');
    const controller = new AbortController();
    await expect(
      writeCsvFile(
        aborted,
        dataset(async function* () {
          for (let i = 0; i < 5000; i++) {
            if (i === 1500) controller.abort();
            yield { ...RECORDS[2]!, n: i };
          }
        }),
        { signal: controller.signal },
      ),
    ).rejects.toThrow(/abort/i);
    expect(existsSync(aborted)).toBe(false);
    expect(existsSync(`${aborted}.partial`)).toBe(false);
  });

  it('reads cells back by type', () => {
    expect(readCsvValue(null, 'text')).toBeNull();
    expect(readCsvValue('', 'text')).toBe('');
    expect(readCsvValue('-12', 'integer')).toBe(-12);
    expect(readCsvValue('0.1', 'float')).toBe(0.1);
    expect(readCsvValue('NaN', 'float')).toBeNaN();
    expect(readCsvValue('-Infinity', 'float')).toBe(-Infinity);
    expect(readCsvValue('9036396042225763098', 'bigint')).toBe(9036396042225763098n);
    expect(readCsvValue('True', 'boolean')).toBe(true);
    expect(readCsvValue('f', 'boolean')).toBe(false);
    expect(() => readCsvValue('yes', 'boolean')).toThrow();
    expect(() => readCsvValue('abc', 'integer')).toThrow();
    expect(readCsvValue('[1,"a",null]', 'array')).toEqual([1, 'a', null]);
    expect(readCsvValue('{"a":9036396042225763098}', 'json')).toEqual({ a: 9036396042225763098n });
    expect(readCsvValue('AAEC/v8=', 'bytes')).toEqual(Buffer.from([0, 1, 2, 254, 255]));
    expect(readCsvValue('12345.6700', 'numeric')).toBe('12345.6700');
  });

  describe('formula safety', () => {
    /** Every cell of a CSV file as csv-parse reads it (header included), NULL as null. */
    async function cells(path: string): Promise<Array<Array<string | null>>> {
      return parse(await readFile(path, 'utf8'), {
        cast: (value, context) => (value === '' && !context.quoting ? null : value),
      }) as Array<Array<string | null>>;
    }
    /** A spreadsheet runs these as formulas; a negative number is only a number. */
    const dangerous = (cell: string) =>
      /^[=+\-@\t\r]/.test(cell) && !/^-\d+(\.\d+)?(e[-+]?\d+)?$/i.test(cell);

    it('writes no cell that a spreadsheet would run as a formula, header names included', async () => {
      const path = join(dir, 'formulas.csv');
      const fields = [...FIELDS, { name: '=HYPERLINK("x")', type: 'text' as const }];
      await writeCsvFile(path, awkwardDataset(FORMULA_RECORDS, 'formulas', { fields }));
      const rows = await cells(path);
      expect(rows).toHaveLength(FORMULA_RECORDS.length + 1);
      for (const row of rows)
        for (const cell of row) if (cell !== null) expect(dangerous(cell), JSON.stringify(cell)).toBe(false);
      expect(rows[0]!.at(-1)).toBe(`'=HYPERLINK("x")`);
    });

    it("prefixes a ' to formula-looking text and to text that starts with ', and leaves numbers as numbers", async () => {
      const path = join(dir, 'prefixes.csv');
      await writeCsvFile(path, dataset(FORMULA_RECORDS));
      const rows = (await cells(path)).slice(1);
      const column = (name: string) => rows.map((row) => row[FIELDS.findIndex((f) => f.name === name)]);
      const labels = column('label');
      FORMULA_STARTS.forEach((start, i) => expect(labels[i]).toBe(`'${start}cmd|' /C calc'!A0`));
      expect(labels.slice(FORMULA_STARTS.length)).toEqual([
        "'=1+1",
        "''already quoted",
        "'''two quotes",
        "''",
        '-5',
        "'-5+cmd",
        'a=b+c-d@e',
        "'+36 30 123 4567",
        "'@SUM(A1:A9)",
        "'\r\n=2+2",
        ' =not at the start',
      ]);
      // numbers, negative ones included, are written as numbers
      expect(column('n').slice(0, 2)).toEqual(['-5', '-5']);
      expect(column('big')[0]).toBe('-9223372036854775808');
      expect(column('x')[0]).toBe('-0.5');
      expect(column('price')[0]).toBe('-12.50');
      // -Infinity is no number to a spreadsheet: escaped like text
      expect(column('x')[FORMULA_STARTS.length]).toBe("'-Infinity");
      // base64 may start with +
      expect(column('blob')[FORMULA_STARTS.length + 8]).toBe("'++8=");
    });
  });

  it('streams 200k rows in bounded memory', async () => {
    const path = join(dir, 'large.csv');
    const rows = 200_000;
    const large = largeDataset(rows);
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    expect(await writeCsvFile(path, large)).toMatchObject({ records: rows });
    const seconds = (performance.now() - started) / 1000;
    const growth = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    console.log(
      `CSV: ${rows} rows in ${seconds.toFixed(2)} s (${Math.round(rows / seconds)} rows/s), heap +${growth.toFixed(1)} MiB`,
    );
    expect(growth).toBeLessThan(100);
    const text = await readFile(path, 'utf8');
    expect(text.split('\r\n')).toHaveLength(rows + 2);
  }, 60_000);
});
