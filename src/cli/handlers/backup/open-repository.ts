/**
 * Opening the repositories of a `backup` run: the one its mode reads or writes (`--backup-dir`,
 * `--from`, `--list-cloud`'s bucket), with the run's cloud settings, and the targets of its uploads.
 */
import { AcxError } from '../../../errors.ts';
import { Repository } from '../../../repository/repository.ts';
import type { CloudSettings } from '../../../storage/cloud-settings.ts';
import type { UploadTarget } from '../../../operations/upload.ts';
import type { BackupRun, UploadDestination } from '../../commands/backup-command.ts';
import { repositoryAccess } from './repository-access.ts';
import type { LockWait } from '../../../repository/lock.ts';
import type { ProgressReporter } from '../../../progress.ts';

/**
 * How the run's writers wait for the repository lock (`--lock-wait`); undefined without the flag (LOCKED
 * at once). Each holder it waits for is reported as a phase event.
 */
export function lockWaitOf(
  run: { flags: { lockWait?: number } },
  reporter: ProgressReporter,
  signal?: AbortSignal,
): LockWait | undefined {
  const ms = run.flags.lockWait;
  if (ms === undefined) return undefined;
  return {
    ms,
    signal,
    onWait: (holder) =>
      reporter.emit({
        type: 'phase',
        store: 'repository',
        message: `waiting for the lock held by pid ${holder.pid} on ${holder.host} ("${holder.command}") since ${holder.since}`,
      }),
  };
}

export function openRunRepository(
  run: BackupRun,
  options: { location?: string; create?: boolean } = {},
): Promise<Repository> {
  return Repository.open(options.location ?? run.repository, {
    create: options.create ?? false,
    access: repositoryAccess(),
    cloud: run.cloud,
  });
}

/**
 * The repository at `location` for reading, or undefined when the location holds nothing yet: a backup
 * directory (or bucket prefix) with no repository simply holds no snapshots (`--list`, `status`, the
 * report). Any other failure — credentials, a missing bucket, a file in the way — is thrown.
 */
export function openIfAny(location: string, cloud: CloudSettings): Promise<Repository | undefined> {
  return Repository.open(location, { create: false, access: repositoryAccess(), cloud }).catch(
    (error: unknown) => {
      if (error instanceof AcxError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    },
  );
}

/** The repository of one `--upload-*`; Azure's container is created if missing, as the guide says. */
function uploadTarget(run: BackupRun, destination: UploadDestination, wait?: LockWait): UploadTarget {
  return {
    url: destination.url,
    open: async () => {
      const repository = await openRunRepository(run, { location: destination.url, create: true });
      repository.waitForLock(wait);
      if (destination.provider === 'azure') {
        try {
          const { ensureAzureContainer } = await import('../../../storage/azure/azure-storage.ts');
          await ensureAzureContainer(repository.storage);
        } catch (error) {
          await repository.close();
          throw error;
        }
      }
      return repository;
    },
  };
}

export function uploadTargets(run: BackupRun, wait?: LockWait): UploadTarget[] {
  return run.uploads.map((destination) => uploadTarget(run, destination, wait));
}

/** The command that resumes a failed upload of `id` (it sends only what the bucket lacks). */
export function resumeHint(run: BackupRun, id: string, url: string): string {
  const destination = run.uploads.find((d) => d.url === url) ?? run.uploads[0];
  const prefix = run.flags.s3Prefix === 'backups' ? '' : ` --s3-prefix ${run.flags.s3Prefix}`;
  const dir = run.flags.backupDir === 'data/backups' ? '' : ` --backup-dir ${run.flags.backupDir}`;
  return `resume (only what is missing is sent): acx-data backup ${destination?.flag ?? ''}${prefix}${dir} --snapshot ${id}`;
}
