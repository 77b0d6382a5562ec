/**
 * PostgreSQL backup: the whole schema and every row, read in one REPEATABLE READ snapshot. The snapshot
 * is exported and held by the caller while the other stores are read (the consistency point). The
 * schema comes from `pg_dump` on that same snapshot when a compatible one is installed, otherwise from
 * the built-in catalog dump (`postgres-ddl.ts`); rows always stream with `COPY … TO STDOUT`.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { to as copyTo } from 'pg-copy-streams';
import type pg from 'pg';
import { AcxError } from '../../errors.ts';
import type { StoreSection, DatasetEntry } from '../../model/snapshot.ts';
import { nowIso, type BackupContext } from '../snapshot-driver.ts';
import { postgresVersion, quoteIdent as quote } from './postgres-connection.ts';
import { copyColumns, listUserTables, postDataDdl, preDataDdl } from './postgres-ddl.ts';

export interface PostgresSnapshot {
  client: pg.PoolClient;
  /** The exported snapshot id (`pg_export_snapshot()`), usable by `pg_dump --snapshot`. */
  snapshotId: string;
  openedAt: string;
  /** Ends the transaction and returns the connection. */
  release(): Promise<void>;
}

/** Opens the REPEATABLE READ, READ ONLY transaction whose snapshot the whole backup reads. */
export async function openPostgresSnapshot(pool: pg.Pool): Promise<PostgresSnapshot> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const snapshotId = rows[0]?.id ?? '';
    let released = false;
    return {
      client,
      snapshotId,
      openedAt: nowIso(),
      release: async () => {
        if (released) return;
        released = true;
        await client.query('COMMIT').catch(() => undefined);
        client.release();
      },
    };
  } catch (error) {
    client.release();
    throw error;
  }
}

export type PgDumpMode = 'auto' | 'never';

export interface PostgresBackupOptions {
  /** DATABASE_URL: pg_dump connects with it (its password goes through the environment, not argv). */
  url: string;
  pgDump: PgDumpMode;
}

/** Finds a `pg_dump` on PATH whose major version is at least the server's. */
export async function findPgDump(
  serverMajor: number,
): Promise<{ path: string; version: string } | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'pg_dump');
    try {
      await access(candidate, constants.X_OK);
    } catch {
      continue;
    }
    const output = await runText(candidate, ['--version'], process.env);
    const match = /(\d+)(?:\.(\d+))?/.exec(output);
    if (match && Number(match[1]) >= serverMajor)
      return { path: candidate, version: `${match[1]}${match[2] ? `.${match[2]}` : ''}` };
    return undefined;
  }
  return undefined;
}

