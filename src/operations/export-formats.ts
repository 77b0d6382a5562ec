/**
 * How each export format is assembled from the sources: which datasets go into which file, under the
 * original exporter's file names (docs/formats.md). Each writer returns the files it wrote, with the
 * records of every dataset inside them.
 */
import type { ProgressReporter } from '../progress.ts';
import type {
  DtcExportView,
  GraphExportView,
  TabularDataset,
  VectorCollection,
  WrittenFile,
} from '../model/dataset.ts';
import { describeFilter, type DtcFilter } from '../model/dtc-filter.ts';
import { writeCsvFile } from '../formats/csv/csv-format.ts';
import { XlsxExportWriter } from '../formats/xlsx/xlsx-format.ts';
import {
  jsonRecord,
  writeJsonDataset,
  writeJsonFile,
  type JsonDocumentWriter,
} from '../formats/json/json-document.ts';
import { SqliteExportWriter } from '../formats/sqlite/sqlite-format.ts';
import { writeGraphmlFile } from '../formats/graphml/graphml-format.ts';
import { writeVectorsFile } from '../formats/vectors/vectors-format.ts';
import type { ExportDirectory } from './export-directory.ts';
import { TOOL } from './tool.ts';

export interface ExportContext {
  /** Where the files go: each writer asks it for the real file of a path (`csv/pg_users.csv`). */
  files: ExportDirectory;
  time: Date;
  filter: DtcFilter;
  includePii: boolean;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  /** PostgreSQL's views (the filter, DTC codes, translations, history), when it is read. */
  postgres?: DtcExportView;
  /** Neo4j's graph, when it is read. */
  neo4j?: GraphExportView;
  /** PostgreSQL tables (`pg_<table>`), Neo4j labels (`neo4j_<Label>`) and relationship types (`neo4j_rel_<TYPE>`). */
  tabular(): Promise<TabularDataset[]>;
  vectors(withVectors: boolean): Promise<VectorCollection[]>;
}

type FormatWriter = (ctx: ExportContext) => Promise<WrittenFile[]>;

const storeOf = (dataset: TabularDataset) => (dataset.kind === 'table' ? 'postgres' : 'neo4j');

function done(ctx: ExportContext, dataset: TabularDataset, records: number, started: number): void {
  ctx.reporter.emit({
    type: 'dataset-done',
    store: storeOf(dataset),
    dataset: dataset.name,
    records,
    seconds: (performance.now() - started) / 1000,
  });
}

/** Writes each dataset with `write`, reporting it; returns the records per dataset (or per `name`). */
async function writeEach(
  ctx: ExportContext,
  datasets: readonly TabularDataset[],
  write: (dataset: TabularDataset) => Promise<{ records: number; name?: string }>,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const dataset of datasets) {
    const started = performance.now();
    const { records, name } = await write(dataset);
    counts[name ?? dataset.name] = records;
    done(ctx, dataset, records, started);
  }
  return counts;
}

/** One written file holding several datasets. */
const oneFile = (path: string, counts: Record<string, number>): WrittenFile[] => [
  { path, records: Object.values(counts).reduce((a, b) => a + b, 0), datasets: counts },
];

const csv: FormatWriter = async (ctx) => {
  const datasets = await ctx.tabular();
  if (ctx.postgres) datasets.push(await ctx.postgres.dtcCodesFull());
  const files: WrittenFile[] = [];
  for (const dataset of datasets) {
    const started = performance.now();
    const path = `csv/${dataset.name}.csv`;
    const { records, escaping } = await writeCsvFile(await ctx.files.localFile(path), dataset, {
      signal: ctx.signal,
    });
    // The fields and the formula escaping go to the manifest: a CSV cell has no type, and imports read
    // the types, and what to unescape, from there.
    files.push({ path, records, datasets: { [dataset.name]: records }, fields: dataset.fields, escaping });
    done(ctx, dataset, records, started);
  }
  return files;
};

