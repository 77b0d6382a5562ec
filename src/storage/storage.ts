/**
 * Storage: a place where bytes live (local directory, memory, later S3/GCS/Azure). It knows nothing of
 * databases or snapshots; the repository builds its layout on top. Modelled on restic's
 * internal/backend: one small interface whose comments are the contract, checked for every driver by
 * one conformance suite (test/contract/storage-contract.ts). Retry and concurrency limits are
 * decorators (./decorators/), never written inside a driver.
 *
 * Keys (rules in ./storage-keys.ts) are '/'-separated strings relative to the storage root, never OS
 * paths: `full_20260201_120000/postgres/tables/public.dtc_codes.copy.zst`. A "directory" is only a key
 * prefix ending in '/': it exists while an object under it exists.
 *
 * Errors: drivers reject with `StorageError` (./storage-error.ts) carrying one of
 * `STORAGE_ERROR_REASONS`. An operation whose `signal` aborts rejects with `signal.reason` instead.
 */
import type { Readable } from 'node:stream';

export const STORAGE_ERROR_REASONS = [
  /** The key does not exist (get). stat answers `undefined` and delete succeeds instead. */
  'not-found',
  /** Credentials or file permissions refuse the operation. */
  'permission',
  /** Worth retrying: timeouts, throttling, 5xx, dropped connections. The only reason retried. */
  'transient',
  /** A caller mistake: invalid key or range, storage closed. Never retried. */
  'invalid-request',
  /** `ifNotExists` found the key, or a key collides with a "directory" of other keys. */
  'conflict',
  /** Anything else (disk full, I/O error, unexpected response): not retried. */
  'other',
] as const;

export type StorageErrorReason = (typeof STORAGE_ERROR_REASONS)[number];

/** What a driver guarantees beyond the common contract; callers branch on these, never on `kind`. */
export interface StorageCapabilities {
  /** A put becomes visible whole or not at all, also to readers during an overwrite. */
  readonly atomicPut: boolean;
  /** get() honours offset/length without transferring the bytes before the range. */
  readonly rangedGet: boolean;
  /** put({ ifNotExists }) is an atomic create (safe for lock files). */
  readonly conditionalPut: boolean;
  /** `localPath(key)` exists: objects are real files (e.g. for SQLite). */
  readonly localPath: boolean;
}

export interface ObjectInfo {
  readonly key: string;
  /** Bytes stored. */
  readonly size: number;
  /** When the current content was stored. */
  readonly modified: Date;
}

/** Every operation accepts a signal; aborting rejects with `signal.reason` and leaves nothing half-done. */
export interface OperationOptions {
  signal?: AbortSignal;
}

/** Bytes for put(). Streams are consumed once; Buffer/Uint8Array and string (UTF-8) can be replayed. */
export type PutData = Readable | AsyncIterable<Uint8Array | string> | Uint8Array | string;

export interface PutOptions extends OperationOptions {
  /** Fail with reason 'conflict' when the key exists. Atomic: of concurrent creates exactly one wins. */
  ifNotExists?: boolean;
  /**
   * Durable before resolving (local: fsync of the file and its directory). Drivers whose writes are
   * always durable ignore it. Default: the driver's configuration (local: true).
   */
  sync?: boolean;
}

export interface GetOptions extends OperationOptions {
  /** First byte to return (default 0). At or past the end: an empty stream. */
  offset?: number;
  /** Bytes to return at most (default: to the end). Past the end is cut short, not an error. */
  length?: number;
}

export interface Storage {
  /** The driver: 'local', 'memory', later 's3', 'gcs', 'azure'. */
  readonly kind: string;
  /** Printable and free of secrets: '/abs/dir', 'memory://name', 's3://bucket/prefix'. */
  readonly location: string;
  readonly capabilities: StorageCapabilities;

  /**
   * Stores `data` under `key`, replacing any object there. The object becomes visible (to get, stat and
   * list) only once all of `data` is stored, and an overwrite never exposes a mix of old and new bytes.
   * If `data` errors, the signal aborts or storing fails, the previous object (if any) is unchanged,
   * nothing partial is visible and no temporary leftovers remain; the promise rejects with the source's
   * error, `signal.reason` or a StorageError. A key may not be both an object and a "directory" of
   * other keys (`a` and `a/b`): local and memory reject that with 'conflict'; callers must not rely on
   * cloud drivers accepting it.
   */
  put(key: string, data: PutData, options?: PutOptions): Promise<ObjectInfo>;

  /**
   * The object's bytes as a stream, optionally the range [offset, offset + length). Resolves once the
   * object is known to exist; rejects with reason 'not-found' when it does not. The stream shows one
   * version: a concurrent overwrite or delete does not change what an opened stream returns (local and
   * memory); cloud drivers must at least fail the stream rather than mix versions. Consume the stream
   * or destroy it: it holds resources (a file handle, a LimitingStorage slot) until it ends.
   */
  get(key: string, options?: GetOptions): Promise<Readable>;

  /** The object's size and time, or `undefined` when there is no object under `key`. */
  stat(key: string, options?: OperationOptions): Promise<ObjectInfo | undefined>;

  /**
   * Every object whose key starts with `prefix` ('' for all), at any depth, in ascending order of the
   * keys' UTF-8 bytes (`compareKeys`), each key once. `prefix` is a plain string prefix: 'snap' matches
   * 'snapshots/a' and 'snap.json'. Paging is the driver's business. Objects stored or deleted during a
   * listing may or may not appear; objects being written never do. The order lets a caller resume a
   * listing after its last key (RetryingStorage does). Errors, an invalid prefix included, surface
   * while iterating.
   */
  list(prefix: string, options?: OperationOptions): AsyncIterable<ObjectInfo>;

  /**
   * The distinct "directories" right under `prefix`, S3's common prefixes for delimiter '/': for each
   * object key `prefix + name + '/' + rest`, yields `prefix + name + '/'` once, in `compareKeys` order.
   * A directory holding no visible object (only writes in progress, or emptied) is not listed. Example:
   * listPrefixes('') → 'full_20260201_120000/', 'full_20260202_120000/'.
   */
  listPrefixes(prefix: string, options?: OperationOptions): AsyncIterable<string>;

  /** Removes the object. Idempotent: a missing key (or a key that is only a "directory") is no error. */
  delete(key: string, options?: OperationOptions): Promise<void>;

  /**
   * Escape hatch for local storages only (present exactly when `capabilities.localPath`): the absolute
   * file path of `key`, for libraries that need a real file (SQLite). Reading it is safe. Writing
   * it bypasses put's atomicity and fsync: only for objects nothing reads before a later put publishes
   * them (a snapshot's data files before its manifest). Storages without it: requireLocalPath() refuses,
   * so callers fall back to a local temp file and put() it.
   */
  localPath?(key: string): string;

  /**
   * Optional, for drivers whose unfinished writes can outlive their writer (local: the temp file of a
   * process killed during a put, and the directories made for it; later S3: incomplete multipart
   * uploads). Removes those under the "directory" `prefix` (ending in '/'): no other operation lists
   * or deletes them, so without this a prefix whose objects were all deleted can still hold bytes.
   * Objects are not touched. Only for a caller that knows no write under `prefix` is in progress (it
   * holds a lock, or it wrote there itself and its writes have settled): a put in progress would fail.
   * Drivers that leave nothing behind omit it.
   */
  deleteAbandoned?(prefix: string, options?: OperationOptions): Promise<void>;

  /** Releases the driver's resources. Idempotent; other operations afterwards reject ('invalid-request'). */
  close(): Promise<void>;
}
