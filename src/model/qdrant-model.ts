import { createHash } from 'node:crypto';

/** The production collection (`QDRANT_UNIFIED_COLLECTION`): one unnamed 768-dim cosine vector. */
export const AUTOCOGNITIX_COLLECTION = 'autocognitix';
export const EMBEDDING_DIMENSION = 768;

export const POINT_TYPES = [
  'dtc',
  'complaint',
  'recall',
  'epa_vehicle',
  'vehicle_spec',
  'vehicle_signal',
] as const;
export type PointType = (typeof POINT_TYPES)[number];

const MASK_63 = (1n << 63n) - 1n;

/**
 * Point id as the production loaders compute it: the first 8 bytes of md5(`<prefix>_<key>`), read
 * big-endian and masked to 63 bits. `pointId('dtc', 'P0100')` is the id of DTC P0100.
 */
export function pointId(prefix: string, key: string | number): bigint {
  const digest = createHash('md5').update(`${prefix}_${key}`, 'utf8').digest();
  return digest.readBigUInt64BE(0) & MASK_63;
}

/** The collection as production creates it, in Qdrant's `PUT /collections/{name}` body shape. */
export const AUTOCOGNITIX_COLLECTION_CONFIG = {
  vectors: { size: EMBEDDING_DIMENSION, distance: 'Cosine' },
  on_disk_payload: true,
} as const;

/** Payload indexes the search code filters on. */
export const AUTOCOGNITIX_PAYLOAD_INDEXES = [
  { field_name: 'type', field_schema: 'keyword' },
  { field_name: 'category', field_schema: 'keyword' },
  { field_name: 'code', field_schema: 'keyword' },
] as const;
