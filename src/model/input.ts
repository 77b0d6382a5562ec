/**
 * What imports read: the inverse of `dataset.ts`. A format reader (`formats/<format>/…-reader.ts`) turns
 * one input (a file, or a CSV directory) into input datasets whose records stream; the import
 * (`operations/import.ts`) validates them against the target store and applies them. Readers know
 * nothing of stores, the import knows nothing of file formats.
 *
 * Record values follow `dataset.ts` when the input declares the field's type (`InputField.type`): a
 * `bigint` field gives a bigint, `json` the parsed value, `bytes` a Buffer, and so on. A field without a
 * declared type (a hand-made CSV, an SQLite table without `_export_fields`) gives the raw text (or the
 * raw SQLite value), and the import converts it to the target's type. `null` is NULL/absent.
 *
 * Readers stream: nothing holds a whole dataset. A broken input (truncated JSON, bad CSV quoting,
 * invalid XML, a file that is not what its flag says) makes `datasets()`/`records()` throw an
 * `AcxError('INVALID_INPUT', …)` naming the file and the line. A value that does not parse as its
 * declared type does not throw: the record carries a `problem` and the raw text, and the import
 * reports it as an invalid record.
 */
import type { FieldType } from './dataset.ts';

/** The fields that place a relationship record besides its properties, as exports write them (all text). */
export const RELATIONSHIP_ENDPOINT_FIELDS = [
  'start_id',
  'start_label',
  'start_key',
  'end_id',
  'end_label',
  'end_key',
] as const;

export type InputTarget =
  /** Rows of a PostgreSQL table. */
  | { store: 'postgres'; table: string }
  /**
   * Neo4j nodes. `label` is the dataset's label (`neo4j_<Label>.csv`), or null when each record names
   * its own labels (GraphML). Every record has `_labels` (array of label names) and, when the input has
   * one, `_element_id` (the node's id in the input, used by relationships that name endpoints by id).
   */
  | { store: 'neo4j'; kind: 'nodes'; label: string | null }
  /**
   * Neo4j relationships. `type` is the dataset's type (`neo4j_rel_<TYPE>.csv`), or null when each
   * record carries `_type` (GraphML). Every record has `start_id`/`end_id` (endpoint ids in the input)
   * and, when the input has them, `start_label`/`start_key`/`end_label`/`end_key` (an endpoint's label
   * and the text of its key property's value, as the export writes them); the other values are the
   * relationship's properties. `_element_id` is the relationship's id in the input, if any.
   */
  | { store: 'neo4j'; kind: 'relationships'; type: string | null }
  /**
   * Points of a Qdrant collection. `config` is the collection's configuration as the input gives it
   * (`GET /collections/{name}` result: `config.params.vectors` …), or null. Records are
   * `{id, vector, payload}`; `id` a number, bigint or UUID string.
   */
  | { store: 'qdrant'; collection: string; config: Record<string, unknown> | null };

export interface InputField {
  name: string;
  /** Declared by the input (JSON `fields`, SQLite `_export_fields`, the CSV export's manifest, GraphML keys). */
  type?: FieldType;
  /** The source store's own type name, when declared (Neo4j `valueType`: `DURATION`, `POINT`, `LIST<INTEGER>` …). */
  source?: string;
}

export interface InputRecord {
  /** 1-based: the line where the record starts (CSV, JSON, GraphML, vectors), or the SQLite rowid. */
  line: number;
  values: Record<string, unknown>;
  /** Values that did not parse as their declared type (the raw text is in `values`). */
  problems?: { field: string; reason: string }[];
}

export interface InputDataset {
  /** The file the records come from, as given by the user (shown in every report). */
  file: string;
  /** A name for reports: `dtc_codes`, `neo4j_DTC`, `neo4j_rel_CAUSES`, `graph nodes`, `autocognitix`. */
  name: string;
  target: InputTarget;
  /** Fields in input order (for nodes: `_labels`, `_element_id` and the properties; see InputTarget). */
  fields: readonly InputField[];
  /** Streams the records once, in input order. */
  records(): AsyncIterable<InputRecord>;
}

/** One input as a sequence of datasets, in input order; each dataset's records are read before the next. */
export interface InputSource {
  /** What the input is, for reports: `json`, `csv`, `sqlite`, `graphml`, `vectors`. */
  format: 'json' | 'csv' | 'sqlite' | 'graphml' | 'vectors';
  file: string;
  /**
   * Notices about what is not imported (derived tables, sections without vectors …). Streaming readers
   * (JSON, GraphML) add to this array as they reach such parts: it is complete once `datasets()` has ended.
   */
  notices: string[];
  datasets(): AsyncIterable<InputDataset>;
  close?(): Promise<void>;
}
