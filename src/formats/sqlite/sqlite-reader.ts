/**
 * Reads an SQLite database for import (docs/formats.md, "SQLite"): the inverse of the SQLite export,
 * and the original tool's export too.
 *
 * Every table not starting with `_` or `sqlite_` is a dataset: `neo4j_rel_<TYPE>` (and the original's
 * `neo4j_relationships`) relationships, `neo4j_<Label>` nodes, `translations` is derived (a notice), any
 * other table PostgreSQL rows of that table. Datasets come tables first, then nodes, then relationships.
 *
 * Types come from `_export_fields` when the export wrote it: INTEGER 1/0 back to booleans, JSON text to
 * the exact JSON value, `'NaN'` to NaN, 64-bit integers exact (read with `readBigInts`). Without it,
 * values are SQLite's own: text, numbers (integers beyond 2^53 as bigint), Buffers for BLOBs.
 *
 * SQLite keeps TEXT as the bytes it was given, UTF-8 or not, and node:sqlite hands bytes that are not
 * UTF-8 over as U+FFFD. A string holding U+FFFD is therefore checked against its stored bytes (read again
 * with `CAST(… AS BLOB)`, in the same read transaction; rare, so text costs nothing more): a cell that is not
 * UTF-8 is a record problem naming the column, a table or column name an `INVALID_INPUT` error.
 *
 * The database is opened read-only; rows stream with `.iterate()`. A file that is not an SQLite
 * database, is truncated or corrupt throws `AcxError('INVALID_INPUT')` naming the file (and table).
 */
import { isUtf8 } from 'node:buffer';
import { open, stat } from 'node:fs/promises';
import { AcxError } from '../../errors.ts';
import {
  asBuffer,
  firstValue,
  openDatabase,
  prepareValue,
  type Database,
  type Statement,
} from '../../sqlite.ts';
import { FIELD_TYPES, type FieldType } from '../../model/dataset.ts';
import type { InputDataset, InputField, InputRecord, InputSource } from '../../model/input.ts';
import { parseExactJson } from '../../model/exact-json.ts';
import { FIELDS_TABLE, quoteIdentifier } from './sqlite-format.ts';
import { routeNeo4jName, routeRank, setColumnValue, setValue, type Route } from '../input-routing.ts';
import { checkedInput, isJsonTooDeep, TOO_DEEP } from '../input-values.ts';
import { firstInvalidUtf8 } from '../input-text.ts';

/** Tables an export derives from others: not imported. */
const DERIVED_TABLES: Record<string, string> = {
  translations: 'a view of dtc_codes (code, descriptions, translated), which is imported instead',
};

/** A value as read: BLOBs as Buffers (node:sqlite gives Uint8Array; `asBuffer` wraps it). */
type SqliteValue = null | number | bigint | string | Buffer;

/** Where a table's rows go, from its name. */
export function routeSqliteTable(table: string): Route {
  return routeNeo4jName(table) ?? { target: { store: 'postgres', table } };
}

function invalid(file: string, message: string, hint?: string, cause?: unknown): AcxError {
  return new AcxError('INVALID_INPUT', `${file}: ${message}`, { subject: file, hint, cause });
}

/**
 * Why stored TEXT bytes are refused (they are not UTF-8), or undefined when they are UTF-8. Only a string
 * that holds U+FFFD can hide such bytes: node:sqlite decodes every invalid sequence as U+FFFD.
 */
export function notUtf8Reason(bytes: Uint8Array): string | undefined {
  if (isUtf8(bytes)) return undefined;
  const bad = firstInvalidUtf8(bytes);
  const byte = bytes[bad]!.toString(16).padStart(2, '0');
  return `not UTF-8 text: an invalid byte sequence at byte ${bad} (0x${byte}) of the stored text, which would be imported as U+FFFD`;
}

/**
 * `notUtf8Reason` for a value node:sqlite decoded, when it can hide bytes that are not UTF-8 (a
 * string holding U+FFFD); `bytes` (the stored bytes, read only then) is called for such a string alone.
 */
