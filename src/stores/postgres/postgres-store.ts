/** PostgreSQL as a Store (src/stores/store.ts): the one facade operations use. */
import type pg from 'pg';
import type { PostgresSettings } from '../../config/env.ts';
import type { ExportRequest, ExportView } from '../../model/dataset.ts';
import type { Fingerprint } from '../../model/content-hash.ts';
import type { ImportContext } from '../../model/import.ts';
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
import { backupPostgres, openPostgresSnapshot } from './postgres-backup.ts';
import { openPostgres, postgresError, postgresVersion } from './postgres-connection.ts';
import { guarded, guardedExportView, guardedMethods } from '../store-errors.ts';
import { PostgresExportSource } from './postgres-export.ts';
import { fingerprintPostgres } from './postgres-fingerprint.ts';
import { PostgresImport, recoverPostgresImport } from './postgres-import.ts';
import {
  preparePostgresDataset,
  readPostgresByKey,
  scanPostgresByKey,
  writePostgresByKey,
} from './postgres-records.ts';
import { planPostgresRestore, postgresHoldsData, restorePostgres } from './postgres-restore.ts';
import {
  applyPostgresSchema,
  countRows,
  emptyPostgres,
  isPostgresEmpty,
  listPostgresTables,
} from './postgres-schema.ts';
import { seedPostgres } from './postgres-seed.ts';

export class PostgresStore implements Store {
  readonly name = 'postgres' as const;

  readonly pool: pg.Pool;
  private readonly url?: string;

  /** `pool` is the store's own connection pool: for this folder and for tests, never for operations. */
  constructor(pool: pg.Pool, url?: string) {
    this.pool = pool;
    this.url = url;
  }

  static async open(settings: PostgresSettings): Promise<PostgresStore> {
    return new PostgresStore(await openPostgres(settings), settings.url);
  }

  async serverVersion(): Promise<string> {
    return guarded(postgresError, 'reading its version', () => postgresVersion(this.pool));
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  isEmpty(): Promise<boolean> {
    return guarded(postgresError, 'a check for data', () => isPostgresEmpty(this.pool));
  }

  empty(): Promise<void> {
    return guarded(postgresError, 'emptying', () => emptyPostgres(this.pool));
  }

  applySchema(): Promise<void> {
    return guarded(postgresError, 'creating the schema', () => applyPostgresSchema(this.pool));
  }

  seed(source: SeedSource, reporter: ProgressReporter): Promise<void> {
    return guarded(postgresError, 'seeding', () => seedPostgres(this.pool, source, reporter));
  }

  // Every call below fails through postgresError: a lost connection is CONNECTION, never INTERNAL.
  async openBackup(options: StoreBackupOptions): Promise<StoreBackup> {
    const snapshot = await guarded(postgresError, 'the backup', () => openPostgresSnapshot(this.pool));
    return guardedMethods(postgresError, 'the backup', {
      consistency: {
        method: 'postgres-exported-snapshot',
        snapshotId: snapshot.snapshotId,
        heldFrom: snapshot.openedAt,
        visibility: snapshot.visibility,
      },
      write: (ctx) =>
        backupPostgres(snapshot, ctx, {
          url: this.url ?? '',
          pgDump: options.pgDump,
          parent: options.parent,
        }),
      release: () => snapshot.release(),
    });
  }

  async holdsDataFor(): Promise<boolean> {
    return guarded(postgresError, 'a check for data', async () => {
      const client = await this.pool.connect();
      try {
        return await postgresHoldsData(client);
      } finally {
        client.release();
      }
    });
  }

  planRestore(section: StoreSection, options: StoreRestoreOptions) {
    return guarded(postgresError, 'planning the restore', () =>
      planPostgresRestore(this.pool, section, options.replace),
    );
  }

  restore(ctx: RestoreContext) {
    return guarded(postgresError, 'the restore', () => restorePostgres(this.pool, ctx));
  }

  async openImport(ctx: ImportContext): Promise<StoreImport> {
    const session = new PostgresImport(this.pool, ctx);
    await guarded(postgresError, 'the import', () => session.begin());
    return guardedMethods(postgresError, 'the import', {
      write: (dataset) => session.stage(dataset),
      finish: () => session.apply(),
      commit: () => session.commit(),
      rollback: () => session.rollback(),
    });
  }

  async recoverImport(workDir: string): Promise<string | undefined> {
    const undone = await guarded(postgresError, 'recovering an import', () =>
      recoverPostgresImport(this.pool, workDir),
    );
    return `its transaction was rolled back by the server${undone ? `; ${undone}` : ''}`;
  }

  async openExport(request: ExportRequest): Promise<ExportView> {
    const source = await guarded(postgresError, 'the export', () =>
      PostgresExportSource.open(this.pool, {
        filter: request.filter,
        includePii: request.includePii,
        includeDeleted: request.includeDeleted,
      }),
    );
    return guardedExportView(postgresError, {
      serverVersion: () => source.serverVersion(),
      tabular: async () => {
        const out = [];
        for (const table of await source.tableNames()) out.push(await source.table(table, `pg_${table}`));
        return out;
      },
      selectedCodes: () => source.selectedCodes(),
      dtcCodesFull: () => source.dtcCodesFull(),
      translations: () => source.translations(),
      history: () => source.history(),
      close: () => source.close(),
    });
  }

  fingerprint(): Promise<Fingerprint> {
    return guarded(postgresError, 'a fingerprint', () => fingerprintPostgres(this.pool));
  }

  async counts(): Promise<StoreCounts> {
    return guarded(postgresError, 'counting', async () => {
      const tables: Record<string, number> = {};
      for (const table of await listPostgresTables(this.pool))
        tables[table] = await countRows(this.pool, table);
      return { tables };
    });
  }

  readByKey(dataset: RecordDataset, keys: readonly string[]): Promise<KeyedRecords> {
    const table = postgresDataset(dataset);
    return guarded(postgresError, `reading ${table.table} by key`, () =>
      readPostgresByKey(this.pool, table, keys),
    );
  }

  scanByKey(dataset: RecordDataset, cursor: string | null, limit: number): Promise<RecordPage> {
    const table = postgresDataset(dataset);
    return guarded(postgresError, `reading ${table.table} in key order`, () =>
      scanPostgresByKey(this.pool, table, cursor, limit),
    );
  }

  /** `options` ask nothing of PostgreSQL: the table is checked, never created. */
  prepareDataset(dataset: RecordDataset, _options?: { create: boolean }): Promise<{ exists: boolean }> {
    const table = postgresDataset(dataset);
    return guarded(postgresError, `checking table ${table.table}`, () =>
      preparePostgresDataset(this.pool, table),
    );
  }

  writeByKey(dataset: RecordDataset, writes: RecordWrites): Promise<void> {
    const table = postgresDataset(dataset);
    return guarded(postgresError, `writing ${table.table} by key`, () =>
      writePostgresByKey(this.pool, table, writes),
    );
  }
}

function postgresDataset(dataset: RecordDataset): { table: string; key: string } {
  if (dataset.store !== 'postgres') throw new TypeError(`not a PostgreSQL dataset: ${dataset.store}`);
  return dataset;
}
