/**
 * Import into PostgreSQL, all or nothing: one transaction holds the whole import. Each input dataset is
 * checked record by record (types, NOT NULL, enums, the DTC rules) and the valid records are streamed
 * with COPY into a temporary staging table. When every input is staged, `apply()` works table by
 * table in foreign-key order (parents first): it rejects duplicate keys and records whose foreign keys
 * point nowhere (neither in the store nor among the valid incoming records), then applies the conflict
 * strategy with set-based SQL (model/conflict.ts has the rules). Sequences are moved past the largest
 * incoming id. A dry run does exactly the same and rolls back, so its counts are the real ones.
 *
 * Identity: `dtc_codes` by `code` (its `id` is kept when free, otherwise a new one is drawn, and never
 * updated); every other table by its primary key.
 *
 * The parts: `postgres-import-tables.ts` reads a table's columns and keys, `postgres-import-stage.ts`
 * checks and stages a dataset, `postgres-import-sql.ts` builds the statements of `apply()`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { AcxError } from '../../errors.ts';
import { appendUndoRecords } from '../../files.ts';
import type { InputDataset } from '../../model/input.ts';
import {
  datasetDone,
  rejectRecord,
  secondsSince,
  zeroCounts,
  type DatasetResult,
  type ImportContext,
} from '../../model/import.ts';
import {
  danglingSql,
  duplicatesSql,
  insertSql,
  keyMatch,
  orphansSql,
  sequenceSql,
  updateSql,
} from './postgres-import-sql.ts';
import { quoteIdent as q } from './postgres-connection.ts';
import { copyIntoStage, createStageTable, stageColumns, type Stage } from './postgres-import-stage.ts';
import { readTableInfo, type ForeignKey, type TableInfo } from './postgres-import-tables.ts';

/** The sequences an import moved, with their state before, in its work folder (one JSON object a line). */
export const POSTGRES_SEQUENCES_FILE = 'postgres-sequences.ndjson';

/**
 * After an import killed with SIGKILL (its transaction rolled back by the server): puts back the
 * sequences it had moved, which are not transactional. Says what it did; idempotent.
 */
export async function recoverPostgresImport(pool: pg.Pool, workDir: string): Promise<string | undefined> {
  const text = await readFile(join(workDir, POSTGRES_SEQUENCES_FILE), 'utf8').catch(() => '');
  const entries = text
    .split('\n')
    .filter((line) => line.startsWith('{') && line.endsWith('}'))
    .map((line) => JSON.parse(line) as { sequence: string; last_value: string; is_called: boolean });
  for (const e of entries)
    await pool.query('SELECT setval($1::regclass, $2::bigint, $3)', [e.sequence, e.last_value, e.is_called]);
  return entries.length > 0 ? `put back ${entries.length} sequences it had moved` : undefined;
}

export class PostgresImport {
  private client: pg.PoolClient | undefined;
  private readonly tables = new Map<string, TableInfo>();
  private readonly stages: Stage[] = [];
  private readonly sequencesBefore = new Map<string, { last_value: string; is_called: boolean }>();

  private readonly pool: pg.Pool;
  private readonly ctx: ImportContext;

  constructor(pool: pg.Pool, ctx: ImportContext) {
    this.pool = pool;
    this.ctx = ctx;
  }

  async begin(): Promise<void> {
    this.client = await this.pool.connect();
    await this.client.query('BEGIN');
    // A time without an offset is UTC (model/conflict.ts), whatever the server's or role's time zone.
    await this.client.query("SET LOCAL TimeZone = 'UTC'");
  }

  private get db(): pg.PoolClient {
    if (!this.client) throw new AcxError('INTERNAL', 'PostgreSQL import used before begin()');
    return this.client;
  }

  private async tableInfo(name: string, file: string): Promise<TableInfo> {
    const known = this.tables.get(name);
    if (known) return known;
    const info = await readTableInfo(this.db, name, file);
    this.tables.set(name, info);
    return info;
  }

