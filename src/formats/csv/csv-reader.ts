/**
 * Reads a folder of CSV files for import (docs/formats.md, "CSV"): the inverse of the CSV export.
 *
 * Files are routed by name — `pg_<table>.csv` to a PostgreSQL table, `neo4j_<Label>.csv` to nodes,
 * `neo4j_rel_<TYPE>.csv` to relationships (and the original tool's `neo4j_relationships.csv`, whose
 * records name their own type); `dtc_codes_full.csv` is a derived view and other names are not
 * imported (a notice each). Datasets come tables first, then nodes, then relationships, so every node
 * exists before a relationship names it.
 *
 * A cell has no type of its own: the types come from the export's `manifest.json` (in the folder or
 * its parent), whose CSV file entries list their fields. Without one, values are the raw text: `null`
 * for an unquoted empty field, `''` for a quoted one (`""`), as the export writes NULL and the empty
 * string. A file whose manifest entry declares `"escaping": "leading-apostrophe"` (every CSV file of an
 * export) has the `'` the writer put in front of formula-looking cells and header names removed
 * (`csv-format.ts`); without that declaration a cell is read as it is.
 *
 * Streamed: bytes → strict UTF-8 decoding (a BOM is dropped, invalid bytes and NUL are errors) →
 * csv-parse → records; nothing holds a whole file. A file that is not valid CSV throws
 * `AcxError('INVALID_INPUT')` naming the file and line; a cell that does not parse as its declared type
 * is kept as text and reported in the record's `problems`.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { CsvError, parse, type Parser } from 'csv-parse';
import { z } from 'zod';
import { AcxError } from '../../errors.ts';
import { FIELD_TYPES, type FieldType } from '../../model/dataset.ts';
import type { InputDataset, InputField, InputRecord, InputSource } from '../../model/input.ts';
import { parseExactJson } from '../../model/exact-json.ts';
import { CSV_ESCAPING, readCsvValue, unescapeCsvText } from './csv-format.ts';
import {
  routeNeo4jName,
  routeRank,
  setColumnValue,
  setValue,
  type Route as BaseRoute,
} from '../input-routing.ts';
import { checkedInput, isJsonTooDeep, TOO_DEEP } from '../input-values.ts';
import { completeUtf8Length, firstInvalidUtf8 } from '../input-text.ts';

/** The largest record accepted, in characters: bounds memory when a quote is never closed. */
export const MAX_CSV_RECORD_CHARS = 128 * 1024 * 1024;
/** The export manifest's name and `format` (src/operations/export.ts). */
const MANIFEST_FILE = 'manifest.json';
const EXPORT_MANIFEST_FORMAT = 'acx-data-export';
/** A manifest larger than this is not an export manifest. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** `dtc_codes_full.csv`: a view of `pg_dtc_codes.csv` with translation status, written for people. */
const DERIVED_FILES = new Set(['dtc_codes_full.csv']);
type Route = BaseRoute & { name: string };

/** Where a CSV file's records go, from its name; undefined when it is not a dataset file. */
export function routeCsvFile(fileName: string): Route | undefined {
  const stem = fileName.replace(/\.csv$/i, '');
  const match = /^pg_(.+)$/.exec(stem);
  if (match) return { target: { store: 'postgres', table: match[1]! }, name: match[1]! };
  const route = routeNeo4jName(stem);
  return route ? { ...route, name: stem } : undefined;
}

const fieldSchema = z.object({
  name: z.string(),
  type: z.enum(FIELD_TYPES),
  source: z.string().optional(),
});
const exportManifestSchema = z.looseObject({
  format: z.literal(EXPORT_MANIFEST_FORMAT),
  files: z.array(
    z.looseObject({
      path: z.string(),
      fields: z.array(fieldSchema).optional(),
      escaping: z.literal(CSV_ESCAPING).optional(),
    }),
  ),
});
type DeclaredField = z.infer<typeof fieldSchema>;

interface Manifest {
  file: string;
  /** Absolute CSV path → its fields. */
  fields: Map<string, DeclaredField[]>;
  /** Absolute CSV paths whose cells carry the writer's formula escaping. */
  escaped: Set<string>;
}

function invalid(file: string, message: string, hint?: string, cause?: unknown): AcxError {
  return new AcxError('INVALID_INPUT', `${file}: ${message}`, { subject: file, hint, cause });
}

