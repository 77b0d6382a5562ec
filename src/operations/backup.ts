/**
 * `acx-data backup`: one snapshot of the chosen stores, consistent at one point (docs/design.md §7.4):
 *
 * 1. lock the repository and remove leftovers of killed runs;
 * 2. run the pre-hook; open and export the PostgreSQL snapshot (the consistency point);
 * 3. read the stores in parallel while that snapshot is held, streaming into compressed files;
 * 4. release the snapshot and run the post-hook (also after a failure);
 * 5. write the manifest last, by rename: only now does the snapshot exist.
 */
import { mkdir, rm } from 'node:fs/promises';
import { AcxError } from '../errors.ts';
import type { ProgressReporter, StoreName } from '../progress.ts';
import {
  FORMAT_VERSION,
  MANIFEST_FORMAT,
  writeManifest,
  type Manifest,
  type StoreSection,
} from '../repository/manifest.ts';
import type { Compression } from '../repository/compression.ts';
import type { Repository } from '../repository/repository.ts';
import { SnapshotFiles } from '../repository/snapshot-files.ts';
import { nowIso, type BackupContext } from '../stores/snapshot-driver.ts';
import {
  backupPostgres,
  openPostgresSnapshot,
  type PgDumpMode,
  type PostgresSnapshot,
} from '../stores/postgres/postgres-backup.ts';
import { backupNeo4j } from '../stores/neo4j/neo4j-backup.ts';
import { backupQdrant } from '../stores/qdrant/qdrant-backup.ts';
import type { OpenStores } from './open-stores.ts';
import { backupJsonFiles } from './json-files.ts';
import { runHook } from './hooks.ts';
import { TOOL } from './tool.ts';

export const BACKUP_TARGETS = ['postgres', 'neo4j', 'qdrant', 'json'] as const;
export type BackupTarget = (typeof BACKUP_TARGETS)[number];

export interface BackupOptions {
  targets: readonly BackupTarget[];
  /** The stores the targets need (open ones only). */
  stores: Partial<Omit<OpenStores, 'close'>>;
  repository: Repository;
  compression: Compression;
  /** DATABASE_URL, for pg_dump. */
  postgresUrl?: string;
  pgDump: PgDumpMode;
  qdrantSnapshots: boolean;
  /** Only these Qdrant collections (default: all). */
  qdrantCollections?: string[];
  /** The application's data directory (`--json`) and the directories inside it that are not data. */
  dataDir: string;
  excludedDirs: string[];
  preHook?: string;
  postHook?: string;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  /** Take the repository lock (false when the caller already holds it, e.g. a restore's safety backup). */
  lock?: boolean;
  now?: Date;
}

export interface BackupStoreSummary {
  records: number;
  bytes: number;
  seconds: number;
}

export interface BackupSummary {
  id: string;
  dir: string;
  stores: Partial<Record<BackupTarget, BackupStoreSummary>>;
  bytes: number;
  seconds: number;
  removedIncomplete: string[];
  warnings: string[];
}

function need<T>(value: T | undefined, store: string): T {
  if (value === undefined)
    throw new AcxError('INTERNAL', `backup of ${store} was asked without an open ${store} connection`);
  return value;
}

export async function backupStores(options: BackupOptions): Promise<BackupSummary> {
  const { repository, reporter, targets } = options;
  const started = performance.now();
  const lock = options.lock === false ? undefined : await repository.lock('backup');
  try {
    const removedIncomplete = await repository.removeIncomplete();
    for (const id of removedIncomplete)
      reporter.emit({
        type: 'warning',
        store: 'repository',
        message: `removed ${id}, left incomplete by an interrupted run`,
      });
    const startedAt = options.now ?? new Date();
    const id = await repository.newSnapshotId('full', startedAt);
    const dir = repository.snapshotDir(id);
    await mkdir(dir, { recursive: true });
    reporter.emit({ type: 'phase', store: 'repository', message: `writing snapshot ${id}` });
    try {
      const manifest = await writeSnapshot(options, id, dir, startedAt);
      await writeManifest(dir, manifest);
      const warnings = Object.values(manifest.stores).flatMap((s) =>
        Array.isArray(s?.warnings) ? (s.warnings as string[]) : [],
      );
      return {
        ...summarise(manifest, targets),
        id,
        dir,
        seconds: (performance.now() - started) / 1000,
        removedIncomplete,
        warnings,
      };
    } catch (error) {
      // No manifest was written: the directory is not a snapshot. Remove it now rather than leave it to the next run.
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      if (options.signal?.aborted) {
        throw new AcxError('INTERRUPTED', `interrupted: no snapshot was written (${id} removed)`, {
          cause: error,
        });
      }
      throw error;
    }
  } finally {
    await lock?.release();
  }
}

