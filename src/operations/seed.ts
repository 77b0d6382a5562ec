/**
 * `acx-data seed`: fills the three stores with a deterministic AutoCognitix dataset. Every generator is
 * a pure function of (seed, index), so records stream from the generator to the store in batches and
 * memory stays flat whatever the scale.
 */
import type pg from 'pg';
import { AcxError } from '../errors.ts';
import type { ProgressReporter, StoreName } from '../progress.ts';
import { silentReporter } from '../progress.ts';
import { NODE_KEYS, type LabelMap } from '../model/labels.ts';
import { AUTOCOGNITIX_COLLECTION } from '../model/qdrant-model.ts';
import { planCounts, type SeedCounts } from '../seed/plan.ts';
import { SEED_TABLES } from '../seed/postgres-rows.ts';
import { NODE_SETS, RELATIONSHIP_SETS } from '../seed/graph.ts';
import { POINT_SETS } from '../seed/points.ts';
import {
  applyPostgresSchema,
  emptyPostgres,
  isPostgresEmpty,
  jsonColumnsOf,
  resetOwnedSequences,
} from '../stores/postgres/postgres-schema.ts';
import { copyRowsIn } from '../stores/postgres/postgres-copy.ts';
import { cypherName, type Neo4jConnection } from '../stores/neo4j/neo4j-connection.ts';
import { applyNeo4jSchema, emptyNeo4j, isNeo4jEmpty } from '../stores/neo4j/neo4j-schema.ts';
import type { QdrantClient } from '../stores/qdrant/qdrant-client.ts';
import { applyQdrantSchema, emptyQdrant, isQdrantEmpty } from '../stores/qdrant/qdrant-schema.ts';
import { inventoryStores, type StoreInventory } from './inventory.ts';

export interface SeedTargets {
  postgres: pg.Pool;
  neo4j: Neo4jConnection;
  qdrant: QdrantClient;
}

export interface SeedOptions {
  scale: number;
  seed: number;
  /** Empty non-empty stores first instead of refusing. */
  force: boolean;
  labels: LabelMap;
  collection?: string;
  batchSize?: number;
  reporter?: ProgressReporter;
}

export interface SeedSummary {
  scale: number;
  seed: number;
  expected: SeedCounts;
  inventory: StoreInventory;
  seconds: Record<StoreName, number>;
}

