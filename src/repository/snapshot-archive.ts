/**
 * One snapshot as a gzip'd tar (docs/design.md §12.5, `--download ID --archive FILE`), streamed into a
 * Writable with no temporary file: its one top-level directory `<id>/` is a repository holding exactly
 * that snapshot — format 2: `config.json`, `keys/`, the snapshot's packs under `data/`, one new index
 * (more only past INDEX_FILE_BLOBS blobs) listing exactly those packs, and `<id>/manifest.json`;
 * format 1: the snapshot's files under `<id>/`. Entries follow the repository's write order, the
 * manifest last, so a cut archive holds no snapshot. Packs and files are checked against their names
 * and manifest entries as in a copy (copy-snapshot.ts): damage is INTEGRITY, never archived.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack as tarPack, type Pack } from 'tar-stream';
import { AcxError } from '../errors.ts';
import { encodeIndexFile, indexKey } from './blobs/index-files.ts';
import { packKey } from './blobs/pack.ts';
import { BlobSnapshotReader } from './blob-snapshot-reader.ts';
import type { CopyProgress } from './copy-snapshot.ts';
import { MANIFEST_FILE, snapshotPrefix, VERIFICATION_FILE } from './layout.ts';
import type { Repository } from './repository.ts';
import type { SnapshotReader } from './snapshot-reader.ts';
import {
  checkedStream,
  checkSnapshotId,
  identityFiles,
  indexGroups,
  openStoredFile,
  readCheckedPack,
  snapshotPacks,
  snapshotRecords,
} from './snapshot-transfer.ts';

export interface SnapshotArchiveOptions {
  source: Repository;
  id: string;
  /** Receives the gzip'd tar; ended when the archive is complete, destroyed when it fails. */
  output: Writable;
  /** Stops the archive: it rejects with `signal.reason`, the output destroyed. */
  signal?: AbortSignal;
  /** After each pack (format 1: file); `bytesSent` counts bytes put into the tar, before gzip. */
  onProgress?: (progress: CopyProgress) => void;
}

export interface ArchiveSummary {
  id: string;
  formatVersion: 1 | 2;
  /** Printable, free of secrets. */
  from: string;
  /** Format 2: packs in the archive; format 1: files (the manifest and verification not counted). */
  packs: number;
  files: number;
  /** Bytes of the archived objects, before tar and gzip. */
  bytes: number;
  durationMs: number;
}

interface ArchiveRun {
  readonly options: SnapshotArchiveOptions;
  readonly tar: Pack;
  readonly mtime: Date;
  readonly summary: ArchiveSummary;
}

/**
 * Writes snapshot `id` of `source` as a gzip'd tar into `output`. A failure (damage, a storage error,
 * the output's own) destroys the output and rejects: the caller removes what it wrote.
 */
