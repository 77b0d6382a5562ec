/** `acx-data backup` (no mode flag): one new snapshot of the chosen stores and the JSON data files. */
import { AcxError } from '../../../errors.ts';
import { databaseIdentity, readStateDir } from '../../../config/state.ts';
import { BACKUP_TARGETS, backupStores, type BackupTarget } from '../../../operations/backup.ts';
import { openStores } from '../../../operations/open-stores.ts';
import type { BackupFlags, BackupRun } from '../../commands/backup-command.ts';
import { onInterrupt } from '../../interrupt.ts';
import { formatBackup } from '../../output/backup-text.ts';
import { printResult } from '../../output/global-options.ts';
import { createReporter } from '../../output/reporters.ts';
import { checkFolderOption } from '../../path-checks.ts';
import { openRunStores } from '../run-stores.ts';
import { snapshotSettings, storesFor } from './backup-settings.ts';
import { lockWaitOf, openRunRepository, uploadTargets } from './open-repository.ts';
import { uploadSnapshot } from '../../../operations/upload.ts';
import { explainUpload } from './upload-handler.ts';
import { formatUploads } from '../../output/backup-text.ts';

/**
 * `--since DATE`: a date alone means the end of that day (UTC), so "at or before 2024-01-01" includes
 * the snapshots of that day; an ISO time is taken as it is.
 */
export function parseSince(value: string): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const time = new Date(dateOnly ? `${value}T23:59:59.999Z` : value);
  if (Number.isNaN(time.getTime()))
    throw new AcxError('USAGE', `--since: "${value}" is not a date (YYYY-MM-DD) or an ISO time`, {
      subject: '--since',
      hint: 'for example --since 2024-01-01 or --since 2024-01-01T06:00:00Z',
    });
  return time;
}

/** The named targets, in BACKUP_TARGETS order; every one with --all or when none is named. */
function chosenTargets(flags: BackupFlags): BackupTarget[] {
  const named = BACKUP_TARGETS.filter((t) => flags[t]);
  return flags.all || named.length === 0 ? [...BACKUP_TARGETS] : named;
}

export async function handleBackup(run: BackupRun): Promise<void> {
  const { flags, global } = run;
  const targets = chosenTargets(flags);
  // The backup directory first: a file or a bad path there is reported before any connection.
  const repository = await openRunRepository(run, { location: run.backupDir, create: true });
  if (targets.includes('json')) await checkFolderOption('--data-dir', flags.dataDir);
  const reporter = createReporter(global);
  const stores = await openRunStores(reporter, (options) =>
    openStores(process.env, storesFor(targets), options),
  );
  const interrupt = onInterrupt();
  const lockWait = lockWaitOf(run, reporter, interrupt.signal);
  repository.waitForLock(lockWait);
  let uploadFailure: unknown;
  try {
    const summary = await backupStores({
      ...snapshotSettings(run),
      targets,
      stores,
      repository,
      qdrantSnapshots: flags.qdrantSnapshots,
      encrypt: flags.encrypt,
      ...(flags.incremental
        ? { incremental: { since: flags.since === undefined ? undefined : parseSince(flags.since) } }
        : {}),
      preHook: flags.preHook,
      postHook: flags.postHook,
      reporter,
      signal: interrupt.signal,
      journal: { stateDir: readStateDir(process.env), databases: databaseIdentity(process.env) },
    });
    await stores.close();
    if (run.uploads.length === 0) {
      reporter.close();
      printResult(global, summary, formatBackup(summary));
      return;
    }
    let uploads;
    try {
      uploads = await uploadSnapshot({
        source: repository,
        id: summary.id,
        targets: uploadTargets(run, lockWait),
        reporter,
        signal: interrupt.signal,
      });
    } catch (error) {
      reporter.close();
      // The backup itself is done and kept: say so, then fail with the upload's error.
      if (!global.quiet && global.format === 'text') process.stderr.write(formatBackup(summary) + '\n');
      uploadFailure = interrupt.explain(
        explainUpload(run, summary.id, error),
        `snapshot ${summary.id} is kept locally`,
      );
      throw uploadFailure;
    }
    reporter.close();
    printResult(global, { ...summary, uploads }, `${formatBackup(summary)}\n${formatUploads(uploads)}`);
  } catch (error) {
    if (error === uploadFailure) throw error;
    throw interrupt.explain(error, 'no snapshot was written');
  } finally {
    reporter.close();
    interrupt.dispose();
    await stores.close();
    await repository.close();
  }
}
