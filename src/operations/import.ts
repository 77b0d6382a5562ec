/**
 * `acx-data import`: reads exports (JSON, CSV directory, SQLite, GraphML, vectors) and writes them into
 * the stores with a conflict strategy. Each store's part is all or nothing: PostgreSQL and Neo4j in one
 * transaction each, Qdrant by undoing its writes. Invalid records are never written; by default one
 * invalid record makes the whole import write nothing (`--skip-invalid` writes the valid ones and ends
 * "incomplete"). `--dry-run` and `--validate` run the very same import and roll it back, so their counts
 * are what a real import does. Design: docs/design.md §9.
 */
import type pg from 'pg';
import { AcxError } from '../errors.ts';
import type { InputSource } from '../model/input.ts';
import { openCsvInput } from '../formats/csv/csv-reader.ts';
import { openGraphmlInput } from '../formats/graphml/graphml-reader.ts';
import { openJsonInput } from '../formats/json/json-reader.ts';
import { openSqliteInput } from '../formats/sqlite/sqlite-reader.ts';
import { openVectorsInput } from '../formats/vectors/vectors-reader.ts';
import { SqliteImportLedger } from './import-ledger.ts';
import {
  zeroCounts,
  type DatasetCounts,
  type DatasetResult,
  type ImportContext,
  type Rejection,
} from '../model/import.ts';
import type { ConflictStrategy } from '../model/conflict.ts';
import type { LabelMap } from '../model/labels.ts';
import type { ProgressReporter } from '../progress.ts';
import type { Neo4jConnection } from '../stores/neo4j/neo4j-connection.ts';
import { Neo4jImport } from '../stores/neo4j/neo4j-import.ts';
import { NOT_IMPORTED_TABLES, PostgresImport } from '../stores/postgres/postgres-import.ts';
import type { QdrantClient } from '../stores/qdrant/qdrant-client.ts';
import { QdrantImport } from '../stores/qdrant/qdrant-import.ts';

