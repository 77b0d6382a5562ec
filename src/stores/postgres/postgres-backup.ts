/**
 * PostgreSQL backup: the whole schema and every row, read in one REPEATABLE READ snapshot. The snapshot
 * is exported and held by the caller while the other stores are read (the consistency point). The
 * schema comes from `pg_dump` on that same snapshot when a compatible one is installed, otherwise from
 * the built-in catalog dump (`postgres-ddl.ts`); rows always stream with `COPY … TO STDOUT`.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { delimiter, join } from 'node:path';
import { to as copyTo } from 'pg-copy-streams';
import type pg from 'pg';
import { AcxError } from '../../errors.ts';
import { reportDataset } from '../../model/report-dataset.ts';
import type { Fingerprint } from '../../model/content-hash.ts';
import type { DataFileWriter, StoreSection, DatasetEntry, ParentSnapshot } from '../../model/snapshot.ts';
import { nowIso, type BackupContext } from '../snapshot-driver.ts';
import { postgresVersion, quoteIdent as quote } from './postgres-connection.ts';
import { copyColumns, listUserTables, postDataDdl, preDataDdl, type UserTable } from './postgres-ddl.ts';
import { CopyLineHash, copyOutSql, postgresTableKey } from './postgres-fingerprint.ts';

export interface PostgresSnapshot {
  client: pg.PoolClient;
  /** The exported snapshot id (`pg_export_snapshot()`), usable by `pg_dump --snapshot`. */
  snapshotId: string;
  /** `pg_current_snapshot()` as text (`xmin:xmax:xip,…`): exactly which transactions the backup sees. */
  visibility: string;
  openedAt: string;
  /** Ends the transaction and returns the connection (or closes it, after `cancel`). */
  release(): Promise<void>;
  /** Cancels the statement running on the snapshot's connection (from another connection). */
  cancel(): Promise<void>;
}

/** Opens the REPEATABLE READ, READ ONLY transaction whose snapshot the whole backup reads. */
export async function openPostgresSnapshot(pool: pg.Pool): Promise<PostgresSnapshot> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ id: string; visibility: string }>(
      'SELECT pg_export_snapshot() AS id, pg_current_snapshot()::text AS visibility',
    );
    const snapshotId = rows[0]?.id ?? '';
    const visibility = rows[0]?.visibility ?? '';
    let released = false;
    let cancelled = false;
    return {
      client,
      snapshotId,
      visibility,
      openedAt: nowIso(),
      release: async () => {
        if (released) return;
        released = true;
        await client.query('COMMIT').catch(() => undefined);
        // A cancel may arrive late: such a connection is closed rather than handed to the next user.
        client.release(cancelled);
      },
      cancel: async () => {
        cancelled = true;
        const pid = (client as pg.PoolClient & { processID?: number }).processID; // not in pg's types
        await pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
      },
    };
  } catch (error) {
    client.release();
    throw error;
  }
}

export type PgDumpMode = 'auto' | 'never';

export interface PostgresBackupOptions {
  /** An incremental backup's parent (design §11.8): unchanged tables are reused from it. */
  parent?: ParentSnapshot;
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

/** The schema as two scripts: what rows load into (pre-data), and what is cheaper after (post-data). */
interface SchemaScripts {
  pre: string;
  post: string;
  /** Objects the built-in dump does not rebuild (pg_dump rebuilds everything). */
  warnings: string[];
}

/** The schema from `pg_dump` on the backup's exported snapshot. */
async function pgDumpSchema(pgDump: string, url: string, snapshotId: string): Promise<SchemaScripts> {
  const env = libpqEnvironment(url);
  try {
    const [pre, post] = await Promise.all([
      pgDumpSection(pgDump, env, snapshotId, 'pre-data'),
      pgDumpSection(pgDump, env, snapshotId, 'post-data'),
    ]);
    return { pre, post, warnings: [] };
  } catch (cause) {
    throw new AcxError('STORE', `pg_dump failed: ${(cause as Error).message}`, {
      subject: 'postgres',
      cause,
      hint: 'run again with a PATH without pg_dump to use the built-in schema dump',
    });
  }
}

/** The schema from the built-in catalog dump, read in the backup's own transaction. */
async function builtInSchema(client: pg.PoolClient): Promise<SchemaScripts> {
  // Fully qualified names in every definition, whatever the target's search_path.
  await client.query('SET LOCAL search_path = pg_catalog');
  const [p1, p2] = [await preDataDdl(client), await postDataDdl(client)];
  await client.query('SET LOCAL search_path = DEFAULT');
  return {
    pre: p1.statements.join('\n\n') + '\n',
    post: p2.statements.join('\n\n') + '\n',
    warnings: p1.unsupported.map((o) => `${o} is not rebuilt by the built-in schema dump (install pg_dump)`),
  };
}

/**
 * Streams `COPY … TO STDOUT` into `writer`, each chunk also into `lines` (the table's fingerprint). When the writer fails mid-COPY (a full disk, an abort) the
 * COPY must still end: destroying its stream would leave the connection waiting for the rest of the
 * COPY forever, and the COMMIT that ends the snapshot queued behind it (a hung backup holding its lock
 * and a PostgreSQL session). So the statement is cancelled on the server and what is in flight drained.
 */
async function copyInto(
  snapshot: PostgresSnapshot,
  writer: DataFileWriter,
  sql: string,
  lines: CopyLineHash,
): Promise<void> {
  const stream = snapshot.client.query(copyTo(sql));
  const ended = finished(stream);
  ended.catch(() => undefined);
  try {
    for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
      lines.write(chunk as Buffer);
      await writer.write(chunk as Buffer);
    }
  } catch (error) {
    if (!stream.destroyed && !stream.readableEnded) {
      await snapshot.cancel();
      stream.resume();
      await ended.catch(() => undefined);
    }
    throw error;
  }
}

