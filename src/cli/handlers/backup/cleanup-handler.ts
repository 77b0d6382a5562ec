/**
 * `acx-data backup --cleanup`: deletes the snapshots the `--keep*` rules do not keep, then (format 2) the
 * blobs no remaining snapshot uses.
 */
import { openRunRepository } from './open-repository.ts';
import { cleanupSnapshots } from '../../../operations/cleanup.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { formatCleanup } from '../../output/cleanup-text.ts';
import { printResult } from '../../output/global-options.ts';
import { createReporter } from '../../output/reporters.ts';

export async function handleCleanup(run: BackupRun): Promise<void> {
  const { flags, global, retention } = run;
  const repository = await openRunRepository(run);
  const reporter = createReporter(global);
  try {
    const summary = await cleanupSnapshots(repository, retention, flags.dryRun, reporter);
    reporter.close();
    printResult(global, summary, formatCleanup(summary));
  } finally {
    reporter.close();
  }
}
