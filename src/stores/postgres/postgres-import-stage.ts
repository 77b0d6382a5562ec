/**
 * Staging one input dataset of a PostgreSQL import: its columns are checked against the table, then
 * its records are checked one by one (types, NOT NULL, enums, the DTC rules) and the valid ones are
 * streamed with COPY into a temporary table shaped like the target (plus the staging columns below),
 * where `apply()` works on them with set-based SQL.
 *
 * Staging columns: `_line` (the input line, for reports: several records may share one), `_n` (the
 * record's position: orders and identifies it), `_exists` (a stored record has its key), `_skipped`
 * (it will not be created).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type pg from 'pg';
import { AcxError } from '../../errors.ts';
import { dtcRecordProblems } from '../../model/dtc-rules.ts';
import { rejectRecord, type DatasetCounts, type ImportContext } from '../../model/import.ts';
import type { InputDataset } from '../../model/input.ts';
import { PII_COLUMNS } from '../../model/privacy.ts';
import { quoteIdent as q } from './postgres-connection.ts';
import type { TableInfo } from './postgres-import-tables.ts';
import { pgCopyText, type PgColumn } from './postgres-values.ts';

export interface Stage {
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

/**
 * The dataset's columns, checked against the table: INVALID_INPUT for a column the table lacks, a
 * missing key column, or a required column (NOT NULL, no default) missing for another reason than
 * personal data an export leaves out (those are returned as `missingPersonal`).
 */
export function stageColumns(
  dataset: InputDataset,
  table: TableInfo,
): { columns: string[]; missingPersonal: string[] } {
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
  return { columns, missingPersonal };
}

/** The temporary staging table: the target's columns of the input, plus the staging columns. */
export async function createStageTable(client: pg.ClientBase, stage: Stage): Promise<void> {
  const { relation, table, columns } = stage;
  await client.query(
    `CREATE TEMP TABLE ${relation} ON COMMIT DROP AS SELECT ${columns.map(q).join(', ')} FROM public.${q(table.name)} WITH NO DATA`,
  );
  await client.query(
    `ALTER TABLE ${relation} ADD COLUMN _line bigint, ADD COLUMN _n bigint, ADD COLUMN _exists boolean, ADD COLUMN _skipped boolean NOT NULL DEFAULT false`,
  );
}

/** Streams the dataset's valid records into the staging table; returns the records read. */
export async function copyIntoStage(
  client: pg.ClientBase,
  ctx: ImportContext,
  stage: Stage,
): Promise<number> {
  const { dataset, table, relation } = stage;
  const seen = { records: 0 };
  const sink = client.query(
    copyFrom(`COPY ${relation} (${stage.columns.map(q).join(', ')}, _line, _n, _exists) FROM STDIN`),
  );
  try {
    await pipeline(Readable.from(stageLines(ctx, stage, seen)), sink);
  } catch (error) {
    if (error instanceof AcxError || ctx.signal?.aborted) throw error;
    throw new AcxError(
      'STORE',
      `${dataset.file}: PostgreSQL refused a value for table ${table.name}: ${(error as Error).message}`,
      { subject: dataset.file, cause: error },
    );
  }
  return seen.records;
}

/** COPY text of the valid records, in chunks; every invalid record is rejected (reported) on the way. */
async function* stageLines(
  ctx: ImportContext,
  stage: Stage,
  seen: { records: number },
): AsyncGenerator<string> {
  const { dataset, table, columns } = stage;
  const typed = new Map(dataset.fields.map((f) => [f.name, f.type !== undefined]));
  const cols = columns.map((c) => table.columns.get(c) as PgColumn);
  const carried = new Set(columns);
  let chunk = '';
  for await (const record of dataset.records()) {
    seen.records++;
    if (seen.records % 1000 === 0) {
      ctx.signal?.throwIfAborted();
      ctx.reporter.emit({
        type: 'dataset-progress',
        store: 'postgres',
        dataset: dataset.name,
        done: seen.records,
      });
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
    chunk += `${texts.join('\t')}\t${record.line}\t${seen.records}\t\\N\n`;
    if (chunk.length > 256 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
