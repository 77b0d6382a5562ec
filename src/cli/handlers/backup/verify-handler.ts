/**
 * `acx-data backup --verify ID`: re-hashes and decodes every file of a snapshot and records the result.
 * `--verify --all`: every snapshot so, and the format-2 repository (packs, index files, blobs).
 */
import { openRunRepository } from './open-repository.ts';
import { AcxError } from '../../../errors.ts';
import { verifyAll, verifyAndRecord } from '../../../operations/verify.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { formatVerify, formatVerifyAll, problemsOfVerifyAll } from '../../output/backup-text.ts';
import { printResult } from '../../output/global-options.ts';
import { createReporter } from '../../output/reporters.ts';

export async function handleVerify(run: BackupRun): Promise<void> {
  const { flags, global } = run;
  const repository = await openRunRepository(run);
  const reporter = createReporter(global);
  try {
    if (flags.verify === true) {
      const summary = await verifyAll(repository, reporter);
      reporter.close();
      printResult(global, summary, formatVerifyAll(summary));
      if (!summary.ok)
        throw new AcxError(
          'INTEGRITY',
          `the repository ${repository.location} failed verification (${problemsOfVerifyAll(summary)} problems)`,
          { subject: repository.location, hint: 'each problem is listed above, naming its object' },
        );
      return;
    }
    const summary = await verifyAndRecord(repository, await repository.open(flags.verify!), reporter);
    reporter.close();
    printResult(global, summary, formatVerify(summary));
    if (!summary.ok)
      throw new AcxError(
        'INTEGRITY',
        `snapshot ${summary.id} failed verification (${summary.problems.length} problems)`,
        { subject: summary.id },
      );
  } finally {
    reporter.close();
    await repository.close();
  }
}
