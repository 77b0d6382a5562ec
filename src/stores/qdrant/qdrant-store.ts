/** Qdrant as a Store (src/stores/store.ts): the one facade operations use. */
import { join } from 'node:path';
import type { QdrantSettings } from '../../config/env.ts';
import { AcxError } from '../../errors.ts';
import type { Fingerprint } from '../../model/content-hash.ts';
import type { ExportRequest, ExportView } from '../../model/dataset.ts';
import type { ImportContext, ImportLedger } from '../../model/import.ts';
import { POINT_TYPES } from '../../model/qdrant-model.ts';
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
  StoreBackupOptions,
  StoreCounts,
  StoreImport,
  StoreRestoreOptions,
} from '../store.ts';
import { backupQdrant } from './qdrant-backup.ts';
import { QdrantClient } from './qdrant-client.ts';
import { qdrantRetryEvent } from './qdrant-http.ts';
import { qdrantExportCollections } from './qdrant-export.ts';
import { fingerprintQdrant } from './qdrant-fingerprint.ts';
import { QDRANT_UNDO_FILE, QdrantImport, undoQdrantImport } from './qdrant-import.ts';
import {
  prepareQdrantDataset,
  readQdrantByKey,
  scanQdrantByKey,
  writeQdrantByKey,
  type QdrantRecordDataset,
} from './qdrant-records.ts';
import { planQdrantRestore, restoreQdrant, snapshotCollections } from './qdrant-restore.ts';
import { applyQdrantSchema, countPointsByType, emptyQdrant, isQdrantEmpty } from './qdrant-schema.ts';
import { seedQdrant } from './qdrant-seed.ts';

export class QdrantStore implements Store {
  readonly name = 'qdrant' as const;

  readonly client: QdrantClient;

  /** `client` is the store's own HTTP client: for this folder and for tests, never for operations. */
  constructor(client: QdrantClient) {
    this.client = client;
  }

  /** Connects and proves the server answers; retries of transient faults are told to `reporter`. */
  static async open(settings: QdrantSettings, reporter?: ProgressReporter): Promise<QdrantStore> {
    const client = new QdrantClient(settings, {
      onRetry: reporter ? (info) => reporter.emit(qdrantRetryEvent(info)) : undefined,
    });
    await client.version();
    return new QdrantStore(client);
  }

  serverVersion(): Promise<string> {
    return this.client.version();
  }

  async close(): Promise<void> {}

  isEmpty(): Promise<boolean> {
    return isQdrantEmpty(this.client);
  }

  empty(): Promise<void> {
    return emptyQdrant(this.client);
  }

  applySchema(): Promise<void> {
    return applyQdrantSchema(this.client);
  }

  seed(source: SeedSource, reporter: ProgressReporter): Promise<void> {
    return seedQdrant(this.client, source, reporter);
  }

  async openBackup(options: StoreBackupOptions): Promise<StoreBackup> {
    let collections: string[] | undefined;
    if (options.like) {
      collections = [];
      for (const { name } of snapshotCollections(options.like))
        if (await this.client.collectionExists(name)) collections.push(name);
    }
    return {
      write: (ctx) =>
        backupQdrant(this.client, ctx, { nativeSnapshots: options.nativeSnapshots, collections }),
      release: async () => undefined,
    };
  }

  /** The restore's own refusal rule: a collection or alias of the snapshot already exists. */
  async holdsDataFor(section: StoreSection): Promise<boolean> {
    try {
      await planQdrantRestore(this.client, section, false);
      return false;
    } catch (error) {
      if (error instanceof AcxError && error.code === 'NOT_EMPTY') return true;
      throw error;
    }
  }

  planRestore(section: StoreSection, options: StoreRestoreOptions) {
    return planQdrantRestore(this.client, section, options.replace, {
      fromNativeSnapshots: options.nativeSnapshots,
    });
  }

  restore(ctx: RestoreContext, options: StoreRestoreOptions) {
    return restoreQdrant(this.client, ctx, { fromNativeSnapshots: options.nativeSnapshots });
  }

  async openImport(ctx: ImportContext, shared: { ledger: ImportLedger }): Promise<StoreImport> {
    const session = new QdrantImport(this.client, ctx, shared.ledger);
    return {
      write: (dataset) => session.importPoints(dataset),
      finish: async () => session.summary(),
      commit: () => session.commit(),
      rollback: () => session.rollback(),
    };
  }

  async recoverImport(workDir: string, batchSize: number): Promise<string | undefined> {
    const undone = await undoQdrantImport(this.client, join(workDir, QDRANT_UNDO_FILE), batchSize);
    const parts = [
      ...(undone.collectionsDeleted.length > 0
        ? [`deleted collection ${undone.collectionsDeleted.join(', ')} it had created`]
        : []),
      ...(undone.pointsRemoved > 0 ? [`removed ${undone.pointsRemoved} points it had added`] : []),
      ...(undone.pointsRestored > 0 ? [`put back ${undone.pointsRestored} points it had changed`] : []),
    ];
    return parts.length > 0 ? parts.join(', ') : undefined;
  }

  async openExport(request: ExportRequest): Promise<ExportView> {
    const codes = request.codes ? [...request.codes] : undefined;
    return {
      serverVersion: () => this.client.version(),
      tabular: async () => [],
      vectors: (withVectors) => qdrantExportCollections(this.client, { codes, withVectors }),
      close: async () => undefined,
    };
  }

  fingerprint(): Promise<Fingerprint> {
    return fingerprintQdrant(this.client);
  }

  async counts(options: { collection: string }): Promise<StoreCounts> {
    const collections: Record<string, number> = {};
    for (const name of await this.client.listCollections()) collections[name] = await this.client.count(name);
    const types =
      options.collection in collections
        ? await countPointsByType(this.client, options.collection, POINT_TYPES)
        : {};
    return { collections, types };
  }

  readByKey(dataset: RecordDataset, keys: readonly string[]): Promise<KeyedRecords> {
    return readQdrantByKey(this.client, qdrantDataset(dataset), keys);
  }

  scanByKey(dataset: RecordDataset, cursor: string | null, limit: number): Promise<RecordPage> {
    return scanQdrantByKey(this.client, qdrantDataset(dataset), cursor, limit);
  }

  prepareDataset(dataset: RecordDataset, options: { create: boolean; vectorSize?: number }) {
    return prepareQdrantDataset(this.client, qdrantDataset(dataset), options);
  }

  writeByKey(dataset: RecordDataset, writes: RecordWrites): Promise<void> {
    return writeQdrantByKey(this.client, qdrantDataset(dataset), writes);
  }
}

function qdrantDataset(dataset: RecordDataset): QdrantRecordDataset {
  if (dataset.store !== 'qdrant') throw new TypeError(`not a Qdrant dataset: ${dataset.store}`);
  return dataset;
}