const excel: FormatWriter = async (ctx) => {
  const path = 'autocognitix_export.xlsx';
  const writer = new XlsxExportWriter({ signal: ctx.signal });
  await writer.open(await ctx.files.localFile(path));
  let counts: Record<string, number>;
  try {
    const datasets = await ctx.tabular();
    if (ctx.postgres) datasets.push(ctx.postgres.translations());
    counts = await writeEach(ctx, datasets, (dataset) =>
      writer.writeDataset(dataset, { signal: ctx.signal }),
    );
    writer.addSummarySheet([
      ['AutoCognitix Data Export', ''],
      ['Export Time', ctx.time.toISOString()],
      ['Filter Applied', describeFilter(ctx.filter)],
      ['Personal data included', ctx.includePii ? 'yes' : 'no'],
      ['Tool', `${TOOL.name} ${TOOL.version}`],
    ]);
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return oneFile(path, counts);
};

const json: FormatWriter = async (ctx) => {
  const path = 'autocognitix_export.json';
  const counts: Record<string, number> = {};
  const section = async (w: JsonDocumentWriter, datasets: TabularDataset[], strip: string) => {
    w.beginObject();
    const written = await writeEach(ctx, datasets, (dataset) => {
      w.key(dataset.name.slice(strip.length));
      return writeJsonDataset(w, dataset, { signal: ctx.signal });
    });
    Object.assign(counts, written);
    w.endObject();
  };
  await writeJsonFile(
    await ctx.files.localFile(path),
    async (w) => {
      w.beginObject();
      w.property('export_time', ctx.time.toISOString());
      w.property('source', 'AutoCognitix');
      w.property('version', '2.0');
      w.property('filter_applied', filterJson(ctx.filter));
      w.property('include_pii', ctx.includePii);
      const datasets = await ctx.tabular();
      w.key('postgresql');
      await section(
        w,
        datasets.filter((d) => d.kind === 'table'),
        'pg_',
      );
      w.key('neo4j').beginObject();
      w.key('nodes');
      await section(
        w,
        datasets.filter((d) => d.kind === 'nodes'),
        'neo4j_',
      );
      w.key('relationships');
      await section(
        w,
        datasets.filter((d) => d.kind === 'relationships'),
        'neo4j_rel_',
      );
      w.endObject();
      w.key('qdrant').beginObject().key('collections').beginObject();
      for (const collection of await ctx.vectors(false)) {
        w.key(collection.name).beginObject();
        w.property('config', collection.config);
        w.key('points').beginArray();
        let n = 0;
        for await (const point of collection.points()) {
          w.value({ id: point.id, payload: point.payload });
          n++;
          await w.drain();
        }
        w.endArray();
        w.property('points_count', n);
        w.endObject();
        counts[`qdrant_${collection.name}`] = n;
      }
      w.endObject().endObject();
      if (ctx.postgres) {
        w.key('translations');
        const translations = ctx.postgres.translations();
        const { records } = await writeJsonDataset(w, translations, { signal: ctx.signal });
        counts.translations = records;
      }
      w.endObject();
    },
    { indent: 2, signal: ctx.signal },
  );
  return oneFile(path, counts);
};

const sqlite: FormatWriter = async (ctx) => {
  const path = 'autocognitix_export.db';
  const writer = new SqliteExportWriter();
  await writer.open(await ctx.files.localFile(path));
  let counts: Record<string, number>;
  try {
    const datasets = await ctx.tabular();
    if (ctx.postgres) datasets.push(ctx.postgres.translations());
    // PostgreSQL tables keep their own names, as in the original export.
    counts = await writeEach(ctx, datasets, async (dataset) => {
      const name = dataset.kind === 'table' ? dataset.name.replace(/^pg_/, '') : dataset.name;
      return { name, ...(await writer.writeDataset(dataset, { tableName: name, signal: ctx.signal })) };
    });
    writer.writeMetadata({
      export_time: ctx.time.toISOString(),
      source: 'AutoCognitix',
      version: '2.0',
      tool: `${TOOL.name} ${TOOL.version}`,
      filter: describeFilter(ctx.filter),
      include_pii: String(ctx.includePii),
    });
    await writer.close();
  } catch (error) {
    await writer.discard();
    throw error;
  }
  return oneFile(path, counts);
};

const graphml: FormatWriter = async (ctx) => {
  const path = 'neo4j_graph.graphml';
  if (!ctx.neo4j) return [];
  const result = await writeGraphmlFile(await ctx.files.localFile(path), await ctx.neo4j.graph(), {
    signal: ctx.signal,
  });
  return [
    { path, records: result.nodes + result.edges, datasets: { nodes: result.nodes, edges: result.edges } },
  ];
};

const qdrant: FormatWriter = async (ctx) => {
  const path = 'qdrant_vectors.json.gz';
  const result = await writeVectorsFile(await ctx.files.localFile(path), await ctx.vectors(true), {
    signal: ctx.signal,
  });
  return [{ path, records: result.records, datasets: result.collections }];
};

const translations: FormatWriter = async (ctx) => {
  const path = 'translations.json';
  if (!ctx.postgres) return [];
  const dataset = ctx.postgres.translations();
  let total = 0;
  let untranslated = 0;
  await writeJsonFile(
    await ctx.files.localFile(path),
    async (w) => {
      w.beginObject();
      w.property('export_time', ctx.time.toISOString());
      w.property('source', 'AutoCognitix');
      w.property('filter_applied', filterJson(ctx.filter));
      w.key('translations').beginObject();
      for await (const r of dataset.records()) {
        w.key(String(r.code)).value({ en: r.description_en, hu: r.description_hu, translated: r.translated });
        total++;
        if (r.translated !== true) untranslated++;
        await w.drain();
      }
      w.endObject();
      w.property('total_translations', total - untranslated);
      w.property('untranslated', untranslated);
      w.property('total_codes', total);
      w.endObject();
    },
    { indent: 2, signal: ctx.signal },
  );
  return [{ path, records: total, datasets: { translations: total } }];
};

const history: FormatWriter = async (ctx) => {
  const path = 'diagnosis_history.json';
  if (!ctx.postgres) return [];
  const dataset = await ctx.postgres.history();
  let sessions = 0;
  await writeJsonFile(
    await ctx.files.localFile(path),
    async (w) => {
      w.beginObject();
      w.property('export_time', ctx.time.toISOString());
      w.property('include_pii', ctx.includePii);
      w.key('sessions').beginArray();
      for await (const record of dataset.records()) {
        w.value(jsonRecord(dataset.fields, record));
        sessions++;
        await w.drain();
      }
      w.endArray();
      w.property('total_sessions', sessions);
      w.endObject();
    },
    { indent: 2, signal: ctx.signal },
  );
  return [{ path, records: sessions, datasets: { diagnosis_history: sessions } }];
};

function filterJson(filter: DtcFilter): Record<string, unknown> {
  return {
    categories: filter.categories ?? null,
    manufacturer: filter.manufacturer ?? null,
    translated_only: filter.translated === true,
    untranslated_only: filter.translated === false,
    since: filter.since?.toISOString() ?? null,
    until: filter.until?.toISOString() ?? null,
  };
}

export const FORMAT_WRITERS = { csv, excel, json, sqlite, graphml, qdrant, translations, history } as const;