/**
 * One table's rows, streamed with `COPY … TO STDOUT` into `postgres/tables/<schema>.<name>.copy`, and
 * their fingerprint (design §5) recorded into `fingerprints` as they pass.
 */
async function backupTable(
  snapshot: PostgresSnapshot,
  ctx: BackupContext,
  table: UserTable,
  fingerprints: Fingerprint,
): Promise<DatasetEntry> {
  const { files, reporter } = ctx;
  const { client } = snapshot;
  const columns = await copyColumns(client, table);
  const name = `${table.schema}.${table.name}`;
  let path = '';
  const lines = new CopyLineHash();
  const records = await reportDataset(reporter, 'postgres', name, undefined, async () => {
    const writer = await files.createFile(`postgres/tables/${name}.copy`, { records: true });
    path = writer.path;
    try {
      await copyInto(snapshot, writer, copyOutSql(table.qualified, columns), lines);
    } catch (error) {
      writer.abort();
      // The snapshot's own errors (storage, interrupt) say what failed; PostgreSQL's need the table.
      if (error instanceof AcxError) throw error;
      throw new AcxError('STORE', `cannot read table ${name}: ${(error as Error).message}`, {
        subject: name,
        cause: error,
      });
    }
    return (await files.closeFile(writer)).records ?? 0;
  });
  fingerprints[postgresTableKey(table.schema, table.name)] = lines.result();
  return { name, kind: 'table', schema: table.schema, table: table.name, records, columns, files: [path] };
}

/** Every user sequence's position (`last_value`, `is_called`), one JSON line each. */
async function backupSequences(client: pg.PoolClient, ctx: BackupContext): Promise<DatasetEntry> {
  const sequences = await client.query<{ schema: string; name: string; oid: number }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.oid::int AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') ORDER BY 1, 2`,
  );
  const lines: string[] = [];
  for (const s of sequences.rows) {
    const { rows } = await client.query<{ last_value: string; is_called: boolean }>(
      `SELECT last_value::text, is_called FROM ${quote(s.schema)}.${quote(s.name)}`,
    );
    lines.push(
      JSON.stringify({
        schema: s.schema,
        name: s.name,
        last_value: rows[0]?.last_value ?? '1',
        is_called: rows[0]?.is_called ?? false,
      }),
    );
  }
  const path = await ctx.files.writeLines('postgres/sequences.jsonl', lines);
  return { name: 'sequences', kind: 'sequences', records: lines.length, files: [path] };
}

/** A schema script written as one file, as the dataset `name`. */
async function writeSchemaFile(ctx: BackupContext, name: string, script: string): Promise<DatasetEntry> {
  const path = await ctx.files.writeLines(`postgres/${name}.sql`, [script]);
  return { name, kind: 'schema', records: ctx.files.entries[path]?.records ?? 0, files: [path] };
}