export async function writeSnapshotArchive(options: SnapshotArchiveOptions): Promise<ArchiveSummary> {
  const started = performance.now();
  const { source, id, output, signal } = options;
  checkSnapshotId(id);
  const snapshot = await source.open(id);
  const completed = new Date(snapshot.manifest.completedAt);
  const run: ArchiveRun = {
    options,
    tar: tarPack(),
    mtime: Number.isNaN(completed.getTime()) ? new Date() : completed,
    summary: {
      id,
      formatVersion: snapshot.manifest.formatVersion === 1 ? 1 : 2,
      from: source.location,
      packs: 0,
      files: 0,
      bytes: 0,
      durationMs: 0,
    },
  };
  // A failure reaches the pipeline through the tar's iterator; the event itself needs a listener.
  run.tar.on('error', () => undefined);
  const piping = pipeline(Readable.from(run.tar), createGzip(), output);
  // The output failing (a full disk, a closed pipe) or an abort ends the entries being added.
  let onAbort = (): void => undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    piping.catch(reject);
    onAbort = () => reject(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  stopped.catch(() => undefined);
  try {
    await Promise.race([addEntries(run, snapshot), stopped]);
    run.tar.finalize();
    await piping;
  } catch (error) {
    const reason = signal?.aborted ? (signal.reason as unknown) : error;
    run.tar.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    output.destroy();
    await piping.catch(() => undefined);
    throw reason;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  run.summary.durationMs = performance.now() - started;
  return run.summary;
}

async function addEntries(run: ArchiveRun, snapshot: SnapshotReader): Promise<void> {
  const { id, signal } = run.options;
  const records = await snapshotRecords(snapshot.storage, snapshot.prefix, signal);
  if (snapshot instanceof BlobSnapshotReader) await addRepository(run, snapshot);
  else await addFiles(run, snapshot);
  await addBuffer(run, `${snapshotPrefix(id)}${MANIFEST_FILE}`, records.manifest);
  if (records.verification)
    await addBuffer(run, `${snapshotPrefix(id)}${VERIFICATION_FILE}`, records.verification);
}

/** Format 2: identity, the snapshot's packs (each checked against its name), their index. */
async function addRepository(run: ArchiveRun, snapshot: BlobSnapshotReader): Promise<void> {
  const { signal, onProgress } = run.options;
  const blobs = snapshot.blobs;
  const packs = await snapshotPacks(blobs, snapshot.manifest, signal);
  for (const file of await identityFiles(blobs.storage, signal)) await addObject(run, file.key, file.bytes);
  // One pack read ahead while the previous one is written: two packs in memory at most.
  let next = packs[0] === undefined ? undefined : readCheckedPack(blobs.storage, packs[0], signal);
  for (let i = 0; i < packs.length; i++) {
    const bytes = await next!;
    next = i + 1 < packs.length ? readCheckedPack(blobs.storage, packs[i + 1]!, signal) : undefined;
    next?.catch(() => undefined); // awaited on the next turn; a failure now must not go unhandled
    await addObject(run, packKey(packs[i]!), bytes);
    run.summary.packs++;
    onProgress?.({ packsDone: run.summary.packs, packsTotal: packs.length, bytesSent: run.summary.bytes });
  }
  for (const group of indexGroups(blobs.index, packs)) {
    const index = encodeIndexFile(group, blobs.key);
    await addObject(run, indexKey(index.id), index.bytes);
  }
}

/** Format 1: each file streamed and checked against its manifest entry. */
async function addFiles(run: ArchiveRun, snapshot: SnapshotReader): Promise<void> {
  const { id, signal, onProgress } = run.options;
  const paths = Object.keys(snapshot.manifest.files).sort();
  for (const path of paths) {
    signal?.throwIfAborted();
    const entry = snapshot.manifest.files[path]!;
    const source = await openStoredFile(snapshot, path, signal);
    const checked = checkedStream(source, entry, path, snapshot.storage.location);
    await addStream(run, `${snapshotPrefix(id)}${path}`, entry.bytes, checked);
    run.summary.files++;
    run.summary.bytes += entry.bytes;
    onProgress?.({ packsDone: run.summary.files, packsTotal: paths.length, bytesSent: run.summary.bytes });
  }
}

/** A repository object (`<key>` under the archive's top directory `<id>/`), counted. */
async function addObject(run: ArchiveRun, key: string, bytes: Buffer): Promise<void> {
  await addBuffer(run, key, bytes);
  run.summary.bytes += bytes.length;
}

/** One tar entry from a buffer; resolves once the tar took it (back-pressure of the output). */
function addBuffer(run: ArchiveRun, key: string, bytes: Buffer): Promise<void> {
  run.options.signal?.throwIfAborted();
  const name = `${run.options.id}/${key}`;
  return new Promise((resolve, reject) => {
    run.tar.entry({ name, size: bytes.length, mtime: run.mtime }, bytes, (error) =>
      error ? reject(tarError(name, error)) : resolve(),
    );
  });
}

/** One tar entry streamed from `source`, which must yield exactly `size` bytes. */
async function addStream(run: ArchiveRun, key: string, size: number, source: Readable): Promise<void> {
  const name = `${run.options.id}/${key}`;
  let sink: ReturnType<Pack['entry']> | undefined;
  const written = new Promise<void>((resolve, reject) => {
    sink = run.tar.entry({ name, size, mtime: run.mtime }, (error) =>
      error ? reject(tarError(name, error)) : resolve(),
    );
  });
  // Its failure is reported through the entry's callback and the tar: not an unhandled 'error' event.
  sink!.on('error', () => undefined);
  written.catch(() => undefined);
  try {
    for await (const chunk of source) {
      if (sink!.write(chunk as Buffer)) continue;
      await new Promise<void>((resume) => {
        sink!.once('drain', resume);
        sink!.once('close', resume);
      });
      if (sink!.destroyed) break;
    }
  } catch (error) {
    sink!.destroy(error as Error);
    throw error;
  }
  sink!.end(null);
  await written;
}

function tarError(name: string, cause: Error): AcxError {
  return new AcxError('INTERNAL', `could not add ${name} to the archive: ${cause.message}`, {
    subject: name,
    cause,
  });
}
