/**
 * CSV files (RFC 4180): UTF-8 without a BOM, comma-separated, CRLF record ends (RFC 4180 and Python's
 * `csv` module, which the original exporter used), one header row of field names.
 *
 * NULL and the empty string follow PostgreSQL's CSV convention (`COPY … (FORMAT csv)`):
 *
 * - NULL is an empty, unquoted field (`a,,b`);
 * - the empty string is a quoted empty field (`a,"",b`);
 * - any other value is its `valueText` rendering (json and array fields: always their JSON text),
 *   quoted only when it holds `"`, `,`, CR or LF.
 *
 * Formula safety (docs/decisions/0008-csv-formula-safety.md): a spreadsheet runs a cell that starts
 * with `=`, `+`, `-`, `@`, tab or CR as a formula (`=cmd|' /C calc'!A0`). Such a cell, header names
 * included, is written with a `'` in front (OWASP's advice), and so is a cell that starts with `'`
 * itself, so the prefix is never ambiguous; a negative number (`-5`, `-1.5e-7`) is a number, not a
 * formula, and stays as it is. The export's manifest declares the scheme on each CSV file
 * (`"escaping": "leading-apostrophe"`), and the reader removes the one `'` of every cell that starts
 * with one — only then: a CSV without that declaration (hand-made) is read as it is.
 *
 * `readCsvValue` is the inverse of one (unescaped) cell, for readers that can tell a quoted field from
 * an unquoted one (csv-parse's `cast` receives `context.quoting`).
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { stringify, type Options } from 'csv-stringify/sync';
import type { ExportValue, FieldType, TabularDataset } from '../../model/dataset.ts';
import { jsonText, valueText } from '../text-values.ts';
import { parseExactJson } from '../../model/exact-json.ts';

/** The formula-safety scheme of the CSV files this module writes, as the export manifest declares it. */
export const CSV_ESCAPING = 'leading-apostrophe';
export type CsvEscaping = typeof CSV_ESCAPING;

/** A cell a spreadsheet would read as a formula, or one that starts with the escape itself. */
const NEEDS_APOSTROPHE = /^[=+\-@\t\r']/;
/** A negative decimal number: starts with `-`, but no spreadsheet reads it as a formula. */
const NEGATIVE_NUMBER = /^-(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** One cell's text as written: with a `'` in front when a spreadsheet would run it or it starts with `'`. */
export function escapeCsvText(text: string): string {
  return NEEDS_APOSTROPHE.test(text) && !NEGATIVE_NUMBER.test(text) ? `'${text}` : text;
}

/** The inverse of {@link escapeCsvText}: one leading `'` removed. */
export function unescapeCsvText(text: string): string {
  return text.charCodeAt(0) === 0x27 ? text.slice(1) : text;
}

export interface CsvWriteOptions {
  signal?: AbortSignal;
}

/** How often (in records) a running write looks at its abort signal. */
const SIGNAL_EVERY = 1000;
/** Records per csv-stringify call. */
const BATCH_ROWS = 1000;

const STRINGIFY_OPTIONS: Options = {
  record_delimiter: 'windows',
  // Quote fields holding a bare CR or LF too, not only CRLF.
  quote_record_delimiter: true,
  bom: false,
  eof: true,
  // NULL (null) is written as an empty unquoted field; the empty string alone is quoted. (The
  // `quoted_empty` option would quote NULL as well.)
  cast: { string: (value) => (value === '' ? { value: '', quoted_empty: true } : value) },
};

/**
 * Renders one value as a CSV cell: `null` stays `null` (written as an unquoted empty field). json and
 * array fields are always JSON text, so a JSON string value (`"abc"`) keeps its quotes and reads back as
 * a string; `valueText` would give its bare text, which does not parse as JSON.
 */
export function csvCell(value: ExportValue | undefined, type: FieldType): string | null {
  if (value === null || value === undefined) return null;
  if (type === 'json' || type === 'array') return escapeCsvText(jsonText(value));
  return escapeCsvText(valueText(value));
}

/**
 * Writes one dataset as a CSV file: to `<path>.partial` first, renamed to `path` only once complete.
 * Records stream from the dataset through csv-stringify to the file with back-pressure. Returns the
 * escaping the file's manifest entry must declare, so that readers undo it.
 */
export async function writeCsvFile(
  path: string,
  dataset: TabularDataset,
  options: CsvWriteOptions = {},
): Promise<{ records: number; escaping: CsvEscaping }> {
  const { signal } = options;
  signal?.throwIfAborted();
  const partial = `${path}.partial`;
  const names = dataset.fields.map((field) => field.name);
  const types = dataset.fields.map((field) => field.type);
  let records = 0;

  // Batches of records go through csv-stringify's synchronous API and the CSV text streams to the
  // file: the same output as its object-mode stream at about twice the speed.
  async function* chunks(): AsyncGenerator<string> {
    yield stringify([names.map(escapeCsvText)], STRINGIFY_OPTIONS);
    let batch: Array<Array<string | null>> = [];
    for await (const record of dataset.records()) {
      if (records % SIGNAL_EVERY === 0) signal?.throwIfAborted();
      const row = new Array<string | null>(names.length);
      for (let i = 0; i < names.length; i++) row[i] = csvCell(record[names[i]!], types[i]!);
      batch.push(row);
      records++;
      if (batch.length >= BATCH_ROWS) {
        yield stringify(batch, STRINGIFY_OPTIONS);
        batch = [];
      }
    }
    if (batch.length > 0) yield stringify(batch, STRINGIFY_OPTIONS);
  }

  await mkdir(dirname(path), { recursive: true });
  try {
    await pipeline(chunks, createWriteStream(partial, { flush: true }), { signal });
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { records, escaping: CSV_ESCAPING };
}

/**
 * Reads one CSV cell back into the typed value: `null` (the NULL marker, an unquoted empty field as
 * the reader reports it) stays `null`; integer and float become numbers, bigint a bigint, boolean a
 * boolean (`true`/`false`, also `t`/`f`, `1`/`0` and Python's `True`/`False`), json and array the exact
 * JSON value (bigints kept), bytes a Buffer from base64; the other types are the text itself.
 */
export function readCsvValue(text: string | null | undefined, type: FieldType): ExportValue {
  if (text === null || text === undefined) return null;
  switch (type) {
    case 'integer':
    case 'float': {
      const number = Number(text);
      if (text.trim() === '' || (Number.isNaN(number) && text.trim() !== 'NaN')) {
        throw new Error(`not a number: ${JSON.stringify(text)}`);
      }
      return number;
    }
    case 'bigint':
      return BigInt(text);
    case 'boolean': {
      const lower = text.trim().toLowerCase();
      if (lower === 'true' || lower === 't' || lower === '1') return true;
      if (lower === 'false' || lower === 'f' || lower === '0') return false;
      throw new Error(`not a boolean: ${JSON.stringify(text)}`);
    }
    case 'json':
    case 'array':
      return parseExactJson(text) as ExportValue;
    case 'bytes':
      return Buffer.from(text, 'base64');
    default:
      return text;
  }
}
