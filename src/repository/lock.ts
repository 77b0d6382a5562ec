/**
 * The repository lock (docs/design.md §7.6, §13.6), and any other lock of the same kind (sync's
 * `sync.lock` in the state directory): one `.acx-lock` object created with `ifNotExists` (an
 * atomic create on every Storage that has `conditionalPut`). It holds a random token, so a create whose
 * answer was lost and which was retried recognises its own lock instead of reporting it as held. A lock
 * whose process is gone on this host is stale and taken over; any other holder makes the run fail at
 * once (LOCKED), or after `--lock-wait` if it still holds it then. A lock that cannot be read (not
 * JSON, not a lock) is never taken over: nothing says its run is gone, so the run fails with LOCKED
 * naming the file to delete once no run is active.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
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
async function readHolder(storage: Storage, key = LOCK_FILE): Promise<LockInfo | null | undefined> {
  try {
    const raw = await readJson(storage, key);
    return isLockInfo(raw) ? raw : null;
  } catch (error) {
    if (isStorageError(error, 'not-found')) return undefined;
    if (error instanceof AcxError && error.code === 'INTEGRITY') return null;
    throw error;
  }
}

function held(storage: Storage, key: string, info: LockInfo, abandoned: string | undefined): RepositoryLock {
  let released = false;
  return {
    abandoned,
    writing: async (id) => {
      // A plain put replaces the lock atomically: readers see the old or the new holder, never none.
      await putJson(storage, key, { ...info, snapshot: id });
    },
    release: async () => {
      if (released) return;
      released = true;
      const holder = await readHolder(storage, key);
      if (holder?.token === info.token) await storage.delete(key);
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

function unreadableLock(storage: Storage, key: string): AcxError {
  const file = printableKey(storage, key);
  return new AcxError('LOCKED', `the lock ${file} cannot be read: it is not a lock acx-data wrote`, {
    subject: file,
    hint: `make sure no acx-data run is using ${storage.location}, then delete ${file}`,
  });
}

/** Who holds a lock, as a waiting run reports it. */
export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/**
 * How a run waits for a lock a live process holds (`--lock-wait`, design §13.6). Without it (or with
 * `ms` 0) a held lock fails at once with LOCKED.
 */
export interface LockWait {
  /** The longest wait, in milliseconds. */
  ms: number;
  /** Ends the wait with INTERRUPTED (Ctrl-C). */
  signal?: AbortSignal;
  /** Told once per holder (and again when another run takes the lock meanwhile). */
  onWait?: (holder: LockHolder) => void;
}

/** What is locked, as messages name it, and where: the repository's `.acx-lock`, the state dir's `sync.lock`. */
export interface LockPlace {
  storage: Storage;
  key: string;
  /** "backup directory /srv/backups", "sync state directory /var/lib/acx-data". */
  what: string;
}

const FIRST_POLL_MS = 250;
const MAX_POLL_MS = 5_000;

function holderText(holder: LockHolder): string {
  return `"${holder.command}" (pid ${holder.pid} on ${holder.host}, since ${holder.since})`;
}

function lockedBy(place: LockPlace, holder: LockHolder, waitedMs: number | undefined): AcxError {
  const file = printableKey(place.storage, place.key);
  const waited = waitedMs === undefined ? '' : ` after waiting ${formatWait(waitedMs)}`;
  return new AcxError(
    'LOCKED',
    `${place.what} is ${waitedMs === undefined ? '' : 'still '}locked by ${holderText(holder)}${waited}`,
    {
      subject: place.storage.location,
      hint:
        waitedMs === undefined
          ? `wait for pid ${holder.pid} to finish, or give --lock-wait DURATION (e.g. --lock-wait 2h) to wait for it; if that process is gone, delete ${file}`
          : `pid ${holder.pid} (${holder.command}) still holds it: give a longer --lock-wait, or if that process is gone, delete ${file}`,
    },
  );
}

function formatWait(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return s < 120 ? `${Number(s.toFixed(1))} s` : `${Number((s / 60).toFixed(1))} min`;
}

/** One try: the lock (taken), or the live holder that keeps it. */
async function tryLock(
  place: LockPlace,
  info: LockInfo,
): Promise<{ lock: RepositoryLock } | { holder: LockInfo }> {
  const { storage, key } = place;
  let abandoned: string | undefined;
  // Attempts: a first create, one after taking over a stale lock, one after a lock released meanwhile.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await putJson(storage, key, info, { ifNotExists: true });
      return { lock: held(storage, key, info, abandoned) };
    } catch (error) {
      if (!isStorageError(error, 'conflict')) throw error;
    }
    const holder = await readHolder(storage, key);
    if (holder === undefined) continue; // released between our create and our read: try again
    if (holder?.token === info.token) return { lock: held(storage, key, info, abandoned) }; // our retried create
    if (holder === null) throw unreadableLock(storage, key);
    if (isLive(holder)) return { holder };
    // Only a snapshot id names files to remove: a lock edited by hand must not widen that.
    const snapshot = holder.snapshot;
    if (typeof snapshot === 'string' && SNAPSHOT_ID.test(snapshot)) abandoned = snapshot;
    await storage.delete(key);
  }
  throw new AcxError('LOCKED', `cannot take the lock ${printableKey(storage, key)}`, {
    subject: storage.location,
    hint: 'other runs keep taking and releasing it: run the command again',
  });
}

/**
 * Takes the lock at `place` for `command`. A live holder makes the run fail with LOCKED at once, or,
 * with `wait`, after polling (backoff from 250 ms to 5 s) for up to `wait.ms`; a stale holder's lock is
 * taken over. An abort during the wait ends it with INTERRUPTED.
 */
export async function takeLock(place: LockPlace, command: string, wait?: LockWait): Promise<RepositoryLock> {
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    command,
    since: new Date().toISOString(),
    token: randomBytes(16).toString('hex'),
  };
  const started = Date.now();
  let delay = FIRST_POLL_MS;
  let reported: string | undefined;
  for (;;) {
    const result = await tryLock(place, info);
    if ('lock' in result) return result.lock;
    const { holder } = result;
    const waited = Date.now() - started;
    if (!wait || wait.ms <= 0) throw lockedBy(place, holder, undefined);
    if (waited >= wait.ms) throw lockedBy(place, holder, waited);
    if (reported !== holder.token) {
      reported = holder.token;
      wait.onWait?.(holder);
    }
    try {
      await sleep(Math.min(delay, wait.ms - waited), undefined, { signal: wait.signal });
    } catch (cause) {
      throw new AcxError('INTERRUPTED', `interrupted while waiting for the lock of ${place.what}`, {
        subject: place.storage.location,
        cause,
      });
    }
    delay = Math.min(MAX_POLL_MS, Math.round(delay * 1.5));
  }
}

/** Takes the lock of the repository on `storage` for `command` (see takeLock). */
export function lockRepository(storage: Storage, command: string, wait?: LockWait): Promise<RepositoryLock> {
  return takeLock({ storage, key: LOCK_FILE, what: `backup directory ${storage.location}` }, command, wait);
}