export const INPUT_FORMATS = ['json', 'csv', 'sqlite', 'graphml', 'vectors'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

const OPENERS: Record<InputFormat, (path: string) => Promise<InputSource>> = {
  json: openJsonInput,
  csv: openCsvInput,
  sqlite: openSqliteInput,
  graphml: openGraphmlInput,
  vectors: openVectorsInput,
};

export type ImportMode = 'import' | 'dry-run' | 'validate';

export interface ImportInput {
  format: InputFormat;
  path: string;
}

/** Connections, opened only for the stores the inputs actually hold. */
export interface ImportStores {
  postgres(): Promise<pg.Pool>;
  neo4j(): Promise<Neo4jConnection>;
  qdrant(): Promise<QdrantClient>;
}

export interface ImportOptions {
  inputs: readonly ImportInput[];
  stores: ImportStores;
  strategy: ConflictStrategy;
  mode: ImportMode;
  /** Write the valid records even when some are invalid (the run then ends "incomplete"). */
  skipInvalid: boolean;
  batchSize: number;
  labels: LabelMap;
  reporter: ProgressReporter;
  signal?: AbortSignal;
}

/** How many rejections the summary keeps (all of them are reported as events while the run goes). */
export const REJECTIONS_KEPT = 1000;

export interface ImportSummary {
  mode: ImportMode;
  strategy: ConflictStrategy;
  skipInvalid: boolean;
  inputs: { format: InputFormat; file: string; notices: string[] }[];
  datasets: DatasetResult[];
  totals: DatasetCounts;
  /** The first REJECTIONS_KEPT rejections. */
  rejections: Rejection[];
  rejectionsTotal: number;
  /**
   * `written`: committed; `refused`: invalid records, nothing written; `rolled-back`: a dry run or
   * validation, nothing written.
   */
  outcome: 'written' | 'refused' | 'rolled-back';
  seconds: number;
}

/** The fixed order inputs are read in (as the original tool): nodes of every input before vectors. */
const ORDER: readonly InputFormat[] = INPUT_FORMATS;

export async function importData(options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const { reporter } = options;
  const rejections: Rejection[] = [];
  let rejectionsTotal = 0;
  const ctx: ImportContext = {
    strategy: options.strategy,
    batchSize: options.batchSize,
    writes: options.mode === 'import',
    reporter,
    signal: options.signal,
    reject(rejection) {
      rejectionsTotal++;
      if (rejections.length < REJECTIONS_KEPT) rejections.push(rejection);
      reporter.emit({ type: 'rejected', ...rejection });
    },
  };
  const ledger = new SqliteImportLedger();
  let postgres: PostgresImport | undefined;
  let neo4j: Neo4jImport | undefined;
  let qdrant: QdrantImport | undefined;
  const inputs: ImportSummary['inputs'] = [];
  const rollback = async () => {
    await Promise.allSettled([postgres?.rollback(), neo4j?.rollback()]);
    await qdrant?.rollback();
  };
  try {
    const ordered = [...options.inputs].sort((a, b) => ORDER.indexOf(a.format) - ORDER.indexOf(b.format));
    for (const input of ordered) {
      const source = await OPENERS[input.format](input.path);
      const entry = { format: input.format, file: input.path, notices: [] as string[] };
      inputs.push(entry);
      try {
        for await (const dataset of source.datasets()) {
          options.signal?.throwIfAborted();
          const target = dataset.target;
          if (target.store === 'postgres') {
            const why = NOT_IMPORTED_TABLES[target.table];
            if (why) {
              let n = 0;
              for await (const _ of dataset.records()) n++;
              entry.notices.push(
                `${dataset.file}: table ${target.table} not imported (${n} records): ${why}`,
              );
              continue;
            }
            if (!postgres) {
              postgres = new PostgresImport(await options.stores.postgres(), ctx);
              await postgres.begin();
            }
            await postgres.stage(dataset);
          } else if (target.store === 'neo4j') {
            if (!neo4j) {
              neo4j = new Neo4jImport(await options.stores.neo4j(), ctx, options.labels, ledger);
              await neo4j.begin();
            }
            if (target.kind === 'nodes') await neo4j.importNodes(dataset, source.file);
            else await neo4j.importRelationships(dataset, source.file);
          } else {
            qdrant ??= new QdrantImport(await options.stores.qdrant(), ctx, ledger);
            await qdrant.importPoints(dataset);
          }
        }
      } finally {
        await source.close?.();
      }
      // Readers add notices while they read (sections without vectors, derived tables): after the datasets.
      entry.notices.unshift(...source.notices);
      for (const notice of entry.notices) reporter.emit({ type: 'warning', message: notice });
    }
    if (postgres)
      reporter.emit({ type: 'phase', store: 'postgres', message: 'checking keys and references, applying' });
    const datasets = [
      ...((await postgres?.apply()) ?? []),
      ...(neo4j?.summary() ?? []),
      ...(qdrant?.summary() ?? []),
    ];
    const totals = zeroCounts();
    for (const d of datasets)
      for (const k of Object.keys(totals) as (keyof DatasetCounts)[]) totals[k] += d.counts[k];
    let outcome: ImportSummary['outcome'];
    if (options.mode !== 'import') {
      outcome = 'rolled-back';
      await rollback();
    } else if (rejectionsTotal > 0 && !options.skipInvalid) {
      outcome = 'refused';
      await rollback();
    } else {
      await postgres?.commit();
      await neo4j?.commit();
      await qdrant?.commit();
      outcome = 'written';
    }
    if (inputs.length > 0 && datasets.length === 0 && rejectionsTotal === 0)
      reporter.emit({ type: 'warning', message: 'the inputs hold nothing to import' });
    return {
      mode: options.mode,
      strategy: options.strategy,
      skipInvalid: options.skipInvalid,
      inputs,
      datasets,
      totals,
      rejections,
      rejectionsTotal,
      outcome,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await rollback();
    if (options.signal?.aborted && !(error instanceof AcxError && error.code === 'INTERRUPTED'))
      throw new AcxError('INTERRUPTED', 'import interrupted: nothing was written', { cause: error });
    throw error;
  } finally {
    ledger.close();
  }
}
