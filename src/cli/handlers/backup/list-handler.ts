/**
 * `acx-data backup --list`: the snapshots of the repository, with the one a live run is writing
 * (running), the incomplete (interrupted) and the damaged ones.
 */
import { repositoryAccess } from './repository-access.ts';
import { Repository } from '../../../repository/repository.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { formatList, type ListResult } from '../../output/backup-text.ts';
import { printResult } from '../../output/global-options.ts';

export async function handleList({ global, backupDir }: BackupRun): Promise<void> {
  // A backup directory that does not exist yet simply holds no snapshots.
  const repository = await Repository.open(backupDir, { create: false, access: repositoryAccess() }).catch(
    () => undefined,
  );
  const listing: ListResult = repository
    ? await repository.list()
    : { snapshots: [], running: [], incomplete: [], damaged: [] };
  printResult(global, listing, formatList(listing, backupDir));
}