function hiddenNotUtf8(text: unknown, bytes: () => Uint8Array): string | undefined {
  return typeof text === 'string' && text.includes('\ufffd') ? notUtf8Reason(bytes()) : undefined;
}

const NOT_UTF8_NAME_HINT = 'rename it in UTF-8 (SQLite stores what it is given; the import reads UTF-8 only)';

const NOT_SQLITE_HINT = 'give an SQLite 3 database file, such as an export’s autocognitix_export.db';

/**
 * Checks the 100-byte SQLite header: the magic string (else the file is not a database, or is
 * encrypted), and the page count it declares against the file's size (a truncated copy).
 */
async function checkHeader(file: string, size: number): Promise<void> {
  if (size === 0) throw invalid(file, 'empty file, not an SQLite database', NOT_SQLITE_HINT);
  const header = Buffer.alloc(100);
  const handle = await open(file, 'r');
  let read: number;
  try {
    ({ bytesRead: read } = await handle.read(header, 0, 100, 0));
  } finally {
    await handle.close();
  }
  if (read < 100 || header.toString('latin1', 0, 16) !== 'SQLite format 3\u0000')
    throw invalid(file, 'not an SQLite 3 database (or an encrypted one)', NOT_SQLITE_HINT);
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pages = header.readUInt32BE(28);
  // The in-header page count is valid only when "version-valid-for" matches the change counter.
  const countValid = pages > 0 && header.readUInt32BE(92) === header.readUInt32BE(24);
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0)
    throw invalid(file, `corrupt SQLite header (page size ${rawPageSize})`, NOT_SQLITE_HINT);
  if (size % pageSize !== 0 || (countValid && size < pages * pageSize))
    throw invalid(
      file,
      countValid && size < pages * pageSize
        ? `truncated: ${size} bytes, where the database has ${pages * pageSize}`
        : `truncated: ${size} bytes, not a whole number of ${pageSize}-byte pages`,
      'the file was cut short (an interrupted copy or download?): copy it again',
    );
}

/** SQLite's primary result codes (sqlite3.h) that mean a damaged or foreign file. */
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/** An SQLite error while reading, as INVALID_INPUT (a damaged or foreign file). */
function sqliteFailure(file: string, where: string, error: unknown): AcxError {
  if (error instanceof AcxError) return error;
  // node:sqlite's errors carry SQLite's (extended) result code as `errcode`; its low byte is the primary code.
  const code = ((error as { errcode?: number }).errcode ?? 0) & 0xff;
  const message = (error as Error).message;
  if (code === SQLITE_NOTADB)
    return invalid(file, `not an SQLite database (or an encrypted one): ${message}`, NOT_SQLITE_HINT, error);
  if (code === SQLITE_CORRUPT || code === SQLITE_IOERR)
    return invalid(
      file,
      `${where}: the database is damaged (${message})`,
      'copy the file again, or repair it with the sqlite3 shell’s .recover',
      error,
    );
  return invalid(file, `${where}: ${message}`, undefined, error);
}

interface TableInfo {
  name: string;
  columns: string[];
  /** How to select the rowid (`rowid`, `_rowid_` or `oid`, whichever no column shadows); none for WITHOUT ROWID. */
  rowid: string | undefined;
  /** The primary key's columns in key order (what orders a WITHOUT ROWID table). */
  key: string[];
}

/** A table's columns in order and its primary key, every name checked to be UTF-8. */
function readColumns(file: string, db: Database, table: string): { columns: string[]; key: string[] } {
  const rows = db
    .prepare('SELECT name, CAST(name AS BLOB) AS bytes, pk FROM pragma_table_info(?) ORDER BY cid')
    .all(table) as Array<{ name: string; bytes: Uint8Array; pk: number | bigint }>;
  for (const { name, bytes } of rows) {
    const reason = hiddenNotUtf8(name, () => bytes);
    if (reason)
      throw invalid(
        file,
        `table ${table}: the name of column ${JSON.stringify(name)} is ${reason}`,
        NOT_UTF8_NAME_HINT,
      );
  }
  const key = rows
    .filter((c) => Number(c.pk) > 0)
    .sort((a, b) => Number(a.pk) - Number(b.pk))
    .map((c) => c.name);
  return { columns: rows.map((c) => c.name), key };
}

