/**
 * What an import needs to know of a target table, read from the catalogs: its columns (types, NOT
 * NULL, defaults, enum labels, serial sequences), the key records are identified by, and its foreign
 * keys (what `apply()` checks references against, and orders tables by).
 */
import type pg from 'pg';
import { AcxError } from '../../errors.ts';
import type { PgColumn } from './postgres-values.ts';

export interface ForeignKey {
  name: string;
  columns: string[];
  parent: string;
  parentColumns: string[];
}

export interface TableInfo {
  name: string;
  columns: Map<string, PgColumn>;
  key: string[];
  foreignKeys: ForeignKey[];
  /** Serial/identity column → its sequence. */
  sequences: Map<string, string>;
}

/**
 * Reads table `name` of schema `public`. INVALID_INPUT (naming `file`, the input that targets it) when
 * there is no such table or it has no key. Identity: `dtc_codes` by `code`, every other table by its
 * primary key.
 */
export async function readTableInfo(client: pg.ClientBase, name: string, file: string): Promise<TableInfo> {
  const oid = await tableOid(client, name, file);
  const { columns, sequences } = await readColumns(client, oid, name);
  const key = name === 'dtc_codes' ? ['code'] : await primaryKey(client, oid);
  if (key.length === 0)
    throw new AcxError(
      'INVALID_INPUT',
      `${file}: table "${name}" has no primary key to identify records by`,
      {
        subject: file,
      },
    );
  return { name, columns, key, sequences, foreignKeys: await foreignKeys(client, oid) };
}

async function tableOid(client: pg.ClientBase, name: string, file: string): Promise<number> {
  const exists = await client.query<{ oid: number }>(
    `SELECT c.oid::int AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relname = $1 AND c.relkind IN ('r', 'p')`,
    [name],
  );
  const oid = exists.rows[0]?.oid;
  if (oid !== undefined) return oid;
  const all = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  if (all.rows.length === 0) {
    throw new AcxError(
      'INVALID_INPUT',
      `${file}: PostgreSQL has no tables in schema public: the AutoCognitix schema is missing, nothing was written`,
      {
        subject: file,
        hint: "create the application's empty schema with `acx-data seed --schema-only` (or the application's migrations), then import again",
      },
    );
  }
  throw new AcxError('INVALID_INPUT', `${file}: table "${name}" does not exist in PostgreSQL`, {
    subject: file,
    hint: `its tables: ${all.rows.map((r) => r.relname).join(', ')}`,
  });
}

interface ColumnRow {
  name: string;
  type: string;
  typname: string;
  category: string;
  elem_typname: string | null;
  elem_category: string | null;
  notnull: boolean;
  hasdef: boolean;
  typmod: number;
  labels: string[] | null;
  seq: string | null;
}

/** The writable (not generated) columns in table order, and the sequences of serial/identity ones. */
async function readColumns(
  client: pg.ClientBase,
  oid: number,
  name: string,
): Promise<{ columns: Map<string, PgColumn>; sequences: Map<string, string> }> {
  const cols = await client.query<ColumnRow>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname, t.typcategory AS category,
            et.typname AS elem_typname, et.typcategory AS elem_category, a.attnotnull AS notnull,
            a.atthasdef OR a.attidentity <> '' AS hasdef, a.atttypmod AS typmod,
            (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid) AS labels,
            pg_get_serial_sequence(format('public.%I', $2::text), a.attname) AS seq
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attnum`,
    [oid, name],
  );
  const columns = new Map<string, PgColumn>();
  const sequences = new Map<string, string>();
  for (const c of cols.rows) {
    columns.set(c.name, pgColumnOf(c));
    if (c.seq) sequences.set(c.name, c.seq);
  }
  return { columns, sequences };
}

function pgColumnOf(c: ColumnRow): PgColumn {
  const varchar = c.typname === 'varchar' || c.typname === 'bpchar';
  return {
    name: c.name,
    type: c.type,
    typname: c.typname,
    category: c.category,
    ...(c.elem_typname ? { element: { typname: c.elem_typname, category: c.elem_category ?? 'S' } } : {}),
    notNull: c.notnull,
    hasDefault: c.hasdef,
    ...(varchar && c.typmod > 4 ? { maxLength: c.typmod - 4 } : {}),
    ...(c.labels ? { enumLabels: c.labels } : {}),
  };
}

async function primaryKey(client: pg.ClientBase, oid: number): Promise<string[]> {
  const pk = await client.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary`,
    [oid],
  );
  return pk.rows[0]?.columns ?? [];
}

async function foreignKeys(client: pg.ClientBase, oid: number): Promise<ForeignKey[]> {
  const fks = await client.query<{
    name: string;
    columns: string[];
    parent: string;
    parent_columns: string[];
  }>(
    `SELECT c.conname AS name, pc.relname AS parent,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(n, ord)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS columns,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(n, ord)
               JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS parent_columns
       FROM pg_constraint c JOIN pg_class pc ON pc.oid = c.confrelid
      WHERE c.conrelid = $1 AND c.contype = 'f'`,
    [oid],
  );
  return fks.rows.map((r) => ({
    name: r.name,
    columns: r.columns,
    parent: r.parent,
    parentColumns: r.parent_columns,
  }));
}
