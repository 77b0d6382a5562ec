/**
 * Small operations every Storage caller needs, built only on the Storage interface so they work on
 * every driver and through every decorator.
 */
import type { Readable } from 'node:stream';
import { AcxError } from '../errors.ts';
import type { GetOptions, ObjectInfo, OperationOptions, PutOptions, Storage } from './storage.ts';
import { StorageError } from './storage-error.ts';
import { assertPrefix } from './storage-keys.ts';

/** The whole object (or range) in memory: for small files only (manifests, locks). */
export async function readBytes(storage: Storage, key: string, options: GetOptions = {}): Promise<Buffer> {
  const stream: Readable = await storage.get(key, options);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The object as UTF-8 text. */
export async function readText(storage: Storage, key: string, options: GetOptions = {}): Promise<string> {
  return (await readBytes(storage, key, options)).toString('utf8');
}

/**
 * The object parsed as JSON, `unknown` until the caller validates it. Text that is not JSON is an
 * INTEGRITY error naming the object (a manifest cut short, a file edited by hand).
 */
export async function readJson(
  storage: Storage,
  key: string,
  options: OperationOptions = {},
): Promise<unknown> {
  const text = await readText(storage, key, options);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AcxError('INTEGRITY', `${key} on ${storage.location} is not valid JSON`, {
      subject: key,
      cause: error,
    });
  }
}

/** Stores `text` as UTF-8, atomically like every put. */
export function putText(
  storage: Storage,
  key: string,
  text: string,
  options: PutOptions = {},
): Promise<ObjectInfo> {
  return storage.put(key, text, options);
}

/** Stores `value` as indented JSON with a final newline, atomically like every put. */
export function putJson(
  storage: Storage,
  key: string,
  value: unknown,
  options: PutOptions = {},
): Promise<ObjectInfo> {
  return storage.put(key, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Whether an object is stored under `key` (a "directory" is not an object). */
export async function exists(
  storage: Storage,
  key: string,
  options: OperationOptions = {},
): Promise<boolean> {
  return (await storage.stat(key, options)) !== undefined;
}

/** Every object under `prefix`, collected: for listings known to be small, and tests. */
export async function listAll(
  storage: Storage,
  prefix: string,
  options: OperationOptions = {},
): Promise<ObjectInfo[]> {
  const found: ObjectInfo[] = [];
  for await (const info of storage.list(prefix, options)) found.push(info);
  return found;
}

/**
 * Deletes every object under the "directory" `prefix`, which must end in '/' (so 'full_1/' cannot
 * take 'full_10/' with it), in listing order, a few at a time. Returns how many objects were deleted.
 * Not atomic: an interrupted call leaves the rest, and calling it again finishes the job. Callers that
 * need an order (a snapshot's manifest first) delete those keys themselves before.
 */
export async function deletePrefix(
  storage: Storage,
  prefix: string,
  options: OperationOptions & { concurrency?: number } = {},
): Promise<number> {
  assertPrefix(prefix, { location: storage.location, operation: 'delete' });
  if (!prefix.endsWith('/')) {
    throw new StorageError('a prefix to delete must end with "/"', {
      reason: 'invalid-request',
      operation: 'delete',
      key: prefix,
      location: storage.location,
    });
  }
  const concurrency = options.concurrency ?? 8;
  let deleted = 0;
  let batch: string[] = [];
  const flush = async () => {
    await Promise.all(batch.map((key) => storage.delete(key, { signal: options.signal })));
    deleted += batch.length;
    batch = [];
  };
  for await (const info of storage.list(prefix, { signal: options.signal })) {
    batch.push(info.key);
    if (batch.length >= concurrency) await flush();
  }
  await flush();
  return deleted;
}

/**
 * The real file behind `key` on a storage with `capabilities.localPath` (see Storage.localPath); other
 * storages are refused with 'invalid-request', so callers copy through a local temp file instead.
 */
export function requireLocalPath(storage: Storage, key: string): string {
  if (!storage.capabilities.localPath || !storage.localPath) {
    throw new StorageError(`${storage.kind} storage has no local files`, {
      reason: 'invalid-request',
      operation: 'get',
      key,
      location: storage.location,
    });
  }
  return storage.localPath(key);
}
