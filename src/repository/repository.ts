/**
 * A backup repository (docs/design.md §7) on a Storage: snapshot "directories" (`<id>/` key prefixes)
 * under one location. Only directories with a valid manifest are snapshots; others are leftovers of
 * killed or failed runs. Nothing here touches the file system: every byte goes through the Storage
 * (local directory by default, `memory://…` for tests, cloud drivers later).
 */
import { isAbsolute, posix, resolve, basename, dirname } from 'node:path';
import { AcxError } from '../errors.ts';
import type { FileCompression } from '../model/snapshot.ts';
import { RetryingStorage } from '../storage/decorators/retrying-storage.ts';
import { openStorage, printableLocation } from '../storage/registry.ts';
import type { Storage } from '../storage/storage.ts';
import type { CloudSettings } from '../storage/cloud-settings.ts';
import { isStorageError, type StorageError } from '../storage/storage-error.ts';
import { deletePrefix, exists, putJson, readJson } from '../storage/storage-helpers.ts';
import { keyProblem } from '../storage/storage-keys.ts';
import { isDeviceCondition } from '../files.ts';
import {
  MANIFEST_FILE,
  printableKey,
  SNAPSHOT_ID,
  snapshotPrefix,
  UPLOADS_FILE,
  VERIFICATION_FILE,
} from './layout.ts';
import { lockRepository, readLiveSnapshot, type LockWait, type RepositoryLock } from './lock.ts';
import { readManifest, writeManifest, type Manifest, type SnapshotKind } from './manifest.ts';
import { SnapshotFiles } from './snapshot-files.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { mac } from './blobs/blob-crypto.ts';
import { BlobStore, notEncrypted } from './blobs/blob-store.ts';
import { secretFromEnv, type ReadSecretFile, type RepositorySecret } from './blobs/keys.ts';
import type { BlobCompression } from './blobs/repo-config.ts';
import { BlobSnapshotFiles } from './blob-snapshot-files.ts';
import { BlobSnapshotReader } from './blob-snapshot-reader.ts';
import { manifestBodyOf } from './manifest.ts';

export { VERIFICATION_FILE };

export interface Verification {
  at: string;
  ok: boolean;
  tool: string;
  problems: string[];
  /** The last restore drill (`--verify ID --restore-test`, design §13.7), when one ran; a later plain verify keeps it. */
  restoreTest?: RestoreTest;
}

/** A restore drill: the snapshot restored into scratch targets and compared with its fingerprints. */
export interface RestoreTest {
  at: string;
  ok: boolean;
  /** Wall time of the drill, restore and comparison, in milliseconds. */
  durationMs: number;
  /** The scratch targets, printable and secret-free: database, URL without user info, collection. */
  targets: { postgres?: string; neo4j?: string; qdrant?: string };
  /** Datasets restored and compared, and those whose content differed (none when ok). */
  datasets: number;
  mismatches: string[];
  /**
   * What was compared (design §13.7): the fingerprints the backup recorded, the record counts (a
   * snapshot that recorded none), or both (an incremental snapshot reusing an older parent's tables).
   * Absent in results of earlier versions (counts).
   */
  compared?: 'fingerprints' | 'counts' | 'fingerprints and counts';
  /** Why the drill failed, when it did not get as far as comparing. */
  error?: string;
  /**
   * SHA-256 of the restored content's fingerprint (§5, drill names taken out): two drills of one
   * snapshot give the same digest. Absent when the drill did not get as far as fingerprinting.
   */
  fingerprint?: string;
}

/** One copy of a snapshot in another repository (`uploads.json`, design §12.4). */
export interface UploadRecord {
  /** Printable, secret-free location of the other repository: `s3://bucket/backups`. */
  url: string;
  at: string;
  bytesSent: number;
}

export interface SnapshotListing {
  id: string;
  manifest: Manifest;
  verification?: Verification;
  /** Copies made by `--upload-*` (none: empty). */
  uploads: UploadRecord[];
  /** Stored bytes of all files (format 2: of all its blobs, shared ones included). */
  bytes: number;
  /** The content's size, decompressed: what a restore reads. */
  logicalBytes: number;
  /** What the snapshot added to the repository (format 1: all of its files). */
  addedBytes: number;
}

