/**
 * `--restore ID`, as a checklist of phases (pgBackRest's restore is the model):
 *
 * 1. select: which targets (stores, the JSON files) the snapshot holds and the user asked for;
 * 2. verify the snapshot: nothing is touched when a file is damaged (one store from a format-2 snapshot is
 *    checked as the restore reads it, see checksWhileReading);
 * 3. check targets: refuse the ones that hold data unless `--force`;
 * 4. plan: what each target's restore would do (`--dry-run` stops here and writes nothing);
 * 5. safety backup of the targets about to be replaced (`--force`);
 * 6. apply: restore each target all-or-nothing; a failed target is left as it was and reported, the
 *    others go on. The summary's outcome says which; the CLI picks the exit code.
 *
 * A journal (`restore-journal.ts`, docs/design.md §7.7) is written before phase 6 changes anything and
 * removed when it ends; a restore killed in phase 6 is finished by the next run of the same restore.
 */
import { AcxError } from '../errors.ts';
import type { ProgressReporter } from '../progress.ts';
import type { StoreSection } from '../model/snapshot.ts';
import type { Repository } from '../repository/repository.ts';
import type { SnapshotReader } from '../repository/snapshot-reader.ts';
import type { PlanStep, Store, StoreRestoreSummary } from '../stores/store.ts';
import { STORE_NAMES, type StoreName } from '../progress.ts';
import type { StoresByName } from './open-stores.ts';
import { failureOf, outcomeOf, type Outcome, type RunFailure } from './outcome.ts';
import { backupStores, type BackupOptions, type BackupSummary, type BackupTarget } from './backup.ts';
import { jsonFilesRestoreTarget } from './json-files.ts';
import { verifyAndRecord, type VerifySummary } from './verify.ts';
import { BlobSnapshotReader } from '../repository/blob-snapshot-reader.ts';
import {
  findInterruptedRestore,
  replaceFor,
  resumedOf,
  RestoreJournalWriter,
  type RestoreJournal,
  type ResumedRestore,
} from './restore-journal.ts';
import type { JournalPlace } from './run-journal.ts';

export interface RestoreOptions {
  repository: Repository;
  snapshot: SnapshotReader;
  /** `--target`: the stores to restore (default: every one the snapshot holds). */
  targets?: readonly BackupTarget[];
  stores: StoresByName;
  dryRun: boolean;
  force: boolean;
  qdrantSnapshots: boolean;
  dataDir: string;
  /** How to take the safety backup of non-empty targets under --force. */
  safetyBackup: Omit<BackupOptions, 'targets' | 'stores' | 'repository' | 'reporter' | 'like'>;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  /** Where the run's journal lives (the state directory and the databases' identity); none: no journal. */
  journal?: JournalPlace;
  /**
   * This snapshot's verification, passed by a caller that has just verified it in the same run (a
   * restore drill after `--verify`): the restore does not read every file a second time. Only a passed
   * verification of this snapshot is taken; anything else is verified again.
   */
  verified?: VerifySummary;
}

export interface RestoreSummary {
  id: string;
  dryRun: boolean;
  targets: BackupTarget[];
  verification: RestoreVerification;
  plan: Partial<Record<BackupTarget, PlanStep[]>>;
  safetySnapshot?: BackupSummary;
  /** Set when this run finished a restore that was killed: what that run had done, and where it stopped. */
  resumed?: ResumedRestore;
  restored: Partial<Record<BackupTarget, StoreRestoreSummary>>;
  /** `incomplete`: some targets failed (each left as it was before the restore); see `failures`. */
  outcome: Outcome;
  failures: RunFailure[];
  seconds: number;
}

/**
 * Phase 2's outcome: the snapshot verified before anything was restored (`files` checked), or — for one
 * store from a format-2 snapshot — `whileReading`: each blob checked as the restore reads it.
 */
export type RestoreVerification = Pick<VerifySummary, 'ok' | 'files' | 'problems'> & {
  whileReading?: boolean;
};

/** One thing a restore writes: a store with its manifest section, or the JSON data files. */
interface RestoreTarget {
  name: BackupTarget;
  holdsData(): Promise<boolean>;
  plan(replace: boolean): Promise<PlanStep[]>;
  restore(replace: boolean): Promise<StoreRestoreSummary>;
}

export function targetsOf(snapshot: SnapshotReader): BackupTarget[] {
  const held: BackupTarget[] = STORE_NAMES.filter((store) => snapshot.manifest.stores[store]);
  if (snapshot.manifest.jsonFiles) held.push('json');
  return held;
}

