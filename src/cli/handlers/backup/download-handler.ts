/**
 * `acx-data backup --download ID --from URL`: copies a snapshot from another repository (a bucket) into
 * `--backup-dir`, sending only what it lacks, after which `--verify ID` and `--restore ID` work as for a
 * local backup. With `--archive FILE.tar.gz` (or `-`) the snapshot is streamed as one gzip tar whose
 * top-level directory is a repository holding just that snapshot (design §12.5): the guide's "download,
 * extract, verify" step. The archive file appears only once complete (written as FILE.partial first).
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { copySnapshot } from '../../../repository/copy-snapshot.ts';
import { writeSnapshotArchive } from '../../../repository/snapshot-archive.ts';
import type { Repository } from '../../../repository/repository.ts';
import type { BackupRun } from '../../commands/backup-command.ts';
import { onInterrupt } from '../../interrupt.ts';
import { formatArchive, formatCopy } from '../../output/backup-text.ts';
import { printResult } from '../../output/global-options.ts';
import { lockWaitOf, openRunRepository } from './open-repository.ts';
import { createReporter } from '../../output/reporters.ts';
import { fileError } from '../../../files.ts';

export async function handleDownload(run: BackupRun): Promise<void> {
  const id = run.flags.download!;
  const source = await openRunRepository(run);
  const interrupt = onInterrupt();
  try {
    if (run.flags.archive !== undefined)
      await toArchive(run, source, id, run.flags.archive, interrupt.signal);
    else {
      const target = await openRunRepository(run, { location: run.backupDir, create: true });
      const reporter = createReporter(run.global);
      target.waitForLock(lockWaitOf(run, reporter, interrupt.signal));
      try {
        const summary = await copySnapshot({ source, target, id, signal: interrupt.signal });
        printResult(run.global, summary, formatCopy(summary));
      } finally {
        reporter.close();
        await target.close();
      }
    }
  } catch (error) {
    throw interrupt.explain(error, 'nothing was left half-written');
  } finally {
    interrupt.dispose();
    await source.close();
  }
}

async function toArchive(
  run: BackupRun,
  source: Repository,
  id: string,
  file: string,
  signal: AbortSignal,
): Promise<void> {
  if (file === '-') {
    // Standard output is never ended by the archive (the process does that).
    const output = new PassThrough();
    output.pipe(process.stdout, { end: false });
    const summary = await writeSnapshotArchive({ source, id, output, signal });
    if (!output.readableEnded) await finished(output);
    // The archive is the output: the summary goes to standard error.
    if (!run.global.quiet) process.stderr.write(formatArchive(summary, 'standard output') + '\n');
    return;
  }
  const partial = `${file}.partial`;
  const output = createWriteStream(partial, { flags: 'w' });
  try {
    const summary = await writeSnapshotArchive({ source, id, output, signal });
    if (!output.writableFinished) await finished(output);
    await rename(partial, file);
    printResult(run.global, { ...summary, archive: file }, formatArchive(summary, file));
  } catch (error) {
    output.destroy();
    await rm(partial, { force: true });
    throw fileError(error, { path: file, doing: 'write the archive', code: 'STORAGE' });
  }
}
