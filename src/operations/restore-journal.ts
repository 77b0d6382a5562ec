/**
 * The restore's journal (docs/design.md §7.7, ADR 0009). Written once the targets are checked and the
 * safety backup (if any) is taken, i.e. right before the first store is changed; updated before and after
 * each target; removed when the run ends in order. A restore killed with SIGKILL leaves it behind, and
 * the next restore of the same snapshot and targets into the same databases finishes the work: targets
 * recorded as done are skipped, the one that was being restored is restored again with `replace` (which
 * empties what the killed run left half-written: Neo4j nodes, Qdrant collections; PostgreSQL's
 * transaction ended with the process), the others as the first run would have — without `--force` and
 * without a second safety backup. Any other restore into those databases is refused until then.
 */
import { AcxError } from '../errors.ts';
import type { BackupTarget } from './backup.ts';
import { pendingImports } from './import-journal.ts';
import {
  isRunning,
  journalHeader,
  readJournal,
  removeJournal,
  restoreJournalPath,
  writeJournal,
  type JournalHeader,
  type JournalPlace,
} from './run-journal.ts';

export interface RestoreJournal extends JournalHeader {
  journal: 'restore';
  version: 1;
  snapshot: string;
  targets: BackupTarget[];
  /** The first run's --force: the targets were checked (and backed up) under it. */
  force: boolean;
  safetySnapshot?: string;
  /** Targets restored completely. */
  done: BackupTarget[];
  /** The target being restored when the journal was last written. */
  current?: BackupTarget;
}

/** What a resumed restore reports of the run it finished. */
export interface ResumedRestore {
  startedAt: string;
  pid: number;
  /** Restored by the interrupted run: skipped. */
  alreadyRestored: BackupTarget[];
  /** The target the interrupted run was in: emptied of its partial work and restored again. */
  interrupted?: BackupTarget;
  safetySnapshot?: string;
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x) => b.includes(x));

/**
 * The interrupted restore this one finishes, or undefined when there is none. Refuses (LOCKED) while the
 * run that wrote the journal is alive, and (NOT_EMPTY) a restore of another snapshot or other targets.
 */
export async function findInterruptedRestore(
  place: JournalPlace | undefined,
  snapshot: string,
  targets: readonly BackupTarget[],
): Promise<RestoreJournal | undefined> {
  if (!place) return undefined;
  await refusePendingImports(place);
  const journal = await readJournal<RestoreJournal>(restoreJournalPath(place));
  if (!journal) return undefined;
  const what = `a restore of ${journal.snapshot} (${journal.targets.join(', ')}) into these databases`;
  if (isRunning(journal))
    throw new AcxError(
      'LOCKED',
      `${what} is running (pid ${journal.pid} on ${journal.host}, since ${journal.startedAt})`,
      {
        subject: journal.snapshot,
        hint: 'wait for it to end',
      },
    );
  if (journal.snapshot !== snapshot || !sameSet(journal.targets, targets)) {
    const flags = journal.targets.map((t) => ` --target ${t}`).join('');
    throw new AcxError(
      'UNFINISHED',
      `${what} was interrupted (started ${journal.startedAt}) and left ${journal.current ?? 'them'} half restored; nothing was changed`,
      {
        subject: journal.snapshot,
        hint: `finish it first with: acx-data backup --restore ${journal.snapshot}${flags} (no --force needed), then run this restore`,
      },
    );
  }
  return journal;
}

/** A restore over an import killed half-way would later be undone by that import's rollback: refused. */
async function refusePendingImports(place: JournalPlace): Promise<void> {
  const [pending] = await pendingImports(place);
  if (!pending) return;
  throw new AcxError(
    'UNFINISHED',
    `an import into these databases (${pending.inputs.join(', ')}) was interrupted (started ${pending.startedAt}, pid ${pending.pid}) and is not rolled back yet; nothing was changed`,
    {
      subject: pending.inputs.join(', '),
      hint: 'run an import into these databases (the same one, or any): it first rolls back what the interrupted one left',
    },
  );
}

/**
 * An import into databases a killed restore left half restored is refused (LOCKED while that restore
 * still runs): the restore is finished first.
 */
export async function refuseInterruptedRestore(place: JournalPlace): Promise<void> {
  const journal = await readJournal<RestoreJournal>(restoreJournalPath(place));
  if (!journal) return;
  const what = `a restore of ${journal.snapshot} (${journal.targets.join(', ')}) into these databases`;
  if (isRunning(journal))
    throw new AcxError('LOCKED', `${what} is running (pid ${journal.pid} on ${journal.host})`, {
      subject: journal.snapshot,
      hint: 'wait for it to end',
    });
  const flags = journal.targets.map((t) => ` --target ${t}`).join('');
  throw new AcxError(
    'UNFINISHED',
    `${what} was interrupted (started ${journal.startedAt}); nothing was imported`,
    {
      subject: journal.snapshot,
      hint: `finish it first with: acx-data backup --restore ${journal.snapshot}${flags} (no --force needed)`,
    },
  );
}

