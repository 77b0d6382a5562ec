/**
 * Content fingerprints of a PostgreSQL database: one per table (every row, in PostgreSQL's own COPY text
 * rendering, read with COPY TO) and one for the schema (columns, constraints, indexes, sequence values,
 * enum types, extensions).
 *
 * A table's rows are hashed exactly as the backup writes them (design §5): the same COPY statement
 * (`copyOutSql`, stored columns in their order, generated columns left out) and the same bytes per line
 * (`CopyLineHash`), so the backup records, while it streams, the fingerprint a restored table must have.
 */
import { to as copyTo } from 'pg-copy-streams';
import type pg from 'pg';
import { MultisetHash, type DatasetFingerprint, type Fingerprint } from '../../model/content-hash.ts';
import { quoteIdent } from './postgres-connection.ts';
import { copyColumns } from './postgres-ddl.ts';
import { listPostgresTables } from './postgres-schema.ts';

const NEWLINE = 0x0a;

/** `COPY <table> (<columns>) TO STDOUT`: the one statement the backup and the fingerprint read rows with. */
export function copyOutSql(qualified: string, columns: readonly string[]): string {
  return `COPY ${qualified} (${columns.map(quoteIdent).join(', ')}) TO STDOUT`;
}

/** A table's fingerprint key: `postgres/table/<name>` (public schema), `postgres/table/<schema>.<name>` else. */
export function postgresTableKey(schema: string, name: string): string {
  return `postgres/table/${schema === 'public' ? name : `${schema}.${name}`}`;
}

/**
 * Hashes COPY text as it streams: each line's bytes, without its newline, is one record. Split on bytes,
 * not on decoded text (a chunk boundary may fall inside a character); only a line cut by a chunk
 * boundary is copied.
 */
export class CopyLineHash {
  private readonly hash = new MultisetHash();
  private pending: Buffer[] = [];

  write(chunk: Buffer): void {
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, i);
      if (this.pending.length > 0) {
        this.pending.push(piece);
        this.hash.add(Buffer.concat(this.pending));
        this.pending = [];
      } else this.hash.add(piece);
      start = i + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
  }

  /** The fingerprint of the lines written (a last line without its newline counts too). */
  result(): DatasetFingerprint {
    if (this.pending.length > 0) {
      this.hash.add(Buffer.concat(this.pending));
      this.pending = [];
    }
    return { records: this.hash.count, hash: this.hash.digest() };
  }
}

async function hashTable(client: pg.PoolClient, table: string): Promise<DatasetFingerprint> {
  const qualified = `public.${quoteIdent(table)}`;
  const oid = (await client.query<{ oid: number }>('SELECT $1::regclass::oid::int AS oid', [qualified]))
    .rows[0]!.oid;
  const columns = await copyColumns(client, { oid, schema: 'public', name: table, qualified });
  const lines = new CopyLineHash();
  const stream = client.query(copyTo(copyOutSql(qualified, columns)));
  for await (const chunk of stream as AsyncIterable<Buffer>) lines.write(chunk);
  return lines.result();
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
      out[postgresTableKey('public', table)] = await hashTable(client, table);
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