/**
 * The export manifest that describes the CSV files of `dir`: `dir/manifest.json` or the one in its
 * parent (an export's `csv/` folder). A manifest.json that is not an export's is ignored (a notice); one
 * that claims to be an export's but is not valid is an error.
 */
async function readExportManifest(dir: string, notices: string[]): Promise<Manifest | undefined> {
  const absolute = resolve(dir);
  for (const candidateDir of [absolute, dirname(absolute)]) {
    const file = join(candidateDir, MANIFEST_FILE);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) continue;
    if (info.size > MAX_MANIFEST_BYTES) {
      notices.push(`${file}: ignored, too large for an export manifest`);
      continue;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (cause) {
      throw invalid(
        file,
        `not valid JSON (${(cause as Error).message})`,
        'repair or remove the manifest: without it the CSV values are read as text',
        cause,
      );
    }
    if (
      raw === null ||
      typeof raw !== 'object' ||
      (raw as { format?: unknown }).format !== EXPORT_MANIFEST_FORMAT
    ) {
      notices.push(`${file}: ignored, not an acx-data export manifest`);
      continue;
    }
    const parsed = exportManifestSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalid(
        file,
        `malformed export manifest at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
        'repair or remove the manifest: without it the CSV values are read as text',
      );
    }
    const fields = new Map<string, DeclaredField[]>();
    const escaped = new Set<string>();
    for (const entry of parsed.data.files) {
      if (entry.escaping) escaped.add(resolve(candidateDir, entry.path));
      if (!entry.fields) continue;
      const names = new Set<string>();
      for (const field of entry.fields) {
        if (names.has(field.name))
          throw invalid(
            file,
            `the entry for ${entry.path} lists the field ${JSON.stringify(field.name)} twice`,
          );
        names.add(field.name);
      }
      fields.set(resolve(candidateDir, entry.path), entry.fields);
    }
    if (candidateDir === absolute) {
      // The export's manifest copied into its csv/ folder: `csv/<name>.csv` means the file beside it.
      for (const entry of parsed.data.files) {
        const name = /^csv\/([^/]+)$/.exec(entry.path)?.[1];
        const path = name === undefined ? undefined : join(absolute, name);
        if (path === undefined || fields.has(path) || escaped.has(path)) continue;
        if (entry.fields) fields.set(path, entry.fields);
        if (entry.escaping) escaped.add(path);
      }
    }
    return { file, fields, escaped };
  }
  return undefined;
}

/**
 * Opens a folder of CSV files as an import input. Throws NOT_FOUND when `dir` does not exist or holds
 * no CSV file, USAGE when it is not a folder, INVALID_INPUT when its export manifest is malformed.
 */
export async function openCsvInput(dir: string): Promise<InputSource> {
  const info = await stat(dir).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT' || cause.code === 'ENOTDIR')
      throw new AcxError('NOT_FOUND', `${dir}: no such folder`, {
        subject: dir,
        hint: 'give the folder holding the CSV files (an export’s csv/ folder)',
        cause,
      });
    throw new AcxError('USAGE', `${dir}: cannot read (${cause.message})`, { subject: dir, cause });
  });
  if (!info.isDirectory())
    throw new AcxError('USAGE', `${dir}: not a folder`, {
      subject: dir,
      hint: 'CSV import reads a folder of CSV files (an export’s csv/ folder), not a single file',
    });

  const notices: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch((cause: Error) => {
    throw new AcxError('USAGE', `${dir}: cannot list the folder (${cause.message})`, { subject: dir, cause });
  });
  const csvNames: string[] = [];
  for (const entry of entries) {
    if (!/\.csv$/i.test(entry.name)) continue;
    const path = join(dir, entry.name);
    // A link is followed wherever it points (an input may live anywhere); one to nothing is said.
    const target = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
    if (!target) throw brokenLink(path, await readlink(path).catch(() => '?'));
    if (target.isFile()) csvNames.push(entry.name);
    else notices.push(`${path}: not imported: not a file`);
  }
  csvNames.sort();
  if (csvNames.length === 0) {
    const nested = entries.some((e) => e.isDirectory() && e.name === 'csv');
    throw new AcxError('NOT_FOUND', `${dir}: no CSV files`, {
      subject: dir,
      hint: nested
        ? `the CSV files of an export are in ${join(dir, 'csv')}`
        : 'give the folder holding the *.csv files',
    });
  }

  const manifest = await readExportManifest(dir, notices);
  const routed: Array<{ fileName: string; route: Route }> = [];
  for (const fileName of csvNames) {
    const route = routeCsvFile(fileName);
    if (DERIVED_FILES.has(fileName)) {
      notices.push(
        `${join(dir, fileName)}: not imported: a derived view of pg_dtc_codes.csv, which is imported instead`,
      );
    } else if (!route) {
      notices.push(
        `${join(dir, fileName)}: not imported: unknown file name (expected pg_<table>.csv, neo4j_<Label>.csv or neo4j_rel_<TYPE>.csv)`,
      );
    } else routed.push({ fileName, route });
  }
  routed.sort((a, b) => routeRank(a.route) - routeRank(b.route) || compare(a.fileName, b.fileName));

  // Every header is read now (a few bytes each), so a broken one fails before anything is imported and
  // every notice is known when the input opens.
  const datasets: InputDataset[] = [];
  for (const { fileName, route } of routed) {
    const file = join(dir, fileName);
    const declared = manifest?.fields.get(resolve(file));
    const escaped = manifest?.escaped.has(resolve(file)) ?? false;
    datasets.push(
      await openDataset(file, route, { declared, escaped, notices, manifestFile: manifest?.file }),
    );
  }

  return checkedInput({
    format: 'csv',
    file: dir,
    notices,
    async *datasets() {
      yield* datasets;
    },
  });
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function brokenLink(path: string, target: string): AcxError {
  return new AcxError('NOT_FOUND', `${path}: a symbolic link to ${target}, which does not exist`, {
    subject: path,
    hint: 'fix the link or remove it from the folder',
  });
}

/** Converts one cell; throws with the reason when it does not parse as `type`. */
type Converter = (cell: string | null) => unknown;

const INTEGER_TEXT = /^[-+]?\d+$/;
const FLOAT_TEXT = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|Infinity|NaN)$/;
const BASE64_TEXT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * One CSV cell as a value of `type` (`readCsvValue`, with stricter checks where it is lenient: an
 * integer must be decimal digits, bytes valid base64, an array a JSON array). `null` stays `null`.
 */
export function readCsvCell(cell: string | null, type: FieldType): unknown {
  if (cell === null) return null;
  if ((type === 'json' || type === 'array') && isJsonTooDeep(cell))
    throw new Error(`JSON ${TOO_DEEP}: ${preview(cell)}`);
  switch (type) {
    case 'integer': {
      const n = Number(cell);
      if (!INTEGER_TEXT.test(cell) || !Number.isSafeInteger(n))
        throw new Error(`not an integer: ${preview(cell)}`);
      return n;
    }
    case 'bigint':
      if (!INTEGER_TEXT.test(cell)) throw new Error(`not an integer: ${preview(cell)}`);
      return BigInt(cell);
    case 'float':
      if (!FLOAT_TEXT.test(cell)) throw new Error(`not a number: ${preview(cell)}`);
      break;
    case 'bytes':
      if (!BASE64_TEXT.test(cell)) throw new Error(`not base64: ${preview(cell)}`);
      break;
    case 'json':
      try {
        return parseExactJson(cell);
      } catch (error) {
        throw new Error(`not JSON (${(error as Error).message}): ${preview(cell)}`, { cause: error });
      }
    case 'array': {
      let value: unknown;
      try {
        value = parseExactJson(cell);
      } catch (error) {
        throw new Error(`not a JSON array (${(error as Error).message}): ${preview(cell)}`, { cause: error });
      }
      if (!Array.isArray(value)) throw new Error(`not a JSON array: ${preview(cell)}`);
      return value;
    }
  }
  return readCsvValue(cell, type);
}

/** A value's text, shortened for a problem report. */
function preview(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** `_labels`: a JSON array of label names. */
export function readLabels(cell: string | null): unknown {
  if (cell === null) return null;
  const value = readCsvCell(cell, 'array') as unknown[];
  if (!value.every((label) => typeof label === 'string'))
    throw new Error(`not an array of label names: ${preview(cell)}`);
  return value;
}

/** The original tool's `rel_props`: a JSON object of the relationship's properties. */
function readProperties(cell: string | null): Record<string, unknown> | null {
  if (cell === null || cell === '') return null;
  const value = readCsvCell(cell, 'json');
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`not a JSON object: ${preview(cell)}`);
  return value as Record<string, unknown>;
}

/** Reads a file's header and describes its dataset; its records stream from a second pass, each time `records()` is called. */
async function openDataset(
  file: string,
  route: Route,
  manifest: {
    declared: readonly DeclaredField[] | undefined;
    /** The cells carry the writer's formula escaping (a `'` to remove). */
    escaped: boolean;
    notices: string[];
    manifestFile: string | undefined;
  },
): Promise<InputDataset> {
  const { declared, escaped, notices, manifestFile } = manifest;
  const header = (await readHeader(file)).map((name) => (escaped ? unescapeCsvText(name) : name));
  const byName = new Map((declared ?? []).map((field) => [field.name, field]));
  if (declared) {
    const missing = header.filter((name) => !byName.has(name));
    if (missing.length > 0)
      notices.push(
        `${file}: columns ${missing.join(', ')} are not in ${manifestFile}; their values are read as text`,
      );
  }

  // The original's one relationship file names each record's type in `rel_type` (or `type`).
  const typeColumn =
    route.legacy && !header.includes('_type')
      ? (header.find((c) => c === 'type') ?? header.find((c) => c === 'rel_type'))
      : undefined;
  const fields: InputField[] = [];
  /** Per column: the name it gets in the record, and how its cell is read. */
  const columns: Array<{ name: string; read: Converter | undefined; spread?: boolean }> = [];
  for (const column of header) {
    const spec = byName.get(column);
    let name = column;
    let read: Converter | undefined;
    const field: InputField = { name };
    if (spec) {
      field.type = spec.type;
      if (spec.source !== undefined) field.source = spec.source;
      read = (cell) => readCsvCell(cell, spec.type);
    }
    if (route.label !== undefined && column === '_labels') {
      const label = route.label;
      field.type = 'array';
      read = (cell) => (cell === null ? [label] : readLabels(cell));
    }
    if (column === typeColumn) {
      name = '_type';
      field.name = name;
    }
    if (route.legacy && column === 'rel_props') {
      // The original kept every property in one JSON object: its keys become the record's values.
      columns.push({ name, read: readProperties, spread: true });
      continue;
    }
    fields.push(field);
    columns.push({ name, read });
  }
  const addLabels = route.label !== undefined && !header.includes('_labels');
  if (addLabels) fields.unshift({ name: '_labels', type: 'array' });
  const labels = route.label !== undefined ? [route.label] : [];
  const names = new Set(fields.map((f) => f.name));

  return {
    file,
    name: route.name,
    target: route.target,
    fields,
    async *records(): AsyncGenerator<InputRecord> {
      let first = true;
      for await (const row of csvRows(file, header.length)) {
        if (first) {
          first = false;
          continue;
        }
        const values: Record<string, unknown> = {};
        if (addLabels) values._labels = [...labels];
        let problems: InputRecord['problems'];
        for (let i = 0; i < columns.length; i++) {
          const column = columns[i]!;
          const raw = row.cells[i] ?? null;
          const cell = escaped && raw !== null ? unescapeCsvText(raw) : raw;
          let value: unknown = cell;
          if (column.read) {
            try {
              value = column.read(cell);
            } catch (error) {
              (problems ??= []).push({ field: column.name, reason: (error as Error).message });
              setValue(values, column.name, cell);
              continue;
            }
          }
          const found: NonNullable<InputRecord['problems']> = [];
          setColumnValue(values, names, column, value, found);
          if (found.length > 0) (problems ??= []).push(...found);
        }
        yield problems ? { line: row.line, values, problems } : { line: row.line, values };
      }
    },
  };
}

/** The header row's column names; every name non-empty and unique. */
async function readHeader(file: string): Promise<string[]> {
  for await (const row of csvRows(file, undefined)) {
    const names: string[] = [];
    const seen = new Set<string>();
    row.cells.forEach((cell, i) => {
      if (cell === null || cell.trim() === '')
        throw invalid(file, `line 1: column ${i + 1} of the header has no name`, 'every column needs a name');
      if (seen.has(cell))
        throw invalid(
          file,
          `line 1: the header names the column ${JSON.stringify(cell)} twice`,
          'column names must be unique',
        );
      seen.add(cell);
      names.push(cell);
    });
    return names;
  }
  throw invalid(file, 'empty file: no header row', 'a CSV file starts with a header row of column names');
}

interface CsvRow {
  /** Where the row starts (1-based physical line). */
  line: number;
  /** `null` for an unquoted empty field. */
  cells: Array<string | null>;
}

/** Line breaks in a text: CRLF, LF or a lone CR each count once. */
function lineBreaks(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) if (text[i + 1] !== '\n') n++;
  return n;
}

