/**
 * `acx-data backup --list`: the snapshots of the repository, with the one a live run is writing
 * (running), the incomplete (interrupted) and the damaged ones.
 */
import { openIfAny } from './open-repository.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { formatList, type ListResult } from '../../output/backup-text.ts';
import { printResult } from '../../output/global-options.ts';

export async function handleList(run: BackupRun): Promise<void> {
  const { global } = run;
  const repository = await openIfAny(run.repository, run.cloud);
  const listing: ListResult = repository
    ? await repository.list()
    : { snapshots: [], running: [], incomplete: [], damaged: [] };
  printResult(global, listing, formatList(listing, run.repository));
}
