/**
 * In-memory collections of the Qdrant double. Dense vectors live in growable Float32Array chunks (one
 * chunk per CHUNK_POINTS points and vector name), so a million 768-dim points cost their 3 GB of floats
 * plus a small per-point overhead, outside the JS heap. Points are ordered like Qdrant's scroll: unsigned
 * integer ids ascending, then UUIDs.
 */
import { Float32Values } from './float32-json.ts';

/** A failure Qdrant would answer with this HTTP status and `status.error` text. */
export class QdrantError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const notFound = (what: string): QdrantError => new QdrantError(404, `Not found: ${what}`);
const wrongInput = (what: string): QdrantError => new QdrantError(400, `Wrong input: ${what}`);
/** Qdrant answers `StorageError::AlreadyExists` with 409 Conflict. */
const alreadyExists = (name: string): QdrantError =>
  new QdrantError(409, `Wrong input: Collection \`${name}\` already exists!`);

export type PointId = number | bigint | string;
type Payload = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------- ids

const HEX = /^[0-9a-f]{32}$/i;

/** The lowercase hyphenated form of any UUID form Rust's `Uuid::parse_str` accepts, or null. */
export function normaliseUuid(text: string): string | null {
  let s = text;
  if (/^urn:uuid:/i.test(s)) s = s.slice(9);
  else if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  let hex: string;
  if (s.length === 36) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)) return null;
    hex = s.replace(/-/g, '');
  } else if (s.length === 32 && s === text) {
    hex = s;
  } else return null;
  if (!HEX.test(hex)) return null;
  hex = hex.toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Internal sort key of a point id: `n` + 20-digit zero-padded decimal for integers, `u` + hyphenated
 * UUID, so plain string order is Qdrant's scroll order.
 */
export function idKey(id: unknown): string {
  if (typeof id === 'number') {
    if (!Number.isSafeInteger(id) || id < 0)
      throw new QdrantError(400, `Format error in JSON body: invalid point id ${id}`);
    return `n${String(id).padStart(20, '0')}`;
  }
  if (typeof id === 'bigint') {
    if (id < 0n || id > U64_MAX)
      throw new QdrantError(400, `Format error in JSON body: invalid point id ${id}`);
    return `n${id.toString().padStart(20, '0')}`;
  }
  if (typeof id === 'string') {
    const uuid = normaliseUuid(id);
    if (uuid === null) throw new QdrantError(400, `Format error in JSON body: Unable to parse UUID: ${id}`);
    return `u${uuid}`;
  }
  throw new QdrantError(400, `Format error in JSON body: invalid point id ${JSON.stringify(id)}`);
}

/** The id as the API returns it: number when safe, bigint beyond 2^53, hyphenated UUID string. */
export function idFromKey(key: string): PointId {
  if (key.startsWith('u')) return key.slice(1);
  const n = Number(key.slice(1));
  return Number.isSafeInteger(n) ? n : BigInt(key.slice(1));
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ------------------------------------------------------------------------------------------ vectors

/** Qdrant's `cosine_preprocess`: squared length summed in f32; (almost) unit and zero vectors are kept. */
export function cosineNormalise(values: ArrayLike<number>, out: Float32Array, at: number): void {
  let lengthSq = 0;
  for (let i = 0; i < values.length; i++) {
    const x = Math.fround(values[i]!);
    lengthSq = Math.fround(lengthSq + Math.fround(x * x));
  }
  if (lengthSq < 1.1920929e-7 || Math.abs(lengthSq - 1) <= 1e-6) {
    for (let i = 0; i < values.length; i++) out[at + i] = values[i]!;
    return;
  }
  const length = Math.fround(Math.sqrt(lengthSq));
  for (let i = 0; i < values.length; i++) out[at + i] = Math.fround(values[i]!) / length;
}

const CHUNK_POINTS = 1024;

interface DenseSpace {
  size: number;
  distance: string;
  chunks: Float32Array[];
  present: Uint8Array[];
}

interface SparseVector {
  indices: number[];
  values: number[];
}

export interface CollectionConfigInput {
  vectors?: unknown;
  sparse_vectors?: Record<string, unknown> | null;
  on_disk_payload?: boolean | null;
  hnsw_config?: Record<string, unknown> | null;
  optimizers_config?: Record<string, unknown> | null;
  wal_config?: Record<string, unknown> | null;
  quantization_config?: unknown;
  shard_number?: number | null;
  replication_factor?: number | null;
  write_consistency_factor?: number | null;
  strict_mode_config?: Record<string, unknown> | null;
  metadata?: Payload | null;
  [other: string]: unknown;
}

export interface PreparedPoint {
  key: string;
  dense: Map<string, ArrayLike<number>>;
  sparse: Map<string, SparseVector>;
  payload: Payload | null;
}

export type WithPayload =
  boolean | string[] | { include: string[] } | { exclude: string[] } | null | undefined;
export type WithVector = boolean | string[] | null | undefined;

function clean<T extends Record<string, unknown>>(value: T | null | undefined): Partial<T> {
  if (!value) return {};
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== null && v !== undefined),
  ) as Partial<T>;
}

