/**
 * A Storage in an Azure Blob Storage container: `azure://container/optional/prefix`. Every key is the
 * block blob `<prefix>/<key>` (no prefix: `<key>`).
 *
 * Credentials come from the environment only (settings.env ?? process.env), never from a flag or the
 * location: AZURE_STORAGE_CONNECTION_STRING (the guide's variable; Azurite's too), else
 * AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY (shared key, https://<account>.blob.core.windows.net).
 * Neither is ever printed: errors are rebuilt from status and service code (azure-storage-errors.ts).
 *
 * - put: one Put Blob up to 8 MiB, else blocks of 8 MiB, 4 in flight, published by one Put Block List
 *   (azure-storage-upload.ts): visible only once complete, each request checked by Content-MD5.
 *   `ifNotExists` is an atomic create (If-None-Match: *; 409 BlobAlreadyExists / 412 → 'conflict').
 *   `sync` is ignored: a write is durable once the service answers.
 * - get: ranged reads (Range header); a whole-blob read is verified against the blob's stored MD5, and
 *   a read of one version only: the SDK resumes a dropped body with If-Match on the first ETag, so an
 *   overwrite during a read fails the stream instead of mixing versions.
 * - list / listPrefixes: pages of 1 000, re-ordered from the service's UTF-16 order to UTF-8 byte order
 *   with bounded memory (azure-storage-order.ts explains how).
 * - Encryption: Azure always encrypts at rest (Microsoft-managed keys by default); settings.azure
 *   .encryptionScope (`--azure-encryption-scope`) names the account's encryption scope for every write.
 *   Azurite accepts the header without checking the scope exists (test/contract/cloud-storage-azure).
 * - Retries: the SDK's own retry policy is off (maxTries 1); RetryingStorage retries 'transient'
 *   errors, outside. Inside, a put repeats a failed block (and an unconditional Put Blob or commit):
 *   their bytes are held, while RetryingStorage cannot replay a stream already started
 *   (azure-storage-upload.ts). Only the SDK's resume of a dropped download body (same ETag) stays. Each request has a
 *   deadline (30 s, 120 s for a block or blob write; a connect or an idle socket counts in it), and a
 *   read stream that receives nothing for 60 s while its reader waits fails 'transient'.
 * - No deleteAbandoned: uncommitted blocks are never visible and the service discards them after 7 days.
 * - A missing container rejects every operation with 'invalid-request' (never looks like a missing
 *   object); `ensureAzureContainer` creates it (for --upload-azure).
 */
import { Readable, Transform } from 'node:stream';
import { createHash } from 'node:crypto';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import type {
  GetOptions,
  ObjectInfo,
  OperationOptions,
  PutData,
  PutOptions,
  Storage,
  StorageCapabilities,
} from '../storage.ts';
import { isStorageError, StorageError, type StorageOperation } from '../storage-error.ts';
import { parseCloudLocation, type CloudLocation, type CloudSettings } from '../cloud-settings.ts';
import { assertKey, assertPrefix, keyProblem } from '../storage-keys.ts';
import { destroyOnAbort, rangeProblem, readableOfBuffer } from '../storage-data.ts';
import {
  AZURE_CREDENTIAL_VARIABLES,
  azureError,
  serviceCodeOf,
  statusOf,
  timedOut,
  type AzureErrorContext,
} from './azure-storage-errors.ts';
import { inByteOrder } from './azure-storage-order.ts';
import { uploadBlob } from './azure-storage-upload.ts';

const MiB = 1024 * 1024;

/** Tuning; the defaults are the production values, tests shrink them. */
export interface AzureStorageTuning {
  blockBytes?: number;
  concurrency?: number;
  listPageSize?: number;
  requestTimeoutMs?: number;
  writeTimeoutMs?: number;
  idleReadTimeoutMs?: number;
}

