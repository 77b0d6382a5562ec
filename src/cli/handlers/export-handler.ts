/**
 * `acx-data export`: opens the stores the chosen formats read, writes the export, prints its summary
 * whatever the outcome, then exits by it (a format that failed: INCOMPLETE, see docs/json-output.md).
 */
import { resolve } from 'node:path';
import { databaseIdentity, readStateDir } from '../../config/state.ts';
import type { StoreName } from '../../progress.ts';
import { labelMap } from '../../model/labels.ts';
import {
  EXPORT_FORMATS,
  FORMAT_STORES,
  exportData,
  type ExportFormat,
  type ExportSummary,
} from '../../operations/export.ts';
import { openStores } from '../../operations/open-stores.ts';
import type { ExportRun } from '../commands/export-command.ts';
import { onInterrupt } from '../interrupt.ts';
import { formatExport } from '../output/export-text.ts';
import { printResult } from '../output/global-options.ts';
import { errorForOutcome } from '../output/outcome-exit.ts';
import { createReporter } from '../output/reporters.ts';
import { checkFolderOption } from '../path-checks.ts';
import { openRunStores } from './run-stores.ts';

export async function handleExport({ flags, global, filter }: ExportRun): Promise<void> {
  const named = EXPORT_FORMATS.filter((f) => flags[f]);
  const formats: ExportFormat[] = flags.all || named.length === 0 ? [...EXPORT_FORMATS] : named;
  const needed = new Set<StoreName>(formats.flatMap((f) => FORMAT_STORES[f]));
  if (Object.keys(filter).length > 0) needed.add('postgres');
  // The output folder first: a file there is reported before any connection.
  await checkFolderOption('--output-dir', flags.outputDir);
  const reporter = createReporter(global);
  const stores = await openRunStores(reporter, (options) => openStores(process.env, [...needed], options));
  const interrupt = onInterrupt();
  let summary: ExportSummary;
  try {
    summary = await exportData({
      formats,
      outputDir: resolve(flags.outputDir),
      filter,
      includePii: flags.includePii,
      includeDeleted: flags.includeDeleted,
      labels: labelMap(flags.labelScheme),
      stores,
      reporter,
      signal: interrupt.signal,
      journal: { stateDir: readStateDir(process.env), databases: databaseIdentity(process.env) },
    });
  } catch (error) {
    throw interrupt.explain(error, 'the unfinished export folder was removed');
  } finally {
    reporter.close();
    interrupt.dispose();
    await stores.close();
  }
  printResult(global, summary, formatExport(summary));
  const failed = summary.failures.map((f) => f.item);
  const error = errorForOutcome(summary, `export ${summary.id} finished without ${failed.join(', ')}`, {
    subject: summary.dir,
  });
  if (error) throw error;
}