export class Collection {
  readonly name: string;
  /** The `config` object of `GET /collections/{name}`. */
  config: Record<string, unknown>;
  readonly unnamed: boolean;
  readonly dense = new Map<string, DenseSpace>();
  readonly sparse = new Map<string, (SparseVector | undefined)[]>();
  readonly payloadIndexes = new Map<string, unknown>();
  private readonly slotOf = new Map<string, number>();
  private readonly keys: (string | undefined)[] = [];
  private readonly payloads: (Payload | null | undefined)[] = [];
  private readonly free: number[] = [];
  private sorted: string[] | null = [];
  private operationId = 0;

  constructor(name: string, input: CollectionConfigInput) {
    this.name = name;
    const vectors = input.vectors as Record<string, unknown> | undefined;
    this.unnamed =
      vectors !== undefined && typeof vectors.size === 'number' && typeof vectors.distance === 'string';
    const named: Record<string, Record<string, unknown>> = this.unnamed
      ? { '': vectors as Record<string, unknown> }
      : ((vectors ?? {}) as Record<string, Record<string, unknown>>);
    for (const [vectorName, params] of Object.entries(named)) {
      if (params.multivector_config) throw wrongInput('multivectors are not supported by the Qdrant double');
      this.dense.set(vectorName, {
        size: params.size as number,
        distance: params.distance as string,
        chunks: [],
        present: [],
      });
    }
    for (const sparseName of Object.keys(input.sparse_vectors ?? {})) {
      if (this.dense.has(sparseName))
        throw wrongInput(`vector name \`${sparseName}\` is used by a dense and a sparse vector`);
      this.sparse.set(sparseName, []);
    }
    const vectorsOut = this.unnamed
      ? clean(vectors)
      : Object.fromEntries(Object.entries(named).map(([k, v]) => [k, clean(v)]));
    const params: Record<string, unknown> = {
      vectors: vectorsOut,
      shard_number: input.shard_number ?? 1,
      replication_factor: input.replication_factor ?? 1,
      write_consistency_factor: input.write_consistency_factor ?? 1,
      on_disk_payload: input.on_disk_payload ?? true,
    };
    if (input.sparse_vectors) {
      params.sparse_vectors = Object.fromEntries(
        Object.entries(input.sparse_vectors).map(([k, v]) => [k, clean(v as Record<string, unknown>)]),
      );
    }
    this.config = {
      params,
      hnsw_config: {
        m: 16,
        ef_construct: 100,
        full_scan_threshold: 10000,
        max_indexing_threads: 0,
        on_disk: false,
        ...clean(input.hnsw_config),
      },
      optimizer_config: {
        deleted_threshold: 0.2,
        vacuum_min_vector_number: 1000,
        default_segment_number: 0,
        max_segment_size: null,
        memmap_threshold: null,
        indexing_threshold: 10000,
        flush_interval_sec: 5,
        max_optimization_threads: null,
        ...clean(input.optimizers_config),
      },
      wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0, ...clean(input.wal_config) },
      quantization_config: input.quantization_config ?? null,
      strict_mode_config: { enabled: false, ...clean(input.strict_mode_config) },
    };
    if (input.metadata) this.config.metadata = input.metadata;
  }

  get size(): number {
    return this.slotOf.size;
  }

  nextOperationId(): number {
    return this.operationId++;
  }

  /** `PATCH /collections/{name}`: merges the documented diffs into the configuration. */
  update(diff: Record<string, unknown>): void {
    const merge = (target: string, value: unknown): void => {
      if (value && typeof value === 'object') {
        this.config[target] = {
          ...(this.config[target] as Record<string, unknown>),
          ...clean(value as Record<string, unknown>),
        };
      }
    };
    merge('optimizer_config', diff.optimizers_config);
    merge('hnsw_config', diff.hnsw_config);
    const params = this.config.params as Record<string, unknown>;
    if (diff.params && typeof diff.params === 'object')
      Object.assign(params, clean(diff.params as Record<string, unknown>));
    if (diff.quantization_config !== undefined && diff.quantization_config !== null) {
      this.config.quantization_config =
        diff.quantization_config === 'Disabled' ? null : diff.quantization_config;
    }
    if (diff.vectors && typeof diff.vectors === 'object') {
      for (const [vectorName, change] of Object.entries(
        diff.vectors as Record<string, Record<string, unknown>>,
      )) {
        if (!this.dense.has(vectorName)) throw wrongInput(`Not existing vector name error: ${vectorName}`);
        const target = this.unnamed
          ? (params.vectors as Record<string, unknown>)
          : ((params.vectors as Record<string, Record<string, unknown>>)[vectorName] as Record<
              string,
              unknown
            >);
        Object.assign(target, clean(change));
      }
    }
    if (diff.sparse_vectors && typeof diff.sparse_vectors === 'object') {
      const sparse = (params.sparse_vectors ?? {}) as Record<string, unknown>;
      for (const [sparseName, change] of Object.entries(
        diff.sparse_vectors as Record<string, Record<string, unknown>>,
      )) {
        if (!this.sparse.has(sparseName)) throw wrongInput(`Not existing vector name error: ${sparseName}`);
        sparse[sparseName] = { ...(sparse[sparseName] as Record<string, unknown>), ...clean(change) };
      }
      params.sparse_vectors = sparse;
    }
    if (diff.strict_mode_config && typeof diff.strict_mode_config === 'object')
      merge('strict_mode_config', diff.strict_mode_config);
    if (diff.metadata && typeof diff.metadata === 'object') {
      this.config.metadata = {
        ...((this.config.metadata as Payload | undefined) ?? {}),
        ...(diff.metadata as Payload),
      };
    }
  }

  /** The `CreateCollection` body that recreates this configuration (snapshots keep it). */
  creationBody(): CollectionConfigInput {
    const params = this.config.params as Record<string, unknown>;
    return {
      vectors: params.vectors,
      sparse_vectors: (params.sparse_vectors as Record<string, unknown> | undefined) ?? null,
      on_disk_payload: params.on_disk_payload as boolean,
      shard_number: params.shard_number as number,
      replication_factor: params.replication_factor as number,
      write_consistency_factor: params.write_consistency_factor as number,
      hnsw_config: this.config.hnsw_config as Record<string, unknown>,
      optimizers_config: this.config.optimizer_config as Record<string, unknown>,
      wal_config: this.config.wal_config as Record<string, unknown>,
      quantization_config: this.config.quantization_config,
      strict_mode_config: this.config.strict_mode_config as Record<string, unknown>,
      metadata: (this.config.metadata as Payload | undefined) ?? null,
    };
  }

  // ------------------------------------------------------------------------------------ points in

  /** Checks one point of an upsert and converts it; throws Qdrant's error for bad vectors or ids. */
  prepare(id: unknown, vector: unknown, payload: unknown): PreparedPoint {
    const key = idKey(id);
    const dense = new Map<string, ArrayLike<number>>();
    const sparse = new Map<string, SparseVector>();
    const entries: [string, unknown][] = Array.isArray(vector)
      ? [['', vector]]
      : vector && typeof vector === 'object'
        ? Object.entries(vector)
        : [];
    for (const [vectorName, value] of entries) {
      const space = this.dense.get(vectorName);
      if (space) {
        if (!Array.isArray(value) || value.some((x) => typeof x !== 'number')) {
          throw wrongInput(
            `Conversion between multi and regular vectors failed or the vector \`${vectorName}\` is not dense`,
          );
        }
        if (value.length !== space.size) {
          throw wrongInput(`Vector dimension error: expected dim: ${space.size}, got ${value.length}`);
        }
        dense.set(vectorName, value as number[]);
      } else if (this.sparse.has(vectorName)) {
        const sv = value as Partial<SparseVector> | undefined;
        if (!sv || !Array.isArray(sv.indices) || !Array.isArray(sv.values)) {
          throw wrongInput(`Conversion between sparse and regular vectors failed for \`${vectorName}\``);
        }
        if (sv.indices.length !== sv.values.length) {
          throw new QdrantError(
            422,
            `Validation error in JSON body: [points[].vector.${vectorName}: must be the same length as indices]`,
          );
        }
        if (new Set(sv.indices).size !== sv.indices.length) {
          throw new QdrantError(
            422,
            `Validation error in JSON body: [points[].vector.${vectorName}: must be unique]`,
          );
        }
        sparse.set(vectorName, {
          indices: sv.indices.map(Number),
          values: sv.values.map((x) => Math.fround(Number(x))),
        });
      } else {
        throw wrongInput(`Not existing vector name error: ${vectorName === '' ? '(unnamed)' : vectorName}`);
      }
    }
    if (
      payload !== null &&
      payload !== undefined &&
      (typeof payload !== 'object' || Array.isArray(payload))
    ) {
      throw new QdrantError(400, 'Format error in JSON body: payload must be an object');
    }
    return { key, dense, sparse, payload: (payload as Payload | null | undefined) ?? null };
  }

  /**
   * Writes prepared points (upsert replaces the whole point, like Qdrant). `stored` vectors (from a
   * snapshot) were normalised when first written and are kept bit for bit.
   */
  write(points: PreparedPoint[], stored = false): void {
    for (const point of points) {
      let slot = this.slotOf.get(point.key);
      if (slot === undefined) {
        slot = this.free.pop() ?? this.keys.length;
        this.slotOf.set(point.key, slot);
        this.keys[slot] = point.key;
        if (this.sorted !== null) {
          const last = this.sorted[this.sorted.length - 1];
          if (last === undefined || last < point.key) this.sorted.push(point.key);
          else this.sorted = null;
        }
      }
      this.payloads[slot] = point.payload;
      const chunk = Math.floor(slot / CHUNK_POINTS);
      const within = slot % CHUNK_POINTS;
      for (const [vectorName, space] of this.dense) {
        while (space.chunks.length <= chunk) {
          space.chunks.push(new Float32Array(CHUNK_POINTS * space.size));
          space.present.push(new Uint8Array(CHUNK_POINTS));
        }
        const values = point.dense.get(vectorName);
        space.present[chunk]![within] = values ? 1 : 0;
        if (!values) continue;
        if (space.distance === 'Cosine' && !stored)
          cosineNormalise(values, space.chunks[chunk]!, within * space.size);
        else space.chunks[chunk]!.set(values, within * space.size);
      }
      for (const [vectorName, list] of this.sparse) list[slot] = point.sparse.get(vectorName);
    }
  }

  deleteKeys(keys: Iterable<string>): number {
    let deleted = 0;
    for (const key of keys) {
      const slot = this.slotOf.get(key);
      if (slot === undefined) continue;
      this.slotOf.delete(key);
      this.keys[slot] = undefined;
      this.payloads[slot] = undefined;
      for (const space of this.dense.values()) {
        const chunk = space.present[Math.floor(slot / CHUNK_POINTS)];
        if (chunk) chunk[slot % CHUNK_POINTS] = 0;
      }
      for (const list of this.sparse.values()) list[slot] = undefined;
      this.free.push(slot);
      deleted++;
    }
    if (deleted > 0) this.sorted = null;
    return deleted;
  }

  setPayload(
    keys: Iterable<string>,
    payload: Payload,
    mode: 'merge' | 'overwrite',
    nestedKey?: string | null,
  ): void {
    for (const key of keys) {
      const slot = this.slotOf.get(key);
      if (slot === undefined) continue;
      if (mode === 'overwrite') {
        this.payloads[slot] = structuredClone(payload);
      } else if (nestedKey) {
        const current = { ...(this.payloads[slot] ?? {}) };
        const inner = current[nestedKey];
        current[nestedKey] = {
          ...(inner && typeof inner === 'object' && !Array.isArray(inner) ? inner : {}),
          ...structuredClone(payload),
        };
        this.payloads[slot] = current;
      } else {
        this.payloads[slot] = { ...(this.payloads[slot] ?? {}), ...structuredClone(payload) };
      }
    }
  }

  deletePayloadKeys(keys: Iterable<string>, fields: string[] | 'all'): void {
    for (const key of keys) {
      const slot = this.slotOf.get(key);
      if (slot === undefined) continue;
      if (fields === 'all') {
        this.payloads[slot] = null;
        continue;
      }
      const current = { ...(this.payloads[slot] ?? {}) };
      for (const field of fields) delete current[field];
      this.payloads[slot] = current;
    }
  }

  // ----------------------------------------------------------------------------------- points out

  has(key: string): boolean {
    return this.slotOf.has(key);
  }

  private sortedKeys(): string[] {
    if (this.sorted === null) this.sorted = [...this.slotOf.keys()].sort();
    return this.sorted;
  }

  /** Keys in scroll order starting at `fromKey` (inclusive). */
  *keysFrom(fromKey?: string): Generator<string> {
    const sorted = this.sortedKeys();
    for (let i = fromKey === undefined ? 0 : lowerBound(sorted, fromKey); i < sorted.length; i++) {
      const key = sorted[i]!;
      if (this.slotOf.has(key)) yield key;
    }
  }

  payloadOf(key: string): Payload | null {
    const slot = this.slotOf.get(key);
    return slot === undefined ? null : (this.payloads[slot] ?? null);
  }

  denseVector(key: string, vectorName: string): Float32Array | null {
    const slot = this.slotOf.get(key);
    const space = this.dense.get(vectorName);
    if (slot === undefined || !space) return null;
    const chunk = Math.floor(slot / CHUNK_POINTS);
    const within = slot % CHUNK_POINTS;
    if (space.present[chunk]?.[within] !== 1) return null;
    return space.chunks[chunk]!.subarray(within * space.size, (within + 1) * space.size);
  }

  sparseVector(key: string, vectorName: string): SparseVector | null {
    const slot = this.slotOf.get(key);
    return slot === undefined ? null : (this.sparse.get(vectorName)?.[slot] ?? null);
  }

  /** A `Record` of the API; vector values are `Float32Values`, copies the response writer prints as Qdrant does. */
  record(key: string, withPayload: WithPayload, withVector: WithVector): Record<string, unknown> {
    const out: Record<string, unknown> = { id: idFromKey(key) };
    if (withPayload !== false && withPayload !== null && withPayload !== undefined) {
      out.payload = selectPayload(this.payloadOf(key) ?? {}, withPayload);
    }
    if (withVector !== false && withVector !== null && withVector !== undefined) {
      const wanted = (name: string): boolean => withVector === true || withVector.includes(name);
      if (this.unnamed && this.sparse.size === 0) {
        const v = wanted('') ? this.denseVector(key, '') : null;
        if (v) out.vector = new Float32Values(v.slice());
      } else {
        const vectors: Record<string, unknown> = {};
        for (const vectorName of this.dense.keys()) {
          const v = wanted(vectorName) ? this.denseVector(key, vectorName) : null;
          if (v) vectors[vectorName] = new Float32Values(v.slice());
        }
        for (const vectorName of this.sparse.keys()) {
          const v = wanted(vectorName) ? this.sparseVector(key, vectorName) : null;
          if (v)
            vectors[vectorName] = {
              indices: [...v.indices],
              values: new Float32Values(Float32Array.from(v.values)),
            };
        }
        out.vector = vectors;
      }
    }
    return out;
  }

  /** Keys of points that match a filter (all points without one), in scroll order. */
  *matching(filter: unknown, fromKey?: string): Generator<string> {
    for (const key of this.keysFrom(fromKey)) if (!filter || this.matches(key, filter as Filter)) yield key;
  }

  count(filter: unknown): number {
    if (!filter) return this.size;
    let n = 0;
    for (const key of this.slotOf.keys()) if (this.matches(key, filter as Filter)) n++;
    return n;
  }

  // -------------------------------------------------------------------------------------- filters

  matches(key: string, filter: Filter): boolean {
    const list = (c: unknown): unknown[] => (c === undefined || c === null ? [] : Array.isArray(c) ? c : [c]);
    const must = list(filter.must);
    const should = list(filter.should);
    const mustNot = list(filter.must_not);
    if (!must.every((c) => this.condition(key, c))) return false;
    if (should.length > 0 && !should.some((c) => this.condition(key, c))) return false;
    if (mustNot.some((c) => this.condition(key, c))) return false;
    if (filter.min_should) {
      const hits = filter.min_should.conditions.filter((c) => this.condition(key, c)).length;
      if (hits < filter.min_should.min_count) return false;
    }
    return true;
  }

  private condition(key: string, condition: unknown): boolean {
    const c = condition as Record<string, unknown>;
    if ('has_id' in c) return (c.has_id as unknown[]).some((id) => idKey(id) === key);
    if ('must' in c || 'should' in c || 'must_not' in c || 'min_should' in c)
      return this.matches(key, c as Filter);
    if ('has_vector' in c) {
      const name = c.has_vector as string;
      return this.denseVector(key, name) !== null || this.sparseVector(key, name) !== null;
    }
    const payload = this.payloadOf(key) ?? {};
    if (c.is_empty && typeof c.is_empty === 'object')
      return valuesAt(payload, (c.is_empty as { key: string }).key).every((v) => v === null);
    if (c.is_null && typeof c.is_null === 'object') {
      const values = rawAt(payload, (c.is_null as { key: string }).key);
      return values.some((v) => v === null);
    }
    if ('nested' in c) throw wrongInput('nested conditions are not supported by the Qdrant double');
    if (typeof c.key !== 'string')
      throw wrongInput(`unsupported filter condition ${JSON.stringify(Object.keys(c))}`);
    const values = valuesAt(payload, c.key).filter((v) => v !== null);
    if (c.match) {
      const m = c.match as Record<string, unknown>;
      if ('value' in m) return values.some((v) => same(v, m.value));
      if ('any' in m) return values.some((v) => (m.any as unknown[]).some((x) => same(v, x)));
      if ('except' in m)
        return values.length === 0 || values.some((v) => !(m.except as unknown[]).some((x) => same(v, x)));
      if ('text' in m) return values.some((v) => typeof v === 'string' && v.includes(m.text as string));
      throw wrongInput(`unsupported match ${JSON.stringify(Object.keys(m))} in the Qdrant double`);
    }
    if (c.range) {
      const r = c.range as {
        gt?: number | null;
        gte?: number | null;
        lt?: number | null;
        lte?: number | null;
      };
      return values.some((raw) => {
        const v = typeof raw === 'bigint' ? Number(raw) : raw;
        if (typeof v !== 'number') return false;
        return (
          (r.gt == null || v > r.gt) &&
          (r.gte == null || v >= r.gte) &&
          (r.lt == null || v < r.lt) &&
          (r.lte == null || v <= r.lte)
        );
      });
    }
    if (c.is_empty === true) return values.length === 0;
    if (c.is_empty === false) return values.length > 0;
    if (c.values_count) {
      const vc = c.values_count as { gt?: number; gte?: number; lt?: number; lte?: number };
      const n = values.length;
      return (
        (vc.gt == null || n > vc.gt) &&
        (vc.gte == null || n >= vc.gte) &&
        (vc.lt == null || n < vc.lt) &&
        (vc.lte == null || n <= vc.lte)
      );
    }
    throw wrongInput(`unsupported field condition on \`${c.key}\` in the Qdrant double`);
  }

  /** `payload_schema` of the collection info: indexed fields with the number of points having a value. */
  payloadSchema(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [field, schema] of this.payloadIndexes) {
      let points = 0;
      for (const slot of this.slotOf.values()) {
        if (valuesAt(this.payloads[slot] ?? {}, field).some((v) => v !== null)) points++;
      }
      out[field] =
        typeof schema === 'string'
          ? { data_type: schema, points }
          : { data_type: (schema as { type: string }).type, params: schema, points };
    }
    return out;
  }
}

