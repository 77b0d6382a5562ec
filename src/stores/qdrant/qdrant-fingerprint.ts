/**
 * Content fingerprints of a Qdrant server: per collection its configuration (vectors, distance, HNSW,
 * optimizer, quantization, payload index schemas, aliases) and its points (id, payload and every vector
 * in float32 bits), read page by page with scroll.
 */
import { canonicalJson, MultisetHash, type Fingerprint } from '../../model/content-hash.ts';
import type { QdrantClient, QdrantPoint } from './qdrant-client.ts';
import { float32Scratch } from './qdrant-vector-codec.ts';

const isNumberList = (value: unknown): value is number[] | Float64Array =>
  Array.isArray(value) || value instanceof Float64Array;

/** A vector's float32 bytes in hex, through the codec's reused Float32Array (no array per vector). */
function float32Hex(values: ArrayLike<number>): string {
  const f32 = float32Scratch(values.length);
  f32.set(values);
  return Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength).toString('hex');
}

/**
 * Vectors as float32 bytes (hex): exactly what Qdrant stores, independent of decimal printing. A vector
 * is an array of numbers or a Float64Array (a backup's typed scroll page): both give the same bytes.
 */
export function canonicalVectors(vector: unknown): unknown {
  if (vector === null || vector === undefined) return null;
  // A multivector (rows of numbers) is each row's float32 bytes, so two multivectors compare row by row.
  if (Array.isArray(vector) && vector.some(isNumberList)) return vector.map(canonicalVectors);
  if (isNumberList(vector)) return float32Hex(vector);
  if (typeof vector === 'object') {
    const v = vector as Record<string, unknown>;
    if (Array.isArray(v.indices) && isNumberList(v.values)) {
      return { indices: v.indices, values: canonicalVectors(v.values) };
    }
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonicalVectors(v[k])]),
    );
  }
  return vector;
}

/** A point's canonical encoding (design §5): what the fingerprint and the backup (while it writes) hash. */
export function canonicalPoint(point: QdrantPoint): string {
  return canonicalJson({
    id: String(point.id),
    payload: point.payload ?? null,
    vector: canonicalVectors(point.vector),
  });
}

/** A collection's points fingerprint key. */
export const qdrantPointsKey = (collection: string): string => `qdrant/collections/${collection}/points`;

/** The parts of `GET /collections/{name}` that describe configuration, not state. */
export function collectionConfigOf(info: Record<string, unknown>): Record<string, unknown> {
  const config = (info.config ?? {}) as Record<string, unknown>;
  const schema = (info.payload_schema ?? {}) as Record<string, { data_type?: unknown; params?: unknown }>;
  return {
    params: config.params ?? null,
    hnsw_config: config.hnsw_config ?? null,
    optimizer_config: config.optimizer_config ?? null,
    quantization_config: config.quantization_config ?? null,
    payload_schema: Object.fromEntries(
      Object.entries(schema).map(([k, v]) => [
        k,
        { data_type: v.data_type ?? null, params: v.params ?? null },
      ]),
    ),
  };
}

/** Every collection's fingerprint, or only those named in `only` (a restore drill's own collections). */
export async function fingerprintQdrant(
  client: QdrantClient,
  only?: readonly string[],
): Promise<Fingerprint> {
  const out: Fingerprint = {};
  const aliases = await client.request<{ aliases: { alias_name: string; collection_name: string }[] }>(
    'GET',
    '/aliases',
  );
  for (const name of await client.listCollections()) {
    if (only && !only.includes(name)) continue;
    const config = new MultisetHash();
    config.add(canonicalJson(collectionConfigOf(await client.getCollection(name))));
    for (const a of aliases.aliases.filter((x) => x.collection_name === name))
      config.add(`alias:${a.alias_name}`);
    out[`qdrant/collections/${name}/config`] = { records: config.count, hash: config.digest() };
    const points = new MultisetHash();
    for await (const page of client.scrollAll(name, { withVector: true }))
      for (const p of page) points.add(canonicalPoint(p));
    out[qdrantPointsKey(name)] = { records: points.count, hash: points.digest() };
  }
  return out;
}
