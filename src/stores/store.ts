/**
 * The Store interface: one live database (PostgreSQL, Neo4j, Qdrant) as every operation sees it
 * (docs/design.md §2, ADR 0007). Each store folder implements it in one facade (`<store>-store.ts`);
 * `registry.ts` is the only place that lists them. Operations use nothing else of a store: SDK types
 * (pg, neo4j-driver, the Qdrant client) stay inside the store's folder.
 *
 * Contracts every implementation keeps (test/contract/store-contract.ts checks them):
 * - reads are point-in-time: a backup reads one consistent state (PostgreSQL an exported snapshot in
 *   REPEATABLE READ, Neo4j one read transaction, Qdrant one ordered scroll per collection);
 * - writes are all or nothing per store: a restore or import that fails leaves the store as it was;
 * - every long call takes the AbortSignal of its context and ends with INTERRUPTED when it fires;
 * - nothing is held in memory whole: records stream in batches.
 */
import type { Fingerprint } from '../model/content-hash.ts';
import type { ExportRequest, ExportView } from '../model/dataset.ts';
import type { DatasetResult, ImportContext, ImportLedger } from '../model/import.ts';
import type { InputDataset } from '../model/input.ts';
import type { LabelMap } from '../model/labels.ts';
import type { SeedSource } from '../model/seed-source.ts';
import type { ParentSnapshot, StoreSection } from '../model/snapshot.ts';
import type { ProgressReporter, StoreName } from '../progress.ts';
import type { BackupContext, PlanStep, RestoreContext, StoreRestoreSummary } from './snapshot-driver.ts';

export type { BackupContext, PlanStep, RestoreContext, StoreRestoreSummary } from './snapshot-driver.ts';

/** What a backup asks of a store; each store reads the options that concern it. */
export interface StoreBackupOptions {
  /** PostgreSQL: use `pg_dump` for the schema when one is installed (`auto`), or never. */
  pgDump: 'auto' | 'never';
  /** Qdrant: also store the server's own collection snapshots. */
  nativeSnapshots: boolean;
  /**
   * Only what this snapshot section names and the store holds now (a restore's safety backup of the
   * objects it is about to replace); default: everything.
   */
  like?: StoreSection;
  /** An incremental backup's parent: what the store can prove unchanged is reused from it, unread. */
  parent?: ParentSnapshot;
}

/** One backup of one store: opened first (the read point is fixed), written, then released. */
export interface StoreBackup {
  /** The point in time every store is read at, when this store provides it (PostgreSQL's exported snapshot). */
  readonly consistency?: {
    method: string;
    snapshotId: string;
    heldFrom: string;
    /** Which transactions the read point sees (PostgreSQL: `pg_current_snapshot()`, `xmin:xmax:xip,…`). */
    visibility?: string;
  };
  /** Streams the store's datasets into the snapshot and returns its manifest section. */
  write(ctx: BackupContext): Promise<StoreSection>;
  /** Releases the read point; idempotent, also after a failure. */
  release(): Promise<void>;
}

export interface StoreRestoreOptions {
  /** The target may hold data: replace it (the caller took a safety backup). Otherwise it must be empty. */
  replace: boolean;
  /** Qdrant: restore from the server's native snapshots where the snapshot holds them. */
  nativeSnapshots: boolean;
}

/** One import into one store: datasets are staged, then committed or rolled back together. */
export interface StoreImport {
  /** Writes one dataset inside the import's transaction (or undo log). `source`: the input file. */
  write(dataset: InputDataset, source: string): Promise<void>;
  /** Finishes staged work (PostgreSQL checks keys and references here) and reports every dataset. */
  finish(): Promise<DatasetResult[]>;
  commit(): Promise<void>;
  /** Undoes everything written; idempotent. */
  rollback(): Promise<void>;
}

/**
 * What a store holds, as `seed` and `inventory` report it: records per dataset, in named groups
 * (PostgreSQL `tables`; Neo4j `labels` and `types`; Qdrant `collections` and payload `types` of the
 * application's collection).
 */
export type StoreCounts = Record<string, Record<string, number>>;

/** A batch of records read by key (for sync). */
export interface KeyedRecords {
  /** The records found, by the text of their key; a key not found is absent. */
  found: Map<string, Record<string, unknown>>;
}

/**
 * Where records of one kind live in a store, for reads and writes by key (sync, docs/design.md §10).
 * Values read: PostgreSQL as node-pg gives them except date/time columns, which come as PostgreSQL's text
 * (`2025-03-01 10:00:00.123456+00`, microseconds kept); Neo4j in export form (`neo4jToExport`: DateTime
 * as ISO text, Integer as bigint); Qdrant points as `{id, vector, payload}`.
 */
export type RecordDataset =
  | { store: 'postgres'; table: string; key: string }
  | {
      store: 'neo4j';
      label: string;
      key: string;
      /**
       * Also read each node's outgoing relationships of this type to nodes of the same label, as `_links`:
       * the sorted texts of their keys (DTC `RELATED_TO`).
       */
      links?: string;
    }
  /** `type`: only points whose payload `type` is this (scans), e.g. `dtc`. Keys are point ids. */
  | { store: 'qdrant'; collection: string; type?: string };

