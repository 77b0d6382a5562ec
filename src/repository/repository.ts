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
import { openStorage } from '../storage/registry.ts';
import type { Storage } from '../storage/storage.ts';
import { isStorageError, type StorageError } from '../storage/storage-error.ts';
import { deletePrefix, exists, putJson, readJson } from '../storage/storage-helpers.ts';
import { keyProblem } from '../storage/storage-keys.ts';
import { isDeviceCondition } from '../files.ts';
import { MANIFEST_FILE, printableKey, SNAPSHOT_ID, snapshotPrefix, VERIFICATION_FILE } from './layout.ts';
import { lockRepository, readLiveSnapshot, type RepositoryLock } from './lock.ts';
import { readManifest, writeManifest, type Manifest, type SnapshotKind } from './manifest.ts';
import { SnapshotFiles } from './snapshot-files.ts';
import { SnapshotReader } from './snapshot-reader.ts';

export { VERIFICATION_FILE };

export interface Verification {
  at: string;
  ok: boolean;
  tool: string;
  problems: string[];
}

export interface SnapshotListing {
  id: string;
  manifest: Manifest;
  verification?: Verification;
  /** Stored bytes of all files. */
  bytes: number;
}

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
async function openRetrying(location: string): Promise<Storage> {
  return new RetryingStorage(await openStorage(location));
}

export class Repository {
  private heldLock: RepositoryLock | undefined;
  /** A killed run's snapshot, learnt when its stale lock was taken over; removeIncomplete removes it. */
  private abandoned: string | undefined;

  private constructor(readonly storage: Storage) {}

  /**
   * Opens the repository at `location` (a local directory, or a storage location such as
   * `memory://name`; docs: storage/registry.ts). `create: true` (backups) accepts an empty or missing
   * location, which the first write creates; otherwise it must hold something.
   */
  static async open(location: string, options: { create: boolean }): Promise<Repository> {
    let storage: Storage;
    try {
      storage = await openRetrying(location);
    } catch (cause) {
      if (!isStorageError(cause) || !isChoiceOfLocation(cause)) throw cause;
      // A file where the directory belongs is a usage mistake, for reading as for writing.
      throw options.create || !isStorageError(cause, 'not-found')
        ? new AcxError('USAGE', `cannot use the backup directory ${location}: ${cause.message}`, {
            subject: location,
            cause,
            hint: cause.hint ?? 'choose a writable folder with --backup-dir',
          })
        : new AcxError('NOT_FOUND', `backup directory ${location} does not exist`, {
            subject: location,
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
    return new Repository(storage);
  }

  /** A repository on a storage the caller opened (and closes): tests, dry runs, other tools. */
  static onStorage(storage: Storage): Repository {
    return new Repository(storage);
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
   * Takes the repository lock for `command` (LOCKED at once when another live run holds it). Taking
   * over a killed run's lock remembers the snapshot it was writing, for removeIncomplete.
   */
  async lock(command: string): Promise<RepositoryLock> {
    let lock: RepositoryLock;
    try {
      lock = await lockRepository(this.storage, command);
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
        const bytes = Object.values(manifest.files).reduce((sum, f) => sum + f.bytes, 0);
        snapshots.push({ id, manifest, verification: await this.readVerification(id), bytes });
      } catch (error) {
        damaged.push({ id, problem: (error as Error).message });
      }
    }
    if (unfinished.length > 0) writing.add(await readLiveSnapshot(this.storage));
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
    return new SnapshotReader(storage, manifest, prefix);
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
  async createSnapshot(
    id: string,
    compression: FileCompression,
    signal?: AbortSignal,
  ): Promise<SnapshotFiles> {
    await this.heldLock?.writing(id);
    return new SnapshotFiles(this.storage, id, compression, signal);
  }

  /** Writes the manifest, last (design §7.4 rule 5): only now does the snapshot exist. */
  async finishSnapshot(manifest: Manifest): Promise<void> {
    await writeManifest(this.storage, manifest);
  }

  /**
   * Removes what a run that failed wrote of snapshot `id`: waits until none of its files is still being
   * written, then deletes everything under `<id>/`.
   */
  async discardSnapshot(files: SnapshotFiles): Promise<void> {
    await files.settle();
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

  /** Records a verification next to the snapshot's manifest (in the snapshot's own storage). */
  async writeVerification(snapshot: SnapshotReader, verification: Verification): Promise<void> {
    await putJson(snapshot.storage, snapshot.keyOf(VERIFICATION_FILE), verification);
  }

  async close(): Promise<void> {
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
