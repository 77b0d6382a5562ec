import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { quoteIdent } from './postgres-connection.ts';
import { USER_SCHEMA_FILTER } from './postgres-ddl.ts';

const SCHEMA_FILE = fileURLToPath(new URL('../../model/schema/postgres-schema.sql', import.meta.url));

/** Creates the AutoCognitix schema (idempotent: safe on a database that has it already). */
export async function applyPostgresSchema(pool: pg.Pool): Promise<void> {
  await pool.query(readFileSync(SCHEMA_FILE, 'utf8'));
}

/** User tables (schema-qualified names are not needed: the toolkit works in `public`). */
export async function listPostgresTables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ table_name: string }>(
    `SELECT c.relname AS table_name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  return rows.map((r) => r.table_name);
}

/** Columns of a table whose type is json or jsonb (their arrays are JSON, not PostgreSQL arrays). */
export async function jsonColumnsOf(pool: pg.Pool, table: string): Promise<Set<string>> {
  const { rows } = await pool.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = $1 AND data_type IN ('json', 'jsonb')`,
    [table],
  );
  return new Set(rows.map((r) => r.column_name));
}

/** Moves every column-owned sequence of `public` past the largest value in its column. */
export async function resetOwnedSequences(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ table_name: string; column_name: string; seq: string }>(
    `SELECT t.relname AS table_name, a.attname AS column_name, s.relname AS seq
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE d.deptype IN ('a', 'i') AND n.nspname = 'public'`,
  );
  for (const r of rows) {
    await pool.query(
      `SELECT setval('public.${quoteIdent(r.seq).replace(/'/g, "''")}', COALESCE((SELECT max(${quoteIdent(r.column_name)}) FROM public.${quoteIdent(r.table_name)}), 1), (SELECT count(*) > 0 FROM public.${quoteIdent(r.table_name)}))`,
    );
  }
}

export async function countRows(pool: pg.Pool, table: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM public.${quoteIdent(table)}`);
  return Number(rows[0]?.n ?? 0);
}

/** Empty means: no table in `public` holds a row. */
export async function isPostgresEmpty(pool: pg.Pool): Promise<boolean> {
  for (const table of await listPostgresTables(pool)) {
    const { rowCount } = await pool.query(`SELECT 1 FROM public.${quoteIdent(table)} LIMIT 1`);
    if (rowCount) return false;
  }
  return true;
}

/**
 * Drops every user object — tables, views, sequences, functions, types and non-public schemas; not the
 * extensions — in one transaction, leaving an empty database.
 */
export async function emptyPostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await dropUserObjects(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The drop statements of `emptyPostgres`, run on the caller's client (and transaction). */
export async function dropUserObjects(client: pg.ClientBase): Promise<void> {
  const notFromExtension = (oid: string) =>
    `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = ${oid} AND d.deptype = 'e')`;
  const queries: Array<[string, string]> = [
    [
      'SCHEMA',
      `SELECT format('%I', n.nspname) AS name FROM pg_namespace n WHERE ${USER_SCHEMA_FILTER} AND n.nspname <> 'public' AND ${notFromExtension('n.oid')}`,
    ],
    [
      'VIEW',
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v' AND ${USER_SCHEMA_FILTER} AND ${notFromExtension('c.oid')}`,
    ],
    [
      'MATERIALIZED VIEW',
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' AND ${USER_SCHEMA_FILTER} AND ${notFromExtension('c.oid')}`,
    ],
    [
      'TABLE',
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'f') AND ${USER_SCHEMA_FILTER} AND ${notFromExtension('c.oid')}`,
    ],
    [
      'SEQUENCE',
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND ${USER_SCHEMA_FILTER} AND ${notFromExtension('c.oid')}`,
    ],
    [
      'ROUTINE',
      `SELECT p.oid::regprocedure::text AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prokind IN ('f', 'p') AND ${USER_SCHEMA_FILTER} AND ${notFromExtension('p.oid')}`,
    ],
    [
      'TYPE',
      `SELECT format('%I.%I', n.nspname, t.typname) AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype IN ('e', 'c', 'd', 'r') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c') AND ${USER_SCHEMA_FILTER} AND ${notFromExtension('t.oid')}`,
    ],
  ];
  for (const [kind, sql] of queries) {
    const names = (await client.query<{ name: string }>(sql)).rows.map((r) => r.name);
    // Earlier CASCADE drops may have removed some already.
    for (const name of names) await client.query(`DROP ${kind} IF EXISTS ${name} CASCADE`);
  }
}
