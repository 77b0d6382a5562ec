/**
 * Streaming a dataset in key order, one `--batch-size` page at a time (nothing holds a whole table,
 * graph or collection), checking the run's abort signal between pages.
 */
import { throwIfAborted } from '../../model/abort.ts';
import type { RecordDataset, Store } from '../../stores/store.ts';

export const datasetName = (dataset: RecordDataset): string =>
  dataset.store === 'postgres'
    ? dataset.table
    : dataset.store === 'neo4j'
      ? dataset.label
      : dataset.collection;

export async function* pages(
  store: Store,
  dataset: RecordDataset,
  batchSize: number,
  signal?: AbortSignal,
): AsyncGenerator<Record<string, unknown>[]> {
  let cursor: string | null = null;
  do {
    throwIfAborted(signal, 'sync', datasetName(dataset));
    const page = await store.scanByKey(dataset, cursor, batchSize);
    if (page.records.length > 0) yield page.records;
    cursor = page.cursor;
  } while (cursor !== null);
}