interface DeclaredField {
  name: string;
  type: FieldType;
  source?: string;
}

/** `_export_fields`: table → fields in position order. */
function readDeclaredFields(file: string, db: Database): Map<string, DeclaredField[]> {
  const fields = new Map<string, DeclaredField[]>();
  const columns = (
    db.prepare(`PRAGMA table_info(${quoteIdentifier(FIELDS_TABLE)})`).all() as Array<{ name: string }>
  ).map((c) => c.name);
  for (const needed of ['table_name', 'position', 'name', 'type', 'source'])
    if (!columns.includes(needed))
      throw invalid(file, `${FIELDS_TABLE} has no column ${needed}`, 'the export’s field table is damaged');
  const texts = ['table_name', 'name', 'type', 'source'];
  const rows = db
    .prepare(
      `SELECT table_name, position, name, type, source, ${texts.map((c) => `CAST(${c} AS BLOB) AS ${c}_bytes`).join(', ')} ` +
        `FROM ${quoteIdentifier(FIELDS_TABLE)} ORDER BY table_name, position`,
    )
    .all() as Array<Record<string, SqliteValue | Uint8Array>>;
  for (const row of rows) {
    for (const column of texts) {
      const text = row[column];
      const reason = hiddenNotUtf8(text, () => row[`${column}_bytes`] as Uint8Array);
      if (reason)
        throw invalid(
          file,
          `${FIELDS_TABLE}: a ${column} ${JSON.stringify(text)} is ${reason}`,
          NOT_UTF8_NAME_HINT,
        );
    }
    const { table_name: table, name, type, source } = row;
    if (typeof table !== 'string' || typeof name !== 'string')
      throw invalid(file, `${FIELDS_TABLE}: a row without a table or field name`);
    if (typeof type !== 'string' || !(FIELD_TYPES as readonly string[]).includes(type))
      throw invalid(
        file,
        `${FIELDS_TABLE}: field ${name} of ${table} has the unknown type ${JSON.stringify(type)}`,
        `types are ${FIELD_TYPES.join(', ')}`,
      );
    if (source !== null && typeof source !== 'string')
      throw invalid(file, `${FIELDS_TABLE}: field ${name} of ${table} has a source that is not text`);
    const list = fields.get(table) ?? [];
    if (list.some((f) => f.name === name))
      throw invalid(file, `${FIELDS_TABLE}: field ${name} of ${table} is listed twice`);
    list.push(
      source === null ? { name, type: type as FieldType } : { name, type: type as FieldType, source },
    );
    fields.set(table, list);
  }
  return fields;
}

/**
 * Opens an SQLite database as an import input. Throws NOT_FOUND when the file does not exist, USAGE
 * when it is a folder, INVALID_INPUT when it is not a (whole, readable) SQLite database or holds no
 * tables.
 */
