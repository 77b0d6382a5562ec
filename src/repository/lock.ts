/**
 * The repository lock (docs/design.md §7.6): one `.acx-lock` file created exclusively. A lock whose
 * process is gone on this host is stale and taken over; any other holder makes the run fail (LOCKED).
 */
import { hostname } from 'node:os';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AcxError } from '../errors.ts';

export const LOCK_FILE = '.acx-lock';

interface LockInfo {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface RepositoryLock {
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

async function readHolder(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
  } catch {
    return undefined; // unreadable or half-written: treated as stale below
  }
}

export async function lockRepository(dir: string, command: string): Promise<RepositoryLock> {
  const path = join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(JSON.stringify(info));
      await handle.close();
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await readHolder(path);
      const stale = !holder || (holder.host === info.host && !isAlive(holder.pid));
      if (!stale) {
        throw new AcxError(
          'LOCKED',
          `backup directory ${dir} is locked by "${holder.command}" (pid ${holder.pid} on ${holder.host}, since ${holder.since})`,
          {
            subject: dir,
            hint: `wait for it to finish; if that process is gone, delete ${path}`,
          },
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new AcxError('LOCKED', `cannot take the lock ${path}`, { subject: dir });
}
