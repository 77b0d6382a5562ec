import { rm } from 'node:fs/promises';
import type pg from 'pg';
import { labelMap, type LabelScheme } from '../../src/model/labels.ts';
import { openAllStores, type OpenStores } from '../../src/operations/open-stores.ts';
import { seedStores, type SeedSummary } from '../../src/operations/seed.ts';
import { fingerprintStores } from '../../src/operations/fingerprint.ts';
import type { Fingerprint } from '../../src/model/content-hash.ts';
import type { Neo4jConnection } from '../../src/stores/neo4j/neo4j-connection.ts';
import type { QdrantClient } from '../../src/stores/qdrant/qdrant-client.ts';
import { STORE_NAMES, type StoreName } from '../../src/progress.ts';

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

/**
 * Opens the stores and seeds them (see `seed`), with the fingerprint of that content: what a round trip
 * must give back.
 */
export async function openSeeded(
  scale: number,
  seedValue: number,
): Promise<{ stores: TestStores; original: Fingerprint }> {
  const stores = await openTestStores();
  await seed(stores, scale, seedValue);
  return { stores, original: await fingerprint(stores) };
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

/**
 * Empties the named stores (all three by default) and creates the application's empty schema in them
 * again (what an import targets).
 */
export async function emptySchemas(
  stores: TestStores,
  scheme: LabelScheme = 'production',
  names: readonly StoreName[] = STORE_NAMES,
): Promise<void> {
  await Promise.all(names.map((name) => stores.set[name].empty()));
  for (const name of names) await stores.set[name].applySchema(labelMap(scheme));
}

/** The part of a fingerprint that covers the named stores (the keys that start with `<store>/`). */
export function partOf(fp: Fingerprint, ...names: StoreName[]): Fingerprint {
  return Object.fromEntries(
    Object.entries(fp).filter(([key]) => names.some((name) => key.startsWith(`${name}/`))),
  );
}

/**
 * Keeps the accounts (`users`) the stores hold now, and returns what puts the named stores (all three by
 * default) in the state an import into a running application finds: the application's empty schema,
 * with those accounts. Exports hold no password hashes, so an import never writes accounts.
 */
export async function keepAccounts(
  stores: TestStores,
  names: readonly StoreName[] = STORE_NAMES,
): Promise<() => Promise<void>> {
  const { rows } = await stores.postgres.query<{ j: string }>(
    'SELECT row_to_json(u)::text AS j FROM users u',
  );
  return async () => {
    await emptySchemas(stores, 'production', names);
    for (const { j } of rows)
      await stores.postgres.query(
        'INSERT INTO users SELECT * FROM json_populate_record(null::users, $1::json)',
        [j],
      );
  };
}

/** For `afterAll`: closes the stores and removes the test's folder (either may be missing). */
export async function closeAndRemove(
  stores: TestStores | undefined,
  work: string | undefined,
): Promise<void> {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
}
