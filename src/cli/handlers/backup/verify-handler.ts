/**
 * `acx-data backup --verify ID`: re-hashes and decodes every file of a snapshot and records the result.
 * `--verify --all`: every snapshot so, and the format-2 repository (packs, index files, blobs).
 * `--restore-test`: then a restore drill of that snapshot (with `--all`: of the newest), recorded as
 * `restoreTest` in its verification.json (design §13.7).
 */
import { openRunRepository } from './open-repository.ts';
import { AcxError } from '../../../errors.ts';
import { labelMap } from '../../../model/labels.ts';
import { drillSnapshot, type DrillSummary } from '../../../operations/restore-drill.ts';
import { verifyAll, verifyAndRecord, type VerifySummary } from '../../../operations/verify.ts';
import type { Repository } from '../../../repository/repository.ts';
import type { SnapshotReader } from '../../../repository/snapshot-reader.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { onInterrupt } from '../../interrupt.ts';
import { formatDrill, formatVerify, formatVerifyAll, problemsOfVerifyAll } from '../../output/backup-text.ts';
import { printResult } from '../../output/global-options.ts';
import { errorForOutcome } from '../../output/outcome-exit.ts';
import { createReporter, type ClosableReporter } from '../../output/reporters.ts';

export async function handleVerify(run: BackupRun): Promise<void> {
  const { flags, global } = run;
  const repository = await openRunRepository(run);
  const reporter = createReporter(global);
  try {
    if (flags.verify === true) {
      const summary = await verifyAll(repository, reporter);
      const newest = flags.restoreTest ? (await repository.list()).snapshots[0] : undefined;
      const verified = newest && summary.snapshots.find((s) => s.id === newest.id);
      const drill = verified?.ok
        ? await runDrill(repository, await repository.open(verified.id), reporter, verified)
        : undefined;
      reporter.close();
      printResult(
        global,
        drill ? { ...summary, drill } : summary,
        [
          formatVerifyAll(summary),
          ...(drill ? [formatDrill(drill.id, drill.restoreTest, drill.failures)] : []),
        ].join('\n'),
      );
      if (!summary.ok)
        throw new AcxError(
          'INTEGRITY',
          `the repository ${repository.location} failed verification (${problemsOfVerifyAll(summary)} problems)`,
          { subject: repository.location, hint: 'each problem is listed above, naming its object' },
        );
      if (drill) throwForDrill(drill);
      return;
    }
    const reader = await repository.open(flags.verify!);
    const summary = await verifyAndRecord(repository, reader, reporter);
    const drill =
      summary.ok && flags.restoreTest ? await runDrill(repository, reader, reporter, summary) : undefined;
    reporter.close();
    printResult(
      global,
      drill
        ? { ...summary, restoreTest: drill.restoreTest, outcome: drill.outcome, failures: drill.failures }
        : summary,
      [
        formatVerify(summary),
        ...(drill ? [formatDrill(drill.id, drill.restoreTest, drill.failures)] : []),
      ].join('\n'),
    );
    if (!summary.ok)
      throw new AcxError(
        'INTEGRITY',
        `snapshot ${summary.id} failed verification (${summary.problems.length} problems)`,
        { subject: summary.id },
      );
    if (drill) throwForDrill(drill);
  } finally {
    reporter.close();
    await repository.close();
  }
}

/** The drill of `reader`, recorded in its verification.json; Ctrl-C ends it (scratch targets removed). */
async function runDrill(
  repository: Repository,
  reader: SnapshotReader,
  reporter: ClosableReporter,
  verified: VerifySummary,
): Promise<DrillSummary> {
  const interrupt = onInterrupt();
  try {
    const drill = await drillSnapshot({
      repository,
      snapshot: reader,
      env: process.env,
      labels: labelMap('production'),
      reporter,
      signal: interrupt.signal,
      verified,
    });
    const verification = await repository.readVerification(reader.id);
    if (verification)
      await repository.writeVerification(reader, { ...verification, restoreTest: drill.restoreTest });
    return drill;
  } catch (error) {
    throw interrupt.explain(error, "the drill's scratch targets were removed");
  } finally {
    interrupt.dispose();
  }
}

/** A failed drill: INTEGRITY; a store not tested (no scratch Neo4j): INCOMPLETE. */
function throwForDrill(drill: DrillSummary): void {
  if (!drill.restoreTest.ok)
    throw new AcxError(
      'INTEGRITY',
      `the restore drill of ${drill.id} failed: ${drill.failures[drill.failures.length - 1]?.message}`,
      {
        subject: drill.id,
        hint: 'the snapshot would not restore as recorded: take a new full backup and keep this one for investigation',
      },
    );
  const error = errorForOutcome(drill, `the restore drill of ${drill.id} did not test every store`, {
    subject: drill.id,
    hint: drill.failures.find((f) => f.hint !== undefined)?.hint,
  });
  if (error) throw error;
}
