/**
 * `acx-data import`: reads the inputs into the stores (each connected to only when an input holds data
 * for it), prints the summary, then exits by the invalid records: INCOMPLETE when the valid ones were
 * written without them, INVALID_INPUT when nothing was written because of them.
 */
import { databaseIdentity, readStateDir } from '../../config/state.ts';
import { AcxError } from '../../errors.ts';
import { labelMap } from '../../model/labels.ts';
import { importData, type ImportStores, type ImportSummary } from '../../operations/import.ts';
import { openStores, type SomeStores } from '../../operations/open-stores.ts';
import type { ProgressReporter, StoreName } from '../../progress.ts';
import type { ImportRun } from '../commands/import-command.ts';
import { onInterrupt } from '../interrupt.ts';
import { printResult } from '../output/global-options.ts';
import { formatImport } from '../output/import-text.ts';
import { checkStateDir } from '../path-checks.ts';
import { createReporter } from '../output/reporters.ts';

/** Stores opened on first use, each once; `close()` closes the ones that were opened. */
function storesOnDemand(reporter: ProgressReporter): { stores: ImportStores; close(): Promise<void> } {
  const connections = new Map<StoreName, Promise<SomeStores>>();
  const get = (name: StoreName): Promise<SomeStores> => {
    const known = connections.get(name);
    if (known) return known;
    const opening = openStores(process.env, [name], { reporter });
    connections.set(name, opening);
    return opening;
  };
  return {
    stores: {
      postgres: async () => (await get('postgres')).postgres!,
      neo4j: async () => (await get('neo4j')).neo4j!,
      qdrant: async () => (await get('qdrant')).qdrant!,
    },
    close: async () => {
      await Promise.allSettled([...connections.values()].map(async (opening) => (await opening).close()));
    },
  };
}

/** The error an import with invalid records ends with (undefined when every record was valid). */
function rejectionError({ flags, mode }: ImportRun, summary: ImportSummary): AcxError | undefined {
  if (summary.rejectionsTotal === 0) return undefined;
  const where = summary.rejections[0];
  const first = where ? ` (first: ${where.file}:${where.line}: ${where.reason})` : '';
  if (summary.outcome === 'written' || (mode === 'dry-run' && flags.skipInvalid))
    return new AcxError('INCOMPLETE', `${summary.rejectionsTotal} invalid records were not imported${first}`);
  return new AcxError(
    'INVALID_INPUT',
    `${summary.rejectionsTotal} invalid records${summary.outcome === 'refused' ? '; nothing was written' : ''}${first}`,
    {
      hint:
        summary.outcome === 'refused'
          ? 'fix them, or import the valid records with --skip-invalid'
          : undefined,
    },
  );
}

export async function handleImport(run: ImportRun): Promise<void> {
  const { flags, global } = run;
  // The journals' folder, checked before any input is read or store opened (only a writing import keeps one).
  if (run.mode === 'import') await checkStateDir();
  const reporter = createReporter(global);
  const connections = storesOnDemand(reporter);
  const interrupt = onInterrupt();
  try {
    const summary = await importData({
      inputs: run.inputs,
      stores: connections.stores,
      strategy: flags.onConflict,
      mode: run.mode,
      skipInvalid: flags.skipInvalid,
      batchSize: run.batchSize,
      labels: labelMap(flags.labelScheme),
      reporter,
      signal: interrupt.signal,
      journal: { stateDir: readStateDir(process.env), databases: databaseIdentity(process.env) },
    });
    reporter.close();
    printResult(global, summary, formatImport(summary));
    const error = rejectionError(run, summary);
    if (error) throw error;
  } catch (error) {
    throw interrupt.explain(error, 'the import was rolled back; nothing was written');
  } finally {
    reporter.close();
    interrupt.dispose();
    await connections.close();
  }
}
