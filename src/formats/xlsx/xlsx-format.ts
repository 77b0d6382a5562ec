/**
 * Excel export (`.xlsx`), streamed with exceljs's `stream.xlsx.WorkbookWriter`: rows are committed
 * as they are written, so memory stays flat whatever the dataset size.
 *
 * Workbook layout: a first `Summary` sheet (the caller's rows, then one row per data sheet with its
 * record count), then one sheet per dataset. Every data sheet has a styled, frozen header row (bold
 * white on #4472C4, centered, thin border — as the original exporter) and column widths taken from the
 * header and the first rows (capped at 50). A dataset longer than the per-sheet row limit continues
 * on `<name> (2)`, `<name> (3)`, … each with the same header.
 *
 * Cell types (lossless unless noted; `docs/formats.md` has the table):
 *
 * - integer, bigint: a number cell when it has at most 15 significant digits (Excel keeps 15), else
 *   the decimal digits as text;
 * - float: a number cell; NaN and ±Infinity, which Excel lacks, as text (`NaN`, `Infinity`);
 * - boolean: a boolean cell;
 * - date: a date cell (`yyyy-mm-dd`) from 1900-03-01 to 9999-12-31 (Excel's serial dates are wrong
 *   before March 1900), otherwise text;
 * - timestamp: text, the exact ISO form (an Excel date has no offset and only milliseconds);
 * - text, uuid, numeric: text (numeric stays exact decimal text: Excel numbers are doubles);
 * - json, array: compact JSON text (`jsonText`, also for a JSON string scalar); bytes: base64 text;
 * - NULL: no cell. `''`: an inline string cell with empty text (blank in Excel, but not ISBLANK).
 *
 * Text that XML 1.0 cannot carry (control characters other than tab and LF), and CR (which XML
 * parsers turn into LF), is written with the OOXML `_xHHHH_` escape in an inline string, as Excel
 * does itself; text that happens to contain `_xHHHH_` literally is escaped the same way (`_x005F_`).
 * Text longer than Excel's 32,767-character cell limit is cut and ends with {@link TRUNCATION_MARKER};
 * the count of cut cells is returned.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import ExcelJS from 'exceljs';
import type { ExportRecord, ExportValue, FieldType, TabularDataset } from '../../model/dataset.ts';
import { jsonText, valueText } from '../text-values.ts';

/** Data rows per sheet: Excel's 1,048,576 rows less the header. */
export const EXCEL_MAX_DATA_ROWS = 1_048_575;
/** Excel's limit on the characters of one cell. */
export const EXCEL_MAX_CELL_CHARS = 32_767;
/** Ends a cell whose text was cut at the cell limit. */
export const TRUNCATION_MARKER = '…[truncated]';
export const SUMMARY_SHEET_NAME = 'Summary';

const MAX_SHEET_NAME = 31;
const MAX_COLUMN_WIDTH = 50;
const MIN_COLUMN_WIDTH = 8;
const WIDTH_SAMPLE_ROWS = 100;
const CHECK_EVERY = 1000;
/** Bytes queued inside exceljs/archiver beyond which writing waits for the zip to catch up. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** Integers with more digits than this lose digits in Excel. */
const EXCEL_EXACT_INTEGER = 1e15;