interface Filter {
  must?: unknown;
  should?: unknown;
  must_not?: unknown;
  min_should?: { conditions: unknown[]; min_count: number } | null;
}

function same(a: unknown, b: unknown): boolean {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    // number vs bigint compares by value only with ==
    return a == b;
  }
  return a === b;
}

/** Values at a payload path (`a.b`, `a[].b`), arrays flattened like Qdrant's filters do. */
function valuesAt(payload: unknown, path: string): unknown[] {
  return rawAt(payload, path).flatMap((v) => (Array.isArray(v) ? v : [v]));
}

function rawAt(payload: unknown, path: string): unknown[] {
  let current: unknown[] = [payload];
  for (const part of path.split('.')) {
    const array = part.endsWith('[]');
    const name = array ? part.slice(0, -2) : part;
    const next: unknown[] = [];
    for (const value of current) {
      const items = Array.isArray(value) ? value : [value];
      for (const item of items) {
        if (item && typeof item === 'object' && !Array.isArray(item) && name in item) {
          const v = (item as Record<string, unknown>)[name];
          if (array && Array.isArray(v)) next.push(...v);
          else next.push(v);
        }
      }
    }
    current = next;
  }
  return current;
}

function selectPayload(payload: Payload, selector: WithPayload): Payload {
  if (selector === true) return payload;
  const include = Array.isArray(selector)
    ? selector
    : selector && typeof selector === 'object' && 'include' in selector
      ? selector.include
      : null;
  if (include) return Object.fromEntries(Object.entries(payload).filter(([k]) => include.includes(k)));
  if (selector && typeof selector === 'object' && 'exclude' in selector) {
    return Object.fromEntries(Object.entries(payload).filter(([k]) => !selector.exclude.includes(k)));
  }
  return payload;
}

