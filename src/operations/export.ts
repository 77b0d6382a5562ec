/**
 * `acx-data export`: the guide's export_data.py. One export is a directory
 * `<output-dir>/<YYYYMMDD_HHMMSS>/` holding the chosen formats and a `manifest.json` written last (a
 * directory without one is an export that did not finish). Every format streams from the stores;
 * a format that fails is reported and its files removed, the others are kept, and the summary lists it
 * in `failures` (outcome `incomplete`, or `failed` when every format failed; the manifest is written
 * either way). A run that throws before the manifest is written removes its directory.
 */
import { STORE_NAMES, type ProgressReporter, type StoreName } from '../progress.ts';
import {
  hasDtcViews,
  hasGraph,
  type ExportRequest,
  type ExportView,
  type FieldSpec,
  type VectorCollection,
} from '../model/dataset.ts';
import { describeFilter, isFilterActive, type DtcFilter } from '../model/dtc-filter.ts';
import type { LabelMap } from '../model/labels.ts';
import type { SomeStores } from './open-stores.ts';
import { failureOf, outcomeOf, type Outcome, type RunFailure } from './outcome.ts';
import { TOOL } from './tool.ts';
import { refuseUnfinishedRuns } from './restore-journal.ts';
import type { JournalPlace } from './run-journal.ts';
import { ExportDirectory } from './export-directory.ts';
import { FORMAT_WRITERS, type ExportContext } from './export-formats.ts';

export const EXPORT_FORMATS = [
  'csv',
  'excel',
  'json',
  'sqlite',
  'graphml',
  'qdrant',
  'translations',
  'history',
] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The stores each format reads. */
export const FORMAT_STORES: Record<ExportFormat, ReadonlyArray<'postgres' | 'neo4j' | 'qdrant'>> = {
  csv: ['postgres', 'neo4j'],
  excel: ['postgres', 'neo4j'],
  json: ['postgres', 'neo4j', 'qdrant'],
  sqlite: ['postgres', 'neo4j'],
  graphml: ['neo4j'],
  qdrant: ['qdrant'],
  translations: ['postgres'],
  history: ['postgres'],
};

export interface ExportOptions {
  formats: readonly ExportFormat[];
  outputDir: string;
  filter: DtcFilter;
  includePii: boolean;
  includeDeleted: boolean;
  labels: LabelMap;
  stores: Omit<SomeStores, 'close'>;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  now?: Date;
  /** Where restores and imports keep their journals: stores they left half written are not exported. */
  journal?: JournalPlace;
}

export interface ExportFileEntry {
  path: string;
  format: string;
  bytes: number;
  size_kb: number;
  sha256: string;
  records: number;
  datasets?: Record<string, number>;
}

/**
 * A file entry of the export's `manifest.json`: a CSV file also lists its dataset's fields (name, type,
 * source) and its formula escaping (`leading-apostrophe`, docs/decisions/0008-csv-formula-safety.md).
 */
export interface ExportManifestFileEntry extends ExportFileEntry {
  fields?: Array<{ name: string; type: FieldSpec['type']; source?: string }>;
  escaping?: string;
}

export interface ExportSummary {
  id: string;
  dir: string;
  results: Partial<Record<ExportFormat, { ok: boolean; records: number; error?: string }>>;
  files: ExportFileEntry[];
  /** `incomplete`: some formats failed (their files removed, the others kept); one failure per format. */
  outcome: Outcome;
  failures: RunFailure[];
  seconds: number;
}

/** Phase 1: one view per store the formats read; PostgreSQL first, whose filter the others follow. */
async function openViews(
  options: ExportOptions,
  views: Partial<Record<StoreName, ExportView>>,
): Promise<readonly string[] | undefined> {
  const needs = new Set(options.formats.flatMap((f) => FORMAT_STORES[f]));
  // A filter is evaluated in PostgreSQL even for Neo4j- or Qdrant-only formats.
  if (isFilterActive(options.filter)) needs.add('postgres');
  const request: ExportRequest = {
    filter: options.filter,
    includePii: options.includePii,
    includeDeleted: options.includeDeleted,
    labels: options.labels,
  };
  const pgView = needs.has('postgres') ? await options.stores.postgres?.openExport(request) : undefined;
  if (pgView) views.postgres = pgView;
  const codes = hasDtcViews(pgView) ? await pgView.selectedCodes() : undefined;
  if (codes)
    options.reporter.emit({
      type: 'phase',
      store: 'postgres',
      message: `filter selects ${codes.length} DTC codes (${describeFilter(options.filter)})`,
    });
  for (const name of ['neo4j', 'qdrant'] as const) {
    const view = needs.has(name) ? await options.stores[name]?.openExport({ ...request, codes }) : undefined;
    if (view) views[name] = view;
  }
  return codes;
}

function contextOf(
  options: ExportOptions,
  folder: ExportDirectory,
  time: Date,
  views: Partial<Record<StoreName, ExportView>>,
): ExportContext {
  return {
    files: folder,
    time,
    filter: options.filter,
    includePii: options.includePii,
    reporter: options.reporter,
    signal: options.signal,
    postgres: hasDtcViews(views.postgres) ? views.postgres : undefined,
    neo4j: hasGraph(views.neo4j) ? views.neo4j : undefined,
    tabular: async () => [
      ...((await views.postgres?.tabular()) ?? []),
      ...((await views.neo4j?.tabular()) ?? []),
    ],
    vectors: async (withVectors: boolean): Promise<VectorCollection[]> =>
      (await views.qdrant?.vectors?.(withVectors)) ?? [],
  };
}

