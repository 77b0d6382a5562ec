/**
 * The host-local lock of sync runs that write (design §13.6): `sync.lock` in the state directory, the
 * repository lock's logic on a local storage of that folder, so the weekly `sync --all --force` and a
 * manual sync never interleave. Same rules: a live holder means LOCKED (at once, or after `--lock-wait`),
 * a killed holder's lock is taken over.
 */
import { SYNC_LOCK_FILE } from '../../config/state.ts';
import { takeLock, type LockWait, type RepositoryLock } from '../../repository/lock.ts';
import { openStorage } from '../../storage/registry.ts';

export { SYNC_LOCK_FILE };

/** A held sync lock; `release` deletes it (if still ours) and closes the storage. Idempotent. */
export interface SyncLock {
  release(): Promise<void>;
}

export async function lockSync(stateDir: string, command: string, wait?: LockWait): Promise<SyncLock> {
  const storage = await openStorage(stateDir);
  let lock: RepositoryLock;
  try {
    lock = await takeLock(
      { storage, key: SYNC_LOCK_FILE, what: `the sync state directory ${stateDir}` },
      command,
      wait,
    );
  } catch (error) {
    await storage.close();
    throw error;
  }
  return {
    release: async () => {
      try {
        await lock.release();
      } finally {
        await storage.close();
      }
    },
  };
}
