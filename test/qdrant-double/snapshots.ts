/**
 * Collection snapshots of the Qdrant double, in the double's own format (real Qdrant writes a tar of
 * its segments; the two are not interchangeable). A snapshot is gzipped JSON lines: a header with the
 * collection's creation body and payload indexes, then one line per point with dense vectors as base64
 * float32 (bit-exact), sparse vectors and payload. Files are written and read line by line, so a
 * million-point collection never becomes one string.
 */
import { createHash, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip, createGzip } from 'node:zlib';
import { parseQdrantJson, stringifyQdrantJson } from '../../src/stores/qdrant/qdrant-json.ts';
import {
  Collection,
  QdrantError,
  idFromKey,
  type CollectionConfigInput,
  type PreparedPoint,
  type Storage,
} from './storage.ts';

const FORMAT = 'acx-qdrant-double-snapshot';

interface Header {
  format: typeof FORMAT;
  version: 1;
  collection: string;
  config: CollectionConfigInput;
  payload_indexes: [string, unknown][];
  points: number;
}

interface PointLine {
  id: number | bigint | string;
  payload: Record<string, unknown> | null;
  dense?: Record<string, string>;
  sparse?: Record<string, { indices: number[]; values: number[] }>;
}

export interface FileSummary {
  size: number;
  checksum: string;
}

/** Streams a collection to a gzipped JSON-lines file; returns its size and sha256. */
export async function writeCollectionFile(
  collection: Collection,
  file: string,
  level = 6,
): Promise<FileSummary> {
  const gzip = createGzip({ level });
  const hash = createHash('sha256');
  let size = 0;
  gzip.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
  });
  const tmp = `${file}.partial`;
  const out = createWriteStream(tmp);
  gzip.pipe(out);
  const write = async (line: string): Promise<void> => {
    if (!gzip.write(`${line}\n`)) await once(gzip, 'drain');
  };
  const header: Header = {
    format: FORMAT,
    version: 1,
    collection: collection.name,
    config: collection.creationBody(),
    payload_indexes: [...collection.payloadIndexes],
    points: collection.size,
  };
  await write(stringifyQdrantJson(header));
  for (const key of collection.keysFrom()) {
    const line: PointLine = { id: idFromKey(key), payload: collection.payloadOf(key) };
    for (const vectorName of collection.dense.keys()) {
      const v = collection.denseVector(key, vectorName);
      if (v)
        (line.dense ??= {})[vectorName] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString(
          'base64',
        );
    }
    for (const vectorName of collection.sparse.keys()) {
      const v = collection.sparseVector(key, vectorName);
      if (v) (line.sparse ??= {})[vectorName] = v;
    }
    await write(stringifyQdrantJson(line));
  }
  gzip.end();
  await once(out, 'close');
  await rename(tmp, file);
  return { size, checksum: hash.digest('hex') };
}

