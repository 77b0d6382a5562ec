/**
 * Integration tests need the real stores. When one is down the whole run fails here with a clear
 * message: a skipped service test would hide a missing service.
 */
import { stackEnv } from '../../scripts/stack/stack.ts';
import { openAllStores } from '../../src/operations/open-stores.ts';

export default async function requireStack(): Promise<void> {
  const env = {
    ...stackEnv(),
    ...Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined && v !== '')),
  };
  try {
    const stores = await openAllStores(env);
    await stores.close();
  } catch (error) {
    throw new Error(
      `integration tests need PostgreSQL, Neo4j and Qdrant: ${(error as Error).message}\n` +
        'Start the local stack with `npm run stack:up` (or point DATABASE_URL, NEO4J_*, QDRANT_URL at running stores).',
    );
  }
}