/** Phase 1: the targets asked for, each able to check, plan and restore itself. */
function selectTargets(options: RestoreOptions): RestoreTarget[] {
  const { snapshot } = options;
  const held = targetsOf(snapshot);
  const names = options.targets ? [...options.targets] : held;
  const missing = names.filter((t) => !held.includes(t));
  if (missing.length > 0) {
    throw new AcxError(
      'NOT_FOUND',
      `snapshot ${snapshot.id} holds no ${missing.join(', ')} backup (it holds: ${held.join(', ') || 'nothing'})`,
      { subject: snapshot.id },
    );
  }
  if (names.length === 0)
    throw new AcxError('NOT_FOUND', `snapshot ${snapshot.id} holds nothing to restore`, {
      subject: snapshot.id,
    });
  return names.map((name) => {
    const jsonFiles = snapshot.manifest.jsonFiles;
    if (name === 'json' && jsonFiles) return jsonFilesRestoreTarget(options.dataDir, snapshot, jsonFiles);
    return storeTarget(options, name as StoreName);
  });
}

function storeTarget(options: RestoreOptions, name: StoreName): RestoreTarget {
  const store: Store | undefined = options.stores[name];
  const section: StoreSection | undefined = options.snapshot.manifest.stores[name];
  if (!store || !section)
    throw new AcxError('INTERNAL', `restore of ${name} was asked without an open ${name} connection`);
  const restoreOptions = (replace: boolean) => ({ replace, nativeSnapshots: options.qdrantSnapshots });
  return {
    name,
    holdsData: () => store.holdsDataFor(section),
    plan: (replace) => store.planRestore(section, restoreOptions(replace)),
    restore: (replace) =>
      store.restore(
        { snapshot: options.snapshot, section, reporter: options.reporter, signal: options.signal, replace },
        restoreOptions(replace),
      ),
  };
}

/**
 * Whether the restore checks the snapshot as it reads it rather than reading it whole first: one store
 * from a format-2 snapshot. Every blob is authenticated and checked against its id as it is read, and a
 * file against its entry's size (blob-snapshot-reader.ts); a store's restore is all or nothing, so a
 * damaged blob ends it with the store as it was (the store contract's damaged-restore case). With
 * several targets a first one could be restored before damage in a later one is found, and format 1
 * checks a file's hash only at its end: those are verified first. `--dry-run` verifies, as it reports.
 */
function checksWhileReading(options: RestoreOptions, targets: RestoreTarget[]): boolean {
  return (
    !options.dryRun &&
    targets.length === 1 &&
    targets[0]!.name !== 'json' &&
    options.snapshot instanceof BlobSnapshotReader
  );
}

/** Phase 2: a damaged snapshot restores nothing. */
async function verifyFirst(options: RestoreOptions, targets: RestoreTarget[]): Promise<RestoreVerification> {
  const { snapshot, reporter } = options;
  if (options.verified?.ok && options.verified.id === snapshot.id) return options.verified;
  if (checksWhileReading(options, targets)) {
    reporter.emit({
      type: 'phase',
      store: 'repository',
      message: `checking ${snapshot.id} as it is read (one store, restored all or nothing)`,
    });
    return { ok: true, files: 0, problems: [], whileReading: true };
  }
  reporter.emit({ type: 'phase', store: 'repository', message: `verifying ${snapshot.id} before restoring` });
  const verification = await verifyAndRecord(options.repository, snapshot, reporter);
  if (!verification.ok) {
    const detail = verification.problems.map((p) => `${p.file}: ${p.problem}`).join('; ');
    throw new AcxError(
      'INTEGRITY',
      `snapshot ${snapshot.id} failed verification, nothing was restored: ${detail}`,
      { subject: snapshot.id },
    );
  }
  return verification;
}

/** Phase 3: the targets that hold data now; refused before anything is touched unless --force. */
async function checkTargets(options: RestoreOptions, targets: RestoreTarget[]): Promise<BackupTarget[]> {
  const nonEmpty: BackupTarget[] = [];
  for (const target of targets) if (await target.holdsData()) nonEmpty.push(target.name);
  if (nonEmpty.length > 0 && !options.force) {
    throw new AcxError(
      'NOT_EMPTY',
      `refusing to restore ${options.snapshot.id}: ${nonEmpty.join(', ')} already hold data; nothing was changed`,
      {
        subject: nonEmpty.join(', '),
        hint: 'restore into empty stores, or add --force: a safety backup of the current data is taken first',
      },
    );
  }
  return nonEmpty;
}