async function writeSnapshot(
  options: BackupOptions,
  id: string,
  dir: string,
  startedAt: Date,
): Promise<Manifest> {
  const { targets, reporter, stores } = options;
  const files = new SnapshotFiles(dir, options.compression, options.signal);
  const ctx: BackupContext = { files, reporter, signal: options.signal };
  const hookEnv = { ACX_SNAPSHOT_ID: id, ACX_BACKUP_DIR: options.repository.dir };
  const sections: Partial<Record<StoreName, StoreSection>> = {};
  let pgSnapshot: PostgresSnapshot | undefined;
  let heldFrom: string | undefined;
  let heldUntil: string | undefined;
  let failure: unknown;
  try {
    if (options.preHook) {
      reporter.emit({ type: 'phase', message: `running pre-hook: ${options.preHook}` });
      await runHook('pre-hook', options.preHook, hookEnv);
    }
    if (targets.includes('postgres')) {
      pgSnapshot = await openPostgresSnapshot(need(stores.postgres, 'postgres'));
      heldFrom = pgSnapshot.openedAt;
    }
    const jobs: Array<[StoreName, () => Promise<StoreSection>]> = [];
    if (pgSnapshot) {
      const snapshot = pgSnapshot;
      jobs.push([
        'postgres',
        () => backupPostgres(snapshot, ctx, { url: options.postgresUrl ?? '', pgDump: options.pgDump }),
      ]);
    }
    if (targets.includes('neo4j')) jobs.push(['neo4j', () => backupNeo4j(need(stores.neo4j, 'neo4j'), ctx)]);
    if (targets.includes('qdrant')) {
      jobs.push([
        'qdrant',
        () =>
          backupQdrant(need(stores.qdrant, 'qdrant'), ctx, {
            nativeSnapshots: options.qdrantSnapshots,
            collections: options.qdrantCollections,
          }),
      ]);
    }
    const results = await Promise.allSettled(jobs.map(([, job]) => job()));
    const failures: string[] = [];
    results.forEach((result, i) => {
      const store = jobs[i]?.[0] ?? 'postgres';
      if (result.status === 'fulfilled') sections[store] = result.value;
      else {
        failures.push(`${store}: ${(result.reason as Error).message}`);
        reporter.emit({
          type: 'warning',
          store,
          message: `backup failed: ${(result.reason as Error).message}`,
        });
      }
    });
    const firstFailure = results.find((r) => r.status === 'rejected');
    if (firstFailure) {
      const reason = firstFailure.reason as unknown;
      if (failures.length === 1) throw reason;
      throw new AcxError(
        reason instanceof AcxError ? reason.code : 'STORE',
        `backup failed in ${failures.length} stores: ${failures.join('; ')}`,
        { cause: reason },
      );
    }
  } catch (error) {
    failure = error;
  } finally {
    if (pgSnapshot) {
      await pgSnapshot.release();
      heldUntil = nowIso();
    }
    if (options.postHook) {
      reporter.emit({ type: 'phase', message: `running post-hook: ${options.postHook}` });
      try {
        await runHook('post-hook', options.postHook, hookEnv);
      } catch (error) {
        failure ??= error;
      }
    }
  }
  if (failure) throw failure;

  // The application's JSON files are not part of the database consistency point.
  const jsonFiles = targets.includes('json')
    ? await backupJsonFiles(options.dataDir, options.excludedDirs, files, reporter)
    : undefined;

  return {
    format: MANIFEST_FORMAT,
    formatVersion: FORMAT_VERSION,
    id,
    kind: 'full',
    parent: null,
    tool: TOOL,
    startedAt: startedAt.toISOString(),
    completedAt: nowIso(),
    compression: options.compression,
    encryption: null,
    consistency: {
      method: pgSnapshot ? 'postgres-exported-snapshot' : 'per-store',
      ...(pgSnapshot ? { postgresSnapshot: pgSnapshot.snapshotId, heldFrom, heldUntil } : {}),
      hooks: { pre: options.preHook ?? null, post: options.postHook ?? null },
    },
    stores: sections,
    ...(jsonFiles ? { jsonFiles } : {}),
    files: files.entries,
  };
}

function summarise(
  manifest: Manifest,
  targets: readonly BackupTarget[],
): Pick<BackupSummary, 'stores' | 'bytes'> {
  const stores: BackupSummary['stores'] = {};
  const sizeOf = (paths: string[]) => paths.reduce((sum, p) => sum + (manifest.files[p]?.bytes ?? 0), 0);
  for (const target of targets) {
    const section = target === 'json' ? manifest.jsonFiles : manifest.stores[target];
    if (!section) continue;
    const datasets = section.datasets;
    const seconds = (Date.parse(section.readFinishedAt) - Date.parse(section.readStartedAt)) / 1000;
    stores[target] = {
      records: datasets
        .filter((d) => d.kind !== 'schema' && d.kind !== 'collection')
        .reduce((sum, d) => sum + d.records, 0),
      bytes: sizeOf(datasets.flatMap((d) => d.files)),
      seconds,
    };
  }
  return { stores, bytes: sizeOf(Object.keys(manifest.files)) };
}
