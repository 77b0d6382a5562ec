/** Writes generated nodes and relationships (`acx-data seed`) in `UNWIND` batches. */
import { NODE_KEYS } from '../../model/labels.ts';
import type { SeedSource } from '../../model/seed-source.ts';
import type { ProgressReporter } from '../../progress.ts';
import { cypherName, type Neo4jConnection } from './neo4j-connection.ts';
import { applyNeo4jSchema } from './neo4j-schema.ts';

const DEFAULT_BATCH = 2000;

/**
 * Walks indexes 0…total-1, collecting what `itemsAt(i)` gives into batches of `batchSize`, and writes
 * each batch (the last one too); returns what `write` counted.
 */
async function writeInBatches<T>(
  total: number,
  batchSize: number,
  itemsAt: (i: number) => T[],
  write: (batch: T[]) => Promise<number>,
  progress: (done: number) => void,
): Promise<number> {
  let batch: T[] = [];
  let written = 0;
  for (let i = 0; i < total; i++) {
    batch.push(...itemsAt(i));
    if (batch.length >= batchSize || (i === total - 1 && batch.length > 0)) {
      written += await write(batch);
      batch = [];
      progress(i + 1);
    }
  }
  return written;
}

export async function seedNeo4j(
  connection: Neo4jConnection,
  source: SeedSource,
  reporter: ProgressReporter,
): Promise<void> {
  const { labels } = source;
  const batchSize = source.batchSize ?? DEFAULT_BATCH;
  const run = (query: string, rows: unknown[]) =>
    connection.driver.executeQuery(query, { rows }, { database: connection.database });
  reporter.emit({ type: 'phase', store: 'neo4j', message: 'creating constraints and indexes' });
  await applyNeo4jSchema(connection, labels);
  const load = async <T>(
    dataset: string,
    total: number,
    itemsAt: (i: number) => T[],
    write: (batch: T[]) => Promise<number>,
  ) => {
    const start = performance.now();
    reporter.emit({ type: 'dataset-start', store: 'neo4j', dataset, total });
    const records = await writeInBatches(total, batchSize, itemsAt, write, (done) =>
      reporter.emit({ type: 'dataset-progress', store: 'neo4j', dataset, done, total }),
    );
    const seconds = (performance.now() - start) / 1000;
    reporter.emit({ type: 'dataset-done', store: 'neo4j', dataset, records, seconds });
  };
  for (const set of source.nodes) {
    const label = labels.label(set.kind);
    const query = `UNWIND $rows AS props CREATE (n:${cypherName(label)}) SET n = props`;
    await load(
      label,
      set.total,
      (i) => {
        const node = set.node(i);
        return node ? [node] : [];
      },
      async (batch) => {
        await run(query, batch);
        return batch.length;
      },
    );
  }
  for (const set of source.relationships) {
    const query =
      `UNWIND $rows AS row MATCH (a:${cypherName(labels.label(set.from))} {${cypherName(NODE_KEYS[set.from])}: row.s}) ` +
      `MATCH (b:${cypherName(labels.label(set.to))} {${cypherName(NODE_KEYS[set.to])}: row.e}) ` +
      `CREATE (a)-[r:${cypherName(set.type)}]->(b) SET r = row.p`;
    await load(
      set.type,
      set.total,
      (i) => set.rels(i).map((rel) => ({ s: rel.start, e: rel.end, p: rel.props })),
      async (batch) => (await run(query, batch)).summary.counters.updates().relationshipsCreated,
    );
  }
}
