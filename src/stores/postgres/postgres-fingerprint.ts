/**
 * Content fingerprints of a PostgreSQL database: one per table (every row, in PostgreSQL's own COPY text
 * rendering, read with COPY TO) and one for the schema (columns, constraints, indexes, sequence values,
 * enum types, extensions).
 */
import { to as copyTo } from 'pg-copy-streams';
import type pg from 'pg';
import { MultisetHash, type Fingerprint } from '../../model/content-hash.ts';
import { quoteIdent } from './postgres-connection.ts';
import { listPostgresTables } from './postgres-schema.ts';
import { readLines } from '../../streams.ts';

async function hashTable(client: pg.PoolClient, table: string): Promise<MultisetHash> {
  const hash = new MultisetHash();
  const stream = client.query(copyTo(`COPY public.${quoteIdent(table)} TO STDOUT`));
  // Split on bytes, not on decoded chunks: a chunk boundary may fall inside a multi-byte character.
  for await (const line of readLines(stream as AsyncIterable<Buffer>)) hash.add(line);
  return hash;
}

const SCHEMA_QUERIES: Record<string, string> = {
  columns: `SELECT table_name || '.' || column_name || ' ' || udt_name || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS line
              FROM information_schema.columns WHERE table_schema = 'public'`,
  constraints: `SELECT c.conrelid::regclass::text || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid) AS line
                  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'`,
  indexes: `SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public'`,
  sequences: `SELECT sequencename || ' ' || coalesce(last_value::text, 'unset') || ' ' || increment_by AS line
                FROM pg_sequences WHERE schemaname = 'public'`,
  types: `SELECT t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS line
            FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = 'public' GROUP BY t.typname`,
  extensions: `SELECT extname AS line FROM pg_extension WHERE extname <> 'plpgsql'`,
  views: `SELECT viewname || ' ' || definition AS line FROM pg_views WHERE schemaname = 'public'`,
  triggers: `SELECT t.tgname || ' ' || pg_get_triggerdef(t.oid) AS line FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT t.tgisinternal`,
  functions: `SELECT p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid)) AS line FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
                 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`,
};

export async function fingerprintPostgres(pool: pg.Pool): Promise<Fingerprint> {
  const out: Fingerprint = {};
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const table of await listPostgresTables(pool)) {
      const hash = await hashTable(client, table);
      out[`postgres/table/${table}`] = { records: hash.count, hash: hash.digest() };
    }
    for (const [name, sql] of Object.entries(SCHEMA_QUERIES)) {
      const hash = new MultisetHash();
      for (const row of (await client.query<{ line: string }>(sql)).rows) hash.add(row.line);
      out[`postgres/schema/${name}`] = { records: hash.count, hash: hash.digest() };
    }
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  return out;
}
