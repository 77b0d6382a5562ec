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
import { ImportJournalWriter, recoverInterruptedImports, type RecoveredImport } from './import-journal.ts';
import type { JournalPlace } from './run-journal.ts';
import { refuseInterruptedRestore } from './restore-journal.ts';

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
  /**
   * Where the run's journal lives (the state directory and the databases' identity): a writing import
   * first rolls back what killed imports into the same databases left, then keeps its own journal and
   * undo files there. None: no journal (undo files in a temporary folder).
   */
  journal?: JournalPlace;
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
  /** Imports killed earlier whose uncommitted writes this run rolled back before it began. */
  recovered?: RecoveredImport[];
  seconds: number;
}

/** The fixed order inputs are read in (as the original tool): nodes of every input before vectors. */
const ORDER: readonly InputFormat[] = INPUT_FORMATS;

/** Every rejection is reported as it happens; the summary keeps the first REJECTIONS_KEPT. */
function importContext(options: ImportOptions) {
  const rejected = { kept: [] as Rejection[], total: 0 };
  const ctx: ImportContext = {
    strategy: options.strategy,
    batchSize: options.batchSize,
    writes: options.mode === 'import',
    reporter: options.reporter,
    signal: options.signal,
    reject(rejection) {
      rejected.total++;
      if (rejected.kept.length < REJECTIONS_KEPT) rejected.kept.push(rejection);
      options.reporter.emit({ type: 'rejected', ...rejection });
    },
  };
  return { ctx, rejected };
}

/** One import session per store, opened when the first dataset for it arrives; visited in registry order. */
class StoreSessions {
  private readonly sessions = new Map<StoreName, StoreImport>();

  private readonly options: ImportOptions;
  private readonly ctx: ImportContext;
  private readonly ledger: SqliteImportLedger;
  private readonly journal: ImportJournalWriter | undefined;

  constructor(
    options: ImportOptions,
    ctx: ImportContext,
    ledger: SqliteImportLedger,
    journal: ImportJournalWriter | undefined,
  ) {
    this.options = options;
    this.ctx = ctx;
    this.ledger = ledger;
    this.journal = journal;
  }

  async for(name: StoreName): Promise<StoreImport> {
    let session = this.sessions.get(name);
    if (!session) {
      const store = await this.options.stores[name]();
      await this.journal?.opened(name);
      session = await store.openImport(this.ctx, { labels: this.options.labels, ledger: this.ledger });
      this.sessions.set(name, session);
    }
    return session;
  }

  private inOrder(): Array<[StoreName, StoreImport]> {
    return STORE_NAMES.flatMap((name) => {
      const session = this.sessions.get(name);
      return session ? [[name, session] as [StoreName, StoreImport]] : [];
    });
  }

  /** Finishes every session (PostgreSQL checks keys and references here) and reports every dataset. */
  async finish(): Promise<DatasetResult[]> {
    const datasets: DatasetResult[] = [];
    for (const [name, session] of this.inOrder()) {
      if (name === 'postgres')
        this.options.reporter.emit({
          type: 'phase',
          store: name,
          message: 'checking keys and references, applying',
        });
      datasets.push(...(await session.finish()));
    }
    return datasets;
  }

  async commit(): Promise<void> {
    for (const [name, session] of this.inOrder()) {
      await session.commit();
      await this.journal?.committed(name);
    }
  }

  /** Set when a session's rollback failed: what it left is undone by the next import (journal kept). */
  rollbackFailed = false;

  async rollback(): Promise<void> {
    const results = await Promise.allSettled(this.inOrder().map(([, session]) => session.rollback()));
    if (results.some((r) => r.status === 'rejected')) this.rollbackFailed = true;
  }
}

/** Reads one input, handing each dataset to its store's session; returns what the summary lists of it. */
async function readInput(
  input: ImportInput,
  sessions: StoreSessions,
  options: ImportOptions,
): Promise<ImportSummary['inputs'][number]> {
  const source = await OPENERS[input.format](input.path);
  const entry = { format: input.format, file: input.path, notices: [] as string[] };
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
      await (await sessions.for(dataset.target.store)).write(dataset, source.file);
    }
  } finally {
    await source.close?.();
  }
  // Readers add notices while they read (sections without vectors, derived tables): after the datasets.
  entry.notices.unshift(...source.notices);
  for (const notice of entry.notices) options.reporter.emit({ type: 'warning', message: notice });
  return entry;
}

function totalsOf(datasets: readonly DatasetResult[]): DatasetCounts {
  const totals = zeroCounts();
  for (const d of datasets)
    for (const k of Object.keys(totals) as (keyof DatasetCounts)[]) totals[k] += d.counts[k];
  return totals;
}

/**
 * Phases: read every input into its stores' sessions (inputs in the fixed order) → finish the sessions →
 * commit, or roll back (dry run, validation, invalid records without --skip-invalid, any failure).
 */
export async function importData(options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const { ctx, rejected } = importContext(options);
  const { journal, recovered } = await openJournal(options);
  if (journal) ctx.workDir = journal.folder;
  const ledger = new SqliteImportLedger();
  const sessions = new StoreSessions(options, ctx, ledger, journal);
  try {
    const inputs: ImportSummary['inputs'] = [];
    const ordered = [...options.inputs].sort((a, b) => ORDER.indexOf(a.format) - ORDER.indexOf(b.format));
    for (const input of ordered) inputs.push(await readInput(input, sessions, options));
    const datasets = await sessions.finish();
    let outcome: ImportSummary['outcome'];
    if (options.mode !== 'import') outcome = 'rolled-back';
    else if (rejected.total > 0 && !options.skipInvalid) outcome = 'refused';
    else outcome = 'written';
    if (outcome === 'written') await sessions.commit();
    else await sessions.rollback();
    if (inputs.length > 0 && datasets.length === 0 && rejected.total === 0)
      options.reporter.emit({ type: 'warning', message: 'the inputs hold nothing to import' });
    return {
      mode: options.mode,
      strategy: options.strategy,
      skipInvalid: options.skipInvalid,
      inputs,
      datasets,
      totals: totalsOf(datasets),
      rejections: rejected.kept,
      rejectionsTotal: rejected.total,
      outcome,
      ...(recovered.length > 0 ? { recovered } : {}),
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await sessions.rollback();
    if (options.signal?.aborted && !(error instanceof AcxError && error.code === 'INTERRUPTED'))
      throw new AcxError('INTERRUPTED', 'import interrupted: nothing was written', { cause: error });
    throw error;
  } finally {
    ledger.close();
    // Committed or rolled back (a failed rollback keeps the journal, so the next import retries it).
    if (journal && !sessions.rollbackFailed) await journal.end();
  }
}

/** A writing import first rolls back what killed ones left, then starts its own journal. */
async function openJournal(options: ImportOptions) {
  if (!options.journal || options.mode !== 'import') return { journal: undefined, recovered: [] };
  await refuseInterruptedRestore(options.journal);
  const recovered = await recoverInterruptedImports(
    options.journal,
    options.stores,
    options.batchSize,
    options.reporter,
  );
  const inputs = options.inputs.map((i) => `${i.format}:${i.path}`);
  return { journal: await ImportJournalWriter.start(options.journal, inputs), recovered };
}
