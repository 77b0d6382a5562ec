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
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type pg from 'pg';
import { AcxError } from '../../errors.ts';
import type { InputDataset } from '../../model/input.ts';
import { TIMESTAMP_FIELD } from '../../model/conflict.ts';
import { dtcRecordProblems } from '../../model/dtc-rules.ts';
import { PII_COLUMNS } from '../../model/privacy.ts';
import {
  datasetDone,
  rejectRecord,
  secondsSince,
  zeroCounts,
  type DatasetCounts,
  type DatasetResult,
  type ImportContext,
} from '../../model/import.ts';
import { quoteIdent } from './postgres-connection.ts';
import { pgCopyText, type PgColumn } from './postgres-values.ts';

/** Tables an import never writes: accounts cannot be recreated from an export (no password hashes). */
export const NOT_IMPORTED_TABLES: Record<string, string> = {
  users: 'accounts are never imported (exports hold no password hashes); create users in the application',
  alembic_version: 'migration bookkeeping belongs to the target database',
};

interface ForeignKey {
  name: string;
  columns: string[];
  parent: string;
  parentColumns: string[];
}

interface TableInfo {
  name: string;
  columns: Map<string, PgColumn>;
  key: string[];
  foreignKeys: ForeignKey[];
  /** Serial/identity column → its sequence. */
  sequences: Map<string, string>;
}

interface Stage {
  index: number;
  dataset: InputDataset;
  table: TableInfo;
  relation: string;
  /** The dataset's columns that exist in the table, in input order. */
  columns: string[];
  counts: DatasetCounts;
  /** Records read from the input. */
  read: number;
  /** Seconds spent on this dataset so far (staging, then applying). */
  seconds: number;
  /**
   * Required columns the input lacks because exports leave personal data out (model/privacy.ts): its
   * records can update stored ones but cannot be created.
   */
  missingPersonal: string[];
  /** What the summary should say about records that were not created. */
  notes: string[];
}

const q = quoteIdent;

