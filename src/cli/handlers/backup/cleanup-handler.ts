/**
 * `acx-data backup --cleanup`: deletes the snapshots the `--keep*` rules do not keep, then (format 2) the
 * blobs no remaining snapshot uses.
 */
import { lockWaitOf, openRunRepository } from './open-repository.ts';
import { onInterrupt } from '../../interrupt.ts';
import { cleanupSnapshots } from '../../../operations/cleanup.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { formatCleanup } from '../../output/cleanup-text.ts';
import { printResult } from '../../output/global-options.ts';
import { createReporter } from '../../output/reporters.ts';

export async function handleCleanup(run: BackupRun): Promise<void> {
  const { flags, global, retention } = run;
  const repository = await openRunRepository(run);
  const reporter = createReporter(global);
  // Ctrl-C is caught only to end a --lock-wait: the cleanup itself takes no signal, and a default
  // SIGINT stops it as before (what a killed cleanup leaves, the next one removes).
  const interrupt = flags.lockWait === undefined ? undefined : onInterrupt();
  repository.waitForLock(lockWaitOf(run, reporter, interrupt?.signal));
  try {
    const summary = await cleanupSnapshots(repository, retention, flags.dryRun, reporter);
    reporter.close();
    printResult(global, summary, formatCleanup(summary));
  } catch (error) {
    throw interrupt ? interrupt.explain(error, 'a new --cleanup deletes what this one did not') : error;
  } finally {
    reporter.close();
    interrupt?.dispose();
  }
}
