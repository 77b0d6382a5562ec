/**
 * PostgreSQL restore, all or nothing: one transaction runs the pre-data schema, loads every table with
 * COPY, sets the sequences and adds constraints and indexes (docs/design.md §7.5). A failure rolls the
 * whole database back to what it was.
 */
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type pg from 'pg';
import { AcxError } from '../../errors.ts';
import { reportDataset } from '../../model/report-dataset.ts';
import type { DatasetEntry, StoreSection } from '../../model/snapshot.ts';
import type { PlanStep, RestoreContext, StoreRestoreSummary } from '../snapshot-driver.ts';
import { quoteIdent } from './postgres-connection.ts';
import { listUserTables } from './postgres-ddl.ts';
import { dropUserObjects } from './postgres-schema.ts';
import { throwIfAborted } from '../../model/abort.ts';
import { checkLineLength } from '../../streams.ts';

interface TableDataset extends DatasetEntry {
  schema: string;
  table: string;
  columns: string[];
}

const isTable = (d: DatasetEntry): d is TableDataset =>
  d.kind === 'table' &&
  typeof d.schema === 'string' &&
  typeof d.table === 'string' &&
  Array.isArray(d.columns);
const fileOf = (section: StoreSection, name: string): string => {
  const path = section.datasets.find((d) => d.name === name)?.files[0];
  if (!path)
    throw new AcxError('INTEGRITY', `the snapshot's PostgreSQL section has no ${name} file`, {
      subject: 'postgres',
    });
  return path;
};

