/**
 * The start and end of one dataset of a backup or restore, as progress events: every store reports
 * its tables, node and relationship files, collections' points and schema files the same way.
 */
import type { ProgressReporter, StoreName } from '../progress.ts';

/**
 * Emits `dataset-start` (with `total` when known), runs `work`, then emits `dataset-done` with the
 * records `work` returns and the seconds it took, and returns those records. When `work` throws, no
 * `dataset-done` is emitted and the error passes through unchanged.
 */
export async function reportDataset(
  reporter: ProgressReporter,
  store: StoreName,
  dataset: string,
  total: number | undefined,
  work: () => Promise<number>,
): Promise<number> {
  const started = performance.now();
  reporter.emit({ type: 'dataset-start', store, dataset, ...(total === undefined ? {} : { total }) });
  const records = await work();
  reporter.emit({
    type: 'dataset-done',
    store,
    dataset,
    records,
    seconds: (performance.now() - started) / 1000,
  });
  return records;
}
