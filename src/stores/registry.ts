/**
 * The only place that lists the stores (restic's location registry): opening one by name, and the
 * order every operation goes through them in. PostgreSQL comes first: its exported snapshot is the
 * consistency point of a backup, and it evaluates export filters the others follow.
 */
import { requireNeo4jSettings, requirePostgresSettings, requireQdrantSettings } from '../config/env.ts';
import { STORE_NAMES, type ProgressReporter, type StoreName } from '../progress.ts';
import { Neo4jStore } from './neo4j/neo4j-store.ts';
import { PostgresStore } from './postgres/postgres-store.ts';
import { QdrantStore } from './qdrant/qdrant-store.ts';
import type { Store } from './store.ts';

type Env = Record<string, string | undefined>;

/** What an opened store may report while it works (retries of transient faults). */
export interface OpenOptions {
  reporter?: ProgressReporter;
}

/** Each store's opener: reads its settings from the guide's environment variables and connects. */
export const STORE_DRIVERS = {
  postgres: (env: Env) => PostgresStore.open(requirePostgresSettings(env)),
  neo4j: (env: Env, options: OpenOptions) => Neo4jStore.open(requireNeo4jSettings(env), options.reporter),
  qdrant: (env: Env, options: OpenOptions) => QdrantStore.open(requireQdrantSettings(env), options.reporter),
} as const satisfies Record<StoreName, (env: Env, options: OpenOptions) => Promise<Store>>;

const STORE_SETTINGS = {
  postgres: requirePostgresSettings,
  neo4j: requireNeo4jSettings,
  qdrant: requireQdrantSettings,
} as const satisfies Record<StoreName, (env: Env) => unknown>;

/** The concrete store of each name (tests reach the SDK handle through it). */
export interface StoreByName {
  postgres: PostgresStore;
  neo4j: Neo4jStore;
  qdrant: QdrantStore;
}

/** Open stores by name; `close()` closes every one. */
export type StoreSet = Partial<StoreByName> & { close(): Promise<void> };

/** Stores in the order operations visit them. */
export function storesInOrder(set: Partial<Record<StoreName, Store>>): Store[] {
  return STORE_NAMES.flatMap((name) => (set[name] ? [set[name]] : []));
}

/**
 * Connects to the named stores (in registry order) and checks each connection; if one fails, the
 * ones already open are closed and the error names the store.
 */
export async function openStoreSet(
  env: Env,
  names: readonly StoreName[],
  options: OpenOptions = {},
): Promise<StoreSet> {
  const set: StoreSet = {
    close: async () => {
      await Promise.allSettled(storesInOrder(set).map((s) => s.close()));
    },
  };
  // Every store's settings are checked before the first connection: a malformed URL is a CONFIG error
  // (exit 2) whichever store it belongs to, not a connection failure of an earlier store.
  for (const name of names) STORE_SETTINGS[name](env);
  try {
    for (const name of STORE_NAMES) {
      if (!names.includes(name)) continue;
      // Each opener gives its own class; the assignment keeps the name ↔ class pairing.
      (set as Record<StoreName, Store>)[name] = await STORE_DRIVERS[name](env, options);
    }
    return set;
  } catch (error) {
    await set.close();
    throw error;
  }
}
