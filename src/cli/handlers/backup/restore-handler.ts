/**
 * `acx-data backup --restore ID`: verifies the snapshot, then restores each target (after a safety
 * backup of the non-empty ones under --force). Prints the summary whatever the outcome, then exits by it.
 */
import { lockWaitOf, openRunRepository } from './open-repository.ts';
import { databaseIdentity, readStateDir } from '../../../config/state.ts';
import { restoreSnapshot, targetsOf, type RestoreSummary } from '../../../operations/restore.ts';
import { openStores } from '../../../operations/open-stores.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { onInterrupt } from '../../interrupt.ts';
import { formatRestore } from '../../output/backup-text.ts';
import { printResult } from '../../output/global-options.ts';
import { errorForOutcome } from '../../output/outcome-exit.ts';
import { createReporter } from '../../output/reporters.ts';
import { checkFolderOption, checkStateDir } from '../../path-checks.ts';
import { openRunStores } from '../run-stores.ts';
import { snapshotSettings, storesFor } from './backup-settings.ts';

export async function handleRestore(run: BackupRun): Promise<void> {
  const { flags, global } = run;
  const repository = await openRunRepository(run);
  const snapshot = await repository.open(flags.restore!);
  const targets = flags.target ?? targetsOf(snapshot);
  // Where the restore writes, checked before any connection.
  if (targets.includes('json')) await checkFolderOption('--data-dir', flags.dataDir);
  if (!flags.dryRun) await checkStateDir();
  const reporter = createReporter(global);
  const stores = await openRunStores(reporter, (options) =>
    openStores(process.env, storesFor(targets), options),
  );
  const interrupt = onInterrupt();
  // The safety backup of --force writes a snapshot: it takes the lock like any backup.
  repository.waitForLock(lockWaitOf(run, reporter, interrupt.signal));
  try {
    const summary = await restoreSnapshot({
      repository,
      snapshot,
      targets,
      stores,
      dryRun: flags.dryRun,
      force: flags.force,
      qdrantSnapshots: flags.qdrantSnapshots,
      dataDir: flags.dataDir,
      reporter,
      signal: interrupt.signal,
      safetyBackup: { ...snapshotSettings(run), qdrantSnapshots: false, lock: true },
      journal: { stateDir: readStateDir(process.env), databases: databaseIdentity(process.env) },
    });
    reporter.close();
    printResult(global, summary, formatRestore(summary));
    const error = outcomeError(summary);
    if (error) throw error;
  } catch (error) {
    throw interrupt.explain(error, 'each store is either fully restored or as it was before its restore');
  } finally {
    reporter.close();
    interrupt.dispose();
    await stores.close();
  }
}

/** The error a restore that was not complete ends with: which targets failed, which were restored. */
function outcomeError(summary: RestoreSummary) {
  const failed = summary.failures.map((f) => f.item);
  const restored = Object.keys(summary.restored);
  return errorForOutcome(
    summary,
    `restore of ${summary.id} failed for ${failed.join(', ')}${restored.length > 0 ? ` (restored: ${restored.join(', ')})` : ''}`,
    {
      subject: summary.id,
      hint: summary.safetySnapshot
        ? `the data from before the restore is in safety snapshot ${summary.safetySnapshot.id}`
        : undefined,
    },
  );
}