/**
 * A backup or an export reads what the stores hold now. Over a restore that was interrupted (or is
 * running) it would read half-restored data as if it were good — and a later restore of that snapshot
 * would "succeed" — and over an import killed before its rollback, records the next import undoes. So
 * a run that reads any store such a run was writing is refused: LOCKED while the restore runs,
 * UNFINISHED once its process is gone, naming the stores and how to finish (or undo) it. Stores the
 * unfinished run does not touch can still be read. A live import is a writer like the application
 * (§7.8): its transactions are not visible before they commit.
 */
export async function refuseUnfinishedRuns(
  place: JournalPlace | undefined,
  reads: readonly BackupTarget[],
  command: 'backup' | 'export',
): Promise<void> {
  if (!place) return;
  const journal = await readJournal<RestoreJournal>(restoreJournalPath(place));
  const touched = journal ? journal.targets.filter((t) => reads.includes(t)) : [];
  if (journal && touched.length > 0) throw restoreInTheWay(journal, touched, command);
  for (const pending of await pendingImports(place)) {
    const open = (Object.keys(pending.stores) as BackupTarget[]).filter(
      (s) => reads.includes(s) && pending.stores[s as keyof typeof pending.stores] === 'open',
    );
    if (open.length === 0) continue;
    throw new AcxError(
      'UNFINISHED',
      `cannot ${command} ${open.join(', ')}: an import into these databases (${pending.inputs.join(', ')}) was interrupted (started ${pending.startedAt}, pid ${pending.pid}) and what it wrote is not rolled back yet; nothing was written`,
      {
        subject: open.join(', '),
        hint: `run the same import again (or any writing import into these databases): it first rolls back what the interrupted one left; then ${command} again`,
      },
    );
  }
}

/** Why a backup or export of `touched` must wait for (or finish) the restore `journal` records. */
function restoreInTheWay(
  journal: RestoreJournal,
  touched: BackupTarget[],
  command: 'backup' | 'export',
): AcxError {
  const restore = `a restore of ${journal.snapshot} into these databases`;
  if (isRunning(journal))
    return new AcxError(
      'LOCKED',
      `cannot ${command} ${touched.join(', ')}: ${restore} is running (pid ${journal.pid} on ${journal.host}, since ${journal.startedAt}) and they may be half restored`,
      { subject: touched.join(', '), hint: `wait for the restore to end, then ${command} again` },
    );
  const state = (t: BackupTarget) =>
    journal.done.includes(t) ? 'restored' : journal.current === t ? 'half restored' : 'not restored yet';
  const flags = journal.targets.map((t) => ` --target ${t}`).join('');
  const undo = journal.safetySnapshot
    ? `; to go back to the data from before it, restore its safety snapshot afterwards: acx-data backup --restore ${journal.safetySnapshot} --force`
    : journal.force
      ? ''
      : '; to undo it instead, empty them: it ran without --force, so they were empty before it';
  return new AcxError(
    'UNFINISHED',
    `cannot ${command} ${touched.join(', ')}: ${restore} was interrupted (started ${journal.startedAt}) and left ${journal.targets.map((t) => `${t} ${state(t)}`).join(', ')}; nothing was written`,
    {
      subject: touched.join(', '),
      hint: `finish the restore first: acx-data backup --restore ${journal.snapshot}${flags} (no --force needed)${undo}; then ${command} again`,
    },
  );
}

/** The journal of one running restore: started before the first change, ended when the run ends in order. */
export class RestoreJournalWriter {
  private readonly path: string | undefined;
  private readonly journal: RestoreJournal;

  private constructor(path: string | undefined, journal: RestoreJournal) {
    this.path = path;
    this.journal = journal;
  }

  static async start(
    place: JournalPlace | undefined,
    fields: Pick<RestoreJournal, 'snapshot' | 'targets' | 'force' | 'safetySnapshot' | 'done' | 'current'>,
  ): Promise<RestoreJournalWriter> {
    const journal: RestoreJournal = {
      journal: 'restore',
      version: 1,
      ...(place ? journalHeader(place) : header0()),
      ...fields,
    };
    const writer = new RestoreJournalWriter(place ? restoreJournalPath(place) : undefined, journal);
    await writer.save();
    return writer;
  }

  async begin(target: BackupTarget): Promise<void> {
    this.journal.current = target;
    await this.save();
  }

  async complete(target: BackupTarget): Promise<void> {
    this.journal.done.push(target);
    delete this.journal.current;
    await this.save();
  }

  async end(): Promise<void> {
    if (this.path) await removeJournal(this.path);
  }

  private async save(): Promise<void> {
    if (this.path) await writeJournal(this.path, this.journal);
  }
}

const header0 = (): JournalHeader => ({
  pid: process.pid,
  host: '',
  startedAt: new Date().toISOString(),
  databases: {},
});

/** How a target is restored: replacing under the first run's --force, and always the one a kill interrupted. */
export function replaceFor(
  target: BackupTarget,
  force: boolean,
  interrupted: RestoreJournal | undefined,
): boolean {
  if (!interrupted) return force;
  return interrupted.force || interrupted.current === target;
}

export function resumedOf(journal: RestoreJournal): ResumedRestore {
  return {
    startedAt: journal.startedAt,
    pid: journal.pid,
    alreadyRestored: [...journal.done],
    ...(journal.current ? { interrupted: journal.current } : {}),
    ...(journal.safetySnapshot ? { safetySnapshot: journal.safetySnapshot } : {}),
  };
}
