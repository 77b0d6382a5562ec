/** `acx-data backup --list`: the snapshots of the repository, with the incomplete and damaged ones. */
import { Repository } from '../../../repository/repository.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { formatList } from '../../output/backup-text.ts';
import { printResult } from '../../output/global-options.ts';

export async function handleList({ global, backupDir }: BackupRun): Promise<void> {
  // A backup directory that does not exist yet simply holds no snapshots.
  const repository = await Repository.open(backupDir, { create: false }).catch(() => undefined);
  const listing = repository ? await repository.list() : { snapshots: [], incomplete: [], damaged: [] };
  printResult(global, listing, formatList(listing.snapshots, listing.incomplete, listing.damaged, backupDir));
}
