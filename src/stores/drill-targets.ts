/**
 * The scratch targets of a restore drill (design §13.7) that the Store interface does not cover: a
 * scratch PostgreSQL database on the production server, and deleting the drill's Qdrant collections.
 * (The drill's Neo4j is a separate, empty server: `isEmpty` and `empty` of the Store interface do.)
 */
import { requirePostgresSettings } from '../config/env.ts';
import { createPostgresScratch, type PostgresScratch } from './postgres/postgres-scratch.ts';
import { QdrantStore } from './qdrant/qdrant-store.ts';
import { fingerprintQdrant } from './qdrant/qdrant-fingerprint.ts';
import type { Fingerprint } from '../model/content-hash.ts';
import type { LabelMap } from '../model/labels.ts';
import { storesInOrder, type StoreSet } from './registry.ts';
import type { Store } from './store.ts';

export type { PostgresScratch };

/** Creates database `name` on the server of DATABASE_URL in `env`. */
export function createScratchDatabase(
  env: Record<string, string | undefined>,
  name: string,
): Promise<PostgresScratch> {
  return createPostgresScratch(requirePostgresSettings(env), name);
}

/**
 * The fingerprint (§5) of what a drill restored: the scratch database and graph whole, of Qdrant only
 * the drill's collections (the production ones share the server and are neither read nor counted).
 */
export async function fingerprintDrill(
  stores: StoreSet,
  labels: LabelMap,
  collections: readonly string[],
): Promise<Fingerprint> {
  const parts = await Promise.all(
    storesInOrder(stores).map((store) =>
      store instanceof QdrantStore ? fingerprintQdrant(store.client, collections) : store.fingerprint(labels),
    ),
  );
  return Object.assign({}, ...parts) as Fingerprint;
}

/** Deletes the named collections (and their aliases) where they exist; only on a Qdrant store. */
export async function deleteCollections(store: Store | undefined, names: readonly string[]): Promise<void> {
  if (!(store instanceof QdrantStore)) return;
  const present = new Set(await store.client.listCollections());
  for (const name of names) if (present.has(name)) await store.client.deleteCollection(name);
}
