/**
 * `acx-data backup`: one snapshot of the chosen stores, consistent at one point (docs/design.md §7.4):
 *
 * 1. lock the repository and remove leftovers of killed runs;
 * 2. run the pre-hook; open and export the PostgreSQL snapshot (the consistency point);
 * 3. read the stores in parallel while that snapshot is held, streaming into compressed files;
 * 4. release the snapshot and run the post-hook (also after a failure);
 * 5. write the manifest last (an atomic put): only now does the snapshot exist.
 */
import { AcxError } from '../errors.ts';
import type { ProgressReporter, StoreName } from '../progress.ts';
import { FORMAT_VERSION, MANIFEST_FORMAT, type Manifest, type StoreSection } from '../repository/manifest.ts';
import type { Compression } from '../repository/compression.ts';
import type { Repository, SnapshotWriter } from '../repository/repository.ts';
import { BlobSnapshotFiles } from '../repository/blob-snapshot-files.ts';
import { nowIso, type ParentSnapshot } from '../model/snapshot.ts';
import { STORE_NAMES } from '../progress.ts';
import type { BackupContext, Store, StoreBackup } from '../stores/store.ts';
import type { StoresByName } from './open-stores.ts';
import { backupJsonFiles } from './json-files.ts';
import { runHook } from './hooks.ts';
import { TOOL } from './tool.ts';
import { refuseUnfinishedRuns } from './restore-journal.ts';
import type { JournalPlace } from './run-journal.ts';

import type { BackupTarget } from '../model/snapshot.ts';

export { BACKUP_TARGETS, type BackupTarget } from '../model/snapshot.ts';

export interface BackupOptions {
  targets: readonly BackupTarget[];
  /** The stores the targets need (open ones only). */
  stores: StoresByName;
  repository: Repository;
  compression: Compression;
  /** The repository format to write (default 2, design §11; 1 for readers of format 1 only, §7). */
  formatVersion?: 1 | 2;
  /** Format 2: create the repository encrypted (its first format-2 backup only). */
  encrypt?: boolean;
  /**
   * `--incremental` (design §11.8): build on the newest format-2 snapshot, or with `since` on the newest
   * verified one started at or before it; none: USAGE, nothing written.
   */
  incremental?: { since?: Date };
  /** PostgreSQL: use pg_dump for the schema when installed (`auto`). */
  pgDump: 'auto' | 'never';
  qdrantSnapshots: boolean;
  /** Only what these sections name and the stores hold now (a restore's safety backup); default: all. */
  like?: Partial<Record<StoreName, StoreSection>>;
  /** The application's data directory (`--json`) and the directories inside it that are not data. */
  dataDir: string;
  excludedDirs: string[];
  preHook?: string;
  postHook?: string;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  /**
   * Where restores and imports into these databases keep their journals: a backup of a store an
   * interrupted (or running) restore or an unrolled-back import was writing is refused. None: no check.
   */
  journal?: JournalPlace;
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
  /** Format 2: what the repository gained (packs and index) and the content it already held. */
  stored?: { addedBytes: number; newBytes: number; reusedBytes: number };
  /** An incremental snapshot's parent. */
  parent?: string;
}