/**
 * What a repository needs from its host for format 2 (the repository itself touches no file system):
 * the environment holding the key variables, how to read a key or password file they name, and the
 * folder (existing) for index caches. Without it, an encrypted repository cannot be opened and the
 * index cache lives in memory for the run.
 */
export interface RepositoryAccess {
  env: NodeJS.ProcessEnv;
  readSecretFile: ReadSecretFile;
  cacheDir?: string;
}

/** How a new snapshot is written (`backup`). */
export interface SnapshotFormat {
  formatVersion: 1 | 2;
  compression: FileCompression;
  /** Format 2: create the repository encrypted (only when it has no format-2 content yet). */
  encrypt?: boolean;
}

/** The sink of a snapshot being written: format 1's files or format 2's blobs. */
export type SnapshotWriter = SnapshotFiles | BlobSnapshotFiles;

export function formatSnapshotId(kind: SnapshotKind, time: Date): string {
  const iso = time.toISOString();
  return `${kind}_${iso.slice(0, 10).replace(/-/g, '')}_${iso.slice(11, 19).replace(/:/g, '')}`;
}

/** The time encoded in a snapshot id (UTC). */
export function timeOfSnapshotId(id: string): Date {
  const m = /_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})$/.exec(id);
  if (!m) return new Date(NaN);
  return new Date(
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
}

/** Where a snapshot reference points: a storage (usually the repository's) and the files' prefix. */
interface SnapshotLocation {
  storage: Storage;
  prefix: string;
  /** The directory name, naming the snapshot in messages until its manifest is read. */
  name: string;
}

// A local path given with a scheme-less absolute form (the guide's `--restore /path/to/full_…`).
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The location's storage, with transient errors retried (never inside a driver: ADR 0007). */
async function openRetrying(location: string, cloud?: CloudSettings): Promise<Storage> {
  return new RetryingStorage(await openStorage(location, cloud));
}

export class Repository {
  private heldLock: RepositoryLock | undefined;
  private blobStore: BlobStore | undefined;
  /** Format-2 stores of snapshots referenced outside this repository (closed with it). */
  private readonly otherStores: BlobStore[] = [];
  /** A killed run's snapshot, learnt when its stale lock was taken over; removeIncomplete removes it. */
  private abandoned: string | undefined;
  /** How `lock` waits for a live holder (`--lock-wait`); none: LOCKED at once. */
  private lockWait: LockWait | undefined;

  readonly storage: Storage;
  private readonly access?: RepositoryAccess;

  private constructor(storage: Storage, access?: RepositoryAccess) {
    this.storage = storage;
    this.access = access;
  }

  /**
   * Opens the repository at `location` (a local directory, or a storage location such as
   * `memory://name`; docs: storage/registry.ts). `create: true` (backups) accepts an empty or missing
   * location, which the first write creates; otherwise it must hold something.
   */
  static async open(
    location: string,
    options: { create: boolean; access?: RepositoryAccess; cloud?: CloudSettings },
  ): Promise<Repository> {
    let storage: Storage;
    const shown = printableLocation(location);
    try {
      storage = await openRetrying(location, options.cloud);
    } catch (cause) {
      if (!isStorageError(cause) || !isChoiceOfLocation(cause)) throw cause;
      // A file where the directory belongs is a usage mistake, for reading as for writing.
      throw options.create || !isStorageError(cause, 'not-found')
        ? new AcxError('USAGE', `cannot use the backup directory ${shown}: ${cause.message}`, {
            subject: shown,
            cause,
            hint: cause.hint ?? 'choose a writable folder with --backup-dir',
          })
        : new AcxError('NOT_FOUND', `backup directory ${shown} does not exist`, {
            subject: shown,
            cause,
            hint: 'set it with --backup-dir',
          });
    }
    if (!options.create && !(await holdsAnything(storage))) {
      throw new AcxError('NOT_FOUND', `backup directory ${storage.location} does not exist`, {
        subject: storage.location,
        hint: 'set it with --backup-dir',
      });
    }
    return new Repository(storage, options.access);
  }

