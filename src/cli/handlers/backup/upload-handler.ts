/**
 * `acx-data backup --upload-s3 BUCKET --snapshot ID` (or `--upload-gcs`, `--upload-azure`): uploads an
 * existing snapshot of `--backup-dir` without taking a new backup — how a failed or interrupted upload
 * is resumed (only what the bucket lacks is sent).
 */
import { UploadError, uploadSnapshot } from '../../../operations/upload.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { onInterrupt } from '../../interrupt.ts';
import { formatUploads } from '../../output/backup-text.ts';
import { printResult } from '../../output/global-options.ts';
import { createReporter } from '../../output/reporters.ts';
import { lockWaitOf, openRunRepository, resumeHint, uploadTargets } from './open-repository.ts';
import { AcxError } from '../../../errors.ts';

export async function handleUpload(run: BackupRun): Promise<void> {
  const id = run.flags.snapshot!;
  const source = await openRunRepository(run, { location: run.backupDir });
  const reporter = createReporter(run.global);
  const interrupt = onInterrupt();
  try {
    const summary = await uploadSnapshot({
      source,
      id,
      targets: uploadTargets(run, lockWaitOf(run, reporter, interrupt.signal)),
      reporter,
      signal: interrupt.signal,
    });
    reporter.close();
    printResult(run.global, summary, formatUploads(summary));
  } catch (error) {
    throw interrupt.explain(explainUpload(run, id, error), 'the bucket lists no new snapshot');
  } finally {
    reporter.close();
    interrupt.dispose();
    await source.close();
  }
}

/** A failed upload's error, with the command that resumes it. */
export function explainUpload(run: BackupRun, id: string, error: unknown): unknown {
  if (!(error instanceof UploadError)) return error;
  return new AcxError(error.code, `snapshot ${id}: ${error.message}`, {
    subject: error.url,
    hint: `${error.hint ? `${error.hint}; ` : ''}${resumeHint(run, id, error.url)}`,
    cause: error,
  });
}