  /** Checks every record of a dataset and streams the valid ones into a staging table. */
  async stage(dataset: InputDataset): Promise<void> {
    if (dataset.target.store !== 'postgres') throw new AcxError('INTERNAL', 'not a PostgreSQL dataset');
    const table = await this.tableInfo(dataset.target.table, dataset.file);
    const { columns, missingPersonal } = stageColumns(dataset, table);
    const index = this.stages.length;
    const stage: Stage = {
      index,
      dataset,
      table,
      relation: `acx_stage_${index}`,
      columns,
      counts: zeroCounts(),
      read: 0,
      seconds: 0,
      missingPersonal,
      notes: [],
    };
    await createStageTable(this.db, stage);
    this.stages.push(stage);
    const started = performance.now();
    this.ctx.reporter.emit({ type: 'dataset-start', store: 'postgres', dataset: dataset.name });
    stage.read = await copyIntoStage(this.db, this.ctx, stage);
    await this.db.query(`ANALYZE ${stage.relation}`);
    stage.seconds = secondsSince(started);
  }

  /** Foreign-key order over the staged tables: parents before children. */
  private ordered(): Stage[] {
    const names = [...new Set(this.stages.map((s) => s.table.name))];
    const order: string[] = [];
    const visiting = new Set<string>();
    const visit = (name: string) => {
      if (order.includes(name) || visiting.has(name)) return;
      visiting.add(name);
      for (const fk of this.tables.get(name)?.foreignKeys ?? [])
        if (names.includes(fk.parent)) visit(fk.parent);
      order.push(name);
    };
    for (const n of names) visit(n);
    return order.flatMap((n) => this.stages.filter((s) => s.table.name === n));
  }

  private async rejectRows(
    stage: Stage,
    sql: string,
    params: unknown[],
    reason: (row: Record<string, unknown>) => string,
    field?: string,
  ): Promise<void> {
    const result = await this.db.query<Record<string, unknown>>(sql, params);
    for (const row of result.rows)
      rejectRecord(this.ctx, stage.counts, 'postgres', stage.dataset, Number(row._line), [
        { field, reason: reason(row) },
      ]);
  }

  /** Rejects duplicates and dangling references, then applies the strategy, table by table. */
  async apply(): Promise<DatasetResult[]> {
    for (const stage of this.ordered()) {
      const { table } = stage;
      await this.rejectRows(
        stage,
        duplicatesSql(stage),
        [],
        (r) => `duplicate ${table.key.join(', ')} ${String(r.k)} (first at line ${String(r.first_line)})`,
        table.key.join(','),
      );
      for (const fk of table.foreignKeys) {
        if (fk.columns.every((c) => stage.columns.includes(c))) await this.checkReferences(stage, fk);
      }
      // Parents are applied before their children are checked: a child then finds a new parent in the store.
      await this.applyStage(stage);
    }
    return this.stages.map((s) => this.resultOf(s));
  }

  /**
   * Rejects the staged records whose foreign key points neither into the store nor into the input,
   * and marks as not created those whose parent is only among input records that are not created.
   */
  private async checkReferences(stage: Stage, fk: ForeignKey): Promise<void> {
    const parents = this.stages.filter(
      (o) => o.table.name === fk.parent && fk.parentColumns.every((c) => o.columns.includes(c)),
    );
    await this.rejectRows(
      stage,
      danglingSql(stage, fk, parents),
      [],
      (r) =>
        `${fk.columns.join(', ')} = ${String(r.v)} refers to ${fk.parent}.${fk.parentColumns.join(', ')}, which is neither in the store nor in the input`,
      fk.columns.join(','),
    );
    const orphans = await this.db.query(orphansSql(stage, fk, parents));
    if (orphans.rowCount)
      stage.notes.push(
        `${orphans.rowCount} records not created: they belong to ${fk.parent} records that were not created`,
      );
  }

  private resultOf(stage: Stage): DatasetResult {
    const { dataset, table, counts, notes } = stage;
    return {
      store: 'postgres',
      dataset: dataset.name,
      file: dataset.file,
      target: table.name,
      counts,
      ...(notes.length > 0 ? { notes } : {}),
    };
  }

