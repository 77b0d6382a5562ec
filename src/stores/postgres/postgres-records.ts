/**
 * Reads and writes of one table's rows by key (the Store's `readByKey`, `scanByKey`, `prepareDataset`,
 * `writeByKey`; sync, docs/design.md §10). Values come as node-pg gives them, except date and time types,
 * which come as PostgreSQL's own text (microseconds kept, where a JavaScript Date would drop them).
 */
import pg from 'pg';
import { AcxError } from '../../errors.ts';
import { stringifyExactJson } from '../../model/exact-json.ts';
import type { KeyedRecords, RecordPage, RecordWrites } from '../store.ts';
import { quoteIdent } from './postgres-connection.ts';

export interface PostgresRecordDataset {
  table: string;
  key: string;
}

type Row = Record<string, unknown>;

/** date, time, timestamp, timestamptz, timetz, interval: as text. */
const TEMPORAL_OIDS = new Set([1082, 1083, 1114, 1184, 1266, 1186]);
/** Their arrays: as arrays of text (the parser of `text[]`). */
const TEMPORAL_ARRAY_OIDS = new Set([1182, 1183, 1115, 1185, 1270, 1187]);
const TEXT_ARRAY_OID = 1009;
/** node-pg's parser table, by any OID (its typing lists the built-in scalar OIDs only). */
const parserOf = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => unknown;

/** node-pg's parsers, except date/time types: PostgreSQL's text, for this query only (no global setting). */
const temporalAsText = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary' && TEMPORAL_OIDS.has(oid)) return (text: string) => text;
    if (format !== 'binary' && TEMPORAL_ARRAY_OIDS.has(oid)) return parserOf(TEXT_ARRAY_OID);
    return parserOf(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

const tableOf = (dataset: PostgresRecordDataset): string => `public.${quoteIdent(dataset.table)}`;

async function select(pool: pg.Pool, text: string, values: unknown[]): Promise<Row[]> {
  const result = await pool.query<Row>({ text, values, types: temporalAsText });
  return result.rows;
}

/** The rows whose key, as text, is one of `keys`. */
export async function readPostgresByKey(
  pool: pg.Pool,
  dataset: PostgresRecordDataset,
  keys: readonly string[],
): Promise<KeyedRecords> {
  const rows = await select(
    pool,
    `SELECT * FROM ${tableOf(dataset)} WHERE ${quoteIdent(dataset.key)}::text = ANY($1::text[])`,
    [keys],
  );
  return { found: new Map(rows.map((row) => [String(row[dataset.key]), row])) };
}

/**
 * One keyset page: the rows whose key is greater than `cursor`, in the key column's order (its type and
 * collation, both in the comparison and the ORDER BY). The next cursor is the text of the last key.
 */
export async function scanPostgresByKey(
  pool: pg.Pool,
  dataset: PostgresRecordDataset,
  cursor: string | null,
  limit: number,
): Promise<RecordPage> {
  const key = quoteIdent(dataset.key);
  const rows =
    cursor === null
      ? await select(pool, `SELECT * FROM ${tableOf(dataset)} ORDER BY ${key} LIMIT $1`, [limit])
      : await select(pool, `SELECT * FROM ${tableOf(dataset)} WHERE ${key} > $1 ORDER BY ${key} LIMIT $2`, [
          cursor,
          limit,
        ]);
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  return { records: rows, cursor: last === undefined ? null : String(last[dataset.key]) };
}

/** The table exists (NOT_FOUND otherwise); nothing is created. */
export async function preparePostgresDataset(
  pool: pg.Pool,
  dataset: PostgresRecordDataset,
): Promise<{ exists: boolean }> {
  const { rows } = await pool.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [
    tableOf(dataset),
  ]);
  if (!rows[0]?.found)
    throw new AcxError('NOT_FOUND', `PostgreSQL has no table public.${dataset.table}`, {
      subject: 'postgres',
      hint: 'create the schema first (acx-data seed or a restore), or check the table name',
    });
  return { exists: true };
}

/**
 * Applies one batch in one transaction: upserts, then removes; on any failure nothing is written.
 * Upserts: `INSERT … SELECT … FROM json_populate_recordset(NULL::table, $1) ON CONFLICT (key) DO UPDATE`
 * over exactly the columns the records carry, one statement per set of columns (records may carry
 * different columns; a column a record does not carry keeps its value, or takes its default in a new
 * row). Columns the table generates — serial or identity ids (`dtc_codes.id`), generated columns — are
 * never written: a record's value for one is ignored, new rows take the default. The key needs a unique
 * constraint, and a key may appear once per call (the server refuses a row updated twice). Values are
 * JSON (bigint as an exact integer) that the server converts to the column's type.
 */
export async function writePostgresByKey(
  pool: pg.Pool,
  dataset: PostgresRecordDataset,
  writes: RecordWrites,
): Promise<void> {
  if (writes.link?.length || writes.unlink?.length) throw new TypeError('PostgreSQL rows have no links');
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    if (writes.upsert && writes.upsert.length > 0) await upsert(client, dataset, writes.upsert);
    if (writes.remove && writes.remove.length > 0)
      await client.query(`DELETE FROM ${tableOf(dataset)} WHERE ${quoteIdent(dataset.key)} = ANY($1)`, [
        writes.remove,
      ]);
    await client.query('COMMIT');
  } catch (error) {
    broken = await client.query('ROLLBACK').then(
      () => false,
      () => true,
    );
    throw error;
  } finally {
    client.release(broken);
  }
}

async function upsert(client: pg.PoolClient, dataset: PostgresRecordDataset, records: readonly Row[]) {
  const generated = await generatedColumns(client, dataset);
  const groups = new Map<string, { columns: string[]; rows: Row[] }>();
  for (const record of records) {
    const columns = Object.keys(record)
      .filter((c) => c === dataset.key || !generated.has(c))
      .sort();
    if (!columns.includes(dataset.key))
      throw new AcxError('INVALID_INPUT', `a record for ${dataset.table} has no key ${dataset.key}`, {
        subject: 'postgres',
      });
    const id = JSON.stringify(columns);
    const group = groups.get(id) ?? { columns, rows: [] };
    group.rows.push(record);
    groups.set(id, group);
  }
  for (const { columns, rows } of groups.values())
    await client.query(upsertStatement(dataset, columns), [stringifyExactJson(rows)]);
}

function upsertStatement(dataset: PostgresRecordDataset, columns: string[]): string {
  const list = columns.map(quoteIdent).join(', ');
  const updated = columns.filter((c) => c !== dataset.key);
  const onConflict =
    updated.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${updated.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`;
  return (
    `INSERT INTO ${tableOf(dataset)} (${list}) SELECT ${list} ` +
    `FROM json_populate_recordset(NULL::${tableOf(dataset)}, $1::json) ` +
    `ON CONFLICT (${quoteIdent(dataset.key)}) ${onConflict}`
  );
}

/** Columns the table fills itself: serial (a `nextval` default), identity and generated columns. */
async function generatedColumns(client: pg.PoolClient, dataset: PostgresRecordDataset): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
        AND (a.attidentity <> '' OR a.attgenerated <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%')`,
    [tableOf(dataset)],
  );
  return new Set(rows.map((r) => r.name));
}
