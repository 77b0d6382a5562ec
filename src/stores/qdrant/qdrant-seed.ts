/** Writes generated points (`acx-data seed`) in upsert batches, one request in flight. */
import type { SeedSource } from '../../model/seed-source.ts';
import type { ProgressReporter } from '../../progress.ts';
import type { QdrantClient, QdrantPoint } from './qdrant-client.ts';
import { applyQdrantSchema } from './qdrant-schema.ts';

const BATCH = 256;

export async function seedQdrant(
  client: QdrantClient,
  source: SeedSource,
  reporter: ProgressReporter,
): Promise<void> {
  const { collection } = source;
  reporter.emit({ type: 'phase', store: 'qdrant', message: `creating collection ${collection}` });
  await applyQdrantSchema(client, collection);
  for (const set of source.points) {
    const { total } = set;
    const dataset = `${collection}:${set.type}`;
    const start = performance.now();
    reporter.emit({ type: 'dataset-start', store: 'qdrant', dataset, total });
    let batch: QdrantPoint[] = [];
    let pending: Promise<void> | undefined;
    for (let i = 0; i < total; i++) {
      batch.push(set.point(i));
      if (batch.length >= BATCH || i === total - 1) {
        // One request in flight while the next batch is generated.
        await pending;
        pending = client.upsert(collection, batch);
        batch = [];
        reporter.emit({ type: 'dataset-progress', store: 'qdrant', dataset, done: i + 1, total });
      }
    }
    await pending;
    const seconds = (performance.now() - start) / 1000;
    reporter.emit({ type: 'dataset-done', store: 'qdrant', dataset, records: total, seconds });
  }
}
