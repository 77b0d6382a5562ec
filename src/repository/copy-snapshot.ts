/**
 * Copying one complete snapshot into another repository on any storage (docs/design.md §12.4): how a
 * snapshot is uploaded to a bucket and downloaded back. The target becomes a replica of the source (same
 * config.json and keys), so both hold byte-identical packs under the same names and a re-run sends only
 * what is missing. The manifest is put last: a copy stopped at any moment leaves no snapshot in the
 * target, only packs (or format-1 files) a later run reuses or a cleanup removes.
 */
import { AcxError } from '../errors.ts';
import { isStorageError } from '../storage/storage-error.ts';
import type { Storage } from '../storage/storage.ts';
import type { BlobStore } from './blobs/blob-store.ts';
import { writeIndexFile, indexKey } from './blobs/index-files.ts';
import { DATA_PREFIX, packKey } from './blobs/pack.ts';
import { CONFIG_FILE, readConfig } from './blobs/repo-config.ts';
import { BlobSnapshotReader } from './blob-snapshot-reader.ts';
import { MANIFEST_FILE, snapshotPrefix, VERIFICATION_FILE } from './layout.ts';
import type { Repository } from './repository.ts';
import type { SnapshotReader } from './snapshot-reader.ts';
import {
  checkedStream,
  checkSnapshotId,
  identityFiles,
  indexGroups,
  inParallel,
  openStoredFile,
  readCheckedPack,
  snapshotPacks,
  snapshotRecords,
  storedManifest,
} from './snapshot-transfer.ts';

/** Packs (format 1: files) this run sends, as they are sent. */
export interface CopyProgress {
  packsDone: number;
  packsTotal: number;
  bytesSent: number;
}

export interface CopySummary {
  id: string;
  formatVersion: 1 | 2;
  /** Printable locations, free of secrets. */
  from: string;
  to: string;
  /** Format 2: packs the snapshot needs that were sent, and that the target held already. */
  packsSent: number;
  packsPresent: number;
  /** Format 1: files sent, and files the target held already with the same size. */
  filesSent: number;
  filesPresent: number;
  /** Every byte put into the target: packs or files, index files, identity files, the records. */
  bytesSent: number;
  /** The target held the whole snapshot already: nothing was written. */
  alreadyPresent: boolean;
  durationMs: number;
}

export interface CopySnapshotOptions {
  source: Repository;
  target: Repository;
  /** The snapshot's id (never a path). */
  id: string;
  /** Stops the copy: it rejects with `signal.reason` and the target lists no such snapshot. */
  signal?: AbortSignal;
  onProgress?: (progress: CopyProgress) => void;
  /** Packs or files in flight at once (default 4). */
  concurrency?: number;
}

interface CopyRun {
  readonly options: CopySnapshotOptions;
  readonly summary: CopySummary;
  /** Something other than the records was written (the copy is not a no-op). */
  wrote: boolean;
}

/**
 * Copies snapshot `id` from `source` to `target` (§12.4), under the target's lock. Idempotent: a copy
 * of a snapshot the target holds whole writes nothing and says so (`alreadyPresent`).
 */
export async function copySnapshot(options: CopySnapshotOptions): Promise<CopySummary> {
  const started = performance.now();
  const { source, target, id, signal } = options;
  checkSnapshotId(id);
  const snapshot = await source.open(id);
  const records = await snapshotRecords(snapshot.storage, snapshot.prefix, signal);
  const packs =
    snapshot instanceof BlobSnapshotReader
      ? await snapshotPacks(snapshot.blobs, snapshot.manifest, signal)
      : undefined;
  if (snapshot instanceof BlobSnapshotReader) await checkIdentity(snapshot.blobs, target.storage);
  const present = await storedManifest(target.storage, id);
  if (present && !present.equals(records.manifest))
    throw new AcxError('USAGE', `${target.location} holds another snapshot ${id} than ${source.location}`, {
      subject: id,
      hint: 'copy into another prefix or folder',
    });
  const run: CopyRun = { options, summary: emptySummary(options, snapshot), wrote: false };
  const lock = await target.lock('copy');
  try {
    await lock.writing(id);
    if (snapshot instanceof BlobSnapshotReader) await copyPacks(run, snapshot, packs!);
    else await copyFiles(run, snapshot);
    if (!present) await put(run, target.storage, snapshotPrefix(id) + MANIFEST_FILE, records.manifest);
    if (records.verification && !present)
      await put(run, target.storage, snapshotPrefix(id) + VERIFICATION_FILE, records.verification);
  } finally {
    await lock.release();
  }
  run.summary.alreadyPresent = present !== undefined && !run.wrote;
  run.summary.durationMs = performance.now() - started;
  return run.summary;
}

function emptySummary(options: CopySnapshotOptions, snapshot: SnapshotReader): CopySummary {
  return {
    id: options.id,
    formatVersion: snapshot.manifest.formatVersion === 1 ? 1 : 2,
    from: options.source.location,
    to: options.target.location,
    packsSent: 0,
    packsPresent: 0,
    filesSent: 0,
    filesPresent: 0,
    bytesSent: 0,
    alreadyPresent: false,
    durationMs: 0,
  };
}

