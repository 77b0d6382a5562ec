/**
 * `qdrant_vectors.json.gz`: every point of every collection with its vectors, as gzip'd JSON,
 * streamed through zlib with back-pressure (one point at a time is held).
 *
 * ```
 * {"format":"acx-data-vectors","version":1,"collections":{
 *   "<name>":{"config":{…},"vector_size":768,"distance":"Cosine","payload_schema":{…},
 *             "points":[{"id":…,"vector":…,"payload":…},…],
 *             "points_count":N},
 *   …}}
 * ```
 *
 * - Keys `vector_size`, `distance`, `points`, `points_count` are the original exporter's; `config` is
 *   the collection configuration as given (`GET /collections/{name}`), `payload_schema` its payload
 *   indexes (so an import can create the collection as it was). `points_count` is known only
 *   once the points are written, so it comes after `points` (JSON objects are unordered; a
 *   streaming reader sees it last).
 * - `vector_size` and `distance` describe the unnamed vector; with named vectors both are `null` and
 *   `config` has the per-name parameters.
 * - ids are exact: 64-bit integer ids are bare JSON integers (read them with an exact parser, e.g.
 *   `parseExactJson`), UUID ids strings.
 * - vectors are written as given: an unnamed vector as a number array; named vectors as an object
 *   of name → number array, or → `{"indices":[…],"values":[…]}` for sparse ones (the original kept
 *   only the names). Qdrant stores float32: a float32 value parsed as a double and printed in
 *   shortest form reads back to the same float32 through `Math.fround`. Typed arrays become arrays,
 *   `-0` stays `-0`; NaN/Infinity (which Qdrant refuses) would become `null`.
 * - payload: JSON, bigint values as bare integers; a missing payload is `null`.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';
import type { VectorCollection, VectorPoint } from '../../model/dataset.ts';
import { jsonText } from '../text-values.ts';
import { isJsonObject } from '../../model/exact-json.ts';

export const VECTORS_FORMAT = 'acx-data-vectors';
export const VECTORS_FORMAT_VERSION = 1;

export interface VectorsOptions {
  signal?: AbortSignal;
  /**
   * gzip level (default 1). Float text barely compresses further: on 768-dim embeddings level 6 was
   * 8% smaller and 2.5× slower than level 1 (the original used 9, slower still).
   */
  level?: number;
}

export interface VectorsResult {
  path: string;
  /** Points over all collections. */
  records: number;
  /** Points per collection. */
  collections: Record<string, number>;
}

const CHECK_EVERY = 1000;
const CHUNK_CHARS = 256 * 1024;

type Obj = Record<string, unknown>;

/** The unnamed vector's size and distance, from `config` (a collection info or its `config` part). */
export function unnamedVectorParams(config: Obj): { size: number | null; distance: string | null } {
  const inner = isJsonObject(config.config) ? config.config : config;
  const params = isJsonObject(inner.params) ? inner.params : inner;
  const vectors = params.vectors;
  if (isJsonObject(vectors) && typeof vectors.size === 'number') {
    return { size: vectors.size, distance: typeof vectors.distance === 'string' ? vectors.distance : null };
  }
  return { size: null, distance: null };
}

/**
 * A vector as JSON: number arrays (typed arrays too, and multivectors' nested arrays), named
 * vectors and sparse `{indices, values}` objects at any depth. `-0` is kept (`JSON.stringify` writes
 * `0`, a different float32).
 */
export function vectorJson(vector: unknown): string {
  if (typeof vector === 'number') return Object.is(vector, -0) ? '-0' : jsonText(vector);
  if (Array.isArray(vector)) return arrayJson(vector);
  if (ArrayBuffer.isView(vector) && !(vector instanceof DataView)) {
    return arrayJson(Array.from(vector as unknown as ArrayLike<number>));
  }
  if (isJsonObject(vector)) {
    const parts: string[] = [];
    for (const name in vector) parts.push(`${jsonText(name)}:${vectorJson(vector[name])}`);
    return `{${parts.join(',')}}`;
  }
  return jsonText(vector ?? null);
}

function arrayJson(values: readonly unknown[]): string {
  let plain = true;
  for (const v of values) {
    if (typeof v !== 'number' || (v === 0 && 1 / v < 0)) {
      plain = false;
      break;
    }
  }
  return plain ? JSON.stringify(values) : `[${values.map(vectorJson).join(',')}]`;
}

function pointJson(point: VectorPoint): string {
  return (
    `{"id":${jsonText(point.id)},"vector":${vectorJson(point.vector)}` +
    `,"payload":${jsonText(point.payload ?? null)}}`
  );
}

class GzipWriter {
  private buffer = '';
  private failure: Error | undefined;

  private readonly gzip: Gzip;

  constructor(gzip: Gzip) {
    this.gzip = gzip;

    gzip.on('error', (error) => {
      this.failure = error;
    });
  }

  async write(text: string): Promise<void> {
    this.buffer += text;
    if (this.buffer.length >= CHUNK_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.buffer === '') return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.gzip.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          this.gzip.off('error', onError);
          resolve();
        };
        const onError = (error: Error): void => {
          this.gzip.off('drain', onDrain);
          reject(error);
        };
        this.gzip.once('drain', onDrain);
        this.gzip.once('error', onError);
      });
    }
  }
}

async function* asAsync<T>(items: Iterable<T> | AsyncIterable<T>): AsyncIterable<T> {
  yield* items;
}

/** Writes the collections to `path` (through `<path>.partial`, renamed on success). */
export async function writeVectorsFile(
  path: string,
  collections: VectorCollection[] | AsyncIterable<VectorCollection>,
  options: VectorsOptions = {},
): Promise<VectorsResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const partial = `${path}.partial`;
  const gzip = createGzip({ level: options.level ?? 1 });
  const file = createWriteStream(partial);
  const piped = pipeline(gzip, file);
  piped.catch(() => undefined); // awaited below; an early failure surfaces through the writer
  const out = new GzipWriter(gzip);
  const counts: Record<string, number> = {};
  let records = 0;
  try {
    await out.write(
      `{"format":${jsonText(VECTORS_FORMAT)},"version":${VECTORS_FORMAT_VERSION},"collections":{`,
    );
    let firstCollection = true;
    for await (const collection of asAsync(collections)) {
      signal?.throwIfAborted();
      if (Object.hasOwn(counts, collection.name)) {
        throw new Error(`vectors: collection "${collection.name}" given twice`);
      }
      const { size, distance } = unnamedVectorParams(collection.config);
      await out.write(
        `${firstCollection ? '' : ','}${jsonText(collection.name)}:{"config":${jsonText(collection.config)}` +
          `,"vector_size":${jsonText(size)},"distance":${jsonText(distance)}` +
          (collection.payloadSchema ? `,"payload_schema":${jsonText(collection.payloadSchema)}` : '') +
          `,"points":[`,
      );
      firstCollection = false;
      let count = 0;
      for await (const point of collection.points()) {
        await out.write(count === 0 ? pointJson(point) : `,${pointJson(point)}`);
        count++;
        if (count % CHECK_EVERY === 0) signal?.throwIfAborted();
      }
      await out.write(`],"points_count":${count}}`);
      counts[collection.name] = count;
      records += count;
    }
    await out.write('}}');
    signal?.throwIfAborted();
    await out.flush();
    gzip.end();
    await piped;
    await rename(partial, path);
  } catch (error) {
    gzip.destroy();
    file.destroy();
    await piped.catch(() => undefined);
    await rm(partial, { force: true });
    throw error;
  }
  return { path, records, collections: counts };
}