  /** A repository on a storage the caller opened (and closes): tests, dry runs, other tools. */
  static onStorage(storage: Storage, access?: RepositoryAccess): Repository {
    return new Repository(storage, access);
  }

  /** Printable and free of secrets: the local directory, or the storage's location. */
  get location(): string {
    return this.storage.location;
  }

  /** The same as `location` (the name the CLI and the hooks' `ACX_BACKUP_DIR` have always used). */
  get dir(): string {
    return this.storage.location;
  }

  /**
   * From now on, `lock` waits for a live holder as `wait` says (`--lock-wait`, design §13.6) instead of
   * failing at once; every writer of the repository (backup, cleanup, copies, keys) takes it through
   * `lock`, so the caller sets it once.
   */
  waitForLock(wait: LockWait | undefined): void {
    this.lockWait = wait;
  }

  /**
   * Takes the repository lock for `command` (LOCKED when another live run holds it: at once, or after
   * waiting as `waitForLock` set). Taking over a killed run's lock remembers the snapshot it was
   * writing, for removeIncomplete.
   */
  async lock(command: string): Promise<RepositoryLock> {
    let lock: RepositoryLock;
    try {
      lock = await lockRepository(this.storage, command, this.lockWait);
    } catch (error) {
      // Whether the folder can be written at all is the choice of --backup-dir (USAGE); a full disk, a
      // quota or a failing device is the operator's condition and reads as the storage words it (STORAGE).
      if (isStorageError(error) && isChoiceOfLocation(error)) {
        throw new AcxError(
          'USAGE',
          `cannot write to the backup directory ${this.location}: ${error.message}`,
          {
            subject: this.location,
            cause: error,
            hint: error.hint ?? 'choose a writable folder with --backup-dir',
          },
        );
      }
      throw error;
    }
    this.abandoned = lock.abandoned ?? this.abandoned;
    this.heldLock = lock;
    return {
      abandoned: lock.abandoned,
      writing: (id) => lock.writing(id),
      release: async () => {
        if (this.heldLock === lock) this.heldLock = undefined;
        await lock.release();
      },
    };
  }

  /** Printable: where a snapshot's files are (a local path on local storage). */
  snapshotDir(id: string): string {
    return printableKey(this.storage, id);
  }

