/**
 * Run journals (docs/design.md §7.7 and §9 "Interrupted imports"; ADR 0009): a small JSON file a
 * restore or an import writes before its first change and updates at each store boundary, so that a
 * run killed with SIGKILL — which cannot compensate — leaves enough behind for the next run to finish or
 * undo it. A journal is removed when its run ends in order (success, failure or rollback).
 *
 * Journals live in the state directory (`config/state.ts`), in one folder per set of databases
 * (`journals/<key>/`, the key a hash of the databases' identities, never of a credential):
 * `restore.json` for a restore, `import-<run>/journal.json` (with the stores' undo files) per import.
 * Writes are atomic: a temp file, fsync'd, renamed over the journal, then the folder fsync'd.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { AcxError } from '../errors.ts';
import { fileProblemOf } from '../files.ts';

/** Where a run keeps its journal: the state directory's folder for the databases it writes into. */
export interface JournalPlace {
  stateDir: string;
  /** The databases the run writes into, as `config/state.ts` names them (no credentials). */
  databases: Record<string, string>;
}

/** What every journal records of the run that wrote it. */
export interface JournalHeader {
  pid: number;
  host: string;
  startedAt: string;
  databases: Record<string, string>;
}

export function journalHeader(place: JournalPlace): JournalHeader {
  return {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    databases: place.databases,
  };
}

/** The folder of the journals for these databases. */
export function journalFolder(place: JournalPlace): string {
  const identity = JSON.stringify(Object.entries(place.databases).sort(([a], [b]) => a.localeCompare(b)));
  const key = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return join(place.stateDir, 'journals', key);
}

export const restoreJournalPath = (place: JournalPlace): string => join(journalFolder(place), 'restore.json');

/** A new folder for one import's journal and undo files. */
export const newImportFolder = (place: JournalPlace): string =>
  join(
    journalFolder(place),
    `import-${new Date().toISOString().replace(/[:.]/g, '')}-${randomUUID().slice(0, 8)}`,
  );

/** The folders of the imports into these databases that left a journal. */
export async function importFolders(place: JournalPlace): Promise<string[]> {
  const folder = journalFolder(place);
  const names = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw stateError(folder, error);
  });
  return names
    .filter((n) => n.startsWith('import-'))
    .sort()
    .map((n) => join(folder, n));
}

/** Worded from the one table of file-system problems (src/files.ts): a full disk reads as one everywhere. */
function stateError(path: string, error: unknown): AcxError {
  const problem = fileProblemOf(error);
  const advice =
    'or set ACX_STATE_DIR to a writable directory (it keeps the journals of restores and imports)';
  return new AcxError('STORAGE', `cannot use the state directory at ${path}: ${problem.text}`, {
    subject: path,
    hint: problem.hint(path)?.replace(/, or choose another directory$/, `, ${advice}`) ?? advice.slice(3),
    cause: error,
  });
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a journal atomically and durably: temp file, fsync, rename, fsync of the folder. */
export async function writeJournal(path: string, journal: object): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(journal, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await fsyncPath(dirname(path));
  } catch (error) {
    throw stateError(path, error);
  }
}

/** The journal at `path`, or undefined when there is none. */
export async function readJournal<T extends JournalHeader>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw stateError(path, error);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new AcxError('INTEGRITY', `the run journal ${path} is not valid JSON`, {
      subject: path,
      hint: 'it was damaged outside acx-data: delete it (the run it describes can then not be finished for you)',
      cause: error,
    });
  }
}

export async function removeJournal(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** True while the run that wrote the journal is still alive (same host, its pid still running). */
export function isRunning(header: JournalHeader): boolean {
  if (header.host !== hostname()) return true;
  if (header.pid === process.pid) return false;
  try {
    process.kill(header.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