async function put(run: CopyRun, storage: Storage, key: string, bytes: Buffer, ifNotExists = false) {
  await storage.put(key, bytes, { signal: run.options.signal, ifNotExists });
  run.summary.bytesSent += bytes.length;
}

/** USAGE, before anything is written, when the target holds another repository than the source. */
async function checkIdentity(blobs: BlobStore, target: Storage): Promise<void> {
  const theirs = await readConfig(target);
  if (theirs && theirs.id !== blobs.config.id) throw otherRepository(blobs, target, theirs.id);
}

function otherRepository(blobs: BlobStore, target: Storage, theirs: string): AcxError {
  return new AcxError(
    'USAGE',
    `${target.location} holds another repository (id ${theirs.slice(0, 12)}) than ${blobs.storage.location} (id ${blobs.config.id.slice(0, 12)}); nothing was copied`,
    {
      subject: target.location,
      hint: 'copy into another prefix or folder: a target is a replica of one repository',
    },
  );
}

/** A target without config.json becomes a replica: the source's keys, then its config (conditional). */
async function adoptIdentity(run: CopyRun, blobs: BlobStore, target: Storage): Promise<void> {
  if (await readConfig(target)) return;
  for (const file of await identityFiles(blobs.storage, run.options.signal)) {
    try {
      await put(run, target, file.key, file.bytes, file.key === CONFIG_FILE);
    } catch (error) {
      if (!isStorageError(error, 'conflict')) throw error;
      // Another first writer won the config meanwhile: it must be this repository's.
      const theirs = await readConfig(target);
      if (theirs?.id !== blobs.config.id) throw otherRepository(blobs, target, theirs?.id ?? '?');
    }
  }
  run.wrote = true;
}

/**
 * Format 2 (§12.4 steps 2–3): the packs the target lacks, read whole, checked and put, `concurrency` at
 * a time; then index files listing every needed pack the target's index does not list yet.
 */
async function copyPacks(run: CopyRun, snapshot: BlobSnapshotReader, packs: string[]): Promise<void> {
  const { target, signal, onProgress } = run.options;
  await adoptIdentity(run, snapshot.blobs, target.storage);
  const targetBlobs = await target.blobs();
  if (!targetBlobs) throw new AcxError('INTERNAL', `${target.location} has no config.json after the copy`);
  const stored = await storedPacks(target.storage, signal);
  const missing = packs.filter((p) => !stored.has(p));
  run.summary.packsPresent = packs.length - missing.length;
  await inParallel(missing, run.options.concurrency ?? 4, signal, async (pack) => {
    const bytes = await readCheckedPack(snapshot.blobs.storage, pack, signal);
    signal?.throwIfAborted();
    await put(run, target.storage, packKey(pack), bytes);
    run.summary.packsSent++;
    run.wrote = true;
    onProgress?.({
      packsDone: run.summary.packsSent,
      packsTotal: missing.length,
      bytesSent: run.summary.bytesSent,
    });
  });
  const unlisted = packs.filter((p) => !targetBlobs.index.listsPack(p));
  for (const group of indexGroups(snapshot.blobs.index, unlisted)) {
    signal?.throwIfAborted();
    const id = await writeIndexFile(target.storage, group, targetBlobs.key);
    targetBlobs.index.add(id, group);
    run.summary.bytesSent += (await target.storage.stat(indexKey(id)))?.size ?? 0;
    run.wrote = true;
  }
  signal?.throwIfAborted();
}

/** The pack ids under data/ (one listing). */
async function storedPacks(storage: Storage, signal?: AbortSignal): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const info of storage.list(DATA_PREFIX, { signal })) {
    const id = info.key.slice(info.key.lastIndexOf('/') + 1);
    if (packKey(id) === info.key) ids.add(id);
  }
  return ids;
}

/**
 * Format 1 (§12.4): each file streamed from source to target and checked against its manifest entry
 * on the way (a mismatch stores nothing; the object is deleted should a storage have kept it), skipping
 * files the target holds with the same size.
 */
async function copyFiles(run: CopyRun, snapshot: SnapshotReader): Promise<void> {
  const { target, signal, onProgress } = run.options;
  const paths = Object.keys(snapshot.manifest.files).sort();
  const missing: string[] = [];
  for (const path of paths) {
    const have = await target.storage.stat(snapshotPrefix(snapshot.id) + path, { signal });
    if (have?.size === snapshot.manifest.files[path]!.bytes) run.summary.filesPresent++;
    else missing.push(path);
  }
  await inParallel(missing, run.options.concurrency ?? 4, signal, async (path) => {
    const entry = snapshot.manifest.files[path]!;
    const key = snapshotPrefix(snapshot.id) + path;
    const from = snapshot.storage.location;
    const source = await openStoredFile(snapshot, path, signal);
    try {
      await target.storage.put(key, checkedStream(source, entry, path, from), { signal });
    } catch (error) {
      if (error instanceof AcxError && error.code === 'INTEGRITY') await target.storage.delete(key);
      throw error;
    }
    run.summary.filesSent++;
    run.summary.bytesSent += entry.bytes;
    run.wrote = true;
    onProgress?.({
      packsDone: run.summary.filesSent,
      packsTotal: missing.length,
      bytesSent: run.summary.bytesSent,
    });
  });
}
