import type pg from 'pg';
import { readConnectionSettings, requirePostgresSettings } from '../config/env.ts';
import type { StoreName } from '../progress.ts';
import { openPostgres } from '../stores/postgres/postgres-connection.ts';
import { openNeo4j, type Neo4jConnection } from '../stores/neo4j/neo4j-connection.ts';
import { QdrantClient } from '../stores/qdrant/qdrant-client.ts';

export interface OpenStores {
  postgres: pg.Pool;
  neo4j: Neo4jConnection;
  qdrant: QdrantClient;
  close(): Promise<void>;
}

export type SomeStores = Partial<Omit<OpenStores, 'close'>> & { close(): Promise<void> };

/**
 * Connects to the named stores from the guide's environment variables and checks each connection;
 * if one fails, the others are closed and the error names the store.
 */
export async function openStores(
  env: Record<string, string | undefined>,
  names: readonly StoreName[],
): Promise<SomeStores> {
  const settings = readConnectionSettings(env);
  const opened: SomeStores = {
    close: async () => {
      await Promise.allSettled([opened.postgres?.end(), opened.neo4j?.driver.close()]);
    },
  };
  try {
    if (names.includes('postgres')) opened.postgres = await openPostgres(requirePostgresSettings(env));
    if (names.includes('neo4j')) opened.neo4j = await openNeo4j(settings.neo4j);
    if (names.includes('qdrant')) {
      const qdrant = new QdrantClient(settings.qdrant);
      await qdrant.version();
      opened.qdrant = qdrant;
    }
    return opened;
  } catch (error) {
    await opened.close();
    throw error;
  }
}

/** Connects to all three stores; fails before touching any. */
export async function openAllStores(
  env: Record<string, string | undefined> = process.env,
): Promise<OpenStores> {
  const stores = await openStores(env, ['postgres', 'neo4j', 'qdrant']);
  return stores as OpenStores;
}