export async function openSqliteInput(file: string): Promise<InputSource> {
  const info = await stat(file).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT' || cause.code === 'ENOTDIR')
      throw new AcxError('NOT_FOUND', `${file}: no such file`, { subject: file, cause });
    throw new AcxError('USAGE', `${file}: cannot read (${cause.message})`, { subject: file, cause });
  });
  if (!info.isFile())
    throw new AcxError('USAGE', `${file}: not a file`, { subject: file, hint: NOT_SQLITE_HINT });
  await checkHeader(file, info.size);

  let db: Database;
  try {
    db = openDatabase(file, { readOnly: true, readBigInts: true });
  } catch (error) {
    throw sqliteFailure(file, 'cannot open', error);
  }
  const notices: string[] = [];
  const tables: Array<{ table: TableInfo; route: Route; declared: DeclaredField[] | undefined }> = [];
  try {
    const listed = db
      .prepare(
        "SELECT name, sql, CAST(name AS BLOB) AS bytes FROM sqlite_schema WHERE type = 'table' ORDER BY name",
      )
      .all() as Array<{ name: string; sql: string | null; bytes: Uint8Array }>;
    const all = listed.filter((t) => !t.name.startsWith('sqlite_'));
    for (const { name, bytes } of all) {
      const reason = hiddenNotUtf8(name, () => bytes);
      if (reason)
        throw invalid(file, `the name of table ${JSON.stringify(name)} is ${reason}`, NOT_UTF8_NAME_HINT);
    }
    if (all.length === 0)
      throw invalid(file, 'the database holds no tables', 'an export’s database has one table per dataset');
    const declared = all.some((t) => t.name === FIELDS_TABLE) ? readDeclaredFields(file, db) : undefined;
    const withoutRowid = new Set(
      (db.prepare('PRAGMA table_list').all() as Array<{ name: string; schema: string; wr: number | bigint }>)
        .filter((t) => t.schema === 'main' && Number(t.wr) === 1)
        .map((t) => t.name),
    );
    for (const { name, sql } of all) {
      if (name.startsWith('_')) continue;
      if (name in DERIVED_TABLES) {
        notices.push(`${file}: table ${name} not imported: ${DERIVED_TABLES[name]}`);
        continue;
      }
      if (sql !== null && /^\s*CREATE\s+VIRTUAL\b/i.test(sql)) {
        notices.push(`${file}: table ${name} not imported: a virtual table`);
        continue;
      }
      const { columns, key } = readColumns(file, db, name);
      const lower = new Set(columns.map((c) => c.toLowerCase()));
      const rowid = withoutRowid.has(name)
        ? undefined
        : ['rowid', '_rowid_', 'oid'].find((alias) => !lower.has(alias));
      const fields = declared?.get(name);
      for (const field of fields ?? [])
        if (!columns.includes(field.name))
          throw invalid(
            file,
            `table ${name}: ${FIELDS_TABLE} lists the column ${field.name}, which the table does not have`,
            'the table or its field list was changed after the export',
          );
      tables.push({ table: { name, columns, rowid, key }, route: routeSqliteTable(name), declared: fields });
    }
    tables.sort(
      (a, b) =>
        routeRank(a.route) - routeRank(b.route) ||
        (a.table.name < b.table.name ? -1 : a.table.name > b.table.name ? 1 : 0),
    );
  } catch (error) {
    db.close();
    throw sqliteFailure(file, 'reading the schema', error);
  }

  /** Open row iterators, ended before the database closes (so a reader still looping sees the end, not an error). */
  const running = new Set<IterableIterator<unknown>>();
  const close = () => {
    for (const iterator of running) iterator.return?.();
    running.clear();
    if (db.isOpen) db.close();
  };

  return checkedInput({
    format: 'sqlite',
    file,
    notices,
    async *datasets() {
      try {
        for (const { table, route, declared } of tables) {
          yield tableDataset(file, db, table, route, declared, running);
        }
      } finally {
        close();
      }
    },
    async close() {
      close();
    },
  });
}

