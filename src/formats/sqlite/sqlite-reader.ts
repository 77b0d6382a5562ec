/**
 * Reads an SQLite database for import (docs/formats.md, "SQLite"): the inverse of the SQLite export,
 * and the original tool's export too.
 *
 * Every table not starting with `_` or `sqlite_` is a dataset: `neo4j_rel_<TYPE>` (and the original's
 * `neo4j_relationships`) relationships, `neo4j_<Label>` nodes, `translations` is derived (a notice), any
 * other table PostgreSQL rows of that table. Datasets come tables first, then nodes, then relationships.
 *
 * Types come from `_export_fields` when the export wrote it: INTEGER 1/0 back to booleans, JSON text to
 * the exact JSON value, `'NaN'` to NaN, 64-bit integers exact (read with `safeIntegers`). Without it,
 * values are SQLite's own: text, numbers (integers beyond 2^53 as bigint), Buffers for BLOBs.
 *
 * The database is opened read-only; rows stream with `.iterate()`. A file that is not an SQLite
 * database, is truncated or corrupt throws `AcxError('INVALID_INPUT')` naming the file (and table).
 */
import Database from 'better-sqlite3';
import { open, stat } from 'node:fs/promises';
import { AcxError } from '../../errors.ts';
import { FIELD_TYPES, type FieldType } from '../../model/dataset.ts';
import type { InputDataset, InputField, InputRecord, InputSource } from '../../model/input.ts';
import { parseExactJson } from '../../model/exact-json.ts';
import { FIELDS_TABLE, quoteIdentifier } from './sqlite-format.ts';
import { routeNeo4jName, routeRank, setColumnValue, setValue, type Route } from '../input-routing.ts';
import { checkedInput, isJsonTooDeep, TOO_DEEP } from '../input-values.ts';

/** Tables an export derives from others: not imported. */
const DERIVED_TABLES: Record<string, string> = {
  translations: 'a view of dtc_codes (code, descriptions, translated), which is imported instead',
};

type SqliteValue = null | number | bigint | string | Buffer;

/** Where a table's rows go, from its name. */
export function routeSqliteTable(table: string): Route {
  return routeNeo4jName(table) ?? { target: { store: 'postgres', table } };
}

function invalid(file: string, message: string, hint?: string, cause?: unknown): AcxError {
  return new AcxError('INVALID_INPUT', `${file}: ${message}`, { subject: file, hint, cause });
}

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

/** An SQLite error while reading, as INVALID_INPUT (a damaged or foreign file). */
function sqliteFailure(file: string, where: string, error: unknown): AcxError {
  if (error instanceof AcxError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message;
  if (code.startsWith('SQLITE_NOTADB'))
    return invalid(file, `not an SQLite database (or an encrypted one): ${message}`, NOT_SQLITE_HINT, error);
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_IOERR'))
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
}

interface DeclaredField {
  name: string;
  type: FieldType;
  source?: string;
}

/** `_export_fields`: table → fields in position order. */
function readDeclaredFields(file: string, db: Database.Database): Map<string, DeclaredField[]> {
  const fields = new Map<string, DeclaredField[]>();
  const columns = (db.pragma(`table_info(${quoteIdentifier(FIELDS_TABLE)})`) as Array<{ name: string }>).map(
    (c) => c.name,
  );
  for (const needed of ['table_name', 'position', 'name', 'type', 'source'])
    if (!columns.includes(needed))
      throw invalid(file, `${FIELDS_TABLE} has no column ${needed}`, 'the export’s field table is damaged');
  const rows = db
    .prepare(
      `SELECT table_name, position, name, type, source FROM ${quoteIdentifier(FIELDS_TABLE)} ORDER BY table_name, position`,
    )
    .all() as Array<Record<string, SqliteValue>>;
  for (const row of rows) {
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

  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw sqliteFailure(file, 'cannot open', error);
  }
  const notices: string[] = [];
  const tables: Array<{ table: TableInfo; route: Route; declared: DeclaredField[] | undefined }> = [];
  try {
    db.defaultSafeIntegers(true);
    const listed = db
      .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .all() as Array<{ name: string; sql: string | null }>;
    const all = listed.filter((t) => !t.name.startsWith('sqlite_'));
    if (all.length === 0)
      throw invalid(file, 'the database holds no tables', 'an export’s database has one table per dataset');
    const declared = all.some((t) => t.name === FIELDS_TABLE) ? readDeclaredFields(file, db) : undefined;
    const withoutRowid = new Set(
      (db.pragma('table_list') as Array<{ name: string; schema: string; wr: number | bigint }>)
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
      const columns = (db.pragma(`table_info(${quoteIdentifier(name)})`) as Array<{ name: string }>).map(
        (c) => c.name,
      );
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
      tables.push({ table: { name, columns, rowid }, route: routeSqliteTable(name), declared: fields });
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

  /** Open row iterators, ended before the database closes (better-sqlite3 refuses to close while one runs). */
  const running = new Set<IterableIterator<unknown>>();
  const close = () => {
    for (const iterator of running) iterator.return?.();
    running.clear();
    if (db.open) db.close();
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

function tableDataset(
  file: string,
  db: Database.Database,
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

  const select =
    `SELECT ${[...(table.rowid ? [table.rowid] : []), ...table.columns.map(quoteIdentifier)].join(', ')} ` +
    `FROM ${quoteIdentifier(table.name)}${table.rowid ? ` ORDER BY ${table.rowid}` : ''}`;
  const offset = table.rowid ? 1 : 0;

  return {
    file,
    name: table.name,
    target: route.target,
    fields,
    async *records(): AsyncGenerator<InputRecord> {
      if (!db.open) throw new Error(`${file}: the SQLite input is closed`);
      let iterator: IterableIterator<SqliteValue[]>;
      try {
        iterator = db.prepare(select).raw(true).safeIntegers(true).iterate() as IterableIterator<
          SqliteValue[]
        >;
      } catch (error) {
        throw sqliteFailure(file, `table ${table.name}`, error);
      }
      running.add(iterator);
      let count = 0;
      try {
        for (;;) {
          let next: IteratorResult<SqliteValue[]>;
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
            const stored = row[i + offset]!;
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