/** What the target holds now: user tables with their row counts. */
async function currentTables(client: pg.ClientBase): Promise<Array<{ name: string; rows: number }>> {
  const out: Array<{ name: string; rows: number }> = [];
  for (const table of await listUserTables(client)) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table.qualified}`);
    out.push({ name: `${table.schema}.${table.name}`, rows: Number(rows[0]?.n ?? 0) });
  }
  return out;
}

export async function planPostgresRestore(
  pool: pg.Pool,
  section: StoreSection,
  replace: boolean,
): Promise<PlanStep[]> {
  const client = await pool.connect();
  try {
    const steps: PlanStep[] = [];
    const existing = await currentTables(client);
    if (existing.length > 0) {
      if (!replace && holdsRows(existing))
        return [
          {
            action: 'keep',
            object: `${existing.length} existing tables`,
            detail: 'target is not empty: restore refuses without --force',
          },
        ];
      for (const t of existing) steps.push({ action: 'drop', object: `table ${t.name}`, records: t.rows });
    }
    steps.push({ action: 'create', object: 'schema (types, tables, sequences, functions, views)' });
    for (const d of section.datasets.filter(isTable))
      steps.push({ action: 'load', object: `table ${d.name}`, records: d.records });
    const sequences = section.datasets.find((d) => d.kind === 'sequences');
    if (sequences) steps.push({ action: 'load', object: 'sequence values', records: sequences.records });
    steps.push({ action: 'create', object: 'constraints, indexes and triggers' });
    return steps;
  } finally {
    client.release();
  }
}

export async function restorePostgres(pool: pg.Pool, ctx: RestoreContext): Promise<StoreRestoreSummary> {
  const { snapshot, section, reporter } = ctx;
  const started = performance.now();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // 1. The target is empty, or its user objects are dropped under --force (in the same transaction).
    await prepareTarget(client, ctx);
    // 2. Types, tables, sequences, functions and views.
    reporter.emit({ type: 'phase', store: 'postgres', message: 'creating schema' });
    await runScript(client, await snapshot.text(fileOf(section, 'schema-pre')), 'schema-pre');
    // 3. Every table's rows, with COPY.
    const restored: StoreRestoreSummary['datasets'] = [];
    for (const dataset of section.datasets.filter(isTable)) {
      throwIfAborted(ctx.signal, 'PostgreSQL restore', dataset.name);
      restored.push({ name: dataset.name, records: await loadTable(client, ctx, dataset) });
    }
    // 4. The sequences' positions.
    restored.push({ name: 'sequences', records: await restoreSequences(client, ctx) });
    // 5. Constraints, indexes and triggers, once the rows are in.
    reporter.emit({ type: 'phase', store: 'postgres', message: 'creating constraints and indexes' });
    await runScript(client, await snapshot.text(fileOf(section, 'schema-post')), 'schema-post');
    await client.query('COMMIT');
    await analyzeUnlessAutovacuum(client);
    return { datasets: restored, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    // The pg_dump script changes session settings (search_path): never hand this connection back.
    client.release(true);
  }
}

/**
 * Planner statistics for the restored tables. Like `pg_restore`, the restore leaves them to autovacuum,
 * which analyzes a table within `autovacuum_naptime` (a minute by default) of its rows being loaded;
 * running ANALYZE here took longer than loading the rows (1.7 s of a 5 s restore at bench scale 5).
 * Where autovacuum is off nothing else would ever do it, so the restore does.
 */
async function analyzeUnlessAutovacuum(client: pg.ClientBase): Promise<void> {
  const { rows } = await client
    .query<{ on: boolean }>(
      "SELECT current_setting('autovacuum') = 'on' AND current_setting('track_counts') = 'on' AS on",
    )
    .catch(() => ({ rows: [] as Array<{ on: boolean }> }));
  if (rows[0]?.on === true) return;
  await client.query('ANALYZE').catch(() => undefined);
}

/**
 * Records to lose: rows in some table. Tables without rows (the application's empty schema, created by
 * its migrations or `seed --schema-only`) are not data: a restore replaces that schema without --force.
 */
const holdsRows = (tables: Array<{ rows: number }>): boolean => tables.some((t) => t.rows > 0);

/** Whether a restore would replace rows (see holdsRows): the restore's refusal rule. */
export async function postgresHoldsData(client: pg.ClientBase): Promise<boolean> {
  return holdsRows(await currentTables(client));
}

/**
 * Refuses a target that holds rows (NOT_EMPTY), or drops its user objects when the restore replaces
 * them (`--force`) or they are a schema without rows.
 */
async function prepareTarget(client: pg.PoolClient, ctx: RestoreContext): Promise<void> {
  const existing = await currentTables(client);
  if (existing.length > 0 && !ctx.replace && holdsRows(existing)) {
    const rows = existing.reduce((sum, t) => sum + t.rows, 0);
    throw new AcxError(
      'NOT_EMPTY',
      `PostgreSQL database is not empty (${existing.length} tables, ${rows} rows)`,
      {
        subject: 'postgres',
        hint: 'restore into an empty database, or use --force (a safety backup of the target is taken first)',
      },
    );
  }
  if (ctx.replace || existing.length > 0) {
    ctx.reporter.emit({
      type: 'phase',
      store: 'postgres',
      message: holdsRows(existing)
        ? `dropping ${existing.length} existing tables (--force)`
        : `replacing the schema of the target (${existing.length} tables: schema only, no rows)`,
    });
    await dropUserObjects(client);
  }
}

/** Streams one table's COPY file into it; INTEGRITY unless it loads as many rows as the snapshot lists. */
async function loadTable(client: pg.PoolClient, ctx: RestoreContext, dataset: TableDataset): Promise<number> {
  return reportDataset(ctx.reporter, 'postgres', dataset.name, dataset.records, async () => {
    const target = `${quoteIdent(dataset.schema)}.${quoteIdent(dataset.table)}`;
    const copy = client.query(
      copyFrom(`COPY ${target} (${dataset.columns.map(quoteIdent).join(', ')}) FROM STDIN`),
    );
    try {
      const file = dataset.files[0] ?? '';
      const rows = checkLineLength({ source: `snapshot ${ctx.snapshot.id}: ${file}` });
      await pipeline(ctx.snapshot.stream(file), rows, copy);
    } catch (error) {
      // A damaged file (more bytes than its entry records) is the snapshot's fault, not the server's.
      if (error instanceof AcxError && error.code === 'INTEGRITY') throw error;
      throw new AcxError('STORE', `cannot load table ${dataset.name}: ${(error as Error).message}`, {
        subject: dataset.name,
        cause: error,
      });
    }
    if (copy.rowCount !== dataset.records) {
      throw new AcxError(
        'INTEGRITY',
        `table ${dataset.name}: loaded ${copy.rowCount} rows, the snapshot lists ${dataset.records}`,
        { subject: dataset.name },
      );
    }
    return copy.rowCount;
  });
}

/** Sets every saved sequence to its saved position; returns how many. */
async function restoreSequences(client: pg.PoolClient, ctx: RestoreContext): Promise<number> {
  let sequences = 0;
  for await (const line of ctx.snapshot.lines(fileOf(ctx.section, 'sequences'))) {
    if (!line) continue;
    const s = JSON.parse(line) as { schema: string; name: string; last_value: string; is_called: boolean };
    await client.query(`SELECT setval(format('%I.%I', $1::text, $2::text)::regclass, $3::bigint, $4)`, [
      s.schema,
      s.name,
      s.last_value,
      s.is_called,
    ]);
    sequences++;
  }
  return sequences;
}

async function runScript(client: pg.ClientBase, sql: string, name: string): Promise<void> {
  if (sql.trim() === '') return;
  try {
    await client.query(sql);
  } catch (error) {
    const e = error as { message: string; position?: string };
    const at = e.position
      ? ` near: ${sql.slice(Math.max(0, Number(e.position) - 80), Number(e.position) + 40).replace(/\s+/g, ' ')}`
      : '';
    throw new AcxError('STORE', `the snapshot's ${name} script failed: ${e.message}${at}`, {
      subject: 'postgres',
      cause: error,
    });
  }
}
