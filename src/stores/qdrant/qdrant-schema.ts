import {
  AUTOCOGNITIX_COLLECTION,
  AUTOCOGNITIX_COLLECTION_CONFIG,
  AUTOCOGNITIX_PAYLOAD_INDEXES,
} from '../../model/qdrant-model.ts';
import type { QdrantClient } from './qdrant-client.ts';

/**
 * Creates the production collection (its configuration; `vectorSize` overrides the vector size) and its
 * payload indexes if missing (idempotent).
 */
export async function applyQdrantSchema(
  client: QdrantClient,
  collection = AUTOCOGNITIX_COLLECTION,
  vectorSize?: number,
): Promise<void> {
  const { vectors } = AUTOCOGNITIX_COLLECTION_CONFIG;
  const config = {
    ...AUTOCOGNITIX_COLLECTION_CONFIG,
    vectors: { ...vectors, size: vectorSize ?? vectors.size },
  };
  if (!(await client.collectionExists(collection))) await client.createCollection(collection, config);
  for (const index of AUTOCOGNITIX_PAYLOAD_INDEXES)
    await client.createPayloadIndex(collection, index.field_name, index.field_schema);
}

export async function isQdrantEmpty(client: QdrantClient): Promise<boolean> {
  return (await client.listCollections()).length === 0;
}

/** Deletes every collection (and with them their aliases). */
export async function emptyQdrant(client: QdrantClient): Promise<void> {
  for (const name of await client.listCollections()) await client.deleteCollection(name);
}

export async function countPointsByType(
  client: QdrantClient,
  collection: string,
  types: readonly string[],
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const type of types)
    out[type] = await client.count(collection, { must: [{ key: 'type', match: { value: type } }] });
  return out;
}
