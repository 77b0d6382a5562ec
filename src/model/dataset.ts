/**
 * What exports are made of: a tabular dataset with typed fields whose records stream (tables, node
 * labels, relationship types), or a graph, or vector collections. Stores produce them, formats write
 * them; neither knows the other.
 *
 * Record values are normalised JS values, by field type:
 *
 * | type        | JS value                                  | notes                                      |
 * | ----------- | ----------------------------------------- | ------------------------------------------ |
 * | `text`      | string                                    | `''` and `null` are different values       |
 * | `integer`   | number                                    | within ±2^53                               |
 * | `bigint`    | bigint                                    | 64-bit integers (sequences, Neo4j Integer) |
 * | `float`     | number                                    |                                            |
 * | `numeric`   | string                                    | exact decimal text, e.g. `"1234.50"`       |
 * | `boolean`   | boolean                                   |                                            |
 * | `timestamp` | string                                    | ISO 8601 with offset, microseconds kept     |
 * | `date`      | string                                    | `YYYY-MM-DD`                               |
 * | `uuid`      | string                                    | lowercase, hyphenated                      |
 * | `json`      | any JSON value (object, array, …)         | JSONB, Neo4j maps/points/temporals         |
 * | `array`     | array of string/number/boolean/null       | PostgreSQL arrays, Neo4j lists             |
 * | `bytes`     | Buffer                                    |                                            |
 *
 * Any value may be `null` (absent).
 */

import type { DtcFilter } from './dtc-filter.ts';
import type { LabelMap } from './labels.ts';

export const FIELD_TYPES = [
  'text',
  'integer',
  'bigint',
  'float',
  'numeric',
  'boolean',
  'timestamp',
  'date',
  'uuid',
  'json',
  'array',
  'bytes',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export type ExportValue =
  | null
  | string
  | number
  | bigint
  | boolean
  | Buffer
  | ReadonlyArray<string | number | boolean | null>
  | Record<string, unknown>
  | unknown[];

export type ExportRecord = Record<string, ExportValue>;

export interface FieldSpec {
  name: string;
  type: FieldType;
  /** The source store's own type, where the export type alone loses it (Neo4j `valueType`: `DURATION`, `POINT` …). */
  source?: string;
}

export interface TabularDataset {
  /** File- and sheet-safe name: a table (`dtc_codes`), `nodes_<Label>`, `relationships_<TYPE>`. */
  name: string;
  kind: 'table' | 'nodes' | 'relationships';
  fields: readonly FieldSpec[];
  /** Fields that identify a record (a primary key), if any. */
  key?: readonly string[];
  /** Fields worth an index in formats that have them. */
  indexed?: readonly string[];
  /** Streams the records; each call starts from the beginning. */
  records(): AsyncIterable<ExportRecord>;
}

export interface GraphNode {
  /** Stable within one export (the source element id). */
  id: string;
  labels: readonly string[];
  properties: Record<string, ExportValue>;
}

export interface GraphEdge {
  id: string;
  type: string;
  source: string;
  target: string;
  properties: Record<string, ExportValue>;
}

/** A property key and its type, on nodes or on edges. */
export interface GraphKey {
  for: 'node' | 'edge';
  name: string;
  type: FieldType;
  /** As FieldSpec.source. */
  source?: string;
}

export interface GraphSource {
  /** Every property key with its type, known before the first node (GraphML declares keys first). */
  keys: readonly GraphKey[];
  nodes(): AsyncIterable<GraphNode>;
  /** Only edges whose both ends are among `nodes()`. */
  edges(): AsyncIterable<GraphEdge>;
}

export interface VectorPoint {
  id: number | bigint | string;
  /** Unnamed: float32 numbers; named: name → numbers or sparse {indices, values}. */
  vector: unknown;
  payload: Record<string, unknown> | null;
}

export interface VectorCollection {
  name: string;
  /** The collection's configuration as Qdrant reports it (`GET /collections/{name}` result). */
  config: Record<string, unknown>;
  /** Payload indexes (`GET /collections/{name}` → `payload_schema`), when known. */
  payloadSchema?: Record<string, unknown>;
  points(): AsyncIterable<VectorPoint>;
}

/** What one written file holds, for the export manifest. */
export interface WrittenFile {
  /** Relative to the export directory, with `/`. */
  path: string;
  records: number;
  /** Per dataset (or sheet/table) record counts inside the file. */
  datasets?: Record<string, number>;
  /** The fields of a file holding one dataset (CSV), for the manifest: imports read the types back from it. */
  fields?: readonly FieldSpec[];
  /** How the file's cells are escaped (CSV: `leading-apostrophe`), for the manifest: imports undo it. */
  escaping?: string;
}

/** What an export asks of a store: the rows a filter selects, without the personal data unless asked. */
export interface ExportRequest {
  filter: DtcFilter;
  includePii: boolean;
  includeDeleted: boolean;
  labels: LabelMap;
  /** DTC codes the filter selected (evaluated in PostgreSQL), for the stores that follow them. */
  codes?: readonly string[];
}

/**
 * One store seen by an export: its tabular datasets, and the views only some stores have (PostgreSQL
 * the DTC views and the filter, Neo4j the graph, Qdrant the vectors). A missing view is not held.
 */
export interface ExportView {
  serverVersion(): Promise<string>;
  /** Every tabular dataset (tables as `pg_<table>`, then node labels, then relationship types). */
  tabular(): Promise<TabularDataset[]>;
  /** PostgreSQL: the DTC codes the filter selects (undefined: no filter). */
  selectedCodes?(): Promise<string[] | undefined>;
  /** PostgreSQL: every `dtc_codes` column of the selected codes. */
  dtcCodesFull?(): Promise<TabularDataset>;
  /** PostgreSQL: the translation view (code, English and Hungarian texts). */
  translations?(): TabularDataset;
  /** PostgreSQL: diagnosis history. */
  history?(): Promise<TabularDataset>;
  /** Neo4j: the whole (filtered) graph. */
  graph?(): Promise<GraphSource>;
  /** Qdrant: the collections with their points (vectors only when asked). */
  vectors?(withVectors: boolean): Promise<VectorCollection[]>;
  close(): Promise<void>;
}

/** PostgreSQL's view of an export: the filter and the DTC views. */
export interface DtcExportView extends ExportView {
  selectedCodes(): Promise<string[] | undefined>;
  dtcCodesFull(): Promise<TabularDataset>;
  translations(): TabularDataset;
  history(): Promise<TabularDataset>;
}

/** Neo4j's view of an export: the graph. */
export interface GraphExportView extends ExportView {
  graph(): Promise<GraphSource>;
}

export const hasDtcViews = (view: ExportView | undefined): view is DtcExportView =>
  typeof view?.dtcCodesFull === 'function';
export const hasGraph = (view: ExportView | undefined): view is GraphExportView =>
  typeof view?.graph === 'function';