/** Opens `azure://container/prefix` with credentials from the environment. No request is sent yet. */
export async function openAzureStorage(
  location: string,
  settings: CloudSettings,
  tuning: AzureStorageTuning = {},
): Promise<AzureStorage> {
  const parsed = parseCloudLocation(location, 'azure');
  const env = settings.env ?? process.env;
  const sdk = await import('@azure/storage-blob');
  const pipeline = { retryOptions: { maxTries: 1 } };
  const connection = env.AZURE_STORAGE_CONNECTION_STRING?.trim();
  const account = env.AZURE_STORAGE_ACCOUNT?.trim();
  const key = env.AZURE_STORAGE_KEY?.trim();
  const secrets = [connection, key].filter((s): s is string => !!s);
  for (const part of connection?.split(';') ?? []) {
    const value = /^(?:AccountKey|SharedAccessSignature)=(.+)$/i.exec(part.trim())?.[1];
    if (value) secrets.push(value);
  }
  let service: BlobServiceClient;
  try {
    if (connection) service = sdk.BlobServiceClient.fromConnectionString(connection, pipeline);
    else if (account && key) {
      const credential = new sdk.StorageSharedKeyCredential(account, key);
      service = new sdk.BlobServiceClient(`https://${account}.blob.core.windows.net`, credential, pipeline);
    } else {
      throw new StorageError(`no Azure credentials: set ${AZURE_CREDENTIAL_VARIABLES}`, {
        reason: 'permission',
        operation: 'open',
        location: parsed.url,
        hint: `set ${AZURE_CREDENTIAL_VARIABLES} in the environment; credentials are never taken from flags`,
      });
    }
  } catch (error) {
    if (error instanceof StorageError) throw error;
    // A malformed connection string: the SDK's message may quote it, so only say which variable.
    throw new StorageError('AZURE_STORAGE_CONNECTION_STRING (or the account name and key) is malformed', {
      reason: 'permission',
      operation: 'open',
      location: parsed.url,
      hint: 'copy the connection string again from the portal (Access keys)',
    });
  }
  return new AzureStorage(parsed, service.getContainerClient(parsed.bucket), settings, secrets, tuning);
}

/** Creates the container of `storage` (an AzureStorage, possibly wrapped by decorators) if missing. */
export async function ensureAzureContainer(storage: Storage): Promise<void> {
  let inner: unknown = storage;
  while (!(inner instanceof AzureStorage) && typeof inner === 'object' && inner !== null && 'inner' in inner)
    inner = (inner as { inner: unknown }).inner;
  if (!(inner instanceof AzureStorage)) {
    throw new StorageError('not an Azure storage', {
      reason: 'invalid-request',
      operation: 'open',
      location: storage.location,
    });
  }
  await inner.createContainer();
}

export class AzureStorage implements Storage {
  readonly kind = 'azure';
  readonly location: string;
  readonly capabilities: StorageCapabilities = {
    atomicPut: true,
    rangedGet: true,
    conditionalPut: true,
    localPath: false,
  };
  private container: ContainerClient | undefined;
  private readonly containerName: string;
  private readonly prefix: string;
  private readonly tuning: Required<AzureStorageTuning>;

  private readonly settings: CloudSettings;
  private readonly secrets: readonly string[];

  constructor(
    location: CloudLocation,
    container: ContainerClient,
    settings: CloudSettings,
    secrets: readonly string[],
    tuning: AzureStorageTuning = {},
  ) {
    this.settings = settings;
    this.secrets = secrets;

    this.location = location.url;
    this.container = container;
    this.containerName = location.bucket;
    this.prefix = location.prefix === '' ? '' : `${location.prefix}/`;
    this.tuning = {
      blockBytes: 8 * MiB,
      concurrency: 4,
      listPageSize: 1000,
      requestTimeoutMs: 30_000,
      writeTimeoutMs: 120_000,
      idleReadTimeoutMs: 60_000,
      ...tuning,
    };
  }