/** Reads a snapshot file into a new collection called `name` (the snapshot's own name is ignored). */
export async function readCollectionFile(file: string, name: string): Promise<Collection> {
  const input = createReadStream(file).pipe(createGunzip());
  const lines = createInterface({ input, crlfDelay: Infinity });
  let collection: Collection | undefined;
  let batch: PreparedPoint[] = [];
  try {
    for await (const text of lines) {
      if (text === '') continue;
      const value = parseQdrantJson(text);
      if (!collection) {
        const header = value as Partial<Header>;
        if (header.format !== FORMAT || header.version !== 1 || !header.config) {
          throw new QdrantError(
            400,
            'Wrong input: not a snapshot of the Qdrant double (real Qdrant snapshots are not readable by the double)',
          );
        }
        collection = new Collection(name, header.config);
        for (const [field, schema] of header.payload_indexes ?? [])
          collection.payloadIndexes.set(field, schema);
        continue;
      }
      const line = value as PointLine;
      const point = collection.prepare(line.id, undefined, line.payload);
      for (const [vectorName, base64] of Object.entries(line.dense ?? {})) {
        const bytes = Buffer.from(base64, 'base64');
        const floats = new Float32Array(
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
        );
        point.dense.set(vectorName, floats);
      }
      for (const [vectorName, sv] of Object.entries(line.sparse ?? {})) point.sparse.set(vectorName, sv);
      batch.push(point);
      if (batch.length >= 1024) {
        collection.write(batch, true);
        batch = [];
      }
    }
  } catch (error) {
    if (error instanceof QdrantError) throw error;
    throw new QdrantError(400, `Wrong input: cannot read snapshot: ${(error as Error).message}`);
  }
  if (!collection) throw new QdrantError(400, 'Wrong input: the snapshot file is empty');
  collection.write(batch, true);
  return collection;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const pad = (n: number): string => String(n).padStart(2, '0');

function stamp(date: Date): string {
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}-${pad(date.getUTCHours())}-${pad(date.getUTCMinutes())}-${pad(date.getUTCSeconds())}`;
}

export interface SnapshotDescription {
  name: string;
  creation_time: string | null;
  size: number;
  checksum: string | null;
}

/** Snapshot files per collection under `<dataDir>/snapshots/<collection>/`, like Qdrant's snapshots dir. */
export class SnapshotStore {
  private readonly dataDir: string;
  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  private dir(collection: string): string {
    return join(this.dataDir, 'snapshots', encodeURIComponent(collection));
  }

  /** The file of a snapshot, or Qdrant's 404. */
  async file(collection: string, snapshot: string): Promise<string> {
    const file = join(this.dir(collection), snapshot);
    if (
      snapshot.includes('/') ||
      snapshot.includes('\\') ||
      snapshot.startsWith('.') ||
      !(await exists(file))
    ) {
      throw new QdrantError(404, `Not found: Snapshot ${snapshot} not found`);
    }
    return file;
  }

  async create(collection: Collection): Promise<SnapshotDescription> {
    const dir = this.dir(collection.name);
    await mkdir(dir, { recursive: true });
    const now = new Date();
    const name = `${collection.name}-${randomInt(2 ** 47)}-${stamp(now)}.snapshot`;
    const file = join(dir, name);
    const summary = await writeCollectionFile(collection, file);
    await writeFile(`${file}.checksum`, summary.checksum);
    return {
      name,
      creation_time: now.toISOString().slice(0, 19),
      size: summary.size,
      checksum: summary.checksum,
    };
  }

  async list(collection: string): Promise<SnapshotDescription[]> {
    const dir = this.dir(collection);
    if (!(await exists(dir))) return [];
    const out: SnapshotDescription[] = [];
    for (const name of (await readdir(dir)).sort()) {
      if (!name.endsWith('.snapshot')) continue;
      const info = await stat(join(dir, name));
      const checksum = await readFile(join(dir, `${name}.checksum`), 'utf8').catch(() => null);
      out.push({ name, creation_time: info.mtime.toISOString().slice(0, 19), size: info.size, checksum });
    }
    return out;
  }

  async delete(collection: string, snapshot: string): Promise<void> {
    const file = await this.file(collection, snapshot);
    await rm(file);
    await rm(`${file}.checksum`, { force: true });
  }

  /** A fresh file name for incoming uploads and downloads. */
  async tempFile(suffix: string): Promise<string> {
    const dir = join(this.dataDir, 'tmp');
    await mkdir(dir, { recursive: true });
    return join(dir, `${Date.now()}-${randomInt(2 ** 32)}${suffix}`);
  }

  /** Resolves a `SnapshotRecover.location` to a local file (downloading http(s) URLs); `temporary` files must be removed. */
  async fetchLocation(
    location: string,
    apiKey?: string | null,
  ): Promise<{ file: string; temporary: boolean }> {
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      throw new QdrantError(400, `Wrong input: invalid snapshot location ${location}`);
    }
    if (url.protocol === 'file:') {
      const file = fileURLToPath(url);
      if (!(await exists(file)))
        throw new QdrantError(404, `Not found: Snapshot file ${file} does not exist`);
      return { file, temporary: false };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new QdrantError(400, `Wrong input: unsupported snapshot location scheme ${url.protocol}`);
    }
    const response = await fetch(url, { headers: apiKey ? { 'api-key': apiKey } : {} }).catch(
      (error: unknown) => {
        throw new QdrantError(
          400,
          `Wrong input: cannot download snapshot from ${location}: ${(error as Error).message}`,
        );
      },
    );
    if (!response.ok || !response.body) {
      throw new QdrantError(
        400,
        `Wrong input: cannot download snapshot from ${location}: HTTP ${response.status}`,
      );
    }
    const file = await this.tempFile('.snapshot');
    const out = createWriteStream(file);
    for await (const chunk of Readable.fromWeb(
      response.body as import('node:stream/web').ReadableStream<Uint8Array>,
    )) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    return { file, temporary: true };
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Streams the file part `field` of a multipart/form-data request into `file`. Returns false when the
 * request has no such part. A small parser for the one-file uploads Qdrant's snapshot API takes.
 */
export async function receiveMultipartFile(
  req: IncomingMessage,
  contentType: string,
  field: string,
  file: string,
): Promise<boolean> {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) throw new QdrantError(400, 'Wrong input: multipart/form-data without a boundary');
  const boundary = Buffer.from(`--${m[1] ?? m[2]}`);
  const delimiter = Buffer.concat([Buffer.from('\r\n'), boundary]);
  let state: 'preamble' | 'headers' | 'body' | 'done' = 'preamble';
  let pending: Buffer = Buffer.alloc(0);
  let out: ReturnType<typeof createWriteStream> | null = null;
  let found = false;
  const finishPart = async (): Promise<void> => {
    if (!out) return;
    out.end();
    await once(out, 'close');
    out = null;
  };
  try {
    for await (const chunk of req) {
      pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
      for (;;) {
        if (state === 'preamble') {
          const at = pending.indexOf(boundary);
          if (at < 0 || pending.length < at + boundary.length + 2) break;
          if (pending.subarray(at + boundary.length, at + boundary.length + 2).toString() === '--') {
            state = 'done';
            break;
          }
          const eol = pending.indexOf('\r\n', at + boundary.length);
          if (eol < 0) break;
          pending = pending.subarray(eol + 2);
          state = 'headers';
        } else if (state === 'headers') {
          const end = pending.indexOf('\r\n\r\n');
          if (end < 0) break;
          const headers = pending.subarray(0, end).toString('utf8');
          pending = pending.subarray(end + 4);
          const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers)?.[1];
          if (name === field && !found) {
            found = true;
            out = createWriteStream(file);
          }
          state = 'body';
        } else if (state === 'body') {
          const at = pending.indexOf(delimiter);
          if (at < 0) {
            const keep = Math.min(pending.length, delimiter.length - 1);
            const data = pending.subarray(0, pending.length - keep);
            if (out && data.length > 0 && !(out as NodeJS.WritableStream).write(data))
              await once(out, 'drain');
            pending = Buffer.from(pending.subarray(pending.length - keep));
            break;
          }
          const w = out as NodeJS.WritableStream | null;
          if (w && at > 0 && !w.write(pending.subarray(0, at))) await once(w, 'drain');
          await finishPart();
          pending = pending.subarray(at + delimiter.length);
          if (pending.length < 2) {
            state = 'preamble';
            pending = Buffer.concat([boundary, pending]);
            break;
          }
          if (pending.subarray(0, 2).toString() === '--') {
            state = 'done';
            break;
          }
          state = 'preamble';
          pending = Buffer.concat([boundary, pending]);
        } else break;
      }
    }
  } finally {
    await finishPart();
  }
  if (state !== 'done' && found)
    throw new QdrantError(400, 'Wrong input: truncated multipart/form-data body');
  return found;
}

// ---------------------------------------------------------------------------------------- persistence

/** Writes every collection and the aliases under `<dir>` (used when the standalone double stops). */
export async function saveStorage(storage: Storage, dir: string): Promise<void> {
  const target = join(dir, 'collections');
  const tmp = `${target}.new`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const collection of storage.collections.values()) {
    await writeCollectionFile(collection, join(tmp, `${encodeURIComponent(collection.name)}.jsonl.gz`), 1);
  }
  await writeFile(join(tmp, 'aliases.json'), JSON.stringify([...storage.aliases]));
  await rm(target, { recursive: true, force: true });
  await rename(tmp, target);
}

/** Loads what `saveStorage` wrote, if anything. */
export async function loadStorage(storage: Storage, dir: string): Promise<void> {
  const source = join(dir, 'collections');
  if (!(await exists(source))) return;
  for (const name of await readdir(source)) {
    if (!name.endsWith('.jsonl.gz')) continue;
    const collectionName = decodeURIComponent(name.slice(0, -'.jsonl.gz'.length));
    storage.replace(await readCollectionFile(join(source, name), collectionName));
  }
  const aliases = JSON.parse(await readFile(join(source, 'aliases.json'), 'utf8').catch(() => '[]')) as [
    string,
    string,
  ][];
  for (const [alias, target] of aliases)
    if (storage.collections.has(target)) storage.aliases.set(alias, target);
}