export async function backupStores(options: BackupOptions): Promise<BackupSummary> {
  const { repository, reporter, targets } = options;
  const started = performance.now();
  await refuseUnfinishedRuns(options.journal, targets, 'backup');
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
    const parent = options.incremental
      ? await chooseParent(repository, options.incremental.since)
      : undefined;
    const id = await repository.newSnapshotId(parent ? 'incremental' : 'full', startedAt);
    if (parent)
      reporter.emit({
        type: 'phase',
        store: 'repository',
        message: `building on ${parent.id} (incremental)`,
      });
    const dir = repository.snapshotDir(id);
    const files = await repository.createSnapshot(
      id,
      {
        formatVersion: options.formatVersion ?? 2,
        compression: options.compression,
        encrypt: options.encrypt,
      },
      options.signal,
    );
    reporter.emit({ type: 'phase', store: 'repository', message: `writing snapshot ${id}` });
    try {
      if (files instanceof BlobSnapshotFiles) files.onProgress = throttledProgress(reporter);
      const manifest = await writeSnapshot(options, id, files, startedAt, parent);
      await repository.finishSnapshot(manifest, files);
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
        ...(files instanceof BlobSnapshotFiles
          ? { stored: { addedBytes: files.store.stats.storedBytesAdded, ...files.progress } }
          : {}),
        ...(parent ? { parent: parent.id } : {}),
      };
    } catch (error) {
      // No manifest was written: the directory is not a snapshot. Remove it now rather than leave it to the next run.
      await repository.discardSnapshot(files).catch(() => undefined);
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

/** The stores a backup reads, in registry order (PostgreSQL first: its snapshot is the consistency point). */
function storesOf(options: BackupOptions): Store[] {
  return options.targets
    .flatMap((target) => {
      if (target === 'json') return [];
      const store = options.stores[target];
      if (!store)
        throw new AcxError('INTERNAL', `backup of ${target} was asked without an open ${target} connection`);
      return [store];
    })
    .sort((a, b) => STORE_NAMES.indexOf(a.name) - STORE_NAMES.indexOf(b.name));
}

/**
 * Phase 3: opens every store's read point in order, then reads them all in parallel into the
 * snapshot's files. Every read point is released, also after a failure.
 */
async function readStores(
  options: BackupOptions,
  ctx: BackupContext,
  held: { consistency?: StoreBackup['consistency']; heldUntil?: string },
  parent?: Manifest,
): Promise<Partial<Record<StoreName, StoreSection>>> {
  const opened: Array<[Store, StoreBackup]> = [];
  try {
    for (const store of storesOf(options)) {
      const backup = await store.openBackup({
        pgDump: options.pgDump,
        nativeSnapshots: options.qdrantSnapshots,
        like: options.like?.[store.name],
        parent: parentFor(parent, store.name),
      });
      opened.push([store, backup]);
      held.consistency ??= backup.consistency;
    }
    const results = await Promise.allSettled(opened.map(([, backup]) => backup.write(ctx)));
    const sections: Partial<Record<StoreName, StoreSection>> = {};
    const failures: Array<{ store: StoreName; reason: unknown }> = [];
    results.forEach((result, i) => {
      const store = opened[i]![0].name;
      if (result.status === 'fulfilled') sections[store] = result.value;
      else {
        failures.push({ store, reason: result.reason });
        ctx.reporter.emit({
          type: 'warning',
          store,
          message: `backup failed: ${(result.reason as Error).message}`,
        });
      }
    });
    const first = failures[0];
    if (first) {
      if (failures.length === 1) throw first.reason;
      throw new AcxError(
        first.reason instanceof AcxError ? first.reason.code : 'STORE',
        `backup failed in ${failures.length} stores: ${failures.map((f) => `${f.store}: ${(f.reason as Error).message}`).join('; ')}`,
        { cause: first.reason, hint: first.reason instanceof AcxError ? first.reason.hint : undefined },
      );
    }
    return sections;
  } finally {
    for (const [, backup] of opened) await backup.release();
    if (held.consistency) held.heldUntil = nowIso();
  }
}

async function writeSnapshot(
  options: BackupOptions,
  id: string,
  files: SnapshotWriter,
  startedAt: Date,
  parent?: Manifest,
): Promise<Manifest> {
  const { targets, reporter } = options;
  const ctx: BackupContext = { files, reporter, signal: options.signal };
  const hookEnv = { ACX_SNAPSHOT_ID: id, ACX_BACKUP_DIR: options.repository.location };
  const held: { consistency?: StoreBackup['consistency']; heldUntil?: string } = {};
  let sections: Partial<Record<StoreName, StoreSection>> = {};
  let failure: unknown;
  try {
    if (options.preHook) {
      reporter.emit({ type: 'phase', message: `running pre-hook: ${options.preHook}` });
      await runHook('pre-hook', options.preHook, hookEnv);
    }
    sections = await readStores(options, ctx, held, parent);
  } catch (error) {
    failure = error;
  } finally {
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

  const point = held.consistency;
  const blobs = files instanceof BlobSnapshotFiles ? files.store : undefined;
  return {
    format: MANIFEST_FORMAT,
    formatVersion: blobs ? FORMAT_VERSION : 1,
    id,
    kind: parent ? 'incremental' : 'full',
    parent: parent?.id ?? null,
    tool: TOOL,
    startedAt: startedAt.toISOString(),
    completedAt: nowIso(),
    compression: blobs ? blobs.config.compression : options.compression,
    encryption: blobs?.config.encryption ?? null,
    ...(blobs
      ? {
          repository: blobs.config.id,
        }
      : {}),
    consistency: {
      method: point?.method ?? 'per-store',
      ...(point
        ? {
            postgresSnapshot: point.snapshotId,
            ...(point.visibility ? { postgresVisibility: point.visibility } : {}),
            heldFrom: point.heldFrom,
            heldUntil: held.heldUntil,
          }
        : {}),
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

/**
 * The snapshot an incremental backup builds on (design §11.8): the newest complete format-2 snapshot of
 * the repository, or with `since` the newest one started at or before it whose last verification
 * succeeded. Opened (so an encrypted manifest is authenticated) before anything is written.
 */
async function chooseParent(repository: Repository, since: Date | undefined): Promise<Manifest> {
  const { snapshots } = await repository.list();
  const candidates = snapshots.filter(
    (s) =>
      s.manifest.formatVersion === 2 &&
      (since === undefined ||
        (Date.parse(s.manifest.startedAt) <= since.getTime() && s.verification?.ok === true)),
  );
  const chosen = candidates[0];
  if (!chosen) {
    const what =
      since === undefined
        ? `${repository.location} holds no format-2 snapshot to build on`
        : `${repository.location} holds no verified format-2 snapshot taken at or before ${since.toISOString()}`;
    throw new AcxError('USAGE', `--incremental: ${what}`, {
      subject: repository.location,
      hint:
        since === undefined
          ? 'take a full backup first: acx-data backup --all'
          : 'verify one (acx-data backup --verify ID), choose a later --since, or take a full backup',
    });
  }
  return (await repository.open(chosen.id)).manifest;
}

/** One store's view of the parent, when the parent backed that store up. */
function parentFor(parent: Manifest | undefined, store: StoreName): ParentSnapshot | undefined {
  const section = parent?.stores[store];
  if (!parent || !section) return undefined;
  return { id: parent.id, section, files: parent.files, consistency: parent.consistency };
}

/** Reports bytes new and reused at most every two seconds while a format-2 backup stores its blobs. */
function throttledProgress(
  reporter: ProgressReporter,
): (p: { newBytes: number; reusedBytes: number }) => void {
  // The first report after two seconds: at the start every count is still 0, which reads as a result.
  let last = performance.now();
  return (p) => {
    const now = performance.now();
    if (now - last < 2000) return;
    last = now;
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    reporter.emit({
      type: 'phase',
      store: 'repository',
      message: `stored ${mib(p.newBytes)} new, ${mib(p.reusedBytes)} reused`,
    });
  };
}