const HEADER_STYLE: Partial<ExcelJS.Style> = {
  font: { bold: true, color: { argb: 'FFFFFFFF' } },
  fill: { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FF4472C4' } },
  alignment: { horizontal: 'center', vertical: 'middle' },
  border: {
    top: { style: 'thin' },
    left: { style: 'thin' },
    bottom: { style: 'thin' },
    right: { style: 'thin' },
  },
};
const PLAIN_STYLE: Partial<ExcelJS.Style> = {};
const DATE_STYLE: Partial<ExcelJS.Style> = { numFmt: 'yyyy-mm-dd' };

export interface XlsxWriterOptions {
  /** Data rows per sheet before continuing on a numbered sheet (default {@link EXCEL_MAX_DATA_ROWS}). */
  maxRowsPerSheet?: number;
  signal?: AbortSignal;
  /** zlib level of the zip entries (default 6). */
  compressionLevel?: number;
}

export interface XlsxDatasetOptions {
  /** The sheet name to start from (default: the dataset's name); made Excel-safe and unique. */
  sheetName?: string;
  signal?: AbortSignal;
}

export interface XlsxDatasetResult {
  records: number;
  /** The sheets the dataset filled, in order. */
  sheets: string[];
  /** Cells whose text was cut at Excel's 32,767-character limit. */
  truncatedCells: number;
}

export interface XlsxCloseResult {
  path: string;
  /** Data records over all data sheets (the Summary sheet not counted). */
  records: number;
  /** Data rows per sheet, in workbook order (the Summary sheet not included). */
  sheets: Record<string, number>;
  truncatedCells: number;
}

type Cell = ExcelJS.CellValue;
type Converter = (value: Exclude<ExportValue, null>) => Cell;

/** Internal parts of exceljs's streaming writer this module relies on (checked at run time). */
interface WriterInternals {
  _worksheets?: unknown[];
}
/** A readable-stream v2 stream (archiver's), which lacks the `writableLength` getters. */
interface PipeInternals {
  _writableState?: { length?: number };
  _readableState?: { length?: number };
}
interface SheetInternals {
  stream?: { buffers?: unknown[]; bufSize?: number; pipes?: PipeInternals[] };
}

export class XlsxExportWriter {
  private readonly maxRows: number;
  private readonly signal: AbortSignal | undefined;
  private readonly compressionLevel: number;
  private path: string | undefined;
  private partialPath: string | undefined;
  private file: WriteStream | undefined;
  private workbook: ExcelJS.stream.xlsx.WorkbookWriter | undefined;
  private readonly usedNames = new Set<string>([SUMMARY_SHEET_NAME.toLowerCase()]);
  private readonly sheetRows: Array<[string, number]> = [];
  private summaryRows: Array<[string, string | number]> = [];
  private truncatedCells = 0;
  private failed = false;
  private closed = false;
  private fileError: Error | undefined;

  constructor(options: XlsxWriterOptions = {}) {
    this.maxRows = options.maxRowsPerSheet ?? EXCEL_MAX_DATA_ROWS;
    if (!Number.isInteger(this.maxRows) || this.maxRows < 1 || this.maxRows > EXCEL_MAX_DATA_ROWS) {
      throw new RangeError(`maxRowsPerSheet must be an integer from 1 to ${EXCEL_MAX_DATA_ROWS}`);
    }
    this.signal = options.signal;
    this.compressionLevel = options.compressionLevel ?? 6;
  }

  /** Starts `<path>.partial`; the final path appears only when {@link close} succeeds. */
  async open(path: string): Promise<void> {
    if (this.workbook) throw new Error('XlsxExportWriter is already open');
    this.signal?.throwIfAborted();
    this.path = path;
    this.partialPath = `${path}.partial`;
    const file = createWriteStream(this.partialPath);
    file.on('error', (error) => {
      this.fileError = error;
    });
    await new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', reject);
    });
    this.file = file;
    this.workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
      stream: file,
      useStyles: true,
      useSharedStrings: false,
      zip: { zlib: { level: this.compressionLevel } },
    });
  }

  /**
   * Rows for the first sheet, `Summary` (label, value), e.g. export time and filters. The sheet is
   * written at {@link close} and then put first, followed by one row per data sheet with its count.
   */
  addSummarySheet(rows: Array<[string, string | number]>): void {
    this.summaryRows = rows.map(([label, value]) => [label, value]);
  }

  async writeDataset(dataset: TabularDataset, options: XlsxDatasetOptions = {}): Promise<XlsxDatasetResult> {
    const workbook = this.requireOpen();
    const signal = options.signal ?? this.signal;
    try {
      return await this.writeSheets(workbook, dataset, options.sheetName ?? dataset.name, signal);
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  /** Writes the Summary sheet, finishes the zip and renames `<path>.partial` to the path. */
  async close(): Promise<XlsxCloseResult> {
    const workbook = this.requireOpen();
    const path = this.path as string;
    try {
      this.signal?.throwIfAborted();
      this.writeSummary(workbook);
      const done = new Promise<void>((resolve, reject) => {
        const file = this.file as WriteStream;
        if (file.closed) resolve();
        file.once('close', () => resolve());
        file.once('error', reject);
      });
      done.catch(() => undefined); // awaited below; a failure before that is handled by abort()
      await workbook.commit();
      await done;
      if (this.fileError) throw this.fileError;
      await rename(this.partialPath as string, path);
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.closed = true;
    return {
      path,
      records: this.sheetRows.reduce((sum, [, rows]) => sum + rows, 0),
      sheets: Object.fromEntries(this.sheetRows),
      truncatedCells: this.truncatedCells,
    };
  }

  /** Stops writing and removes `<path>.partial`. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.closed || this.failed) return;
    this.failed = true;
    const zip = (this.workbook as unknown as { zip?: { abort?: () => void } } | undefined)?.zip;
    try {
      zip?.abort?.();
    } catch {
      // already finished or failed: nothing left to stop
    }
    const file = this.file;
    if (file && !file.closed) {
      await new Promise<void>((resolve) => {
        file.once('close', () => resolve());
        file.destroy();
      });
    }
    if (this.partialPath) await rm(this.partialPath, { force: true });
  }

  private requireOpen(): ExcelJS.stream.xlsx.WorkbookWriter {
    if (this.failed) throw new Error('XlsxExportWriter failed earlier and was aborted');
    if (this.closed) throw new Error('XlsxExportWriter is closed');
    if (!this.workbook) throw new Error('XlsxExportWriter is not open');
    return this.workbook;
  }

  private async writeSheets(
    workbook: ExcelJS.stream.xlsx.WorkbookWriter,
    dataset: TabularDataset,
    sheetName: string,
    signal: AbortSignal | undefined,
  ): Promise<XlsxDatasetResult> {
    signal?.throwIfAborted();
    const fields = dataset.fields;
    const header = fields.map((f) => this.textCell(f.name));
    const converters = fields.map((f) => converterFor(f.type));
    const base = safeSheetName(sheetName);
    const sheets: string[] = [];
    const truncatedBefore = this.truncatedCells;

    // The first rows are held back to size the columns; they are converted once.
    const iterator = dataset.records()[Symbol.asyncIterator]();
    const sample: Cell[][] = [];
    let exhausted = false;
    while (sample.length < WIDTH_SAMPLE_ROWS) {
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        break;
      }
      sample.push(this.rowCells(next.value, fields, converters));
    }
    const widths = columnWidths(header, sample);
    const cellStyles = fields.map((f) => (f.type === 'date' ? DATE_STYLE : PLAIN_STYLE));

    let sheet: ExcelJS.Worksheet | undefined;
    let rowsInSheet = 0;
    let records = 0;
    const startSheet = (): ExcelJS.Worksheet => {
      if (sheet) {
        sheet.commit();
        this.finishSheet(sheets, rowsInSheet);
      }
      const name = this.uniqueName(sheets.length === 0 ? base : continuationBase(base, sheets.length + 1));
      sheets.push(name);
      const next = workbook.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
      next.columns = widths.map((width) => ({ width }));
      const headerRow = next.addRow(header);
      headerRow.eachCell((cell) => {
        cell.style = HEADER_STYLE;
      });
      headerRow.commit();
      rowsInSheet = 0;
      return next;
    };
    const writeRow = async (cells: Cell[]): Promise<void> => {
      if (!sheet || rowsInSheet >= this.maxRows) sheet = startSheet();
      const row = sheet.addRow(cells);
      // exceljs gives every cell a fresh style object and re-derives its style id from it (slow);
      // a shared object per column is looked up once (its cache is keyed by object).
      row.eachCell((cell, column) => {
        cell.style = cellStyles[column - 1] ?? PLAIN_STYLE;
      });
      row.commit();
      rowsInSheet++;
      records++;
      if (records % CHECK_EVERY === 0) {
        signal?.throwIfAborted();
        await this.drain(sheet);
      }
    };

    for (const cells of sample) await writeRow(cells);
    sample.length = 0;
    if (!exhausted) {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        await writeRow(this.rowCells(next.value, fields, converters));
      }
    }
    if (!sheet) sheet = startSheet(); // an empty dataset still gets its sheet with the header
    sheet.commit();
    this.finishSheet(sheets, rowsInSheet);
    signal?.throwIfAborted();
    return { records, sheets, truncatedCells: this.truncatedCells - truncatedBefore };
  }

  private finishSheet(sheets: string[], rows: number): void {
    const name = sheets[sheets.length - 1];
    if (name !== undefined) this.sheetRows.push([name, rows]);
  }

  private rowCells(record: ExportRecord, fields: TabularDataset['fields'], converters: Converter[]): Cell[] {
    const cells: Cell[] = new Array<Cell>(fields.length);
    for (let i = 0; i < fields.length; i++) {
      const value = record[(fields[i] as { name: string }).name];
      if (value === null || value === undefined) {
        cells[i] = null;
        continue;
      }
      const cell = (converters[i] as Converter)(value);
      cells[i] = typeof cell === 'string' ? this.textCell(cell) : cell;
    }
    return cells;
  }

  /** A string as an Excel cell: cut at the cell limit, escaped when XML cannot carry it as is. */
  private textCell(text: string): Cell {
    let value = text;
    if (value.length > EXCEL_MAX_CELL_CHARS) {
      let end = EXCEL_MAX_CELL_CHARS - TRUNCATION_MARKER.length;
      const last = value.charCodeAt(end - 1);
      if (last >= 0xd800 && last <= 0xdbff) end--; // do not split a surrogate pair
      value = value.slice(0, end) + TRUNCATION_MARKER;
      this.truncatedCells++;
    }
    if (value !== '' && !NEEDS_ESCAPE.test(value)) return value;
    // An inline string (`<is><r><t>`): its text is an ST_Xstring, where `_xHHHH_` is defined, and an
    // empty one is an empty string, where a plain `<v></v>` reads back as no value.
    return { richText: [{ text: escapeXstring(value) }] };
  }

  /** Lets the zip catch up when too much is queued in front of it. */
  private async drain(sheet: ExcelJS.Worksheet): Promise<void> {
    await yieldToLoop();
    const stream = (sheet as unknown as SheetInternals).stream;
    if (!stream) return;
    const pending = (): number =>
      (stream.buffers?.length ?? 0) * (stream.bufSize ?? 65536) +
      (stream.pipes ?? []).reduce(
        (sum, pipe) => sum + (pipe._writableState?.length ?? 0) + (pipe._readableState?.length ?? 0),
        0,
      );
    while (pending() > MAX_PENDING_BYTES) {
      if (this.fileError) throw this.fileError;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  private writeSummary(workbook: ExcelJS.stream.xlsx.WorkbookWriter): void {
    const sheet = workbook.addWorksheet(SUMMARY_SHEET_NAME);
    sheet.columns = [{ width: 28 }, { width: 40 }];
    const title = sheet.addRow(['AutoCognitix Data Export']);
    title.getCell(1).font = { bold: true, size: 14 };
    title.commit();
    sheet.addRow([]).commit();
    for (const [label, value] of this.summaryRows) {
      const row = sheet.addRow([
        this.textCell(label),
        typeof value === 'string' ? this.textCell(value) : value,
      ]);
      row.getCell(1).font = { bold: true };
      row.commit();
    }
    sheet.addRow([]).commit();
    const header = sheet.addRow(['Sheet', 'Rows']);
    header.eachCell((cell) => {
      cell.style = HEADER_STYLE;
    });
    header.commit();
    for (const [name, rows] of this.sheetRows) sheet.addRow([name, rows]).commit();
    sheet.commit();
    moveSheetFirst(workbook, sheet);
  }

  private uniqueName(wanted: string): string {
    let name = wanted;
    for (let n = 2; this.usedNames.has(name.toLowerCase()); n++) name = continuationBase(wanted, n);
    this.usedNames.add(name.toLowerCase());
    return name;
  }
}

/**
 * A streaming workbook lists its sheets in the order they were added, and a sheet added first
 * would hold every later sheet in memory until it is finished (its zip entry comes first). So the
 * Summary is added last and moved to the front of the writer's sheet list before the workbook part
 * is written; sheet files keep their ids, so nothing else changes.
 */
function moveSheetFirst(workbook: ExcelJS.stream.xlsx.WorkbookWriter, sheet: ExcelJS.Worksheet): void {
  const internals = workbook as unknown as WriterInternals;
  const list = internals._worksheets;
  if (!Array.isArray(list) || !list.includes(sheet)) {
    throw new Error('exceljs internals changed: cannot put the Summary sheet first');
  }
  // Index 0 stays a hole, as exceljs keeps it (sheet ids start at 1).
  const reordered: unknown[] = [];
  reordered[1] = sheet;
  for (const other of list) if (other && other !== sheet) reordered.push(other);
  internals._worksheets = reordered;
}

// XML 1.0 cannot carry C0 controls other than tab/LF/CR, nor U+FFFE/U+FFFF; CR does not survive
// parsing (it becomes LF); a literal `_xHHHH_` would be decoded by readers.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\u0000-\u0008\u000b\u000c\u000d\u000e-\u001f\ufffe\uffff]|_x[0-9a-fA-F]{4}_/;
// eslint-disable-next-line no-control-regex
const ESCAPED = /[\u0000-\u0008\u000b\u000c\u000d\u000e-\u001f\ufffe\uffff]|_(?=x[0-9a-fA-F]{4}_)/g;

/** ECMA-376 ST_Xstring escaping: `_xHHHH_` for a character, `_x005F_` for a literal `_` before one. */
export function escapeXstring(text: string): string {
  return text.replace(ESCAPED, (c) => `_x${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}_`);
}

/** The reverse of {@link escapeXstring}, as a reader does it. */
export function unescapeXstring(text: string): string {
  return text.replace(/_x([0-9a-fA-F]{4})_/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** An integer as a number cell when Excel keeps all its digits (15), else as its decimal text. */
function integerCell(value: number | bigint): Cell {
  if (typeof value === 'bigint') {
    return value > -1_000_000_000_000_000n && value < 1_000_000_000_000_000n ? Number(value) : String(value);
  }
  if (!Number.isFinite(value)) return valueText(value);
  return Number.isInteger(value) && Math.abs(value) >= EXCEL_EXACT_INTEGER ? String(value) : value;
}

/** A double as a number cell; NaN and ±Infinity, which Excel has no number for, as text. */
function floatCell(value: number | bigint): Cell {
  if (typeof value === 'bigint') return integerCell(value);
  return Number.isFinite(value) ? value : valueText(value);
}

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const EXCEL_FIRST_DATE = Date.UTC(1900, 2, 1);

function dateCell(value: string): Cell {
  const match = DATE_TEXT.exec(value);
  if (!match) return value;
  const time = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  const date = new Date(time);
  // Only real calendar dates (Date.UTC rolls 2025-02-30 over), inside Excel's serial-date range.
  if (time < EXCEL_FIRST_DATE || date.toISOString().slice(0, 10) !== value) return value;
  return date;
}

function converterFor(type: FieldType): Converter {
  switch (type) {
    case 'integer':
    case 'bigint':
      return (v) => (typeof v === 'number' || typeof v === 'bigint' ? integerCell(v) : valueText(v));
    case 'float':
      return (v) => (typeof v === 'number' || typeof v === 'bigint' ? floatCell(v) : valueText(v));
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : valueText(v));
    case 'date':
      return (v) => (typeof v === 'string' ? dateCell(v) : valueText(v));
    case 'json':
    case 'array':
      // Always JSON: `valueText` would give a JSON string scalar as bare text.
      return (v) => jsonText(v);
    default:
      return valueText;
  }
}

/** Excel-safe: at most 31 characters, none of `[]:*?/\`, not starting or ending with `'`. */
export function safeSheetName(name: string): string {
  let safe = name.replace(/[[\]:*?/\\]/g, '_').replace(/^'+|'+$/g, '');
  if (safe.toLowerCase() === 'history') safe = `${safe}_`; // reserved by Excel
  safe = truncateName(safe, MAX_SHEET_NAME);
  return safe === '' ? 'Sheet' : safe;
}

function continuationBase(base: string, n: number): string {
  const suffix = ` (${n})`;
  return truncateName(base, MAX_SHEET_NAME - suffix.length) + suffix;
}

function truncateName(name: string, max: number): string {
  if (name.length <= max) return name;
  let end = max;
  const last = name.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return name.slice(0, end).replace(/'+$/, '');
}

function cellWidthText(cell: Cell): number {
  if (cell === null || cell === undefined) return 0;
  if (typeof cell === 'string') return cell.length;
  if (cell instanceof Date) return 10;
  if (typeof cell === 'object' && 'richText' in cell)
    return cell.richText.reduce((n, r) => n + r.text.length, 0);
  return String(cell).length;
}

function columnWidths(header: Cell[], sample: Cell[][]): number[] {
  return header.map((name, i) => {
    let width = cellWidthText(name);
    for (const row of sample) width = Math.max(width, cellWidthText(row[i]));
    return Math.min(MAX_COLUMN_WIDTH, Math.max(MIN_COLUMN_WIDTH, width + 2));
  });
}