/** One page of a key-ordered scan; `cursor` continues it (null: the scan is complete). */
export interface RecordPage {
  records: Record<string, unknown>[];
  cursor: string | null;
}

/**
 * One batch of writes by key, applied in one transaction (PostgreSQL, Neo4j) or one `wait=true` request
 * per kind (Qdrant): all or nothing per store call.
 * - `upsert`: records to create or replace over the fields they carry; a NULL clears the field (a Neo4j
 *   property is removed). PostgreSQL: values JSON-compatible, converted to the column's type by the server
 *   (timestamps as ISO text, arrays as arrays); columns not carried keep their value or take the default.
 *   Neo4j: values in the tagged form of `stores/neo4j/neo4j-values.ts` (`{$datetime: …}`), the node
 *   matched or created by its key. Qdrant: `{id, vector, payload}`, payload replaced whole.
 * - `remove`: keys to delete (Neo4j: the node and its relationships).
 * - `link` / `unlink` (Neo4j datasets with `links`): relationships `[from key, to key]` of that type to add
 *   (once: an existing one is kept) or to delete; an endpoint that does not exist is skipped.
 */
export interface RecordWrites {
  upsert?: readonly Record<string, unknown>[];
  remove?: readonly string[];
  link?: readonly (readonly [string, string])[];
  unlink?: readonly (readonly [string, string])[];
}

export interface Store {
  readonly name: StoreName;
  /** "PostgreSQL 15.18", "Neo4j 5.26.0 community", "Qdrant 1.13.0". */
  serverVersion(): Promise<string>;
  close(): Promise<void>;

  /** True when the store holds no application data and no schema of its own. */
  isEmpty(): Promise<boolean>;
  /** Deletes every dataset and schema object (seed --force). */
  empty(): Promise<void>;
  /** Creates the application's empty schema (tables, constraints and indexes, the collection). */
  applySchema(labels: LabelMap): Promise<void>;
  /** Writes generated data in batches (the dataset generator's records). */
  seed(source: SeedSource, reporter: ProgressReporter): Promise<void>;

  openBackup(options: StoreBackupOptions): Promise<StoreBackup>;
  /** True when restoring `section` would replace something the store holds (refused without --force). */
  holdsDataFor(section: StoreSection): Promise<boolean>;
  planRestore(section: StoreSection, options: StoreRestoreOptions): Promise<PlanStep[]>;
  restore(ctx: RestoreContext, options: StoreRestoreOptions): Promise<StoreRestoreSummary>;

  openImport(ctx: ImportContext, shared: { labels: LabelMap; ledger: ImportLedger }): Promise<StoreImport>;
  /**
   * Undoes what an import killed with SIGKILL left in the store, from the files its session kept in its
   * work folder (`ImportContext.workDir`); says what it undid. The server rolls back a transaction
   * whose client is gone, so Neo4j has nothing to undo and no such method; PostgreSQL puts back the
   * sequences it had moved (not transactional); Qdrant undoes its writes from its undo file. Idempotent.
   */
  recoverImport?(workDir: string, batchSize: number): Promise<string | undefined>;
  openExport(request: ExportRequest): Promise<ExportView>;

  /** Order-independent content hash of every dataset (docs/design.md §5). */
  fingerprint(labels: LabelMap): Promise<Fingerprint>;
  counts(options: { labels: LabelMap; collection: string }): Promise<StoreCounts>;

  /**
   * Reads the records of `dataset` whose key is one of `keys` (compared as text), in one request: the
   * read half of sync (its write half is an import session, `openImport`, with a conflict strategy).
   * Callers batch the keys.
   */
  readByKey(dataset: RecordDataset, keys: readonly string[]): Promise<KeyedRecords>;
  /**
   * One page of `dataset`'s records in key order (Qdrant: point-id order, filtered by `type`), at most
   * `limit`, starting after `cursor` (null: from the start). Pages are separate reads, not one snapshot.
   */
  scanByKey(dataset: RecordDataset, cursor: string | null, limit: number): Promise<RecordPage>;
  /**
   * Makes `dataset` ready for `writeByKey` and says what it is: PostgreSQL checks that the table exists
   * (NOT_FOUND otherwise); Neo4j creates the uniqueness constraint on (label, key) if missing; Qdrant
   * creates the collection with production's configuration (`AUTOCOGNITIX_COLLECTION_CONFIG`, vector size
   * `vectorSize`, its payload indexes) if missing — unless `create` is false — and returns its vector size
   * and distance (unnamed vector). `exists`: whether it existed before the call.
   */
  prepareDataset(
    dataset: RecordDataset,
    options: { create: boolean; vectorSize?: number },
  ): Promise<{ exists: boolean; vectorSize?: number; distance?: string }>;
  /** Applies one batch of writes by key, all or nothing (see RecordWrites). */
  writeByKey(dataset: RecordDataset, writes: RecordWrites): Promise<void>;
}
