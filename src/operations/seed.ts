/**
 * `acx-data seed`: fills the three stores with a deterministic AutoCognitix dataset. Every generator is
 * a pure function of (seed, index), so records stream from the generator to the store in batches and
 * memory stays flat whatever the scale.
 */
import { AcxError } from '../errors.ts';
import type { ProgressReporter, StoreName } from '../progress.ts';
import { silentReporter } from '../progress.ts';
import type { LabelMap } from '../model/labels.ts';
import { AUTOCOGNITIX_COLLECTION } from '../model/qdrant-model.ts';
import type { SeedSource } from '../model/seed-source.ts';
import { planCounts, type SeedCounts } from '../seed/plan.ts';
import { SEED_TABLES } from '../seed/postgres-rows.ts';
import { NODE_SETS, RELATIONSHIP_SETS } from '../seed/graph.ts';
import { POINT_SETS } from '../seed/points.ts';
import { storesInOrder } from '../stores/registry.ts';
import { inventoryStores, type StoreInventory } from './inventory.ts';
import type { OpenStores } from './open-stores.ts';

export interface SeedOptions {
  scale: number;
  seed: number;
  /** Empty non-empty stores first instead of refusing. */
  force: boolean;
  labels: LabelMap;
  /** Only the application's empty schema (tables, constraints and indexes, the collection): no records. */
  schemaOnly?: boolean;
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
  stores: OpenStores,
  options: SeedOptions,
  reporter: ProgressReporter,
): Promise<void> {
  const nonEmpty: string[] = [];
  for (const store of storesInOrder(stores)) if (!(await store.isEmpty())) nonEmpty.push(store.name);
  if (nonEmpty.length > 0 && !options.force) {
    throw new AcxError('NOT_EMPTY', `refusing to seed: ${nonEmpty.join(', ')} already hold data`, {
      subject: nonEmpty.join(', '),
      hint: 'use --force to empty them first (this deletes their data)',
    });
  }
  for (const store of storesInOrder(stores)) {
    if (nonEmpty.includes(store.name))
      reporter.emit({ type: 'phase', store: store.name, message: 'emptying (--force)' });
    await store.empty();
  }
}

/** The generator's datasets for one (seed, scale): every record a pure function of its index. */
export function seedSource(
  options: Pick<SeedOptions, 'seed' | 'labels' | 'collection' | 'batchSize'>,
  counts: SeedCounts,
): SeedSource {
  const { seed } = options;
  return {
    labels: options.labels,
    collection: options.collection ?? AUTOCOGNITIX_COLLECTION,
    batchSize: options.batchSize,
    tables: SEED_TABLES.map((t) => ({
      table: t.table,
      columns: t.columns,
      total: t.count(counts),
      row: (i) => t.row(seed, i, counts),
    })),
    nodes: NODE_SETS.map((n) => ({
      kind: n.kind,
      total: n.count(counts),
      node: (i) => n.node(seed, i, counts),
    })),
    relationships: RELATIONSHIP_SETS.map((r) => ({
      type: r.type,
      from: r.from,
      to: r.to,
      total: r.count(counts),
      rels: (i) => r.rels(seed, i, counts),
    })),
    points: POINT_SETS.map((p) => ({
      type: p.type,
      total: p.count(counts),
      point: (i) => p.point(seed, i, counts),
    })),
  };
}

export async function seedStores(stores: OpenStores, options: SeedOptions): Promise<SeedSummary> {
  const reporter = options.reporter ?? silentReporter;
  const planned = planCounts(options.scale);
  const counts = options.schemaOnly ? zeroCounts(planned) : planned;
  await prepareStores(stores, options, reporter);
  const source = seedSource(options, counts);
  const seconds = { postgres: 0, neo4j: 0, qdrant: 0 };
  await Promise.all(
    storesInOrder(stores).map(async (store) => {
      const start = performance.now();
      if (options.schemaOnly) await store.applySchema(options.labels);
      else await store.seed(source, reporter);
      seconds[store.name] = (performance.now() - start) / 1000;
    }),
  );
  const inventory = await inventoryStores(
    stores,
    options.collection ?? AUTOCOGNITIX_COLLECTION,
    options.labels,
  );
  return { scale: options.scale, seed: options.seed, expected: counts, inventory, seconds };
}

/** The counts of a schema without records. */
function zeroCounts(counts: SeedCounts): SeedCounts {
  return Object.fromEntries(Object.keys(counts).map((name) => [name, 0])) as unknown as SeedCounts;
}