/** Phase 5: a snapshot of what is about to be replaced (only the objects the restore touches). */
async function safetyBackup(options: RestoreOptions, nonEmpty: BackupTarget[]): Promise<BackupSummary> {
  const { reporter } = options;
  reporter.emit({
    type: 'phase',
    store: 'repository',
    message: `taking a safety backup of ${nonEmpty.join(', ')} before replacing them`,
  });
  const summary = await backupStores({
    ...options.safetyBackup,
    targets: nonEmpty,
    stores: options.stores,
    repository: options.repository,
    reporter,
    like: options.snapshot.manifest.stores,
  });
  reporter.emit({ type: 'phase', store: 'repository', message: `safety backup ${summary.id} written` });
  return summary;
}

/**
 * Phase 6: each target all-or-nothing; failures are collected, an interruption stops the rest. The journal
 * says which target is being restored and which are done; targets a killed run finished are skipped.
 */
async function applyRestore(
  options: RestoreOptions,
  targets: RestoreTarget[],
  journal: RestoreJournalWriter,
  interrupted: RestoreJournal | undefined,
) {
  const restored: RestoreSummary['restored'] = {};
  const failures: RunFailure[] = [];
  for (const target of targets) {
    if (interrupted?.done.includes(target.name)) continue;
    try {
      await journal.begin(target.name);
      // Under --force every target is replaced, also one that only holds schema objects (which a restore
      // would clash with); so is the target a killed run left half restored.
      restored[target.name] = await target.restore(replaceFor(target.name, options.force, interrupted));
      await journal.complete(target.name);
    } catch (error) {
      failures.push(failureOf(target.name, error));
      options.reporter.emit({
        type: 'warning',
        store: target.name,
        message: `restore failed (${target.name} left as it was before the restore): ${(error as Error).message}`,
      });
      if (error instanceof AcxError && error.code === 'INTERRUPTED') break;
    }
  }
  return { restored, failures };
}

/** A killed restore's journal: said before anything else, and what this run will do about it. */
async function interruptedRun(options: RestoreOptions, targets: RestoreTarget[]) {
  const names = targets.map((t) => t.name);
  const interrupted = await findInterruptedRestore(options.journal, options.snapshot.id, names);
  if (interrupted) {
    const done = interrupted.done.length > 0 ? `; already restored: ${interrupted.done.join(', ')}` : '';
    options.reporter.emit({
      type: 'phase',
      store: 'repository',
      message: `finishing the restore of ${interrupted.snapshot} interrupted since ${interrupted.startedAt} (pid ${interrupted.pid})${interrupted.current ? `: ${interrupted.current} is emptied of its partial restore and restored again` : ''}${done}`,
    });
  }
  return interrupted;
}

export async function restoreSnapshot(options: RestoreOptions): Promise<RestoreSummary> {
  const started = performance.now();
  const targets = selectTargets(options);
  const interrupted = await interruptedRun(options, targets);
  const verification = await verifyFirst(options, targets);
  // Finishing a killed restore: its targets were checked (and backed up) by the run that was killed.
  const nonEmpty = interrupted ? [] : await checkTargets(options, targets);
  const plan: RestoreSummary['plan'] = {};
  for (const target of targets) {
    if (interrupted?.done.includes(target.name)) plan[target.name] = [];
    else plan[target.name] = await target.plan(replaceFor(target.name, options.force, interrupted));
  }
  const base = {
    id: options.snapshot.id,
    targets: targets.map((t) => t.name),
    verification: {
      ok: verification.ok,
      files: verification.files,
      problems: verification.problems,
      ...(verification.whileReading ? { whileReading: true } : {}),
    },
    plan,
  };
  const seconds = () => (performance.now() - started) / 1000;
  if (options.dryRun)
    return { ...base, dryRun: true, outcome: 'complete', failures: [], restored: {}, seconds: seconds() };

  const safetySnapshot = nonEmpty.length > 0 ? await safetyBackup(options, nonEmpty) : undefined;
  const journal = await RestoreJournalWriter.start(options.journal, {
    snapshot: options.snapshot.id,
    targets: targets.map((t) => t.name),
    force: interrupted?.force ?? options.force,
    safetySnapshot: interrupted?.safetySnapshot ?? safetySnapshot?.id,
    done: [...(interrupted?.done ?? [])],
    ...(interrupted?.current ? { current: interrupted.current } : {}),
  });
  const { restored, failures } = await applyRestore(options, targets, journal, interrupted);
  // The run ended in order: each target is restored or as it was (all or nothing), nothing to finish.
  await journal.end();
  return {
    ...base,
    dryRun: false,
    outcome: outcomeOf(failures, targets.length),
    failures,
    safetySnapshot,
    ...(interrupted ? { resumed: resumedOf(interrupted) } : {}),
    restored,
    seconds: seconds(),
  };
}
