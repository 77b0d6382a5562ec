import { labelMap, type LabelScheme } from '../../src/model/labels.ts';
import { openAllStores, type OpenStores } from '../../src/operations/open-stores.ts';
import { seedStores, type SeedSummary } from '../../src/operations/seed.ts';
import { fingerprintStores } from '../../src/operations/fingerprint.ts';
import type { Fingerprint } from '../../src/model/content-hash.ts';
import { applyPostgresSchema, emptyPostgres } from '../../src/stores/postgres/postgres-schema.ts';
import { applyNeo4jSchema, emptyNeo4j } from '../../src/stores/neo4j/neo4j-schema.ts';
import { applyQdrantSchema, emptyQdrant } from '../../src/stores/qdrant/qdrant-schema.ts';

export function openTestStores(): Promise<OpenStores> {
  return openAllStores(process.env);
}

export function seed(
  stores: OpenStores,
  scale: number,
  seedValue: number,
  scheme: LabelScheme = 'production',
): Promise<SeedSummary> {
  return seedStores(stores, { scale, seed: seedValue, force: true, labels: labelMap(scheme) });
}

export function fingerprint(stores: OpenStores, scheme: LabelScheme = 'production'): Promise<Fingerprint> {
  return fingerprintStores(stores, labelMap(scheme));
}

/** Empties all three stores (tables, graph and schema, collections). */
export async function emptyAll(stores: OpenStores): Promise<void> {
  await Promise.all([emptyPostgres(stores.postgres), emptyNeo4j(stores.neo4j), emptyQdrant(stores.qdrant)]);
}

/** Empties all three stores and creates the application's empty schema again (what an import targets). */
export async function emptySchemas(stores: OpenStores, scheme: LabelScheme = 'production'): Promise<void> {
  await emptyAll(stores);
  await applyPostgresSchema(stores.postgres);
  await applyNeo4jSchema(stores.neo4j, labelMap(scheme));
  await applyQdrantSchema(stores.qdrant);
}