/**
 * Which fields of a record's raw text are quoted (RFC 4180: a quoted field starts with `"`). The raw
 * text is valid CSV (csv-parse parsed it), so a scan from comma to comma outside quotes finds them.
 */
function quotedFields(raw: string): boolean[] {
  const quoted: boolean[] = [];
  const n = raw.length;
  let i = 0;
  for (;;) {
    if (raw.charCodeAt(i) === 0x22) {
      quoted.push(true);
      for (i++; i < n; i++) {
        if (raw.charCodeAt(i) !== 0x22) continue;
        if (raw.charCodeAt(i + 1) === 0x22) i++;
        else break;
      }
    } else quoted.push(false);
    while (i < n && raw.charCodeAt(i) !== 0x2c && raw.charCodeAt(i) !== 0x0d && raw.charCodeAt(i) !== 0x0a)
      i++;
    if (raw.charCodeAt(i) !== 0x2c) return quoted;
    i++;
  }
}

/** What csv-parse emits: a record with its raw text, or (in order) the error that ended parsing. */
type Parsed = { record: string[]; raw: string } | { failed: CsvError };

/**
 * Every row of a CSV file, the header first, with the physical line where it starts. `columns`: the
 * header's length, when known; a row of another length is an error (a blank line at the very end of
 * the file is ignored, any other one is a ragged row).
 *
 * An empty field is NULL unless it is quoted (`""`, the empty string): csv-parse's `cast` could tell
 * (`context.quoting`) but builds a context object per field, 8× slower; the few records with an empty
 * field are looked at in their raw text instead. Lines are counted here, from the rows' contents (a
 * row is one line plus the line breaks inside its quoted fields): csv-parse's `info.lines` counts a
 * CRLF inside a quoted field twice. A parse error reaches the reader in order, after the last good
 * row (`skip_records_with_error` + a marker pushed by `on_skip`), so its line is the line of the row
 * that failed; a stream error would drop the rows parsed before it, and with them the count.
 */
