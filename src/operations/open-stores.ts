/**
 * Opening stores for an operation, through the registry (src/stores/registry.ts). Operations see
 * stores only as the Store interface.
 */
import type { StoreName } from '../progress.ts';
import { openStoreSet, type OpenOptions, type StoreByName, type StoreSet } from '../stores/registry.ts';
import type { Store } from '../stores/store.ts';

/** Every store, open (seed, demo). */
export type OpenStores = StoreByName & { close(): Promise<void> };

/** The stores a run needs, open. */
export type SomeStores = StoreSet;

/** Stores an operation works on, by name (only the ones it needs are present). */
export type StoresByName = Partial<Record<StoreName, Store>>;

/**
 * Connects to the named stores from the guide's environment variables and checks each connection;
 * if one fails, the others are closed and the error names the store.
 */
export function openStores(
  env: Record<string, string | undefined>,
  names: readonly StoreName[],
  options: OpenOptions = {},
): Promise<SomeStores> {
  return openStoreSet(env, names, options);
}

/** Connects to all three stores; fails before touching any. */
export async function openAllStores(
  env: Record<string, string | undefined> = process.env,
  options: OpenOptions = {},
): Promise<OpenStores> {
  return (await openStoreSet(env, ['postgres', 'neo4j', 'qdrant'], options)) as OpenStores;
}
