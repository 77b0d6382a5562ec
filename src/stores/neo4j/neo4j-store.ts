/** Neo4j as a Store (src/stores/store.ts): the one facade operations use. */
import type { Neo4jSettings } from '../../config/env.ts';
import type { Fingerprint } from '../../model/content-hash.ts';
import type { ExportRequest, ExportView, TabularDataset } from '../../model/dataset.ts';
import type { ImportContext, ImportLedger } from '../../model/import.ts';
import type { LabelMap } from '../../model/labels.ts';
import type { SeedSource } from '../../model/seed-source.ts';
import type { StoreSection } from '../../model/snapshot.ts';
import type { ProgressReporter } from '../../progress.ts';
import type {
  KeyedRecords,
  RecordDataset,
  RecordPage,
  RecordWrites,
  RestoreContext,
  Store,
  StoreBackup,
  StoreCounts,
  StoreImport,
  StoreRestoreOptions,
  StoreBackupOptions,
} from '../store.ts';
import { backupNeo4j } from './neo4j-backup.ts';
import { neo4jError, neo4jVersion, openNeo4j, type Neo4jConnection } from './neo4j-connection.ts';
import { guarded, guardedExportView, guardedMethods } from '../store-errors.ts';
import { Neo4jExportSource } from './neo4j-export.ts';
import { fingerprintNeo4j } from './neo4j-fingerprint.ts';
import { Neo4jImport } from './neo4j-import.ts';
import {
  prepareNeo4jDataset,
  readNeo4jByKey,
  scanNeo4jByKey,
  writeNeo4jByKey,
  type Neo4jRecordDataset,
} from './neo4j-records.ts';
import { isNeo4jRestoreTargetEmpty, planNeo4jRestore, restoreNeo4j } from './neo4j-restore.ts';
import { applyNeo4jSchema, countGraph, emptyNeo4j, isNeo4jEmpty } from './neo4j-schema.ts';
import { seedNeo4j } from './neo4j-seed.ts';

export class Neo4jStore implements Store {
  readonly name = 'neo4j' as const;

  readonly connection: Neo4jConnection;
  /** Told of retries (an export's stream read again after a transient fault). */
  private readonly reporter?: ProgressReporter;

  /** `connection` is the store's own driver: for this folder and for tests, never for operations. */
  constructor(connection: Neo4jConnection, reporter?: ProgressReporter) {
    this.connection = connection;
    this.reporter = reporter;
  }

  static async open(settings: Neo4jSettings, reporter?: ProgressReporter): Promise<Neo4jStore> {
    return new Neo4jStore(await openNeo4j(settings), reporter);
  }

  serverVersion(): Promise<string> {
    return guarded(neo4jError, 'reading its version', () => neo4jVersion(this.connection));
  }

  close(): Promise<void> {
    return this.connection.driver.close();
  }

  isEmpty(): Promise<boolean> {
    return guarded(neo4jError, 'a check for data', () => isNeo4jEmpty(this.connection));
  }

  empty(): Promise<void> {
    return guarded(neo4jError, 'emptying', () => emptyNeo4j(this.connection));
  }

  applySchema(labels: LabelMap): Promise<void> {
    return guarded(neo4jError, 'creating the schema', () => applyNeo4jSchema(this.connection, labels));
  }

  seed(source: SeedSource, reporter: ProgressReporter): Promise<void> {
    return guarded(neo4jError, 'seeding', () => seedNeo4j(this.connection, source, reporter));
  }

  /** One read transaction inside the backup itself: nothing to hold before it starts. */
  async openBackup(options: StoreBackupOptions): Promise<StoreBackup> {
    return guardedMethods(neo4jError, 'the backup', {
      write: (ctx) => backupNeo4j(this.connection, ctx, options.parent),
      release: async () => undefined,
    });
  }

  async holdsDataFor(): Promise<boolean> {
    return guarded(
      neo4jError,
      'a check for data',
      async () => !(await isNeo4jRestoreTargetEmpty(this.connection)),
    );
  }

  planRestore(section: StoreSection, options: StoreRestoreOptions) {
    return guarded(neo4jError, 'planning the restore', () =>
      planNeo4jRestore(this.connection, section, options.replace),
    );
  }

  restore(ctx: RestoreContext) {
    return guarded(neo4jError, 'the restore', () => restoreNeo4j(this.connection, ctx));
  }

  async openImport(
    ctx: ImportContext,
    shared: { labels: LabelMap; ledger: ImportLedger },
  ): Promise<StoreImport> {
    const session = new Neo4jImport(this.connection, ctx, shared.labels, shared.ledger);
    await guarded(neo4jError, 'the import', () => session.begin());
    return guardedMethods(neo4jError, 'the import', {
      write: (dataset, source) =>
        dataset.target.store === 'neo4j' && dataset.target.kind === 'relationships'
          ? session.importRelationships(dataset, source)
          : session.importNodes(dataset, source),
      finish: async () => session.summary(),
      commit: () => session.commit(),
      rollback: () => session.rollback(),
    });
  }

  async openExport(request: ExportRequest): Promise<ExportView> {
    const source = new Neo4jExportSource(this.connection, {
      dtcLabel: request.labels.label('dtc'),
      codes: request.codes ? [...request.codes] : undefined,
      ...(this.reporter ? { onRetry: (event) => this.reporter?.emit(event) } : {}),
    });
    return guardedExportView(neo4jError, {
      serverVersion: () => source.serverVersion(),
      tabular: async () => {
        const out: TabularDataset[] = [];
        for (const label of await source.labels()) out.push(await source.labelDataset(label));
        for (const type of await source.relationshipTypes()) out.push(await source.relationshipDataset(type));
        return out;
      },
      graph: () => source.graph(),
      close: async () => undefined,
    });
  }

  fingerprint(labels: LabelMap): Promise<Fingerprint> {
    return guarded(neo4jError, 'a fingerprint', () => fingerprintNeo4j(this.connection, labels));
  }

  async counts(): Promise<StoreCounts> {
    return guarded(neo4jError, 'counting', () => countGraph(this.connection));
  }

  readByKey(dataset: RecordDataset, keys: readonly string[]): Promise<KeyedRecords> {
    const nodes = neo4jDataset(dataset);
    return guarded(neo4jError, `reading ${nodes.label} by key`, () =>
      readNeo4jByKey(this.connection, nodes, keys),
    );
  }

  scanByKey(dataset: RecordDataset, cursor: string | null, limit: number): Promise<RecordPage> {
    const nodes = neo4jDataset(dataset);
    return guarded(neo4jError, `reading ${nodes.label} in key order`, () =>
      scanNeo4jByKey(this.connection, nodes, cursor, limit),
    );
  }

  prepareDataset(dataset: RecordDataset, options: { create: boolean }): Promise<{ exists: boolean }> {
    const nodes = neo4jDataset(dataset);
    return guarded(neo4jError, `the key constraint of ${nodes.label}`, () =>
      prepareNeo4jDataset(this.connection, nodes, options.create),
    );
  }

  writeByKey(dataset: RecordDataset, writes: RecordWrites): Promise<void> {
    const nodes = neo4jDataset(dataset);
    return guarded(neo4jError, `writing ${nodes.label} by key`, () =>
      writeNeo4jByKey(this.connection, nodes, writes),
    );
  }
}

function neo4jDataset(dataset: RecordDataset): Neo4jRecordDataset {
  if (dataset.store !== 'neo4j') throw new TypeError(`not a Neo4j dataset: ${dataset.store}`);
  return dataset;
}