async function prepareStores(
  targets: SeedTargets,
  options: SeedOptions,
  reporter: ProgressReporter,
): Promise<void> {
  const nonEmpty: string[] = [];
  if (!(await isPostgresEmpty(targets.postgres))) nonEmpty.push('postgres');
  if (!(await isNeo4jEmpty(targets.neo4j))) nonEmpty.push('neo4j');
  if (!(await isQdrantEmpty(targets.qdrant))) nonEmpty.push('qdrant');
  if (nonEmpty.length > 0 && !options.force) {
    throw new AcxError('NOT_EMPTY', `refusing to seed: ${nonEmpty.join(', ')} already hold data`, {
      subject: nonEmpty.join(', '),
      hint: 'use --force to empty them first (this deletes their data)',
    });
  }
  if (nonEmpty.includes('postgres'))
    reporter.emit({ type: 'phase', store: 'postgres', message: 'emptying (--force)' });
  await emptyPostgres(targets.postgres);
  if (nonEmpty.includes('neo4j'))
    reporter.emit({ type: 'phase', store: 'neo4j', message: 'emptying (--force)' });
  await emptyNeo4j(targets.neo4j);
  if (nonEmpty.includes('qdrant'))
    reporter.emit({ type: 'phase', store: 'qdrant', message: 'emptying (--force)' });
  await emptyQdrant(targets.qdrant);
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

export async function seedStores(targets: SeedTargets, options: SeedOptions): Promise<SeedSummary> {
  const reporter = options.reporter ?? silentReporter;
  const counts = planCounts(options.scale);
  await prepareStores(targets, options, reporter);
  const [postgres, neo4j, qdrant] = await Promise.all([
    timed(() => seedPostgres(targets.postgres, options.seed, counts, reporter)),
    timed(() => seedNeo4j(targets.neo4j, options, counts, reporter)),
    timed(() => seedQdrant(targets.qdrant, options, counts, reporter)),
  ]);
  const inventory = await inventoryStores(
    targets,
    options.collection ?? AUTOCOGNITIX_COLLECTION,
    options.labels,
  );
  return {
    scale: options.scale,
    seed: options.seed,
    expected: counts,
    inventory,
    seconds: { postgres, neo4j, qdrant },
  };
}

async function seedPostgres(
  pool: pg.Pool,
  seed: number,
  counts: SeedCounts,
  reporter: ProgressReporter,
): Promise<void> {
  reporter.emit({ type: 'phase', store: 'postgres', message: 'creating schema' });
  await applyPostgresSchema(pool);
  const client = await pool.connect();
  try {
    for (const table of SEED_TABLES) {
      const total = table.count(counts);
      const start = performance.now();
      reporter.emit({ type: 'dataset-start', store: 'postgres', dataset: table.table, total });
      const jsonColumns = await jsonColumnsOf(pool, table.table);
      function* rows(): Generator<unknown[]> {
        for (let i = 0; i < total; i++) {
          yield table.row(seed, i, counts);
          if (i % 20_000 === 19_999)
            reporter.emit({
              type: 'dataset-progress',
              store: 'postgres',
              dataset: table.table,
              done: i + 1,
              total,
            });
        }
      }
      await client.query('BEGIN');
      const written = await copyRowsIn(
        client,
        { table: table.table, columns: table.columns, jsonColumns },
        rows(),
      );
      await client.query('COMMIT');
      reporter.emit({
        type: 'dataset-done',
        store: 'postgres',
        dataset: table.table,
        records: written,
        seconds: (performance.now() - start) / 1000,
      });
    }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  await resetOwnedSequences(pool);
  await pool.query('ANALYZE');
}

async function seedNeo4j(
  connection: Neo4jConnection,
  options: SeedOptions,
  counts: SeedCounts,
  reporter: ProgressReporter,
): Promise<void> {
  const { labels, seed } = options;
  const batchSize = options.batchSize ?? 2000;
  const write = (query: string, rows: unknown[]) =>
    connection.driver.executeQuery(query, { rows }, { database: connection.database });
  reporter.emit({ type: 'phase', store: 'neo4j', message: 'creating constraints and indexes' });
  await applyNeo4jSchema(connection, labels);
  for (const set of NODE_SETS) {
    const label = labels.label(set.kind);
    const total = set.count(counts);
    const start = performance.now();
    reporter.emit({ type: 'dataset-start', store: 'neo4j', dataset: label, total });
    const query = `UNWIND $rows AS props CREATE (n:${cypherName(label)}) SET n = props`;
    let batch: unknown[] = [];
    let written = 0;
    for (let i = 0; i < total; i++) {
      const node = set.node(seed, i, counts);
      if (node) batch.push(node);
      if (batch.length >= batchSize || (i === total - 1 && batch.length > 0)) {
        await write(query, batch);
        written += batch.length;
        batch = [];
        reporter.emit({ type: 'dataset-progress', store: 'neo4j', dataset: label, done: i + 1, total });
      }
    }
    reporter.emit({
      type: 'dataset-done',
      store: 'neo4j',
      dataset: label,
      records: written,
      seconds: (performance.now() - start) / 1000,
    });
  }
  for (const set of RELATIONSHIP_SETS) {
    const total = set.count(counts);
    const start = performance.now();
    reporter.emit({ type: 'dataset-start', store: 'neo4j', dataset: set.type, total });
    const query =
      `UNWIND $rows AS row MATCH (a:${cypherName(labels.label(set.from))} {${cypherName(NODE_KEYS[set.from])}: row.s}) ` +
      `MATCH (b:${cypherName(labels.label(set.to))} {${cypherName(NODE_KEYS[set.to])}: row.e}) ` +
      `CREATE (a)-[r:${cypherName(set.type)}]->(b) SET r = row.p`;
    let batch: unknown[] = [];
    let written = 0;
    for (let i = 0; i < total; i++) {
      for (const rel of set.rels(seed, i, counts)) batch.push({ s: rel.start, e: rel.end, p: rel.props });
      if (batch.length >= batchSize || (i === total - 1 && batch.length > 0)) {
        const result = await write(query, batch);
        written += result.summary.counters.updates().relationshipsCreated;
        batch = [];
        reporter.emit({ type: 'dataset-progress', store: 'neo4j', dataset: set.type, done: i + 1, total });
      }
    }
    reporter.emit({
      type: 'dataset-done',
      store: 'neo4j',
      dataset: set.type,
      records: written,
      seconds: (performance.now() - start) / 1000,
    });
  }
}

async function seedQdrant(
  client: QdrantClient,
  options: SeedOptions,
  counts: SeedCounts,
  reporter: ProgressReporter,
): Promise<void> {
  const collection = options.collection ?? AUTOCOGNITIX_COLLECTION;
  reporter.emit({ type: 'phase', store: 'qdrant', message: `creating collection ${collection}` });
  await applyQdrantSchema(client, collection);
  const batchSize = 256;
  for (const set of POINT_SETS) {
    const total = set.count(counts);
    const start = performance.now();
    reporter.emit({ type: 'dataset-start', store: 'qdrant', dataset: `${collection}:${set.type}`, total });
    let batch: ReturnType<typeof set.point>[] = [];
    let pending: Promise<void> | undefined;
    for (let i = 0; i < total; i++) {
      batch.push(set.point(options.seed, i, counts));
      if (batch.length >= batchSize || i === total - 1) {
        // One request in flight while the next batch is generated.
        await pending;
        pending = client.upsert(collection, batch);
        batch = [];
        reporter.emit({
          type: 'dataset-progress',
          store: 'qdrant',
          dataset: `${collection}:${set.type}`,
          done: i + 1,
          total,
        });
      }
    }
    await pending;
    reporter.emit({
      type: 'dataset-done',
      store: 'qdrant',
      dataset: `${collection}:${set.type}`,
      records: total,
      seconds: (performance.now() - start) / 1000,
    });
  }
}