async function* csvRows(file: string, columns: number | undefined): AsyncGenerator<CsvRow> {
  const decoded = new Utf8Chunks(file);
  const source = Readable.from(decoded.chunks(), { objectMode: false });
  let failed = false;
  const parser: Parser = parse({
    raw: true,
    relax_column_count: true,
    skip_empty_lines: false,
    max_record_size: MAX_CSV_RECORD_CHARS,
    // Reading the header only: stop after it, whatever follows.
    ...(columns === undefined ? { to: 1 } : {}),
    skip_records_with_error: true,
    on_skip: (error) => {
      if (failed || !error) return;
      failed = true;
      parser.push({ failed: error } satisfies Parsed);
    },
  });
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  /** Where the next row starts. */
  let line = 1;
  let blank: number | undefined;
  try {
    for await (const parsed of parser as AsyncIterable<Parsed>) {
      if ('failed' in parsed)
        throw invalid(file, csvProblem(parsed.failed, line), csvHint(parsed.failed), parsed.failed);
      const { record, raw } = parsed;
      const start = line;
      line++;
      let quoted: boolean[] | undefined;
      const cells: Array<string | null> = record;
      for (let i = 0; i < record.length; i++) {
        const cell = record[i]!;
        if (cell === '') {
          // An unquoted empty field is NULL, a quoted one the empty string (docs/formats.md).
          quoted ??= quotedFields(raw);
          if (!quoted[i]) cells[i] = null;
        } else if (cell.length > 0) line += lineBreaks(cell);
      }
      if (columns !== undefined && cells.length !== columns) {
        if (cells.length === 1 && cells[0] === null) {
          blank ??= start;
          continue;
        }
        throw invalid(
          file,
          `line ${start}: ${cells.length} ${cells.length === 1 ? 'field' : 'fields'} where the header has ${columns}`,
          'every row needs as many fields as the header (quote a field holding a comma)',
        );
      }
      if (blank !== undefined)
        throw invalid(file, `line ${blank}: a blank line inside the data`, 'remove the blank line');
      yield { line: start, cells };
    }
  } catch (error) {
    if (error instanceof AcxError) throw error;
    if (error instanceof CsvError) throw invalid(file, csvProblem(error, line), csvHint(error), error);
    throw invalid(file, `cannot read: ${(error as Error).message}`, undefined, error);
  } finally {
    source.destroy();
    parser.destroy();
  }
}

