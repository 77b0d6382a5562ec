import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { quoteIdent } from './postgres-connection.ts';

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

/** Drops every table, view, sequence and type in `public` (extensions stay), in one transaction. */
export async function emptyPostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const tables = await client.query<{ name: string }>(
      `SELECT relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')`,
    );
    if (tables.rows.length > 0) {
      await client.query(`DROP TABLE IF EXISTS ${tables.rows.map((t) => `public.${quoteIdent(t.name)}`).join(', ')} CASCADE`);
    }
    const sequences = await client.query<{ name: string }>(
      `SELECT sequencename AS name FROM pg_sequences WHERE schemaname = 'public'`,
    );
    for (const s of sequences.rows) await client.query(`DROP SEQUENCE IF EXISTS public.${quoteIdent(s.name)} CASCADE`);
    const types = await client.query<{ name: string }>(
      `SELECT t.typname AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'c', 'd')
          AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')`,
    );
    for (const t of types.rows) await client.query(`DROP TYPE IF EXISTS public.${quoteIdent(t.name)} CASCADE`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