  async put(key: string, data: PutData, options: PutOptions = {}): Promise<ObjectInfo> {
    const container = this.open('put', key);
    options.signal?.throwIfAborted();
    const context = this.context('put', key);
    try {
      const result = await uploadBlob(container.getBlockBlobClient(this.prefix + key), data, {
        blockBytes: this.tuning.blockBytes,
        concurrency: this.tuning.concurrency,
        conditions: options.ifNotExists ? { ifNoneMatch: '*' } : undefined,
        encryptionScope: this.settings.azure?.encryptionScope,
        request: (send) => this.request(context, options.signal, this.tuning.writeTimeoutMs, send),
        signal: options.signal,
      });
      return { key, size: result.size, modified: result.modified };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const status = statusOf(error);
      if (options.ifNotExists && (status === 409 || status === 412) && isStorageError(error, 'conflict'))
        throw new StorageError('the key already exists', {
          ...this.base('put', key),
          reason: 'conflict',
          cause: error,
        });
      // Requests reject with StorageErrors; anything else is the source's own error, passed unchanged.
      throw error;
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const container = this.open('get', key);
    options.signal?.throwIfAborted();
    const problem = rangeProblem(options.offset, options.length);
    if (problem) throw new StorageError(problem, { ...this.base('get', key), reason: 'invalid-request' });
    if (options.length === 0) {
      if (!(await this.stat(key, options))) throw this.notFound(key);
      return readableOfBuffer(Buffer.alloc(0), options.signal);
    }
    const offset = options.offset ?? 0;
    const context = this.context('get', key);
    try {
      const blob = container.getBlobClient(this.prefix + key);
      const response = await this.request(context, options.signal, this.tuning.requestTimeoutMs, (signal) =>
        blob.download(offset, options.length, { abortSignal: signal, maxRetryRequests: 3 }),
      );
      const body = response.readableStreamBody;
      if (!body)
        throw new StorageError('the service sent no body', { ...this.base('get', key), reason: 'other' });
      const whole = offset === 0 && options.length === undefined;
      return this.readStream(body, whole ? response.contentMD5 : undefined, context, options.signal);
    } catch (error) {
      // A range starting at or past the end: the object exists (a missing one answers 404).
      if (statusOf(error) === 416) return readableOfBuffer(Buffer.alloc(0), options.signal);
      if (statusOf(error) === 404 && serviceCodeOf(error) !== 'ContainerNotFound')
        throw this.notFound(key, error);
      throw this.translate(error, context, options.signal);
    }
  }

  async stat(key: string, options: OperationOptions = {}): Promise<ObjectInfo | undefined> {
    const container = this.open('stat', key);
    options.signal?.throwIfAborted();
    const context = this.context('stat', key);
    try {
      const blob = container.getBlobClient(this.prefix + key);
      const properties = await this.request(context, options.signal, this.tuning.requestTimeoutMs, (signal) =>
        blob.getProperties({ abortSignal: signal }),
      );
      return { key, size: properties.contentLength ?? 0, modified: properties.lastModified ?? new Date() };
    } catch (error) {
      if (statusOf(error) === 404 && serviceCodeOf(error) !== 'ContainerNotFound') return undefined;
      throw this.translate(error, context, options.signal);
    }
  }

  list(prefix: string, options: OperationOptions = {}): AsyncIterable<ObjectInfo> {
    const names = (from: string) => this.pages('list', from, options.signal, false);
    return this.ordered(prefix, names, options.signal, (item) => ({
      key: item.name.slice(this.prefix.length),
      size: item.size,
      modified: item.modified,
    }));
  }

  listPrefixes(prefix: string, options: OperationOptions = {}): AsyncIterable<string> {
    const names = (from: string) => this.pages('list', from, options.signal, true);
    return this.ordered(prefix, names, options.signal, (item) => item.name.slice(this.prefix.length));
  }

  async delete(key: string, options: OperationOptions = {}): Promise<void> {
    const container = this.open('delete', key);
    options.signal?.throwIfAborted();
    const context = this.context('delete', key);
    const blob = container.getBlobClient(this.prefix + key);
    try {
      // deleteIfExists: a missing blob (or a key that is only a "directory") is no error.
      await this.request(context, options.signal, this.tuning.requestTimeoutMs, (signal) =>
        blob.deleteIfExists({ abortSignal: signal }),
      );
    } catch (error) {
      throw this.translate(error, context, options.signal);
    }
  }

  async close(): Promise<void> {
    // The SDK holds no connection of its own beyond the shared keep-alive agent: dropping the client
    // is the release; later calls are refused.
    this.container = undefined;
  }

  /** Creates the container if it does not exist (ensureAzureContainer). */
  async createContainer(options: OperationOptions = {}): Promise<void> {
    const container = this.open('open', undefined);
    const context = this.context('open');
    try {
      await this.request(context, options.signal, this.tuning.requestTimeoutMs, (signal) =>
        container.createIfNotExists({ abortSignal: signal }),
      );
    } catch (error) {
      throw this.translate(error, context, options.signal);
    }
  }

  private async *ordered<T>(
    prefix: string,
    names: (from: string) => AsyncIterable<ListedName>,
    signal: AbortSignal | undefined,
    toItem: (item: ListedName) => T,
  ): AsyncGenerator<T> {
    this.open('list', prefix);
    assertPrefix(prefix, { location: this.location, operation: 'list' });
    const from = this.prefix + prefix;
    let last: string | undefined;
    for await (const item of inByteOrder(names(from), (n) => n.name, names, from.length)) {
      signal?.throwIfAborted();
      if (item.name === last) continue; // a "directory" repeated across pages
      last = item.name;
      const key = item.name.slice(this.prefix.length);
      // Names that are no valid key (written by other tools) are not objects of this storage.
      if (keyProblem(key.endsWith('/') ? key.slice(0, -1) : key) !== undefined) continue;
      yield toItem(item);
    }
  }

  /** Every blob (or, with `directories`, every "directory") under `from`, page by page, service order. */
  private async *pages(
    operation: StorageOperation,
    from: string,
    signal: AbortSignal | undefined,
    directories: boolean,
  ): AsyncGenerator<ListedName> {
    const context = this.context(operation, from.slice(this.prefix.length));
    let continuationToken: string | undefined;
    do {
      const container = this.open(operation, context.key);
      const token = continuationToken;
      let page: PageSegment;
      try {
        page = await this.request(context, signal, this.tuning.requestTimeoutMs, async (abortSignal) => {
          const options = { prefix: from, abortSignal };
          const pager = directories
            ? container.listBlobsByHierarchy('/', options)
            : container.listBlobsFlat(options);
          const next = await pager
            .byPage({ continuationToken: token, maxPageSize: this.tuning.listPageSize })
            .next();
          return (next.value ?? {}) as PageSegment;
        });
      } catch (error) {
        throw this.translate(error, context, signal);
      }
      if (directories)
        for (const found of page.segment?.blobPrefixes ?? [])
          yield { name: found.name, size: 0, modified: new Date(0) };
      else
        for (const blob of page.segment?.blobItems ?? [])
          yield {
            name: blob.name,
            size: blob.properties.contentLength ?? 0,
            modified: blob.properties.lastModified,
          };
      continuationToken = page.continuationToken || undefined;
    } while (continuationToken);
  }

  /** The download body behind a stream that verifies the whole-blob MD5 and fails an idle read. */
  private readStream(
    body: NodeJS.ReadableStream,
    expectedMd5: Uint8Array | undefined,
    context: AzureErrorContext,
    signal: AbortSignal | undefined,
  ): Readable {
    const hash = expectedMd5 ? createHash('md5') : undefined;
    let lastActivity = Date.now();
    const out = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        lastActivity = Date.now();
        hash?.update(chunk);
        callback(null, chunk);
      },
      flush: (callback) => {
        if (!hash || !expectedMd5 || hash.digest().equals(Buffer.from(expectedMd5))) return callback();
        callback(
          new StorageError('the bytes read do not match the MD5 stored with the blob', {
            ...this.base('get', context.key),
            reason: 'transient',
            hint: 'read it again; if it keeps failing the stored blob is damaged',
          }),
        );
      },
    });
    const source = body as Readable;
    source.on('error', (error) => out.destroy(signal?.aborted ? signal.reason : azureError(error, context)));
    const idleMs = this.tuning.idleReadTimeoutMs;
    const watchdog = setInterval(
      () => {
        // Waiting on the reader (its buffer is full) is not idleness of the network.
        if (out.readableLength >= out.readableHighWaterMark || source.isPaused?.()) lastActivity = Date.now();
        else if (Date.now() - lastActivity > idleMs) out.destroy(timedOut(context, idleMs / 1000));
      },
      Math.min(5_000, idleMs / 2),
    ).unref();
    out.once('close', () => {
      clearInterval(watchdog);
      source.destroy();
    });
    source.pipe(out);
    return destroyOnAbort(out, signal);
  }

  /**
   * Runs one request with a deadline joined to the caller's signal. The deadline covers the request
   * until it resolves (for a download: its headers); it then stops, the caller's signal stays. A
   * request past its deadline rejects with 'transient' (a connect or a socket that hangs counts).
   * Rejects with the caller's `signal.reason` or a StorageError, never with an SDK error.
   */
  private async request<T>(
    context: AzureErrorContext,
    signal: AbortSignal | undefined,
    timeoutMs: number,
    send: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const timer = new AbortController();
    const handle = setTimeout(() => timer.abort(timedOut(context, timeoutMs / 1000)), timeoutMs).unref();
    try {
      return await send(signal ? AbortSignal.any([signal, timer.signal]) : timer.signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (timer.signal.aborted) throw timer.signal.reason;
      throw azureError(error, context);
    } finally {
      clearTimeout(handle);
    }
  }

  /** What ends an operation: the caller's abort → its reason; else a StorageError. */
  private translate(error: unknown, context: AzureErrorContext, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    return azureError(error, context);
  }

  private open(operation: StorageOperation, key: string | undefined): ContainerClient {
    if (!this.container)
      throw new StorageError('the storage is closed', {
        ...this.base(operation, key),
        reason: 'invalid-request',
      });
    if (key !== undefined && operation !== 'list' && operation !== 'open')
      assertKey(key, { location: this.location, operation });
    return this.container;
  }

  private notFound(key: string, cause?: unknown): StorageError {
    return new StorageError('no such object', {
      ...this.base('get', key),
      reason: 'not-found',
      cause: cause === undefined ? undefined : azureError(cause, this.context('get', key)),
    });
  }

  private base(operation: StorageOperation, key: string | undefined) {
    return { operation, key, location: this.location };
  }

  private context(operation: StorageOperation, key?: string): AzureErrorContext {
    return { operation, key, location: this.location, container: this.containerName, secrets: this.secrets };
  }
}

interface ListedName {
  name: string;
  size: number;
  modified: Date;
}

interface PageSegment {
  continuationToken?: string;
  segment?: {
    blobItems?: { name: string; properties: { contentLength?: number; lastModified: Date } }[];
    blobPrefixes?: { name: string }[];
  };
}
