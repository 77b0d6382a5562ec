/**
 * A Storage in a Google Cloud Storage bucket: `gs://bucket/optional/prefix`, every key stored as the
 * object `<prefix>/<key>` (no prefix: `<key>`). Built on @google-cloud/storage, loaded lazily.
 *
 * Credentials: the SDK's default chain (GOOGLE_APPLICATION_CREDENTIALS, else the application default
 * credentials of gcloud or the metadata server), read from `settings.env` when given. With
 * STORAGE_EMULATOR_HOST set there (fake-gcs-server) the client talks to that endpoint without
 * credentials. The SDK reads STORAGE_EMULATOR_HOST only from process.env and then uses it as its base
 * URL without the `/storage/v1` path, which fake-gcs-server answers with 404; so the variable is hidden
 * from the constructor and the endpoint passed as `apiEndpoint` instead.
 *
 * Writes: objects appear in GCS only when their upload finalises, so every put is atomic. A Buffer or
 * string up to SIMPLE_UPLOAD_BYTES goes in one multipart request whose metadata carries its MD5 and
 * CRC32C: the service refuses the upload if the bytes it got differ. Larger data and every stream go
 * through a resumable upload in chunks of CHUNK_BYTES (the SDK holds one chunk in memory to resend it;
 * the whole object is never buffered) with `validation: 'crc32c'`: the final request carries the
 * CRC32C (X-Goog-Hash) and the service refuses a mismatch. GCS's JSON API uploads one object
 * sequentially; its parallel forms (composite uploads, XML multipart) would make parts or temporary
 * objects visible, so they are not used. A failed or aborted put destroys the upload before its last
 * request: nothing becomes visible. Resumable sessions left that way hold nothing visible or billable
 * and expire after a week, so this driver has no `deleteAbandoned`.
 *
 * `ifNotExists` is the precondition `ifGenerationMatch: 0` (412 → 'conflict'), atomic in GCS and
 * honoured by fake-gcs-server 1.56. Encryption at rest is always on (Google-managed keys);
 * `settings.gcs.kmsKeyName` asks for customer-managed encryption of every object written
 * (fake-gcs-server ignores it).
 *
 * Reads: ranged reads are HTTP Range requests; whole-object reads are checked against the service's
 * CRC32C by the SDK (a range cannot be). get() resolves once the response has started, so a later
 * overwrite cannot change what the stream returns.
 *
 * Listings: GCS lists object names in lexicographic order of their UTF-8 bytes (documented for
 * objects.list, and what fake-gcs-server 1.56 does), which is `compareKeys`: pages are yielded as they
 * come, 1 000 names a page, so memory stays one page. A page out of order would be a service defect:
 * the listing fails ('other') rather than yield a wrong order. listPrefixes uses delimiter '/'.
 *
 * Retries: the SDK retries each request itself (maxRetries 3, on 408/429/5xx and dropped connections;
 * RetryAlways, since every request this driver sends is idempotent for its contract: see
 * ./gcs-storage-client.ts); what still fails is 'transient' for RetryingStorage.
 * Timeouts: every request but a resumable upload's has the SDK's 60 s timeout until its response
 * starts; on top, a put or read stream that moves no byte for 60 s (not counting time spent waiting on
 * the caller's source or reader) is ended 'transient' (./gcs-storage-watchdog.ts), so a hung connection
 * never hangs a backup. (No separate connect timeout: the SDK offers none; a hung connect is caught by
 * the same 60 s.)
 *
 * A missing bucket is never a missing object: the first operation checks the bucket with a one-item
 * listing (the permission the driver needs anyway), and a missing bucket rejects every operation with
 * 'invalid-request' naming it. Buckets are never created.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket, File, Storage as GcsClient } from '@google-cloud/storage';
import type { CloudSettings } from '../cloud-settings.ts';
import { parseCloudLocation } from '../cloud-settings.ts';
import type {
  GetOptions,
  ObjectInfo,
  OperationOptions,
  PutData,
  PutOptions,
  Storage,
  StorageCapabilities,
} from '../storage.ts';
import { StorageError, type StorageOperation } from '../storage-error.ts';
import { assertKey, assertPrefix, compareKeys, keyProblem } from '../storage-keys.ts';
import { chunksOf, destroyOnAbort, isReplayable, rangeProblem, toBuffer } from '../storage-data.ts';
import {
  gcsError,
  isMissingBucketText,
  missingBucketError,
  reasonOfGcsError,
  statusOf,
} from './gcs-storage-errors.ts';
import { startWatchdog, type Watchdog } from './gcs-storage-watchdog.ts';
import { createGcsClient, REQUEST_TIMEOUT_MS } from './gcs-storage-client.ts';
import { raceAbort, responseStarted } from './gcs-storage-streams.ts';

/** Buffers and strings up to this size go in one request. */
export const SIMPLE_UPLOAD_BYTES = 8 * 1024 * 1024;
/** Resumable upload chunk (a multiple of 256 KiB): the memory one stream put holds. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
const PAGE_SIZE = 1000;

export interface GcsStorageOptions {
  /** `settings.gcs.kmsKeyName`: customer-managed encryption of every object written. */
  kmsKeyName?: string;
  /** A transfer moving no byte this long fails 'transient' (default 60 s). */
  idleTimeoutMs?: number;
}

