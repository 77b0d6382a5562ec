/**
 * A Qdrant collection's saved configuration (`GET /collections/{name}` → `config`, as a backup or an
 * export keeps it) turned back into the requests that recreate it: the `CreateCollection` body, then
 * the `UpdateCollection` bodies for what creation does not take, and each payload index's schema.
 */
import { isJsonObject } from '../../model/exact-json.ts';

type Obj = Record<string, unknown>;

function dropNulls(value: unknown): Obj | undefined {
  if (!isJsonObject(value)) return undefined;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
}

function pick(value: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (value[k] !== null && value[k] !== undefined) out[k] = value[k];
  return out;
}

const mapValues = (value: Obj, f: (v: Obj) => Obj): Obj =>
  Object.fromEntries(Object.entries(value).map(([k, v]) => [k, f(isJsonObject(v) ? v : {})]));

/** `VectorParams` fields `PUT /collections/{name}` takes. */
const VECTOR_KEYS = [
  'size',
  'distance',
  'hnsw_config',
  'quantization_config',
  'on_disk',
  'memory',
  'datatype',
  'multivector_config',
] as const;

function vectorParams(v: Obj): Obj {
  const out = pick(v, VECTOR_KEYS);
  if (out.hnsw_config) out.hnsw_config = dropNulls(out.hnsw_config);
  return out;
}

function sparseParams(v: Obj): Obj {
  const out = pick(v, ['index', 'modifier']);
  if (out.index) out.index = dropNulls(out.index);
  return out;
}

/** A single unnamed vector (`{size, distance}`) rather than a map of named ones. */
const isSingleVector = (vectors: Obj): boolean =>
  typeof vectors.size === 'number' && typeof vectors.distance === 'string';

/**
 * Translates `GET /collections/{name}` → `config` into a `CreateCollection` body (only fields that
 * schema has; nulls, which mean "the server's default", are left out). Strict mode is left out here
 * and applied after the points are loaded (`strictModeOf`), so its limits cannot refuse the restore's
 * own upserts; read fan-out is not settable at creation (`fanOutOf`).
 */
export function createCollectionBody(config: Obj): Obj {
  const params = isJsonObject(config.params) ? config.params : {};
  const body: Obj = {};
  if (isJsonObject(params.vectors)) {
    body.vectors = isSingleVector(params.vectors)
      ? vectorParams(params.vectors)
      : mapValues(params.vectors, vectorParams);
  }
  if (isJsonObject(params.sparse_vectors))
    body.sparse_vectors = mapValues(params.sparse_vectors, sparseParams);
  Object.assign(
    body,
    pick(params, ['shard_number', 'replication_factor', 'write_consistency_factor', 'on_disk_payload']),
  );
  if (isJsonObject(params.payload)) body.payload = dropNulls(params.payload);
  if (params.sharding_method !== undefined && params.sharding_method !== null) {
    if (params.sharding_method !== 'auto') body.sharding_method = params.sharding_method;
  }
  const hnsw = dropNulls(config.hnsw_config);
  if (hnsw) body.hnsw_config = hnsw;
  const optimizers = dropNulls(config.optimizer_config);
  if (optimizers) body.optimizers_config = optimizers;
  const wal = dropNulls(config.wal_config);
  if (wal) body.wal_config = wal;
  if (config.quantization_config !== undefined && config.quantization_config !== null)
    body.quantization_config = config.quantization_config;
  if (isJsonObject(config.metadata)) body.metadata = config.metadata;
  return body;
}

/** The saved strict mode as an `UpdateCollection` body, or undefined when it is the default (off). */
export function strictModeOf(config: Obj): Obj | undefined {
  const strict = dropNulls(config.strict_mode_config);
  if (!strict || Object.keys(strict).length === 0) return undefined;
  if (Object.keys(strict).length === 1 && strict.enabled === false) return undefined;
  return { strict_mode_config: strict };
}

/** Read fan-out settings (not part of `CreateCollection`) as an `UpdateCollection` body, if any. */
export function fanOutOf(config: Obj): Obj | undefined {
  const params = isJsonObject(config.params) ? config.params : {};
  const fanOut = pick(params, ['read_fan_out_factor', 'read_fan_out_delay_ms']);
  return Object.keys(fanOut).length > 0 ? { params: fanOut } : undefined;
}

/** A payload index's `field_schema` from its saved `{data_type, params?}`. */
export function fieldSchemaOf(index: { data_type: string; params?: unknown }): unknown {
  return index.params === undefined || index.params === null ? index.data_type : index.params;
}