  /** Updates the stored records (by the strategy), moves the sequences, inserts the new records. */
  private async applyStage(stage: Stage): Promise<void> {
    const started = performance.now();
    const { existing, notCreated } = await this.markExisting(stage);
    const update = updateSql(this.ctx.strategy, stage);
    const updated = existing > 0 && update ? ((await this.db.query(update)).rowCount ?? 0) : 0;
    // Sequences first move past every incoming id, so ids drawn for new rows never collide.
    for (const [column, sequence] of stage.table.sequences) {
      // Remembered even when the input has no ids: the column's default draws from it.
      await this.rememberSequence(sequence);
      if (stage.columns.includes(column))
        await this.db.query(sequenceSql(stage, column, sequence), [sequence]);
    }
    const inserted = await this.db.query(insertSql(stage));
    stage.counts.inserted = inserted.rowCount ?? 0;
    stage.counts.updated = updated;
    stage.counts.skipped = existing - updated + notCreated;
    datasetDone(this.ctx, this.resultOf(stage), stage.read, stage.seconds + secondsSince(started));
  }

  /**
   * Marks the staged records a stored record has the key of; those the input cannot create (personal
   * data left out) are skipped. Returns how many exist (and are not skipped) and how many are skipped.
   */
  private async markExisting(stage: Stage): Promise<{ existing: number; notCreated: number }> {
    const { table, relation } = stage;
    await this.db.query(
      `UPDATE ${relation} s SET _exists = EXISTS (SELECT 1 FROM public.${q(table.name)} t WHERE ${keyMatch(table)})`,
    );
    if (stage.missingPersonal.length > 0) {
      const skipped = await this.db.query(`UPDATE ${relation} SET _skipped = true WHERE NOT _exists`);
      if (skipped.rowCount)
        stage.notes.push(
          `${skipped.rowCount} new records not created: the input lacks ${stage.missingPersonal.join(', ')}, personal data an export leaves out unless --include-pii`,
        );
    }
    return (
      (
        await this.db.query<{ existing: number; notCreated: number }>(
          `SELECT count(*) FILTER (WHERE _exists AND NOT _skipped)::int AS existing,
                count(*) FILTER (WHERE _skipped)::int AS "notCreated" FROM ${relation}`,
        )
      ).rows[0] ?? { existing: 0, notCreated: 0 }
    );
  }

  async commit(): Promise<void> {
    await this.db.query('COMMIT');
    this.release();
  }

  /**
   * Sequences are not transactional: a rollback leaves them moved. Their state before the import is
   * kept and put back on rollback.
   */
  private async rememberSequence(sequence: string): Promise<void> {
    if (this.sequencesBefore.has(sequence)) return;
    const { rows } = await this.db.query<{ last_value: string; is_called: boolean }>(
      `SELECT last_value::text, is_called FROM ${sequence}`,
    );
    if (!rows[0]) return;
    this.sequencesBefore.set(sequence, rows[0]);
    // An import killed with SIGKILL cannot put it back: the next import does, from the work folder. On
    // disk (fsync'd) before the sequence moves: setval is not transactional.
    if (this.ctx.workDir) {
      const path = join(this.ctx.workDir, POSTGRES_SEQUENCES_FILE);
      await appendUndoRecords(path, JSON.stringify({ sequence, ...rows[0] }) + '\n');
    }
  }

  async rollback(): Promise<void> {
    if (!this.client) return;
    await this.client.query('ROLLBACK').catch(() => undefined);
    for (const [sequence, before] of this.sequencesBefore) {
      await this.client
        .query(
          `SELECT setval($1::regclass, $2::bigint, $3) FROM ${sequence}
`,
          [sequence, before.last_value, before.is_called],
        )
        .catch(() => undefined);
    }
    this.release();
  }

  private release(): void {
    this.client?.release();
    this.client = undefined;
  }
}
