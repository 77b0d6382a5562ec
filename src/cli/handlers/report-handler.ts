/**
 * `acx-data report --html FILE`: opens the repository as `backup --list` does (a folder or bucket that
 * holds nothing yet is a repository without snapshots), reads the sync report, builds the model,
 * renders the page and writes it atomically. Prints the path, the number of snapshots and the bytes.
 */
import { collectReport } from '../../report/report-model.ts';
import { renderReport } from '../../report/report-html.ts';
import { writeFileAtomically } from '../../files.ts';
import { readSyncReport } from '../../operations/sync/sync-report-file.ts';
import { TOOL } from '../../operations/tool.ts';
import { printableLocation } from '../../storage/registry.ts';
import type { ReportRun } from '../commands/report-command.ts';
import { printResult } from '../output/global-options.ts';
import { openIfAny } from './backup/open-repository.ts';

export interface ReportSummary {
  path: string;
  snapshots: number;
  bytes: number;
}

export async function handleReport(run: ReportRun): Promise<void> {
  // Read before the repository is opened: a missing --sync-report is refused at once.
  const sync = run.syncReport === undefined ? undefined : await readSyncReport(run.syncReport);
  const repository = await openIfAny(run.repository, run.cloud);
  let model;
  try {
    model = await collectReport(repository, {
      title: run.title,
      repository: repository?.location ?? printableLocation(run.repository),
      tool: TOOL,
      ...(sync && { sync }),
    });
  } finally {
    await repository?.close();
  }
  const bytes = await writeFileAtomically(run.html, renderReport(model), {
    doing: 'write the report',
    createFolder: true,
  });
  const summary: ReportSummary = { path: run.html, snapshots: model.snapshots.length, bytes };
  printResult(
    run.global,
    summary,
    `report: ${summary.path} (${summary.snapshots} snapshot${summary.snapshots === 1 ? '' : 's'}, ${bytes} bytes)`,
  );
}