interface FormatResults {
  results: ExportSummary['results'];
  failures: RunFailure[];
  datasetsByFile: Record<string, Record<string, number>>;
  fieldsByFile: Record<string, readonly FieldSpec[]>;
  escapingByFile: Record<string, string>;
}

/** Phase 2: each format in turn; a failed format's files are removed and the others kept. */
async function writeFormats(
  options: ExportOptions,
  folder: ExportDirectory,
  ctx: ExportContext,
): Promise<FormatResults> {
  const out: FormatResults = {
    results: {},
    failures: [],
    datasetsByFile: {},
    fieldsByFile: {},
    escapingByFile: {},
  };
  for (const format of options.formats) {
    options.signal?.throwIfAborted();
    options.reporter.emit({ type: 'phase', message: `writing ${format}` });
    const before = new Set((await folder.files()).map((file) => file.path));
    try {
      const written = await FORMAT_WRITERS[format](ctx);
      await folder.publish(options.signal);
      for (const file of written) {
        out.datasetsByFile[file.path] = file.datasets ?? {};
        if (file.fields) out.fieldsByFile[file.path] = file.fields;
        if (file.escaping) out.escapingByFile[file.path] = file.escaping;
      }
      out.results[format] = { ok: true, records: written.reduce((sum, f) => sum + f.records, 0) };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      // Remove what this format left behind (finished files and `.partial` ones).
      await folder.removeAllBut(before);
      out.results[format] = { ok: false, records: 0, error: (error as Error).message };
      out.failures.push(failureOf(format, error));
      options.reporter.emit({
        type: 'warning',
        message: `${format} export failed: ${(error as Error).message}`,
      });
    }
  }
  return out;
}

/** Phase 3: every file the folder holds, hashed, with the datasets the formats reported in it. */
async function listFiles(folder: ExportDirectory, written: FormatResults): Promise<ExportFileEntry[]> {
  const files: ExportFileEntry[] = [];
  for (const { path, bytes } of await folder.files()) {
    const datasets = written.datasetsByFile[path] ?? {};
    files.push({
      path,
      format: path.endsWith('.json.gz') ? 'gz' : (path.split('.').pop() ?? ''),
      bytes,
      size_kb: Math.round((bytes / 1024) * 10) / 10,
      sha256: await folder.sha256(path),
      records: Object.values(datasets).reduce((sum, n) => sum + n, 0),
      ...(Object.keys(datasets).length > 0 ? { datasets } : {}),
    });
  }
  return files;
}

/** Phase 4: the export's manifest (docs/design.md §8), written last. */
function manifestOf(
  options: ExportOptions,
  time: Date,
  dir: string,
  sources: Record<string, string>,
  written: FormatResults,
  files: ExportFileEntry[],
) {
  const { results, fieldsByFile, escapingByFile } = written;
  return {
    format: 'acx-data-export',
    version: '2.0',
    tool: TOOL,
    export_time: time.toISOString(),
    export_path: dir,
    filter: {
      categories: options.filter.categories ?? null,
      manufacturer: options.filter.manufacturer ?? null,
      translated_only: options.filter.translated === true,
      untranslated_only: options.filter.translated === false,
      since: options.filter.since?.toISOString() ?? null,
      until: options.filter.until?.toISOString() ?? null,
      description: describeFilter(options.filter),
    },
    include_pii: options.includePii,
    include_deleted: options.includeDeleted,
    sources,
    results: Object.fromEntries(Object.entries(results).map(([f, r]) => [f, r.ok])),
    errors: Object.fromEntries(
      Object.entries(results)
        .filter(([, r]) => !r.ok)
        .map(([f, r]) => [f, r.error]),
    ),
    files: files.map((file): ExportManifestFileEntry => {
      const fields = fieldsByFile[file.path];
      const escaping = escapingByFile[file.path];
      if (!fields) return file;
      return {
        ...file,
        fields: fields.map(({ name, type, source }) =>
          source === undefined ? { name, type } : { name, type, source },
        ),
        ...(escaping ? { escaping } : {}),
      };
    }),
  };
}

/**
 * Phases: claim a new export folder → open the stores' views → write each format → list and hash the
 * files → write the manifest last. A run that fails before the manifest removes the folder.
 */
export async function exportData(options: ExportOptions): Promise<ExportSummary> {
  const started = performance.now();
  const time = options.now ?? new Date();
  const reads = STORE_NAMES.filter((name) => options.stores[name] !== undefined);
  await refuseUnfinishedRuns(options.journal, reads, 'export');
  const folder = await ExportDirectory.create(options.outputDir, time);
  const views: Partial<Record<StoreName, ExportView>> = {};
  try {
    await openViews(options, views);
    const written = await writeFormats(options, folder, contextOf(options, folder, time, views));
    const files = await listFiles(folder, written);
    const sources: Record<string, string> = {};
    for (const [name, view] of Object.entries(views)) sources[name] = await view.serverVersion();
    await folder.writeManifest(manifestOf(options, time, folder.dir, sources, written, files));
    return {
      id: folder.id,
      dir: folder.dir,
      results: written.results,
      files,
      outcome: outcomeOf(written.failures, options.formats.length),
      failures: written.failures,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    // Nothing half-written may look complete: without a manifest the directory is not an export; remove it.
    await folder.discard().catch(() => undefined);
    throw error;
  } finally {
    for (const view of Object.values(views)) await view.close();
  }
}