/** Opens `gs://bucket/prefix`; rejects when the bucket does not exist or cannot be reached. */
export async function openGcsStorage(location: string, settings: CloudSettings = {}): Promise<GcsStorage> {
  const parsed = parseCloudLocation(location, 'gs');
  const client = await createGcsClient(settings.env ?? process.env);
  const storage = new GcsStorage(client, parsed.bucket, parsed.prefix, {
    kmsKeyName: settings.gcs?.kmsKeyName,
  });
  await storage.checkBucket('open');
  return storage;
}

export class GcsStorage implements Storage {
  readonly kind = 'gcs';
  readonly location: string;
  readonly capabilities: StorageCapabilities = {
    atomicPut: true,
    rangedGet: true,
    conditionalPut: true,
    localPath: false,
  };
  private readonly bucket: Bucket;
  private bucketChecked: Promise<void> | undefined;
  private closed = false;

  readonly bucketName: string;
  /** No leading or trailing '/'; '' for the bucket's root. */
  readonly prefix: string;
  private readonly options: GcsStorageOptions;

  constructor(client: GcsClient, bucketName: string, prefix: string, options: GcsStorageOptions = {}) {
    this.bucketName = bucketName;
    this.prefix = prefix;
    this.options = options;

    this.bucket = client.bucket(bucketName);
    this.location = prefix === '' ? `gs://${bucketName}` : `gs://${bucketName}/${prefix}`;
  }