/** A value read without a declared type: integers beyond 2^53 stay bigint, the rest as SQLite gives it. */
function rawValue(value: SqliteValue): unknown {
  if (typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  return value;
}

function describe(value: SqliteValue): string {
  if (Buffer.isBuffer(value)) return `a BLOB of ${value.length} bytes`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return String(value);
}

/** One stored value as a value of `type` (docs/formats.md, SQLite); throws with the reason when it is not one. */
export function readSqliteValue(value: SqliteValue, type: FieldType): unknown {
  if (value === null) return null;
  switch (type) {
    case 'integer':
      if (typeof value === 'bigint' && Number.isSafeInteger(Number(value))) return Number(value);
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      throw new Error(`not an integer within ±2^53: ${describe(value)}`);
    case 'bigint':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      throw new Error(`not an integer: ${describe(value)}`);
    case 'float':
      if (typeof value === 'number') return value;
      if (typeof value === 'bigint') return Number(value);
      if (value === 'NaN') return NaN;
      throw new Error(`not a number: ${describe(value)}`);
    case 'boolean':
      if (value === 1n || value === 1) return true;
      if (value === 0n || value === 0) return false;
      throw new Error(`not a boolean (1 or 0): ${describe(value)}`);
    case 'bytes':
      if (Buffer.isBuffer(value)) return value;
      throw new Error(`not a BLOB: ${describe(value)}`);
    case 'json':
    case 'array': {
      if (typeof value !== 'string') throw new Error(`not JSON text: ${describe(value)}`);
      if (isJsonTooDeep(value)) throw new Error(`JSON ${TOO_DEEP}: ${describe(value)}`);
      let parsed: unknown;
      try {
        parsed = parseExactJson(value);
      } catch (error) {
        throw new Error(`not JSON (${(error as Error).message}): ${describe(value)}`, { cause: error });
      }
      if (type === 'array' && !Array.isArray(parsed)) throw new Error(`not a JSON array: ${describe(value)}`);
      return parsed;
    }
    default:
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'bigint') return String(value);
      throw new Error(`not text: ${describe(value)}`);
  }
}

/** `_labels` without a declared type: JSON text of an array of label names. */
function readLabels(value: SqliteValue): unknown {
  const labels = readSqliteValue(value, 'array');
  if (labels !== null && !(labels as unknown[]).every((label) => typeof label === 'string'))
    throw new Error(`not an array of label names: ${describe(value)}`);
  return labels;
}

/** The original's `rel_props`: JSON text of the relationship's properties. */
function readProperties(value: SqliteValue): Record<string, unknown> | null {
  if (value === null || value === '') return null;
  const properties = readSqliteValue(value, 'json');
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties))
    throw new Error(`not a JSON object: ${describe(value)}`);
  return properties as Record<string, unknown>;
}

/**
 * The stored bytes of a TEXT cell, by the row's rowid or, in a WITHOUT ROWID table, its position from 0 in
 * key order. Run while the table's rows are iterated: a read on the same connection sees the same snapshot.
 */
function storedTextReader(
  file: string,
  db: Database,
  table: TableInfo,
  order: string,
): (column: string, key: bigint | number) => Uint8Array {
  const where = table.rowid
    ? `WHERE ${table.rowid} = ?`
    : `${order ? `ORDER BY ${order} ` : ''}LIMIT 1 OFFSET ?`;
  const statements = new Map<string, Statement>();
  return (column, key) => {
    let bytes: unknown;
    try {
      let statement = statements.get(column);
      if (!statement) {
        const sql = `SELECT CAST(${quoteIdentifier(column)} AS BLOB) FROM ${quoteIdentifier(table.name)} ${where}`;
        statement = prepareValue(db, sql);
        statements.set(column, statement);
      }
      bytes = firstValue(statement, key);
    } catch (error) {
      throw sqliteFailure(file, `table ${table.name}, column ${column}`, error);
    }
    // The same read transaction as the rows being iterated: the row is there.
    if (!(bytes instanceof Uint8Array))
      throw new AcxError(
        'INTERNAL',
        `${file}: table ${table.name}: row ${String(key)} not found when read again`,
      );
    return bytes;
  };
}

