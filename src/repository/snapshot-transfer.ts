/**
 * What copying a snapshot out of a repository needs, whatever the destination (docs/design.md §12.4,
 * §12.5): the packs a format-2 snapshot needs and the index entries that describe them, a pack read
 * whole and checked against its name, the repository's identity files, the snapshot's own records, and
 * a format-1 file checked against its manifest entry while it streams. copy-snapshot.ts puts these into
 * another repository, snapshot-archive.ts into a tar.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { AcxError } from '../errors.ts';
import type { FileEntry } from '../model/snapshot.ts';
import type { Storage } from '../storage/storage.ts';
import { isStorageError } from '../storage/storage-error.ts';
import { readBytes } from '../storage/storage-helpers.ts';
import type { BlobStore } from './blobs/blob-store.ts';
import type { IndexCache } from './blobs/index-cache.ts';
import { INDEX_FILE_BLOBS, type PackIndex } from './blobs/index-files.ts';
import { KEYS_PREFIX } from './blobs/keys.ts';
import { packKey } from './blobs/pack.ts';
import { CONFIG_FILE } from './blobs/repo-config.ts';
import { dataBlobIds } from './blob-snapshot-reader.ts';
import { MANIFEST_FILE, SNAPSHOT_ID, snapshotPrefix, VERIFICATION_FILE } from './layout.ts';
import type { Manifest } from './manifest.ts';
import type { SnapshotReader } from './snapshot-reader.ts';

/** USAGE unless `id` is a snapshot id (copies take ids, never paths). */
export function checkSnapshotId(id: string): void {
  if (!SNAPSHOT_ID.test(id))
    throw new AcxError('USAGE', `${JSON.stringify(id)} is not a snapshot id`, {
      subject: id,
      hint: 'name a snapshot by its id, e.g. full_20260201_120000 (acx-data backup --list shows them)',
    });
}

/**
 * The packs a format-2 snapshot needs, sorted: every data and list blob of every file, resolved through
 * the index of `blobs` (list blobs are read, so an encrypted repository needs its key). A blob the index
 * does not list is INTEGRITY: the snapshot cannot be copied whole.
 */
export async function snapshotPacks(
  blobs: BlobStore,
  manifest: Manifest,
  signal?: AbortSignal,
): Promise<string[]> {
  const packs = new Set<string>();
  const add = (id: string) => {
    const located = blobs.locate(id);
    if (!located)
      throw new AcxError(
        'INTEGRITY',
        `snapshot ${manifest.id} needs blob ${id.slice(0, 12)}, which the index of ${blobs.storage.location} does not list`,
        { subject: id, hint: 'run acx-data backup --verify --all on the source repository' },
      );
    packs.add(located.pack);
  };
  for (const entry of Object.values(manifest.files) as FileEntry[]) {
    signal?.throwIfAborted();
    for (const list of entry.lists ?? []) add(list);
    for await (const id of dataBlobIds(blobs, entry)) add(id);
  }
  return [...packs].sort();
}

/**
 * The index files that describe `packs`: each pack with every entry the index lists for it (its
 * header's entries), grouped into files of at most INDEX_FILE_BLOBS blobs as every writer does (§11.5),
 * so a reader never has to hold a larger one. A small snapshot gets one file.
 */
export function* indexGroups(index: IndexCache, packs: Iterable<string>): Generator<PackIndex[]> {
  let group: PackIndex[] = [];
  let blobs = 0;
  for (const pack of packs) {
    const entries = index.entriesOf(pack);
    if (group.length > 0 && blobs + entries.length > INDEX_FILE_BLOBS) {
      yield group;
      group = [];
      blobs = 0;
    }
    group.push({ pack, blobs: entries });
    blobs += entries.length;
  }
  if (group.length > 0) yield group;
}

/**
 * A pack read whole, its SHA-256 checked against its name: a damaged pack is INTEGRITY naming it and
 * where it was read, never passed on. A pack is at most packSize plus one blob: bounded memory.
 */
export async function readCheckedPack(storage: Storage, pack: string, signal?: AbortSignal): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readBytes(storage, packKey(pack), { signal });
  } catch (cause) {
    if (isStorageError(cause, 'not-found'))
      throw new AcxError('INTEGRITY', `pack ${pack.slice(0, 12)} is missing from ${storage.location}`, {
        subject: packKey(pack),
        cause,
        hint: 'run acx-data backup --verify --all on the source repository',
      });
    throw cause;
  }
  if (createHash('sha256').update(bytes).digest('hex') !== pack)
    throw new AcxError(
      'INTEGRITY',
      `pack ${pack.slice(0, 12)} in ${storage.location} is damaged: its bytes do not hash to its name`,
      {
        subject: packKey(pack),
        hint: 'nothing was copied from it; run acx-data backup --verify --all on the source repository',
      },
    );
  return bytes;
}

