import type pg from 'pg';
import { labelMap, type LabelScheme } from '../../src/model/labels.ts';
import { openAllStores, type OpenStores } from '../../src/operations/open-stores.ts';
import { seedStores, type SeedSummary } from '../../src/operations/seed.ts';
import { fingerprintStores } from '../../src/operations/fingerprint.ts';
import type { Fingerprint } from '../../src/model/content-hash.ts';
import type { Neo4jConnection } from '../../src/stores/neo4j/neo4j-connection.ts';
import type { QdrantClient } from '../../src/stores/qdrant/qdrant-client.ts';

/**
 * The three stores as tests use them: each store's own SDK handle, to look at content directly, and
 * `set`, the Store facades that operations take.
 */
export interface TestStores {
  postgres: pg.Pool;
  neo4j: Neo4jConnection;
  qdrant: QdrantClient;
  set: OpenStores;
  close(): Promise<void>;
}

export function connectionsOf(set: OpenStores): TestStores {
  return {
    postgres: set.postgres.pool,
    neo4j: set.neo4j.connection,
    qdrant: set.qdrant.client,
    set,
    close: () => set.close(),
  };
}

export async function openTestStores(): Promise<TestStores> {
  return connectionsOf(await openAllStores(process.env));
}

export function seed(
  stores: TestStores,
  scale: number,
  seedValue: number,
  scheme: LabelScheme = 'production',
): Promise<SeedSummary> {
  return seedStores(stores.set, { scale, seed: seedValue, force: true, labels: labelMap(scheme) });
}

export function fingerprint(stores: TestStores, scheme: LabelScheme = 'production'): Promise<Fingerprint> {
  return fingerprintStores(stores.set, labelMap(scheme));
}

/** Empties all three stores (tables, graph and schema, collections). */
export async function emptyAll(stores: TestStores): Promise<void> {
  await Promise.all([stores.set.postgres.empty(), stores.set.neo4j.empty(), stores.set.qdrant.empty()]);
}

/** Empties all three stores and creates the application's empty schema again (what an import targets). */
export async function emptySchemas(stores: TestStores, scheme: LabelScheme = 'production'): Promise<void> {
  await emptyAll(stores);
  for (const store of [stores.set.postgres, stores.set.neo4j, stores.set.qdrant])
    await store.applySchema(labelMap(scheme));
}
