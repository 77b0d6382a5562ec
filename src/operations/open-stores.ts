import type pg from 'pg';
import { readConnectionSettings, requirePostgresSettings } from '../config/env.ts';
import { openPostgres } from '../stores/postgres/postgres-connection.ts';
import { openNeo4j, type Neo4jConnection } from '../stores/neo4j/neo4j-connection.ts';
import { QdrantClient } from '../stores/qdrant/qdrant-client.ts';

export interface OpenStores {
  postgres: pg.Pool;
  neo4j: Neo4jConnection;
  qdrant: QdrantClient;
  close(): Promise<void>;
}

/** Connects to all three stores from the guide's environment variables; fails before touching any. */
export async function openAllStores(
  env: Record<string, string | undefined> = process.env,
): Promise<OpenStores> {
  const settings = readConnectionSettings(env);
  const postgres = await openPostgres(requirePostgresSettings(env));
  let neo4j: Neo4jConnection | undefined;
  try {
    neo4j = await openNeo4j(settings.neo4j);
    const qdrant = new QdrantClient(settings.qdrant);
    await qdrant.version();
    const opened = neo4j;
    return {
      postgres,
      neo4j: opened,
      qdrant,
      close: async () => {
        await Promise.allSettled([postgres.end(), opened.driver.close()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([postgres.end(), neo4j?.driver.close()]);
    throw error;
  }
}