function csvProblem(error: CsvError, line: number): string {
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return `line ${line}: a quoted field in the row starting here is never closed (unterminated quote)`;
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `line ${line}: a quoted field in the row starting here goes on after its closing quote`;
    case 'INVALID_OPENING_QUOTE':
      return `line ${line}: a quote inside an unquoted field in the row starting here`;
    case 'CSV_MAX_RECORD_SIZE':
      return `line ${line}: the row starting here is longer than ${MAX_CSV_RECORD_CHARS / 1024 / 1024} MiB (an unterminated quote?)`;
    default:
      return `line ${line}: ${error.message}`;
  }
}

function csvHint(error: CsvError): string {
  return error.code === 'CSV_MAX_RECORD_SIZE' || error.code === 'CSV_QUOTE_NOT_CLOSED'
    ? 'a quote opened in a field must be closed; a quote inside a field is written twice ("")'
    : 'RFC 4180: quote a field that holds a comma, quote or line break, and double the quotes inside it';
}

/**
 * A file's bytes, checked to be UTF-8 text: a leading BOM is dropped; an invalid byte sequence or a
 * NUL character (a binary file) is an INVALID_INPUT error naming the line.
 */
class Utf8Chunks {
  private line = 1;
  private lastWasCr = false;

  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** The file's bytes, checked, in chunks that end on a whole character (csv-parse decodes them). */
  async *chunks(): AsyncGenerator<Buffer> {
    let carry: Buffer = Buffer.alloc(0);
    let start = true;
    for await (const chunk of createReadStream(this.file, { highWaterMark: 256 * 1024 })) {
      let bytes = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
      if (start) {
        if (bytes.length < 3) {
          carry = bytes; // too short to tell whether it starts with a BOM
          continue;
        }
        start = false;
        if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
      }
      const end = completeUtf8Length(bytes);
      carry = Buffer.from(bytes.subarray(end));
      const whole = this.check(bytes.subarray(0, end));
      if (whole.length > 0) yield whole;
    }
    if (start && carry[0] === 0xef && carry[1] === 0xbb && carry[2] === 0xbf) carry = carry.subarray(3);
    // What is left is a short file, or a UTF-8 sequence cut by the end of the file (an error).
    if (carry.length > 0) yield this.check(carry);
  }

