/**
 * `acx-data import`: reads exports (JSON, CSV directory, SQLite, GraphML, vectors) and writes them into
 * the stores with a conflict strategy. Each store's part is all or nothing: PostgreSQL and Neo4j in one
 * transaction each, Qdrant by undoing its writes. Invalid records are never written; by default one
 * invalid record makes the whole import write nothing (`--skip-invalid` writes the valid ones and ends
 * "incomplete"). `--dry-run` and `--validate` run the very same import and roll it back, so their counts
 * are what a real import does. Design: docs/design.md §9.
 */
import { AcxError } from '../errors.ts';
import type { InputSource } from '../model/input.ts';
import { openCsvInput } from '../formats/csv/csv-reader.ts';
import { openGraphmlInput } from '../formats/graphml/graphml-reader.ts';
import { openJsonInput } from '../formats/json/json-reader.ts';
import { openSqliteInput } from '../formats/sqlite/sqlite-reader.ts';
import { openVectorsInput } from '../formats/vectors/vectors-reader.ts';
import { SqliteImportLedger } from './import-ledger.ts';
import {
  notImported,
  zeroCounts,
  type DatasetCounts,
  type DatasetResult,
  type ImportContext,
  type Rejection,
} from '../model/import.ts';
import type { ConflictStrategy } from '../model/conflict.ts';
import type { LabelMap } from '../model/labels.ts';
import { STORE_NAMES, type ProgressReporter, type StoreName } from '../progress.ts';
import type { Store, StoreImport } from '../stores/store.ts';

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

/** Stores, each opened only when an input holds data for it. */
export type ImportStores = Record<StoreName, () => Promise<Store>>;

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
  // One import session per store, opened when the first dataset for it arrives.
  const sessions = new Map<StoreName, StoreImport>();
  const sessionFor = async (name: StoreName): Promise<StoreImport> => {
    let session = sessions.get(name);
    if (!session) {
      const store = await options.stores[name]();
      session = await store.openImport(ctx, { labels: options.labels, ledger });
      sessions.set(name, session);
    }
    return session;
  };
  const inOrder = () => STORE_NAMES.flatMap((name) => sessions.get(name) ?? []);
  const inputs: ImportSummary['inputs'] = [];
  const rollback = async () => {
    await Promise.allSettled(inOrder().map((session) => session.rollback()));
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
          const skipped = notImported(dataset.target);
          if (skipped) {
            let n = 0;
            for await (const _ of dataset.records()) n++;
            entry.notices.push(
              `${dataset.file}: ${skipped.object} not imported (${n} records): ${skipped.reason}`,
            );
            continue;
          }
          await (await sessionFor(dataset.target.store)).write(dataset, source.file);
        }
      } finally {
        await source.close?.();
      }
      // Readers add notices while they read (sections without vectors, derived tables): after the datasets.
      entry.notices.unshift(...source.notices);
      for (const notice of entry.notices) reporter.emit({ type: 'warning', message: notice });
    }
    const datasets: DatasetResult[] = [];
    for (const [name, session] of STORE_NAMES.flatMap((n) => {
      const session = sessions.get(n);
      return session ? [[n, session] as const] : [];
    })) {
      if (name === 'postgres')
        reporter.emit({ type: 'phase', store: name, message: 'checking keys and references, applying' });
      datasets.push(...(await session.finish()));
    }
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
      for (const session of inOrder()) await session.commit();
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