  async put(key: string, data: PutData, options: PutOptions = {}): Promise<ObjectInfo> {
    this.check('put', key);
    options.signal?.throwIfAborted();
    await this.ready('put', key, options.signal);
    const file = this.fileOf(key);
    const preconditionOpts = options.ifNotExists ? { ifGenerationMatch: 0 } : undefined;
    let sink: Writable;
    let source: AsyncIterable<Buffer>;
    if (isReplayable(data) && toBuffer(data).length <= SIMPLE_UPLOAD_BYTES) {
      const bytes = toBuffer(data);
      const { CRC32C } = await import('@google-cloud/storage');
      const crc32c = new CRC32C();
      crc32c.update(bytes);
      const metadata = {
        contentType: 'application/octet-stream',
        md5Hash: createHash('md5').update(bytes).digest('base64'),
        crc32c: crc32c.toString(),
      };
      sink = file.createWriteStream({ resumable: false, validation: false, metadata, preconditionOpts });
      source = chunksOf(bytes, options.signal);
    } else {
      sink = file.createWriteStream({
        resumable: true,
        validation: 'crc32c',
        chunkSize: CHUNK_BYTES,
        metadata: { contentType: 'application/octet-stream' },
        preconditionOpts,
      });
      source = chunksOf(data, options.signal);
    }
    let sourceFailed = false;
    let waitingOnSource = false;
    const watchdog = this.watch(
      () => waitingOnSource,
      () => sink.destroy(this.stalled('put', key)),
    );
    sink.on('progress', () => watchdog.touch());
    async function* tracked(): AsyncGenerator<Buffer> {
      const iterator = source[Symbol.asyncIterator]();
      try {
        for (;;) {
          waitingOnSource = true;
          const next = await iterator.next().finally(() => (waitingOnSource = false));
          if (next.done) return;
          watchdog.touch();
          yield next.value;
        }
      } catch (error) {
        sourceFailed = true;
        throw error;
      } finally {
        await iterator.return?.();
      }
    }
    try {
      // A source error or an abort destroys the upload before its final request: nothing is stored.
      await pipeline(Readable.from(tracked(), { objectMode: false }), sink, { signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (sourceFailed) throw error;
      throw await this.translate(error, 'put', key);
    } finally {
      watchdog.stop();
    }
    const metadata = file.metadata;
    return {
      key,
      size: Number(metadata.size ?? 0),
      modified: new Date(metadata.updated ?? metadata.timeCreated ?? Date.now()),
    };
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    this.check('get', key);
    const problem = rangeProblem(options.offset, options.length);
    if (problem) throw this.error('get', key, 'invalid-request', problem);
    options.signal?.throwIfAborted();
    await this.ready('get', key, options.signal);
    const offset = options.offset ?? 0;
    if (options.length === 0) {
      if (!(await this.stat(key, options))) throw this.error('get', key, 'not-found', 'no such object');
      return Readable.from([]);
    }
    const ranged = offset > 0 || options.length !== undefined;
    const end = options.length === undefined ? undefined : offset + options.length - 1;
    const download = this.fileOf(key).createReadStream(
      ranged ? { start: offset, end, validation: false } : { validation: 'crc32c' },
    );
    try {
      await raceAbort(responseStarted(download), options.signal);
    } catch (error) {
      download.destroy();
      if (options.signal?.aborted) throw options.signal.reason;
      // 416: the object exists and the offset is at or past its end.
      if (statusOf(error) === 416) return Readable.from([]);
      throw await this.translate(error, 'get', key);
    }
    const out = new PassThrough();
    const watchdog = this.watch(
      () => out.writableNeedDrain,
      () => download.destroy(this.stalled('get', key)),
    );
    download.on('data', () => watchdog.touch());
    download.on('end', () => watchdog.stop());
    download.on('error', (error: unknown) => {
      watchdog.stop();
      if (options.signal?.aborted) out.destroy(options.signal.reason as Error);
      else void this.translate(error, 'get', key).then((translated) => out.destroy(translated));
    });
    out.on('close', () => {
      watchdog.stop();
      download.destroy();
    });
    download.pipe(out);
    return destroyOnAbort(out, options.signal);
  }

  async stat(key: string, options: OperationOptions = {}): Promise<ObjectInfo | undefined> {
    this.check('stat', key);
    options.signal?.throwIfAborted();
    await this.ready('stat', key, options.signal);
    try {
      const [metadata] = await raceAbort(this.fileOf(key).getMetadata(), options.signal);
      return this.infoOf(key, metadata);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const translated = await this.translate(error, 'stat', key);
      if (translated.reason === 'not-found') return undefined;
      throw translated;
    }
  }

  async *list(prefix: string, options: OperationOptions = {}): AsyncGenerator<ObjectInfo> {
    this.checkPrefix(prefix);
    await this.ready('list', prefix, options.signal);
    let last: string | undefined;
    for await (const page of this.pages(prefix, undefined, options.signal)) {
      for (const file of [...page.files].sort((a, b) => compareKeys(a.name, b.name))) {
        const key = file.name.slice(this.root.length);
        if (keyProblem(key) !== undefined) continue; // folder placeholders, names no driver could write
        last = this.inOrder('list', prefix, last, key);
        yield this.infoOf(key, file.metadata);
      }
    }
  }

  async *listPrefixes(prefix: string, options: OperationOptions = {}): AsyncGenerator<string> {
    this.checkPrefix(prefix);
    await this.ready('list', prefix, options.signal);
    let last: string | undefined;
    for await (const page of this.pages(prefix, '/', options.signal)) {
      for (const name of [...page.prefixes].sort(compareKeys)) {
        const directory = name.slice(this.root.length);
        if (keyProblem(directory.slice(0, -1)) !== undefined || directory === last) continue;
        last = this.inOrder('list', prefix, last, directory);
        yield directory;
      }
    }
  }

  async delete(key: string, options: OperationOptions = {}): Promise<void> {
    this.check('delete', key);
    options.signal?.throwIfAborted();
    await this.ready('delete', key, options.signal);
    try {
      await raceAbort(this.fileOf(key).delete({ ignoreNotFound: true }), options.signal);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const translated = await this.translate(error, 'delete', key);
      if (translated.reason !== 'not-found') throw translated;
    }
  }

  async close(): Promise<void> {
    // The client holds no connection of its own: its keep-alive sockets close when idle.
    this.closed = true;
  }

  /**
   * Checks once that the bucket exists, with a one-item listing (a listing never answers 404 for a
   * bucket that exists). A missing bucket is checked again on the next operation: it may be created.
   */
  async checkBucket(operation: StorageOperation, key?: string, signal?: AbortSignal): Promise<void> {
    this.bucketChecked ??= this.bucket
      .getFiles({ prefix: this.root, maxResults: 1, autoPaginate: false })
      .then(
        () => undefined,
        (error: unknown) => {
          this.bucketChecked = undefined;
          const context = { operation, location: this.location, bucket: this.bucketName, key };
          throw reasonOfGcsError(error) === 'not-found'
            ? missingBucketError(context, error)
            : gcsError(error, context);
        },
      );
    await raceAbort(this.bucketChecked, signal);
  }

  private watch(isWaitingOnCaller: () => boolean, onIdle: () => void): Watchdog {
    return startWatchdog(this.options.idleTimeoutMs ?? REQUEST_TIMEOUT_MS, isWaitingOnCaller, onIdle);
  }

  private stalled(operation: StorageOperation, key: string): StorageError {
    const seconds = (this.options.idleTimeoutMs ?? REQUEST_TIMEOUT_MS) / 1000;
    return new StorageError(`no data moved for ${seconds} s: the connection hangs`, {
      reason: 'transient',
      operation,
      key,
      location: this.location,
    });
  }

  private get root(): string {
    return this.prefix === '' ? '' : `${this.prefix}/`;
  }

  private fileOf(key: string): File {
    return this.bucket.file(
      this.root + key,
      this.options.kmsKeyName ? { kmsKeyName: this.options.kmsKeyName } : {},
    );
  }

  private async ready(operation: StorageOperation, key: string, signal?: AbortSignal): Promise<void> {
    await this.checkBucket(operation, key, signal);
  }

  /** Pages of one listing, PAGE_SIZE names each, fetched one at a time as the caller iterates. */
  private async *pages(
    prefix: string,
    delimiter: string | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<{ files: File[]; prefixes: string[] }> {
    let pageToken: string | undefined;
    do {
      signal?.throwIfAborted();
      let response;
      try {
        response = await raceAbort(
          this.bucket.getFiles({
            prefix: this.root + prefix,
            delimiter,
            maxResults: PAGE_SIZE,
            pageToken,
            autoPaginate: false,
          }),
          signal,
        );
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const context = { operation: 'list' as const, location: this.location, bucket: this.bucketName };
        // A listing answers 404 only for a missing bucket.
        if (reasonOfGcsError(error) === 'not-found')
          throw missingBucketError({ ...context, key: prefix }, error);
        throw gcsError(error, { ...context, key: prefix });
      }
      const [files, next, raw] = response as unknown as [
        File[],
        { pageToken?: string } | null,
        { prefixes?: string[] },
      ];
      yield { files, prefixes: raw?.prefixes ?? [] };
      pageToken = next?.pageToken;
    } while (pageToken);
  }

  /** Enforces the listing order across pages (see the header); returns the new last key. */
  private inOrder(
    operation: StorageOperation,
    prefix: string,
    last: string | undefined,
    key: string,
  ): string {
    if (last !== undefined && compareKeys(last, key) >= 0) {
      throw this.error(
        operation,
        prefix,
        'other',
        `the service listed "${key}" after "${last}", out of UTF-8 byte order`,
      );
    }
    return key;
  }

  private infoOf(key: string, metadata: { size?: string | number; updated?: string; timeCreated?: string }) {
    return {
      key,
      size: Number(metadata.size ?? 0),
      modified: new Date(metadata.updated ?? metadata.timeCreated ?? 0),
    };
  }

  /** An SDK error as a StorageError; a 404 that is the bucket's, not the object's, is 'invalid-request'. */
  private async translate(error: unknown, operation: StorageOperation, key: string): Promise<StorageError> {
    if (error instanceof StorageError) return error;
    const context = { operation, location: this.location, bucket: this.bucketName, key };
    if (reasonOfGcsError(error) === 'not-found') {
      if (isMissingBucketText(error)) return missingBucketError(context, error);
      return this.error(operation, key, 'not-found', 'no such object');
    }
    return gcsError(error, context);
  }

  private check(operation: StorageOperation, key: string): void {
    if (this.closed) throw this.error(operation, key, 'invalid-request', 'the storage is closed');
    assertKey(key, { location: this.location, operation });
  }

  private checkPrefix(prefix: string): void {
    if (this.closed) throw this.error('list', prefix, 'invalid-request', 'the storage is closed');
    assertPrefix(prefix, { location: this.location, operation: 'list' });
  }

  private error(
    operation: StorageOperation,
    key: string,
    reason: 'not-found' | 'invalid-request' | 'other',
    detail: string,
  ): StorageError {
    return new StorageError(detail, { reason, operation, key, location: this.location });
  }
}
