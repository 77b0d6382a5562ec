/**
 * `acx-data backup --list`: the snapshots of the repository, with the one a live run is writing
 * (running), the incomplete (interrupted) and the damaged ones.
 */
import { AcxError } from '../../../errors.ts';
import { openRunRepository } from './open-repository.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { formatList, type ListResult } from '../../output/backup-text.ts';
import { printResult } from '../../output/global-options.ts';

export async function handleList(run: BackupRun): Promise<void> {
  const { global } = run;
  // A backup directory (or bucket prefix) that holds nothing yet simply holds no snapshots; any other
  // failure (credentials, a missing bucket, a file in the way) is reported.
  const repository = await openRunRepository(run).catch((error: unknown) => {
    if (error instanceof AcxError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  });
  const listing: ListResult = repository
    ? await repository.list()
    : { snapshots: [], running: [], incomplete: [], damaged: [] };
  printResult(global, listing, formatList(listing, run.repository));
}