function tableDataset(
  file: string,
  db: Database,
  table: TableInfo,
  route: Route,
  declared: readonly DeclaredField[] | undefined,
  running: Set<IterableIterator<unknown>>,
): InputDataset {
  const byName = new Map((declared ?? []).map((field) => [field.name, field]));
  const typeColumn =
    route.legacy && !table.columns.includes('_type')
      ? (table.columns.find((c) => c === 'type') ?? table.columns.find((c) => c === 'rel_type'))
      : undefined;
  const fields: InputField[] = [];
  const columns: Array<{ name: string; read: (value: SqliteValue) => unknown; spread?: boolean }> = [];
  for (const column of table.columns) {
    const spec = byName.get(column);
    const field: InputField = { name: column === typeColumn ? '_type' : column };
    let read: (value: SqliteValue) => unknown = rawValue;
    if (spec) {
      field.type = spec.type;
      if (spec.source !== undefined) field.source = spec.source;
      read = (value) => readSqliteValue(value, spec.type);
    }
    if (route.label !== undefined && column === '_labels') {
      const label = route.label;
      field.type = 'array';
      read = (value) => (value === null ? [label] : readLabels(value));
    }
    if (route.legacy && column === 'rel_props') {
      // The original kept every property in one JSON object: its keys become the record's values.
      columns.push({ name: column, read: readProperties, spread: true });
      continue;
    }
    fields.push(field);
    columns.push({ name: field.name, read });
  }
  const addLabels = route.label !== undefined && !table.columns.includes('_labels');
  if (addLabels) fields.unshift({ name: '_labels', type: 'array' });
  const label = route.label;
  const names = new Set(fields.map((f) => f.name));

  const order = table.rowid ?? table.key.map(quoteIdentifier).join(', ');
  const select =
    `SELECT ${[...(table.rowid ? [table.rowid] : []), ...table.columns.map(quoteIdentifier)].join(', ')} ` +
    `FROM ${quoteIdentifier(table.name)}${order ? ` ORDER BY ${order}` : ''}`;
  const offset = table.rowid ? 1 : 0;
  const storedBytes = storedTextReader(file, db, table, order);

  return {
    file,
    name: table.name,
    target: route.target,
    fields,
    async *records(): AsyncGenerator<InputRecord> {
      if (!db.isOpen) throw new Error(`${file}: the SQLite input is closed`);
      let iterator: IterableIterator<Array<SqliteValue | Uint8Array>>;
      try {
        const statement = db.prepare(select);
        statement.setReturnArrays(true);
        iterator = statement.iterate() as unknown as IterableIterator<Array<SqliteValue | Uint8Array>>;
      } catch (error) {
        throw sqliteFailure(file, `table ${table.name}`, error);
      }
      running.add(iterator);
      let count = 0;
      try {
        for (;;) {
          let next: IteratorResult<Array<SqliteValue | Uint8Array>>;
          try {
            next = iterator.next();
          } catch (error) {
            throw sqliteFailure(file, `table ${table.name}, after row ${count}`, error);
          }
          if (next.done) break;
          const row = next.value;
          count++;
          const values: Record<string, unknown> = {};
          if (addLabels) values._labels = [label];
          let problems: InputRecord['problems'];
          for (let i = 0; i < columns.length; i++) {
            const column = columns[i]!;
            const cell = row[i + offset]!;
            const stored = cell instanceof Uint8Array ? asBuffer(cell) : cell;
            const reason = hiddenNotUtf8(stored, () =>
              storedBytes(table.columns[i]!, table.rowid ? (row[0] as bigint) : count - 1),
            );
            if (reason) {
              (problems ??= []).push({ field: column.name, reason });
              setValue(values, column.name, stored);
              continue;
            }
            let value: unknown;
            try {
              value = column.read(stored);
            } catch (error) {
              (problems ??= []).push({ field: column.name, reason: (error as Error).message });
              setValue(values, column.name, rawValue(stored));
              continue;
            }
            const found: NonNullable<InputRecord['problems']> = [];
            setColumnValue(values, names, column, value, found);
            if (found.length > 0) (problems ??= []).push(...found);
          }
          const line = table.rowid ? Number(row[0] as bigint) : count;
          yield problems ? { line, values, problems } : { line, values };
        }
      } finally {
        running.delete(iterator);
        iterator.return?.();
      }
    },
  };
}
