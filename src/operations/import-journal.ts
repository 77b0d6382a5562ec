/**
 * The import's journal (docs/design.md §9 "Interrupted imports", ADR 0009). A writing import keeps a
 * folder in the state directory, `journals/<databases>/import-<run>/`, holding `journal.json` (which
 * stores it opened, and which of them committed) and the stores' undo files (Qdrant's). The folder is
 * removed when the import ends in order (committed or rolled back).
 *
 * An import killed with SIGKILL cannot roll back. PostgreSQL and Neo4j need nothing: the server rolls
 * back a transaction whose client is gone. Qdrant keeps what was written, and between the stores' commits
 * one store may have committed and another not. So every import into the same databases first rolls
 * back what killed imports left uncommitted (Qdrant's undo file), says so, and states the stores that had
 * committed (their records stay; importing the same input again then gives what one uninterrupted import
 * gives, as every conflict strategy is idempotent).
 */
import type { ProgressReporter, StoreName } from '../progress.ts';
import type { Store } from '../stores/store.ts';
import {
  importFolders,
  isRunning,
  journalHeader,
  newImportFolder,
  readJournal,
  removeJournal,
  writeJournal,
  type JournalHeader,
  type JournalPlace,
} from './run-journal.ts';
import { join } from 'node:path';

export interface ImportJournal extends JournalHeader {
  journal: 'import';
  version: 1;
  inputs: string[];
  /** Stores with an open session, and whether it committed. */
  stores: Partial<Record<StoreName, 'open' | 'committed'>>;
}

/** What the next import found of a killed one and did about it. */
export interface RecoveredImport {
  startedAt: string;
  pid: number;
  inputs: string[];
  /** Per store: what was undone, or why nothing had to be. */
  stores: Partial<Record<StoreName, string>>;
}

const JOURNAL = 'journal.json';

/** One writing import's journal folder: created before its first session opens, removed when it ends. */
export class ImportJournalWriter {
  readonly folder: string;
  private readonly journal: ImportJournal;

  private constructor(folder: string, journal: ImportJournal) {
    this.folder = folder;
    this.journal = journal;
  }

  static async start(place: JournalPlace, inputs: string[]): Promise<ImportJournalWriter> {
    const journal: ImportJournal = {
      journal: 'import',
      version: 1,
      ...journalHeader(place),
      inputs,
      stores: {},
    };
    const writer = new ImportJournalWriter(newImportFolder(place), journal);
    await writer.save();
    return writer;
  }

  /** Recorded before the store's session is opened (and so before it writes anything). */
  async opened(store: StoreName): Promise<void> {
    this.journal.stores[store] = 'open';
    await this.save();
  }

  async committed(store: StoreName): Promise<void> {
    this.journal.stores[store] = 'committed';
    await this.save();
  }

  async end(): Promise<void> {
    await removeJournal(this.folder);
  }

  private save(): Promise<void> {
    return writeJournal(join(this.folder, JOURNAL), this.journal);
  }
}

/** Imports into these databases that were killed after writing, not rolled back yet. */
export async function pendingImports(place: JournalPlace): Promise<ImportJournal[]> {
  const pending: ImportJournal[] = [];
  for (const folder of await importFolders(place)) {
    const journal = await readJournal<ImportJournal>(join(folder, JOURNAL));
    if (journal && !isRunning(journal) && Object.keys(journal.stores).length > 0) pending.push(journal);
  }
  return pending;
}

const SERVER_ROLLED_BACK =
  'nothing to undo: its transaction was rolled back by the server when the import died';

/**
 * Rolls back what imports into these databases left when killed (journals whose process is gone), one
 * after the other, and removes their folders. A folder without a journal is a run killed before its
 * first session opened: nothing was written.
 */
export async function recoverInterruptedImports(
  place: JournalPlace,
  stores: Record<StoreName, () => Promise<Store>>,
  batchSize: number,
  reporter: ProgressReporter,
): Promise<RecoveredImport[]> {
  const recovered: RecoveredImport[] = [];
  for (const folder of await importFolders(place)) {
    const journal = await readJournal<ImportJournal>(join(folder, JOURNAL));
    if (journal && isRunning(journal)) continue;
    // No journal (killed while writing its first) or no store opened yet: nothing was written.
    if (!journal || Object.keys(journal.stores).length === 0) {
      await removeJournal(folder);
      continue;
    }
    reporter.emit({
      type: 'phase',
      message: `rolling back an import interrupted since ${journal.startedAt} (pid ${journal.pid})`,
    });
    const found: RecoveredImport = {
      startedAt: journal.startedAt,
      pid: journal.pid,
      inputs: journal.inputs,
      stores: {},
    };
    for (const [name, state] of Object.entries(journal.stores) as Array<[StoreName, 'open' | 'committed']>) {
      if (state === 'committed') {
        found.stores[name] = 'had committed before the kill: its records stay';
        continue;
      }
      const store = await stores[name]();
      found.stores[name] = store.recoverImport
        ? ((await store.recoverImport(folder, batchSize)) ?? 'nothing to undo: it had written nothing')
        : SERVER_ROLLED_BACK;
      reporter.emit({ type: 'phase', store: name, message: `interrupted import: ${found.stores[name]}` });
    }
    await removeJournal(folder);
    recovered.push(found);
  }
  return recovered;
}