  /** Snapshot ids of every directory that looks like a snapshot and holds an object, complete or not. */
  private async directoryIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const prefix of this.storage.listPrefixes('')) {
      const id = prefix.slice(0, -1);
      if (SNAPSHOT_ID.test(id)) ids.push(id);
    }
    return ids;
  }

  /**
   * Complete snapshots, newest first. A directory without a manifest is `running` when the lock's live
   * holder names it (the snapshot a run is writing now), `incomplete` otherwise (a killed or failed
   * run's leftovers); one with a damaged manifest is reported in `damaged`. The lock is read before and
   * after the scan, so a run that starts or ends meanwhile is still seen as running.
   */
  async list(): Promise<{
    snapshots: SnapshotListing[];
    running: string[];
    incomplete: string[];
    damaged: Array<{ id: string; problem: string }>;
  }> {
    const snapshots: SnapshotListing[] = [];
    const unfinished: string[] = [];
    const damaged: Array<{ id: string; problem: string }> = [];
    const writing = new Set([await readLiveSnapshot(this.storage)]);
    for (const id of await this.directoryIds()) {
      try {
        const manifest = await readManifest(this.storage, snapshotPrefix(id), id);
        if (!manifest) {
          unfinished.push(id);
          continue;
        }
        const files = Object.values(manifest.files);
        const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
        const logicalBytes = files.reduce((sum, f) => sum + f.contentBytes, 0);
        const addedBytes = manifest.formatVersion === 1 ? bytes : (manifest.stats?.storedBytesAdded ?? 0);
        snapshots.push({
          id,
          manifest,
          verification: await this.readVerification(id),
          uploads: await this.readUploads(id),
          bytes,
          logicalBytes,
          addedBytes,
        });
      } catch (error) {
        damaged.push({ id, problem: (error as Error).message });
      }
    }
    writing.add(await readLiveSnapshot(this.storage));
    // A format-2 run writes no file under its directory before the manifest: the lock names it.
    const complete = new Set(snapshots.map((s) => s.id));
    const listed = new Set(unfinished);
    for (const id of writing)
      if (id !== undefined && SNAPSHOT_ID.test(id) && !complete.has(id) && !listed.has(id))
        unfinished.push(id);
    snapshots.sort(
      (a, b) => b.manifest.startedAt.localeCompare(a.manifest.startedAt) || b.id.localeCompare(a.id),
    );
    return {
      snapshots,
      running: unfinished.filter((id) => writing.has(id)).sort(),
      incomplete: unfinished.filter((id) => !writing.has(id)).sort(),
      damaged,
    };
  }

  /**
   * Resolves what the user typed (`--restore`, `--verify`), for messages: an id, or a path (absolute,
   * or relative to the repository, as the guide's tool did).
   */
  resolveSnapshot(reference: string): { dir: string; id: string } {
    const local = this.localReference(reference);
    if (local) return { dir: local, id: basename(local) };
    const key = posix.normalize(reference).replace(/\/+$/, '');
    return { dir: printableKey(this.storage, key), id: posix.basename(key) };
  }

  /** A reference as an absolute local path, when it is one: any path on a local repository. */
  private localReference(reference: string): string | undefined {
    if (SCHEME.test(reference)) return undefined;
    if (isAbsolute(reference)) return resolve(reference);
    if (this.storage.capabilities.localPath) return resolve(this.storage.location, reference);
    return undefined;
  }

  private async locate(reference: string): Promise<SnapshotLocation> {
    const local = this.localReference(reference);
    if (local !== undefined) {
      const name = basename(local);
      // Inside this repository: its own storage. Elsewhere (a copied snapshot): the folder around it.
      const around = dirname(local);
      const inside = this.storage.capabilities.localPath && around === resolve(this.storage.location);
      const storage = inside ? this.storage : await openRetrying(around);
      return { storage, prefix: snapshotPrefix(name), name };
    }
    const key = posix.normalize(reference).replace(/\/+$/, '');
    if (keyProblem(key) !== undefined) {
      throw new AcxError('NOT_FOUND', `snapshot ${reference} not found in ${this.location}`, {
        subject: reference,
        hint: 'list the snapshots with: acx-data backup --list',
      });
    }
    return { storage: this.storage, prefix: snapshotPrefix(key), name: posix.basename(key) };
  }

  /** The complete snapshot a reference names (NOT_FOUND when missing or never finished). */
  async open(reference: string): Promise<SnapshotReader> {
    const { storage, prefix, name } = await this.locate(reference);
    const manifest = await readManifest(storage, prefix, name);
    if (!manifest) {
      const started = await holdsAnything(storage, prefix);
      throw new AcxError(
        'NOT_FOUND',
        started
          ? `snapshot ${name} is incomplete (no manifest.json): it was never finished`
          : `snapshot ${name} not found in ${this.location}`,
        {
          subject: name,
          hint: 'list the snapshots with: acx-data backup --list',
        },
      );
    }
    if (manifest.formatVersion === 1) return new SnapshotReader(storage, manifest, prefix);
    const blobs = await this.blobsFor(storage, name);
    if (manifest.repository !== blobs.config.id)
      throw new AcxError(
        'INTEGRITY',
        `snapshot ${name} belongs to another repository than ${storage.location}`,
        {
          subject: name,
          hint: 'a format-2 snapshot is restored from the repository it was written into (its manifest names it)',
        },
      );
    if (blobs.key) {
      const expected = mac(blobs.key, manifestBodyOf(manifest));
      if (manifest.manifestMac !== expected)
        throw new AcxError(
          'INTEGRITY',
          `snapshot ${name}: manifest.json failed authentication (edited or from elsewhere)`,
          {
            subject: name,
            hint: 'the snapshot cannot be trusted: restore another one',
          },
        );
    }
    return new BlobSnapshotReader(blobs, manifest, prefix);
  }

  /**
   * The format-2 blob store of this repository (created when `create` is given and it has none yet);
   * undefined when the repository holds no format-2 content. Encrypted: the key comes from the
   * environment (ACX_REPOSITORY_PASSWORD, …_FILE, ACX_REPOSITORY_KEY_FILE).
   */
  async blobs(create?: { encrypt: boolean; compression?: BlobCompression }): Promise<BlobStore | undefined> {
    if (this.blobStore) {
      if (create?.encrypt && !this.blobStore.key) throw notEncrypted(this.location);
      return this.blobStore;
    }
    this.blobStore = await BlobStore.open(this.storage, { create, ...this.accessFor(this.storage) });
    return this.blobStore;
  }

  /** The key (from the host's environment) and the index cache's folder for a repository on `storage`. */
  private accessFor(storage: Storage): { secret?: RepositorySecret; cacheDir?: string } {
    if (!this.access) return {};
    return {
      secret: secretFromEnv(this.access.env, 'ACX_', this.access.readSecretFile),
      cacheDir: storage.kind === 'memory' ? undefined : this.access.cacheDir,
    };
  }

  private async blobsFor(storage: Storage, name: string): Promise<BlobStore> {
    const store =
      storage === this.storage ? await this.blobs() : await BlobStore.open(storage, this.accessFor(storage));
    if (!store)
      throw new AcxError(
        'INTEGRITY',
        `snapshot ${name} is format 2 but ${storage.location} holds no config.json`,
        {
          subject: name,
          hint: 'a format-2 snapshot needs its repository (config.json, data/, index/): copy the whole repository',
        },
      );
    if (storage !== this.storage) this.otherStores.push(store);
    return store;
  }

  /** A new, unused id for a run starting at `time`: the next free second if that one is taken. */
  async newSnapshotId(kind: SnapshotKind, time: Date): Promise<string> {
    const taken = new Set(await this.directoryIds());
    let t = new Date(Math.floor(time.getTime() / 1000) * 1000);
    while (taken.has(formatSnapshotId(kind, t))) t = new Date(t.getTime() + 1000);
    return formatSnapshotId(kind, t);
  }

  /**
   * Starts writing snapshot `id` (design §7.4 rule 2): records it in the lock held by this repository,
   * if any, so that a run taking over after a kill removes it, and returns the sink its files go into.
   * There is nothing to create: on a storage a "directory" exists once a file is in it.
   */
  async createSnapshot(id: string, format: SnapshotFormat, signal?: AbortSignal): Promise<SnapshotWriter> {
    if (format.formatVersion === 2) {
      const compression =
        format.compression === 'gzip' || format.compression === 'none' ? format.compression : 'zstd';
      const store = await this.blobs({ encrypt: format.encrypt ?? false, compression });
      store!.beginRun();
      await this.heldLock?.writing(id);
      return new BlobSnapshotFiles(store!, id, signal);
    }
    if (format.encrypt)
      throw new AcxError('USAGE', '--encrypt needs format 2 (format-1 snapshots are never encrypted)', {
        hint: 'drop --format-version 1',
      });
    await this.heldLock?.writing(id);
    return new SnapshotFiles(this.storage, id, format.compression, signal);
  }

  /**
   * Writes the manifest, last (design §7.4 rule 5, §11.9): a format-2 run first stores its last pack
   * and its index; only once the manifest is there does the snapshot exist.
   */
  async finishSnapshot(manifest: Manifest, files?: SnapshotWriter): Promise<void> {
    if (files instanceof BlobSnapshotFiles) {
      await files.store.flush();
      const key = files.store.key;
      const complete = { ...manifest, stats: { ...files.store.stats } };
      await writeManifest(this.storage, complete, key ? (body) => mac(key, body) : undefined);
      return;
    }
    await writeManifest(this.storage, manifest);
  }

  /**
   * Removes what a run that failed wrote of snapshot `id`: waits until none of its files is still being
   * written, then deletes everything under `<id>/`.
   */
  async discardSnapshot(files: SnapshotWriter): Promise<void> {
    await files.settle();
    if (files instanceof BlobSnapshotFiles) {
      await files.store.discardRun();
      // A repository this run created and left empty is closed: the next run creates it afresh.
      if (!files.store.configExists) {
        files.store.close();
        this.blobStore = undefined;
      }
    }
    await this.removeFiles(files.id);
  }

  /** Removes directories of killed runs (no manifest). Call only while holding the lock. */
  async removeIncomplete(): Promise<string[]> {
    const { incomplete } = await this.list();
    const removed = new Set(incomplete);
    for (const id of incomplete) await this.removeFiles(id);
    const abandoned = this.abandoned;
    this.abandoned = undefined;
    // A killed run's snapshot that shows no file yet (only writes in progress when it was killed).
    if (abandoned && !removed.has(abandoned) && !(await this.isComplete(abandoned))) {
      if ((await this.removeFiles(abandoned)) > 0) removed.add(abandoned);
    }
    return [...removed].sort();
  }

  /**
   * Deletes a snapshot: the manifest first, so an interrupted delete leaves an incomplete directory,
   * never a broken snapshot.
   */
  async delete(id: string): Promise<void> {
    await this.storage.delete(snapshotPrefix(id) + MANIFEST_FILE);
    await this.removeFiles(id);
  }

  async readVerification(id: string): Promise<Verification | undefined> {
    try {
      return (await readJson(this.storage, snapshotPrefix(id) + VERIFICATION_FILE)) as Verification;
    } catch {
      return undefined;
    }
  }

  /** The copies of snapshot `id` recorded by uploads (none, or an unreadable file: empty). */
  async readUploads(id: string): Promise<UploadRecord[]> {
    try {
      const records = (await readJson(this.storage, snapshotPrefix(id) + UPLOADS_FILE)) as unknown;
      return Array.isArray(records) ? (records as UploadRecord[]) : [];
    } catch {
      return [];
    }
  }

  /** Adds a copy of snapshot `id` to its `uploads.json` (the latest record per location is kept). */
  async recordUpload(id: string, record: UploadRecord): Promise<void> {
    const others = (await this.readUploads(id)).filter((r) => r.url !== record.url);
    await putJson(this.storage, snapshotPrefix(id) + UPLOADS_FILE, [...others, record]);
  }

  /** Records a verification next to the snapshot's manifest (in the snapshot's own storage). */
  async writeVerification(snapshot: SnapshotReader, verification: Verification): Promise<void> {
    await putJson(snapshot.storage, snapshot.keyOf(VERIFICATION_FILE), verification);
  }

  async close(): Promise<void> {
    this.blobStore?.close();
    this.blobStore = undefined;
    for (const store of this.otherStores.splice(0)) {
      store.close();
      await store.storage.close();
    }
    await this.storage.close();
  }

  private async isComplete(id: string): Promise<boolean> {
    return exists(this.storage, snapshotPrefix(id) + MANIFEST_FILE);
  }

  /**
   * Every object under `<id>/`, and what writes that never finished left there (a killed process's
   * temp files, on storages that keep such things). Returns how many objects were deleted.
   */
  private async removeFiles(id: string): Promise<number> {
    if (!SNAPSHOT_ID.test(id)) throw new AcxError('INTERNAL', `not a snapshot id: ${id}`);
    const deleted = await deletePrefix(this.storage, snapshotPrefix(id));
    await this.storage.deleteAbandoned?.(snapshotPrefix(id));
    return deleted;
  }
}

/**
 * Whether a storage error at the first use of a location is the choice of location (USAGE: a file, a
 * read-only or forbidden folder, a bad name, a path that cannot be created) rather than its condition
 * (a full disk, a quota, a failing device — `isDeviceCondition` — or a transient fault: the
 * StorageError as the storage words it, STORAGE or CONNECTION).
 */
export function isChoiceOfLocation(error: StorageError): boolean {
  return error.reason !== 'transient' && !isDeviceCondition(error.cause);
}

/** Whether any object exists under `prefix` (the whole storage by default); stops at the first. */
async function holdsAnything(storage: Storage, prefix = ''): Promise<boolean> {
  for await (const _object of storage.list(prefix)) return true;
  return false;
}
