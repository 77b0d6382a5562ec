/**
 * A local backup repository (docs/design.md §7): snapshot directories under one folder. Only
 * directories with a valid manifest are snapshots; others are leftovers of killed runs.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, basename } from 'node:path';
import { AcxError } from '../errors.ts';
import { makeDirectories } from '../files.ts';
import { readManifest, writeFileAtomic, type Manifest, type SnapshotKind } from './manifest.ts';
import { lockRepository, type RepositoryLock } from './lock.ts';
import { SnapshotReader } from './snapshot-reader.ts';

export const VERIFICATION_FILE = 'verification.json';
const SNAPSHOT_DIR = /^(full|incremental)_\d{8}_\d{6}$/;

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

export class Repository {
  private constructor(readonly dir: string) {}

  /** Opens the repository folder; `create` makes it when missing (backups), otherwise it must exist. */
  static async open(dir: string, options: { create: boolean }): Promise<Repository> {
    const absolute = resolve(dir);
    if (options.create) {
      try {
        await makeDirectories(absolute);
      } catch (cause) {
        throw new AcxError(
          'USAGE',
          `cannot create the backup directory ${absolute}: ${(cause as Error).message}`,
          { subject: absolute, cause, hint: 'choose a writable folder with --backup-dir' },
        );
      }
    } else {
      try {
        if (!(await stat(absolute)).isDirectory()) throw new Error('not a directory');
      } catch {
        throw new AcxError('NOT_FOUND', `backup directory ${absolute} does not exist`, {
          subject: absolute,
          hint: 'set it with --backup-dir',
        });
      }
    }
    return new Repository(absolute);
  }

  lock(command: string): Promise<RepositoryLock> {
    return lockRepository(this.dir, command);
  }

  snapshotDir(id: string): string {
    return join(this.dir, id);
  }

  /** Snapshot ids of every directory that looks like a snapshot, complete or not. */
  private async directoryIds(): Promise<string[]> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && SNAPSHOT_DIR.test(e.name)).map((e) => e.name);
  }

  /** Complete snapshots, newest first. A directory with a damaged manifest is reported in `damaged`. */
  async list(): Promise<{
    snapshots: SnapshotListing[];
    incomplete: string[];
    damaged: Array<{ id: string; problem: string }>;
  }> {
    const snapshots: SnapshotListing[] = [];
    const incomplete: string[] = [];
    const damaged: Array<{ id: string; problem: string }> = [];
    for (const id of await this.directoryIds()) {
      try {
        const manifest = await readManifest(this.snapshotDir(id), id);
        if (!manifest) {
          incomplete.push(id);
          continue;
        }
        const bytes = Object.values(manifest.files).reduce((sum, f) => sum + f.bytes, 0);
        snapshots.push({ id, manifest, verification: await this.readVerification(id), bytes });
      } catch (error) {
        damaged.push({ id, problem: (error as Error).message });
      }
    }
    snapshots.sort(
      (a, b) => b.manifest.startedAt.localeCompare(a.manifest.startedAt) || b.id.localeCompare(a.id),
    );
    return { snapshots, incomplete: incomplete.sort(), damaged };
  }

  /**
   * Resolves what the user typed (`--restore`, `--verify`): an id, or a path (absolute, or relative to
   * the repository, as the guide's tool did).
   */
  resolveSnapshot(reference: string): { dir: string; id: string } {
    const dir = isAbsolute(reference) ? reference : join(this.dir, reference);
    return { dir, id: basename(dir) };
  }

  async open(reference: string): Promise<SnapshotReader> {
    const { dir, id } = this.resolveSnapshot(reference);
    let manifest: Manifest | undefined;
    try {
      manifest = await readManifest(dir, id);
    } catch (error) {
      if (
        (error as NodeJS.ErrnoException).code === 'ENOENT' ||
        (error as NodeJS.ErrnoException).code === 'ENOTDIR'
      )
        manifest = undefined;
      else throw error;
    }
    if (!manifest) {
      const exists = await stat(dir).then(
        () => true,
        () => false,
      );
      throw new AcxError(
        'NOT_FOUND',
        exists
          ? `snapshot ${id} is incomplete (no manifest.json): it was never finished`
          : `snapshot ${id} not found in ${this.dir}`,
        {
          subject: id,
          hint: 'list the snapshots with: acx-data backup --list',
        },
      );
    }
    return new SnapshotReader(dir, manifest);
  }

  /** A new, unused id for a run starting at `time`: the next free second if that one is taken. */
  async newSnapshotId(kind: SnapshotKind, time: Date): Promise<string> {
    const taken = new Set(await this.directoryIds());
    let t = new Date(Math.floor(time.getTime() / 1000) * 1000);
    while (taken.has(formatSnapshotId(kind, t))) t = new Date(t.getTime() + 1000);
    return formatSnapshotId(kind, t);
  }

  /** Removes directories of killed runs (no manifest). Call only while holding the lock. */
  async removeIncomplete(): Promise<string[]> {
    const { incomplete } = await this.list();
    for (const id of incomplete) await rm(this.snapshotDir(id), { recursive: true, force: true });
    return incomplete;
  }

  /** Deletes a snapshot: the manifest first, so an interrupted delete leaves an incomplete directory, never a broken snapshot. */
  async delete(id: string): Promise<void> {
    const dir = this.snapshotDir(id);
    await rm(join(dir, 'manifest.json'), { force: true });
    await rm(dir, { recursive: true, force: true });
  }

  async readVerification(id: string): Promise<Verification | undefined> {
    try {
      return JSON.parse(
        await readFile(join(this.snapshotDir(id), VERIFICATION_FILE), 'utf8'),
      ) as Verification;
    } catch {
      return undefined;
    }
  }

  async writeVerification(dir: string, verification: Verification): Promise<void> {
    await writeFileAtomic(dir, VERIFICATION_FILE, JSON.stringify(verification, null, 2) + '\n');
  }
}