  /** Throws on invalid UTF-8 or a NUL byte, naming the line; counts the lines. */
  private check(bytes: Buffer): Buffer {
    if (!isUtf8(bytes)) {
      const bad = firstInvalidUtf8(bytes);
      this.count(bytes.subarray(0, bad));
      throw invalid(
        this.file,
        `line ${this.line}: not UTF-8 (byte 0x${bytes[bad]!.toString(16).padStart(2, '0')})`,
        'save the file as UTF-8 (CSV import reads UTF-8 only)',
      );
    }
    const nul = bytes.indexOf(0);
    if (nul >= 0) {
      this.count(bytes.subarray(0, nul));
      throw invalid(this.file, `line ${this.line}: a NUL character: a binary file, not CSV text`);
    }
    this.count(bytes);
    return bytes;
  }

  /** Line breaks: CRLF, LF and a lone CR count once each, also when a CRLF is split between chunks. */
  private count(bytes: Buffer): void {
    if (bytes.length === 0) return;
    let n = 0;
    for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) n++;
    for (let i = bytes.indexOf(0x0d); i >= 0; i = bytes.indexOf(0x0d, i + 1))
      if (i + 1 < bytes.length && bytes[i + 1] !== 0x0a) n++;
    // A CR that ended the previous chunk is a break of its own unless this chunk starts with its LF.
    if (this.lastWasCr && bytes[0] !== 0x0a) n++;
    this.line += n;
    this.lastWasCr = bytes[bytes.length - 1] === 0x0d;
  }
}