// ------------------------------------------------------------------------------------------ storage

export class Storage {
  readonly collections = new Map<string, Collection>();
  /** alias → collection name */
  readonly aliases = new Map<string, string>();

  /** The collection by name or alias, or Qdrant's 404. */
  get(name: string): Collection {
    const collection = this.collections.get(name) ?? this.collections.get(this.aliases.get(name) ?? '');
    if (!collection) throw notFound(`Collection \`${name}\` doesn't exist!`);
    return collection;
  }

  exists(name: string): boolean {
    return (
      this.collections.has(name) || (this.aliases.has(name) && this.collections.has(this.aliases.get(name)!))
    );
  }

  create(name: string, input: CollectionConfigInput): Collection {
    if (this.collections.has(name) || this.aliases.has(name)) throw alreadyExists(name);
    const collection = new Collection(name, input);
    this.collections.set(name, collection);
    return collection;
  }

  /** Puts a collection in place (snapshot recovery), keeping the aliases that point at the name. */
  replace(collection: Collection): void {
    this.collections.set(collection.name, collection);
  }

  delete(name: string): boolean {
    if (!this.collections.delete(name)) return false;
    for (const [alias, target] of this.aliases) if (target === name) this.aliases.delete(alias);
    return true;
  }

  applyAliasActions(actions: Record<string, Record<string, string>>[]): void {
    // All or nothing, like Qdrant: check on a copy first.
    const next = new Map(this.aliases);
    for (const action of actions) {
      if (action.create_alias) {
        const { collection_name: target, alias_name: alias } = action.create_alias;
        if (!this.collections.has(target!)) throw notFound(`Collection \`${target}\` doesn't exist!`);
        if (this.collections.has(alias!)) throw alreadyExists(alias!);
        next.set(alias!, target!);
      } else if (action.delete_alias) {
        const alias = action.delete_alias.alias_name!;
        if (!next.delete(alias)) throw notFound(`Alias ${alias} does not exists!`);
      } else if (action.rename_alias) {
        const { old_alias_name: from, new_alias_name: to } = action.rename_alias;
        const target = next.get(from!);
        if (target === undefined) throw notFound(`Alias ${from} does not exists!`);
        if (this.collections.has(to!)) throw alreadyExists(to!);
        next.delete(from!);
        next.set(to!, target);
      }
    }
    this.aliases.clear();
    for (const [alias, target] of next) this.aliases.set(alias, target);
  }
}