/**
 * The repository's identity (design §12.4): its key files, then `config.json`, as stored. A replica
 * holding them is the same repository: same id, same master key, same chunker seed.
 */
export async function identityFiles(
  storage: Storage,
  signal?: AbortSignal,
): Promise<Array<{ key: string; bytes: Buffer }>> {
  const files: Array<{ key: string; bytes: Buffer }> = [];
  for await (const info of storage.list(KEYS_PREFIX, { signal }))
    files.push({ key: info.key, bytes: await readBytes(storage, info.key, { signal }) });
  files.push({ key: CONFIG_FILE, bytes: await readBytes(storage, CONFIG_FILE, { signal }) });
  return files;
}

/** The snapshot's own records as stored: its manifest, and its verification when it has one. */
export async function snapshotRecords(
  storage: Storage,
  prefix: string,
  signal?: AbortSignal,
): Promise<{ manifest: Buffer; verification?: Buffer }> {
  const manifest = await readBytes(storage, prefix + MANIFEST_FILE, { signal });
  try {
    return { manifest, verification: await readBytes(storage, prefix + VERIFICATION_FILE, { signal }) };
  } catch (error) {
    if (isStorageError(error, 'not-found')) return { manifest };
    throw error;
  }
}

/** The stored manifest of snapshot `id` in a repository, or undefined when it has none. */
export async function storedManifest(storage: Storage, id: string): Promise<Buffer | undefined> {
  try {
    return await readBytes(storage, snapshotPrefix(id) + MANIFEST_FILE);
  } catch (error) {
    if (isStorageError(error, 'not-found')) return undefined;
    throw error;
  }
}

/**
 * A format-1 file's stored bytes passed through while they are hashed: more bytes than the manifest
 * records, or another size or SHA-256 at the end, fail the stream with INTEGRITY (so a put of it stores
 * nothing) naming the file and where it was read.
 */
export class CheckedFile extends Transform {
  private passed = 0;
  private readonly hash = createHash('sha256');

  private readonly entry: FileEntry;
  private readonly file: string;
  private readonly from: string;

  constructor(entry: FileEntry, file: string, from: string) {
    super();
    this.entry = entry;
    this.file = file;
    this.from = from;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.passed += chunk.length;
    if (this.passed > this.entry.bytes) {
      callback(this.damaged(`it holds more than the ${this.entry.bytes} bytes its manifest records`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.passed !== this.entry.bytes)
      callback(this.damaged(`it holds ${this.passed} bytes, its manifest records ${this.entry.bytes}`));
    else if (this.hash.digest('hex') !== this.entry.sha256)
      callback(this.damaged('its SHA-256 differs from its manifest'));
    else callback();
  }

  private damaged(why: string): AcxError {
    return new AcxError('INTEGRITY', `${this.file} in ${this.from} is damaged: ${why}`, {
      subject: this.file,
      hint: 'nothing was copied from it; run acx-data backup --verify on the source snapshot',
    });
  }
}

/** A format-1 file's stored bytes; one the source lacks is INTEGRITY naming it. */
export async function openStoredFile(
  snapshot: SnapshotReader,
  path: string,
  signal?: AbortSignal,
): Promise<Readable> {
  try {
    return await snapshot.storage.get(snapshot.keyOf(path), { signal });
  } catch (cause) {
    if (!isStorageError(cause, 'not-found')) throw cause;
    throw new AcxError(
      'INTEGRITY',
      `${path} of snapshot ${snapshot.id} is missing from ${snapshot.storage.location}`,
      { subject: path, cause, hint: 'the source snapshot is incomplete: run acx-data backup --verify on it' },
    );
  }
}

/** `source` through a CheckedFile; an error of either ends both. */
export function checkedStream(source: Readable, entry: FileEntry, file: string, from: string): CheckedFile {
  const checked = new CheckedFile(entry, file, from);
  source.on('error', (error) => checked.destroy(error));
  checked.on('close', () => source.destroy());
  return source.pipe(checked);
}

/**
 * Runs `work` for each item, at most `limit` at once, in order of start. The first failure stops new
 * starts; once the ones in flight settle it is thrown (an abort: `signal.reason`).
 */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      if (signal?.aborted) break;
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  signal?.throwIfAborted();
  if (failure) throw failure.error;
}