function runText(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${file} exited with ${code}: ${err.trim()}`)),
    );
  });
}

/** libpq environment for a URL, so no password ever appears on a command line. */
export function libpqEnvironment(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (u.hostname) env.PGHOST = decodeURIComponent(u.hostname.replace(/^\[|\]$/g, ''));
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (database) env.PGDATABASE = database;
  for (const [key, value] of u.searchParams) {
    const name = {
      sslmode: 'PGSSLMODE',
      host: 'PGHOST',
      port: 'PGPORT',
      user: 'PGUSER',
      password: 'PGPASSWORD',
      dbname: 'PGDATABASE',
      sslrootcert: 'PGSSLROOTCERT',
      application_name: 'PGAPPNAME',
    }[key];
    if (name) env[name] = value;
  }
  return env;
}

/** Lines of pg_dump's plain output that only psql understands (`\restrict`, `\unrestrict`, `\connect`). */
const PSQL_META = /^\\/;

async function pgDumpSection(
  pgDump: string,
  env: NodeJS.ProcessEnv,
  snapshotId: string,
  section: 'pre-data' | 'post-data',
): Promise<string> {
  const args = [
    '--snapshot',
    snapshotId,
    '--section',
    section,
    '--no-owner',
    '--no-privileges',
    '--format',
    'plain',
  ];
  const text = await runText(pgDump, args, env);
  return text
    .split('\n')
    .filter((line) => !PSQL_META.test(line))
    .join('\n');
}

export async function backupPostgres(
  snapshot: PostgresSnapshot,
  ctx: BackupContext,
  options: PostgresBackupOptions,
): Promise<StoreSection> {
  const { client, snapshotId } = snapshot;
  const { reporter, files } = ctx;
  const readStartedAt = nowIso();
  const serverVersion = await postgresVersion(client);
  const serverMajor = Number(/^(\d+)/.exec(serverVersion)?.[1] ?? 0);
  const pgDump = options.pgDump === 'auto' ? await findPgDump(serverMajor) : undefined;
  const datasets: DatasetEntry[] = [];

  reporter.emit({
    type: 'phase',
    store: 'postgres',
    message: pgDump ? `schema with pg_dump ${pgDump.version}` : 'schema with the built-in catalog dump',
  });
  let pre: string;
  let post: string;
  const warnings: string[] = [];
  if (pgDump) {
    const env = libpqEnvironment(options.url);
    try {
      [pre, post] = await Promise.all([
        pgDumpSection(pgDump.path, env, snapshotId, 'pre-data'),
        pgDumpSection(pgDump.path, env, snapshotId, 'post-data'),
      ]);
    } catch (cause) {
      throw new AcxError('STORE', `pg_dump failed: ${(cause as Error).message}`, {
        subject: 'postgres',
        cause,
        hint: 'run again with a PATH without pg_dump to use the built-in schema dump',
      });
    }
  } else {
    // Fully qualified names in every definition, whatever the target's search_path.
    await client.query('SET LOCAL search_path = pg_catalog');
    const [p1, p2] = [await preDataDdl(client), await postDataDdl(client)];
    await client.query('SET LOCAL search_path = DEFAULT');
    for (const object of p1.unsupported)
      warnings.push(`${object} is not rebuilt by the built-in schema dump (install pg_dump)`);
    pre = p1.statements.join('\n\n') + '\n';
    post = p2.statements.join('\n\n') + '\n';
  }
  for (const warning of warnings) reporter.emit({ type: 'warning', store: 'postgres', message: warning });
  const prePath = await files.writeLines('postgres/schema-pre.sql', [pre]);
  const postPath = await files.writeLines('postgres/schema-post.sql', [post]);
  datasets.push({
    name: 'schema-pre',
    kind: 'schema',
    records: files.entries[prePath]?.records ?? 0,
    files: [prePath],
  });

  for (const table of await listUserTables(client)) {
    const columns = await copyColumns(client, table);
    const name = `${table.schema}.${table.name}`;
    reporter.emit({ type: 'dataset-start', store: 'postgres', dataset: name });
    const started = performance.now();
    const writer = await files.createFile(`postgres/tables/${name}.copy`, { records: true });
    try {
      const list = columns.map(quote).join(', ');
      const stream = client.query(copyTo(`COPY ${table.qualified} (${list}) TO STDOUT`));
      await writer.writeFrom(stream as AsyncIterable<Buffer>);
    } catch (error) {
      writer.abort();
      throw new AcxError('STORE', `cannot read table ${name}: ${(error as Error).message}`, {
        subject: name,
        cause: error,
      });
    }
    const entry = await files.closeFile(writer);
    datasets.push({
      name,
      kind: 'table',
      schema: table.schema,
      table: table.name,
      records: entry.records ?? 0,
      columns,
      files: [writer.path],
    });
    reporter.emit({
      type: 'dataset-done',
      store: 'postgres',
      dataset: name,
      records: entry.records ?? 0,
      seconds: (performance.now() - started) / 1000,
    });
  }

  const sequences = await client.query<{ schema: string; name: string; oid: number }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.oid::int AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') ORDER BY 1, 2`,
  );
  const sequenceLines: string[] = [];
  for (const s of sequences.rows) {
    const { rows } = await client.query<{ last_value: string; is_called: boolean }>(
      `SELECT last_value::text, is_called FROM ${quote(s.schema)}.${quote(s.name)}`,
    );
    sequenceLines.push(
      JSON.stringify({
        schema: s.schema,
        name: s.name,
        last_value: rows[0]?.last_value ?? '1',
        is_called: rows[0]?.is_called ?? false,
      }),
    );
  }
  const sequencesPath = await files.writeLines('postgres/sequences.jsonl', sequenceLines);
  datasets.push({
    name: 'sequences',
    kind: 'sequences',
    records: sequenceLines.length,
    files: [sequencesPath],
  });
  datasets.push({
    name: 'schema-post',
    kind: 'schema',
    records: files.entries[postPath]?.records ?? 0,
    files: [postPath],
  });

  const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? '';
  return {
    serverVersion,
    database,
    method: pgDump ? `pg_dump ${pgDump.version}` : 'built-in',
    snapshot: snapshotId,
    readStartedAt,
    readFinishedAt: nowIso(),
    datasets,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
