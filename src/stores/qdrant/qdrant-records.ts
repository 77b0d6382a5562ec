/**
 * Reads and writes of one collection's points by id (the Store's `readByKey`, `scanByKey`,
 * `prepareDataset`, `writeByKey`; sync, docs/design.md §10). Points are `{id, vector, payload}`; ids keep
 * their 64 bits (bigint beyond 2^53). A collection that does not exist holds no points: reads of it are
 * empty, not an error (sync creates it with `prepareDataset` before writing).
 */
import { AcxError } from '../../errors.ts';
import type { KeyedRecords, RecordPage, RecordWrites } from '../store.ts';
import type { PointId, QdrantClient, QdrantPoint } from './qdrant-client.ts';
import { applyQdrantSchema } from './qdrant-schema.ts';

export interface QdrantRecordDataset {
  collection: string;
  /** Scans: only points whose payload `type` is this. */
  type?: string;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** A point id from its text (digits: an exact unsigned integer; else a UUID), or undefined. */
function parsePointId(text: string): bigint | string | undefined {
  if (/^\d+$/.test(text)) return BigInt(text);
  return UUID.test(text) ? text.toLowerCase() : undefined;
}

/** The id a record carries (a number, bigint or its text), checked before anything is sent. */
function pointIdOf(collection: string, id: unknown): PointId {
  if (typeof id === 'bigint' || (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0)) return id;
  const parsed = typeof id === 'string' ? parsePointId(id) : undefined;
  if (parsed === undefined)
    throw new AcxError('INVALID_INPUT', `not a Qdrant point id: ${JSON.stringify(String(id))}`, {
      subject: collection,
      hint: 'point ids are unsigned integers or UUIDs',
    });
  return parsed;
}

const asRecord = (p: QdrantPoint): Record<string, unknown> => ({
  id: p.id,
  vector: p.vector,
  payload: p.payload ?? null,
});

/** `read()`, or `empty` when it failed because the collection does not exist. */
async function unlessMissing<T>(client: QdrantClient, collection: string, empty: T, read: () => Promise<T>) {
  try {
    return await read();
  } catch (error) {
    if (error instanceof AcxError && error.code === 'STORE' && !(await client.collectionExists(collection)))
      return empty;
    throw error;
  }
}

/** The points whose id, as text, is one of `keys`; keys that are not point ids name no point. */
export async function readQdrantByKey(
  client: QdrantClient,
  dataset: QdrantRecordDataset,
  keys: readonly string[],
): Promise<KeyedRecords> {
  // Qdrant would refuse the whole request for one id that is neither an integer nor a UUID.
  const ids = keys.flatMap((k) => parsePointId(k) ?? []);
  if (ids.length === 0) return { found: new Map() };
  const points = await unlessMissing(client, dataset.collection, [], () =>
    client.request<QdrantPoint[]>('POST', `/collections/${encodeURIComponent(dataset.collection)}/points`, {
      body: { ids, with_payload: true, with_vector: true },
      subject: dataset.collection,
    }),
  );
  return { found: new Map(points.map((p) => [String(p.id), asRecord(p)])) };
}

/**
 * One scroll page in point-id order (integers, then UUIDs), filtered by payload `type` when the dataset
 * names one. The cursor is Qdrant's `next_page_offset`: the id of the next page's first point (a scroll
 * offset is inclusive), so a cursor only ever comes from the previous page.
 */
export async function scanQdrantByKey(
  client: QdrantClient,
  dataset: QdrantRecordDataset,
  cursor: string | null,
  limit: number,
): Promise<RecordPage> {
  const offset = cursor === null ? undefined : pointIdOf(dataset.collection, cursor);
  const body = {
    limit,
    with_payload: true,
    with_vector: true,
    ...(offset === undefined ? {} : { offset }),
    ...(dataset.type === undefined
      ? {}
      : { filter: { must: [{ key: 'type', match: { value: dataset.type } }] } }),
  };
  const page = await unlessMissing(client, dataset.collection, { points: [], next_page_offset: null }, () =>
    client.scroll(dataset.collection, body),
  );
  const next = page.next_page_offset;
  return {
    records: page.points.map(asRecord),
    cursor: next === null || next === undefined ? null : String(next),
  };
}

/**
 * Creates the collection when it is missing and `create` is true — production's configuration with
 * vector size `vectorSize` (default 768) and its payload indexes — and reports its unnamed vector's size
 * and distance (none for named vectors). `exists`: the collection was there before the call.
 */
export async function prepareQdrantDataset(
  client: QdrantClient,
  dataset: QdrantRecordDataset,
  options: { create: boolean; vectorSize?: number },
): Promise<{ exists: boolean; vectorSize?: number; distance?: string }> {
  const exists = await client.collectionExists(dataset.collection);
  if (!exists) {
    if (!options.create) return { exists };
    await applyQdrantSchema(client, dataset.collection, options.vectorSize);
  }
  const info = await client.getCollection(dataset.collection);
  const vectors = (
    info.config as { params?: { vectors?: { size?: unknown; distance?: unknown } } } | undefined
  )?.params?.vectors;
  return typeof vectors?.size === 'number'
    ? { exists, vectorSize: vectors.size, distance: String(vectors.distance) }
    : { exists };
}

/** A vector as JSON numbers: a Float32Array (an embedding) becomes a plain array; named vectors each. */
function plainVector(vector: unknown): unknown {
  if (ArrayBuffer.isView(vector) && !(vector instanceof DataView))
    return Array.from(vector as unknown as ArrayLike<number>);
  if (vector !== null && typeof vector === 'object' && !Array.isArray(vector))
    return Object.fromEntries(Object.entries(vector).map(([name, v]) => [name, plainVector(v)]));
  return vector;
}

/**
 * Upserts (`PUT …/points?wait=true`: each point replaced whole, payload and vector), then removes
 * (`POST …/points/delete?wait=true`), one request each: Qdrant has no transactions, so a failure of the
 * second leaves the first applied. Both are writes by id, which the client retries safely.
 */
export async function writeQdrantByKey(
  client: QdrantClient,
  dataset: QdrantRecordDataset,
  writes: RecordWrites,
): Promise<void> {
  const { collection } = dataset;
  if (writes.link?.length || writes.unlink?.length) throw new TypeError('Qdrant points have no links');
  const points = (writes.upsert ?? []).map((record) => ({
    id: pointIdOf(collection, record.id),
    vector: plainVector(record.vector),
    ...(record.payload === null || record.payload === undefined ? {} : { payload: record.payload }),
  }));
  const removed = (writes.remove ?? []).map((key) => pointIdOf(collection, key));
  if (points.length > 0) await client.upsert(collection, points as QdrantPoint[]);
  if (removed.length > 0) await client.deletePoints(collection, removed);
}
