/**
 * The repository lock (docs/design.md §7.6): one `.acx-lock` object created with `ifNotExists` (an
 * atomic create on every Storage that has `conditionalPut`). It holds a random token, so a create whose
 * answer was lost and which was retried recognises its own lock instead of reporting it as held. A lock
 * whose process is gone on this host is stale and taken over; any other holder makes the run fail at
 * once (LOCKED). A lock that cannot be read (not JSON, not a lock) is never taken over: nothing says its
 * run is gone, so the run fails with LOCKED naming the file to delete once no run is active.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AcxError } from '../errors.ts';
import type { Storage } from '../storage/storage.ts';
import { isStorageError } from '../storage/storage-error.ts';
import { putJson, readJson } from '../storage/storage-helpers.ts';
import { LOCK_FILE, printableKey, SNAPSHOT_ID } from './layout.ts';

export { LOCK_FILE };

interface LockInfo {
  pid: number;
  host: string;
  command: string;
  since: string;
  /** Random, per run: tells this run's lock from any other. */
  token: string;
  /** The snapshot the holder is writing, once it knows (see RepositoryLock.writing). */
  snapshot?: string;
}

export interface RepositoryLock {
  /**
   * The snapshot a stale holder (a killed run) was writing, when this lock was taken over from one: its
   * files, finished or not, are for the taker to remove (Repository.removeIncomplete does).
   */
  readonly abandoned: string | undefined;
  /** Records in the lock that this run now writes `id`, for whoever takes over if the run is killed. */
  writing(id: string): Promise<void>;
  /** Deletes the lock if it is still this run's. Idempotent. */
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isLockInfo(value: unknown): value is LockInfo {
  const info = value as Partial<LockInfo> | null;
  return (
    typeof info === 'object' &&
    info !== null &&
    typeof info.pid === 'number' &&
    typeof info.host === 'string' &&
    typeof info.command === 'string' &&
    typeof info.since === 'string'
  );
}

/** The holder; `undefined` when the lock vanished meanwhile, `null` when it is not a lock we can read. */
async function readHolder(storage: Storage): Promise<LockInfo | null | undefined> {
  try {
    const raw = await readJson(storage, LOCK_FILE);
    return isLockInfo(raw) ? raw : null;
  } catch (error) {
    if (isStorageError(error, 'not-found')) return undefined;
    if (error instanceof AcxError && error.code === 'INTEGRITY') return null;
    throw error;
  }
}

function held(storage: Storage, info: LockInfo, abandoned: string | undefined): RepositoryLock {
  let released = false;
  return {
    abandoned,
    writing: async (id) => {
      // A plain put replaces the lock atomically: readers see the old or the new holder, never none.
      await putJson(storage, LOCK_FILE, { ...info, snapshot: id });
    },
    release: async () => {
      if (released) return;
      released = true;
      const holder = await readHolder(storage);
      if (holder?.token === info.token) await storage.delete(LOCK_FILE);
    },
  };
}

/** Whether `holder` still runs: another host's process cannot be checked from here, so it does. */
function isLive(holder: LockInfo): boolean {
  return holder.host !== hostname() || isAlive(holder.pid);
}

/** What `--list` needs to know of the lock: the snapshot a live run is writing, if any. */
export async function readLiveSnapshot(storage: Storage): Promise<string | undefined> {
  const holder = await readHolder(storage);
  if (!holder || !isLive(holder)) return undefined;
  return typeof holder.snapshot === 'string' && SNAPSHOT_ID.test(holder.snapshot)
    ? holder.snapshot
    : undefined;
}

function unreadableLock(storage: Storage): AcxError {
  const file = printableKey(storage, LOCK_FILE);
  return new AcxError('LOCKED', `the lock ${file} cannot be read: it is not a lock acx-data wrote`, {
    subject: file,
    hint: `make sure no acx-data run is using ${storage.location}, then delete ${file}`,
  });
}

/** Takes the lock of the repository on `storage` for `command`, or fails with LOCKED. */
export async function lockRepository(storage: Storage, command: string): Promise<RepositoryLock> {
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    command,
    since: new Date().toISOString(),
    token: randomBytes(16).toString('hex'),
  };
  let abandoned: string | undefined;
  // Attempts: a first create, one after taking over a stale lock, one after a lock released meanwhile.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await putJson(storage, LOCK_FILE, info, { ifNotExists: true });
      return held(storage, info, abandoned);
    } catch (error) {
      if (!isStorageError(error, 'conflict')) throw error;
    }
    const holder = await readHolder(storage);
    if (holder === undefined) continue; // released between our create and our read: try again
    if (holder?.token === info.token) return held(storage, info, abandoned); // our retried create
    if (holder === null) throw unreadableLock(storage);
    if (isLive(holder)) {
      throw new AcxError(
        'LOCKED',
        `backup directory ${storage.location} is locked by "${holder.command}" (pid ${holder.pid} on ${holder.host}, since ${holder.since})`,
        {
          subject: storage.location,
          hint: `wait for it to finish; if that process is gone, delete ${printableKey(storage, LOCK_FILE)}`,
        },
      );
    }
    // Only a snapshot id names files to remove: a lock edited by hand must not widen that.
    const snapshot = holder.snapshot;
    if (typeof snapshot === 'string' && SNAPSHOT_ID.test(snapshot)) abandoned = snapshot;
    await storage.delete(LOCK_FILE);
  }
  throw new AcxError('LOCKED', `cannot take the lock ${LOCK_FILE} in ${storage.location}`, {
    subject: storage.location,
  });
}