export class PostgresImport {
  private client: pg.PoolClient | undefined;
  private readonly tables = new Map<string, TableInfo>();
  private readonly stages: Stage[] = [];
  private readonly sequencesBefore = new Map<string, { last_value: string; is_called: boolean }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly ctx: ImportContext,
  ) {}

  async begin(): Promise<void> {
    this.client = await this.pool.connect();
    await this.client.query('BEGIN');
  }

  private get db(): pg.PoolClient {
    if (!this.client) throw new AcxError('INTERNAL', 'PostgreSQL import used before begin()');
    return this.client;
  }

  private async tableInfo(name: string, file: string): Promise<TableInfo> {
    const known = this.tables.get(name);
    if (known) return known;
    const exists = await this.db.query<{ oid: number }>(
      `SELECT c.oid::int AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname = $1 AND c.relkind IN ('r', 'p')`,
      [name],
    );
    const oid = exists.rows[0]?.oid;
    if (oid === undefined) {
      const all = await this.db.query<{ relname: string }>(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
      );
      throw new AcxError('INVALID_INPUT', `${file}: table "${name}" does not exist in PostgreSQL`, {
        subject: file,
        hint: `tables: ${all.rows.map((r) => r.relname).join(', ')}`,
      });
    }
    const cols = await this.db.query<{
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
    }>(
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
      const varchar = c.typname === 'varchar' || c.typname === 'bpchar';
      columns.set(c.name, {
        name: c.name,
        type: c.type,
        typname: c.typname,
        category: c.category,
        ...(c.elem_typname ? { element: { typname: c.elem_typname, category: c.elem_category ?? 'S' } } : {}),
        notNull: c.notnull,
        hasDefault: c.hasdef,
        ...(varchar && c.typmod > 4 ? { maxLength: c.typmod - 4 } : {}),
        ...(c.labels ? { enumLabels: c.labels } : {}),
      });
      if (c.seq) sequences.set(c.name, c.seq);
    }
    const pk = await this.db.query<{ columns: string[] }>(
      `SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
         FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1 AND i.indisprimary`,
      [oid],
    );
    const key = name === 'dtc_codes' ? ['code'] : (pk.rows[0]?.columns ?? []);
    if (key.length === 0)
      throw new AcxError(
        'INVALID_INPUT',
        `${file}: table "${name}" has no primary key to identify records by`,
        {
          subject: file,
        },
      );
    const fks = await this.db.query<{
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
    const info: TableInfo = {
      name,
      columns,
      key,
      sequences,
      foreignKeys: fks.rows.map((r) => ({
        name: r.name,
        columns: r.columns,
        parent: r.parent,
        parentColumns: r.parent_columns,
      })),
    };
    this.tables.set(name, info);
    return info;
  }

  /** Checks every record of a dataset and streams the valid ones into a staging table. */
  async stage(dataset: InputDataset): Promise<void> {
    if (dataset.target.store !== 'postgres') throw new AcxError('INTERNAL', 'not a PostgreSQL dataset');
    const table = await this.tableInfo(dataset.target.table, dataset.file);
    const unknown = dataset.fields.filter((f) => !table.columns.has(f.name)).map((f) => f.name);
    if (unknown.length > 0)
      throw new AcxError(
        'INVALID_INPUT',
        `${dataset.file}: ${unknown.length === 1 ? 'column' : 'columns'} ${unknown.map((c) => `"${c}"`).join(', ')} not in table ${table.name}`,
        { subject: dataset.file, hint: `table ${table.name} has: ${[...table.columns.keys()].join(', ')}` },
      );
    const columns = dataset.fields.map((f) => f.name);
    const missingKey = table.key.filter((k) => !columns.includes(k));
    if (missingKey.length > 0)
      throw new AcxError(
        'INVALID_INPUT',
        `${dataset.file}: the key ${missingKey.length === 1 ? 'column' : 'columns'} ${missingKey.join(', ')} of table ${table.name} ${missingKey.length === 1 ? 'is' : 'are'} missing`,
        { subject: dataset.file },
      );
    const required = [...table.columns.values()].filter(
      (c) => c.notNull && !c.hasDefault && !columns.includes(c.name),
    );
    const personal = new Set(PII_COLUMNS[table.name] ?? []);
    const missingPersonal = required.every((c) => personal.has(c.name)) ? required.map((c) => c.name) : [];
    if (required.length > 0 && missingPersonal.length === 0)
      throw new AcxError(
        'INVALID_INPUT',
        `${dataset.file}: table ${table.name} requires ${required.map((c) => c.name).join(', ')} (NOT NULL, no default), which the file lacks`,
        { subject: dataset.file },
      );
    const index = this.stages.length;
    const relation = `acx_stage_${index}`;
    const list = columns.map(q).join(', ');
    await this.db.query(
      `CREATE TEMP TABLE ${relation} ON COMMIT DROP AS SELECT ${list} FROM public.${q(table.name)} WITH NO DATA`,
    );
    await this.db.query(
      `ALTER TABLE ${relation} ADD COLUMN _line bigint, ADD COLUMN _n bigint, ADD COLUMN _exists boolean, ADD COLUMN _skipped boolean NOT NULL DEFAULT false`,
    );
    const stage: Stage = {
      index,
      dataset,
      table,
      relation,
      columns,
      counts: zeroCounts(),
      read: 0,
      seconds: 0,
      missingPersonal,
      notes: [],
    };
    this.stages.push(stage);

    const typed = new Map(dataset.fields.map((f) => [f.name, f.type !== undefined]));
    const cols = columns.map((c) => table.columns.get(c) as PgColumn);
    const carried = new Set(columns);
    const ctx = this.ctx;
    const reporter = ctx.reporter;
    const started = performance.now();
    let seen = 0;
    async function* lines(): AsyncGenerator<string> {
      let chunk = '';
      for await (const record of dataset.records()) {
        seen++;
        if (seen % 1000 === 0) {
          ctx.signal?.throwIfAborted();
          reporter.emit({ type: 'dataset-progress', store: 'postgres', dataset: dataset.name, done: seen });
        }
        const problems = [...(record.problems ?? [])];
        const texts: string[] = [];
        for (const col of cols) {
          if (problems.some((p) => p.field === col.name)) continue;
          const converted = pgCopyText(record.values[col.name], col, typed.get(col.name) ?? false);
          if ('problem' in converted)
            problems.push({ field: col.name, reason: `${col.name} ${converted.problem}` });
          else texts.push(converted.text);
        }
        if (table.name === 'dtc_codes' && problems.length === 0)
          problems.push(...dtcRecordProblems(record.values, carried));
        if (problems.length > 0) {
          rejectRecord(ctx, stage.counts, 'postgres', dataset, record.line, problems);
          continue;
        }
        // _line is for reports (several records may share a line); _n orders and identifies them.
        chunk += `${texts.join('\t')}\t${record.line}\t${seen}\t\\N\n`;
        if (chunk.length > 256 * 1024) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    }
    reporter.emit({ type: 'dataset-start', store: 'postgres', dataset: dataset.name });
    const sink = this.db.query(copyFrom(`COPY ${relation} (${list}, _line, _n, _exists) FROM STDIN`));
    try {
      await pipeline(Readable.from(lines()), sink);
    } catch (error) {
      if (error instanceof AcxError || ctx.signal?.aborted) throw error;
      throw new AcxError(
        'STORE',
        `${dataset.file}: PostgreSQL refused a value for table ${table.name}: ${(error as Error).message}`,
        {
          subject: dataset.file,
          cause: error,
        },
      );
    }
    await this.db.query(`ANALYZE ${relation}`);
    stage.read = seen;
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
    const ordered = this.ordered();
    for (const stage of ordered) {
      const { table, relation } = stage;
      const key = table.key.map(q);
      const keyText = table.key.map((k) => `${q(k)}::text`).join(` || ', ' || `);
      // A key twice in one input: the first record counts, the later ones are rejected.
      await this.rejectRows(
        stage,
        `DELETE FROM ${relation} s USING (
           SELECT _n, first_value(_n) OVER w AS first, first_value(_line) OVER w AS first_line,
                  ${keyText} AS k FROM ${relation} WINDOW w AS (PARTITION BY ${key.join(', ')} ORDER BY _n)) d
          WHERE s._n = d._n AND d._n <> d.first RETURNING s._line, d.first_line, d.k`,
        [],
        (r) => `duplicate ${table.key.join(', ')} ${String(r.k)} (first at line ${String(r.first_line)})`,
        table.key.join(','),
      );
      for (const fk of table.foreignKeys) {
        if (!fk.columns.every((c) => stage.columns.includes(c))) continue;
        const match = (alias: string) =>
          fk.columns.map((c, i) => `${alias}.${q(fk.parentColumns[i] ?? '')} = s.${q(c)}`).join(' AND ');
        const parents = this.stages.filter(
          (o) => o.table.name === fk.parent && fk.parentColumns.every((c) => o.columns.includes(c)),
        );
        /** Not among the parent table's input records (only those that are created, when asked). */
        const notInInput = (createdOnly: boolean) =>
          parents
            .map(
              (o) =>
                `AND NOT EXISTS (SELECT 1 FROM ${o.relation} p WHERE ${createdOnly ? 'NOT p._skipped AND ' : ''}${match('p')})`,
            )
            .join(' ');
        await this.rejectRows(
          stage,
          `DELETE FROM ${relation} s
            WHERE ${fk.columns.map((c) => `s.${q(c)} IS NOT NULL`).join(' AND ')}
              AND NOT EXISTS (SELECT 1 FROM public.${q(fk.parent)} p WHERE ${match('p')}) ${notInInput(false)}
            RETURNING s._line, ${fk.columns.map((c) => `s.${q(c)}::text`).join(` || ', ' || `)} AS v`,
          [],
          (r) =>
            `${fk.columns.join(', ')} = ${String(r.v)} refers to ${fk.parent}.${fk.parentColumns.join(', ')}, which is neither in the store nor in the input`,
          fk.columns.join(','),
        );
        // Records whose parent is only among input records that could not be created are not created either.
        const orphans = await this.db.query(
          `UPDATE ${relation} s SET _skipped = true
            WHERE NOT s._skipped AND ${fk.columns.map((c) => `s.${q(c)} IS NOT NULL`).join(' AND ')}
              AND NOT EXISTS (SELECT 1 FROM public.${q(fk.parent)} p WHERE ${match('p')}) ${notInInput(true)}`,
        );
        if (orphans.rowCount)
          stage.notes.push(
            `${orphans.rowCount} records not created: they belong to ${fk.parent} records that were not created`,
          );
      }
      // Parents are applied before their children are checked: a child then finds a new parent in the store.
      await this.applyStage(stage);
    }
    return this.stages.map((s) => this.resultOf(s));
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

  private async applyStage(stage: Stage): Promise<void> {
    const started = performance.now();
    const { table, relation, columns } = stage;
    const on = table.key.map((k) => `t.${q(k)} = s.${q(k)}`).join(' AND ');
    await this.db.query(
      `UPDATE ${relation} s SET _exists = EXISTS (SELECT 1 FROM public.${q(table.name)} t WHERE ${on})`,
    );
    if (stage.missingPersonal.length > 0) {
      const skipped = await this.db.query(`UPDATE ${relation} SET _skipped = true WHERE NOT _exists`);
      if (skipped.rowCount)
        stage.notes.push(
          `${skipped.rowCount} new records not created: the input lacks ${stage.missingPersonal.join(', ')}, personal data an export leaves out unless --include-pii`,
        );
    }
    const { existing, notCreated } = (
      await this.db.query<{ existing: number; notCreated: number }>(
        `SELECT count(*) FILTER (WHERE _exists AND NOT _skipped)::int AS existing,
                count(*) FILTER (WHERE _skipped)::int AS "notCreated" FROM ${relation}`,
      )
    ).rows[0] ?? { existing: 0, notCreated: 0 };
    const settable = columns.filter(
      (c) => !table.key.includes(c) && !(table.name === 'dtc_codes' && c === 'id'),
    );
    let updated = 0;
    if (existing > 0 && settable.length > 0 && this.ctx.strategy !== 'skip') {
      let set: string;
      let where: string;
      switch (this.ctx.strategy) {
        case 'overwrite':
          set = settable.map((c) => `${q(c)} = s.${q(c)}`).join(', ');
          where = 'true';
          break;
        case 'merge':
          set = settable.map((c) => `${q(c)} = COALESCE(t.${q(c)}, s.${q(c)})`).join(', ');
          where = settable.map((c) => `(t.${q(c)} IS NULL AND s.${q(c)} IS NOT NULL)`).join(' OR ');
          break;
        case 'newest': {
          set = settable.map((c) => `${q(c)} = s.${q(c)}`).join(', ');
          const ts = q(TIMESTAMP_FIELD);
          where =
            columns.includes(TIMESTAMP_FIELD) && table.columns.has(TIMESTAMP_FIELD)
              ? `s.${ts} IS NOT NULL AND (t.${ts} IS NULL OR s.${ts} > t.${ts})`
              : 'false';
          break;
        }
      }
      const result = await this.db.query(
        `UPDATE public.${q(table.name)} t SET ${set} FROM ${relation} s WHERE s._exists AND NOT s._skipped AND ${on} AND (${where})`,
      );
      updated = result.rowCount ?? 0;
    }
    // Sequences first move past every incoming id, so ids drawn for new rows never collide.
    for (const [column, sequence] of table.sequences) {
      // Remembered even when the input has no ids: the column's default draws from it.
      await this.rememberSequence(sequence);
      if (!columns.includes(column)) continue;
      await this.db.query(
        `SELECT setval($1::regclass, m) FROM (
           SELECT GREATEST((SELECT max(${q(column)}) FROM public.${q(table.name)}), (SELECT max(${q(column)}) FROM ${relation})) AS m) x
          WHERE m IS NOT NULL AND m > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM ${sequence})`,
        [sequence],
      );
    }
    const values = columns.map((c) => {
      if (table.name === 'dtc_codes' && c === 'id' && table.sequences.has('id'))
        return `CASE WHEN s.id IS NULL OR EXISTS (SELECT 1 FROM public.dtc_codes d WHERE d.id = s.id) THEN nextval('${table.sequences.get('id') ?? ''}'::regclass) ELSE s.id END`;
      return `s.${q(c)}`;
    });
    const inserted = await this.db.query(
      `INSERT INTO public.${q(table.name)} (${columns.map(q).join(', ')})
       SELECT ${values.join(', ')} FROM ${relation} s WHERE NOT s._exists AND NOT s._skipped ORDER BY s._n`,
    );
    stage.counts.inserted = inserted.rowCount ?? 0;
    stage.counts.updated = updated;
    stage.counts.skipped = existing - updated + notCreated;
    datasetDone(this.ctx, this.resultOf(stage), stage.read, stage.seconds + secondsSince(started));
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
    if (rows[0]) this.sequencesBefore.set(sequence, rows[0]);
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