export async function backupPostgres(
  snapshot: PostgresSnapshot,
  ctx: BackupContext,
  options: PostgresBackupOptions,
): Promise<StoreSection> {
  const { client, snapshotId } = snapshot;
  const { reporter } = ctx;
  const readStartedAt = nowIso();
  const serverVersion = await postgresVersion(client);
  const serverMajor = Number(/^(\d+)/.exec(serverVersion)?.[1] ?? 0);
  const pgDump = options.pgDump === 'auto' ? await findPgDump(serverMajor) : undefined;

  // 1. The schema, by pg_dump when a compatible one is installed, else by the built-in dump.
  reporter.emit({
    type: 'phase',
    store: 'postgres',
    message: pgDump ? `schema with pg_dump ${pgDump.version}` : 'schema with the built-in catalog dump',
  });
  const schema = pgDump
    ? await pgDumpSchema(pgDump.path, options.url, snapshotId)
    : await builtInSchema(client);
  for (const warning of schema.warnings)
    reporter.emit({ type: 'warning', store: 'postgres', message: warning });
  const pre = await writeSchemaFile(ctx, 'schema-pre', schema.pre);
  const post = await writeSchemaFile(ctx, 'schema-post', schema.post);
  // 2. Every table's rows, then 3. the sequences' positions, all from the same snapshot.
  const tables: DatasetEntry[] = [];
  const fingerprints: Fingerprint = {};
  const unchanged = unchangedTableCheck(snapshot, ctx, options.parent, pre);
  for (const table of await listUserTables(client))
    tables.push(
      (await reuseTable(snapshot, ctx, table, unchanged, fingerprints)) ??
        (await backupTable(snapshot, ctx, table, fingerprints)),
    );
  const sequences = await backupSequences(client, ctx);

  const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? '';
  return {
    serverVersion,
    database,
    method: pgDump ? `pg_dump ${pgDump.version}` : 'built-in',
    snapshot: snapshotId,
    readStartedAt,
    readFinishedAt: nowIso(),
    datasets: [pre, ...tables, sequences, post],
    fingerprints,
    ...(schema.warnings.length > 0 ? { warnings: schema.warnings } : {}),
  };
}

/** 2^31: past this many transactions since the parent, 32-bit xids may have wrapped (no reuse). */
const XID_HORIZON = 2n ** 31n;

interface UnchangedCheck {
  parent: ParentSnapshot;
  /** The parent snapshot's xmin, as a 32-bit xid (text) for `age()`. */
  parentXmin: string;
}

/**
 * Whether tables may be reused from the parent at all (design §11.8): a format-2 sink, a parent with a
 * PostgreSQL visibility, the same schema script, and fewer than 2^31 transactions since.
 */
function unchangedTableCheck(
  snapshot: PostgresSnapshot,
  ctx: BackupContext,
  parent: ParentSnapshot | undefined,
  pre: DatasetEntry,
): UnchangedCheck | undefined {
  if (!parent || !ctx.files.reuse) return undefined;
  const parentVisibility = parent.consistency.postgresVisibility;
  if (typeof parentVisibility !== 'string') return undefined;
  const parentXmin = /^(\d+):/.exec(parentVisibility)?.[1];
  const nowXmax = /^\d+:(\d+):/.exec(snapshot.visibility)?.[1];
  if (!parentXmin || !nowXmax) return undefined;
  if (BigInt(nowXmax) < BigInt(parentXmin) || BigInt(nowXmax) - BigInt(parentXmin) >= XID_HORIZON)
    return undefined;
  const parentPre = parent.section.datasets.find((d) => d.name === 'schema-pre')?.files[0];
  const ownPre = pre.files[0];
  const parentSha = parentPre === undefined ? undefined : parent.files[parentPre]?.sha256;
  if (!ownPre || parentSha === undefined || ctx.files.entries[ownPre]?.sha256 !== parentSha) return undefined;
  return { parent, parentXmin: String(BigInt(parentXmin) % 2n ** 32n) };
}

/**
 * The parent's entry for `table` when the table is provably unchanged since the parent's snapshot: the
 * same columns, the same number of rows, and no row written by a transaction not older than the
 * parent's xmin (one scan on the server, nothing transferred). Undefined: read it. The parent's
 * fingerprint of the table, when it recorded one, is copied into `fingerprints`.
 */
async function reuseTable(
  snapshot: PostgresSnapshot,
  ctx: BackupContext,
  table: UserTable,
  check: UnchangedCheck | undefined,
  fingerprints: Fingerprint,
): Promise<DatasetEntry | undefined> {
  if (!check) return undefined;
  const name = `${table.schema}.${table.name}`;
  const previous = check.parent.section.datasets.find((d) => d.kind === 'table' && d.name === name);
  const path = previous?.files[0];
  const entry = path === undefined ? undefined : check.parent.files[path];
  if (!previous || !path || !entry || previous.files.length !== 1) return undefined;
  const columns = await copyColumns(snapshot.client, table);
  if (JSON.stringify(columns) !== JSON.stringify(previous.columns)) return undefined;
  const { rows } = await snapshot.client.query<{ n: string; young: string }>(
    `SELECT count(*)::text AS n, count(*) FILTER (WHERE age(xmin) <= age($1::text::xid))::text AS young FROM ${table.qualified}`,
    [check.parentXmin],
  );
  if (rows[0]?.young !== '0' || rows[0]?.n !== String(previous.records)) return undefined;
  ctx.files.reuse!(path, entry);
  const key = postgresTableKey(table.schema, table.name);
  const recorded = check.parent.section.fingerprints?.[key];
  if (recorded) fingerprints[key] = recorded;
  ctx.reporter.emit({
    type: 'dataset-done',
    store: 'postgres',
    dataset: name,
    records: previous.records,
    seconds: 0,
  });
  return { ...previous, reused: check.parent.id };
}
