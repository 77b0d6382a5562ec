/**
 * A Storage in an S3 bucket (AWS, or an S3-compatible server named by an endpoint: MinIO, versitygw…),
 * at `s3://bucket/prefix`: key `k` is the object `prefix/k` (no prefix: `k`).
 *
 * - put: a Buffer or string up to one part size is one PutObject; a stream (and a larger Buffer) goes
 *   through lib-storage's Upload: parts of 8 MiB, 4 in flight, so a put holds about 5 parts (40 MiB)
 *   whatever the object's size. S3 makes an object visible only when its PutObject or
 *   CompleteMultipartUpload succeeds, whole. A source that fails or an abort (which reaches the upload
 *   at its next read of the source: in-flight parts finish first) aborts the multipart upload before
 *   put rejects, so nothing is left; an abort after the last byte was read lets the upload complete.
 *   `ifNotExists` is PutObject with `If-None-Match: *` (412 → 'conflict'): atomic on AWS S3 (since
 *   2024), MinIO and versitygw; a stream with it is collected first, up to 16 MiB. `sync` is ignored:
 *   an acknowledged write is durable.
 * - Integrity: every upload carries a CRC32 the service checks (the SDK's flexible checksums); whole
 *   reads ask for the stored checksum (ChecksumMode) so the SDK can fail the stream on a mismatch (it
 *   skips multipart objects' per-part checksums; ranged reads have none to check).
 * - get: ranged reads are Range requests; a range starting at or past the end (416) is an empty stream.
 * - list: ListObjectsV2 pages of 1 000. S3 documents its listings in UTF-8 binary order, which is
 *   `compareKeys`; versitygw (the test server) lists in that order too. Nothing is buffered to sort: the
 *   driver checks the order as it goes and fails ('other') if a service ever breaks it, instead of
 *   yielding a wrong order. Objects whose names are not valid keys (a console's `folder/` marker) are
 *   skipped, as the local driver skips such files.
 * - A missing bucket is never a missing object: every operation rejects 'invalid-request' naming the
 *   bucket (HEAD's bodiless 404 is told apart by a one-key listing, whose error has a body; remembered
 *   once it succeeds). Buckets are never created.
 * - Server-side encryption (settings.s3): `sse` is sent as ServerSideEncryption on PutObject and
 *   CreateMultipartUpload, `kmsKeyId` as SSEKMSKeyId (only with sse 'aws:kms', checked at open).
 *   versitygw v1.8 accepts the header but does not report ServerSideEncryption in HeadObject.
 * - deleteAbandoned: aborts the multipart uploads under a prefix that a killed process left behind.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  DeleteObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { CloudSettings } from '../cloud-settings.ts';
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
import { isReplayable, rangeProblem, readableOfBuffer, toBuffer } from '../storage-data.ts';
import { createS3Client, resolveS3Config, type S3Config } from './s3-config.ts';
import { isMissingObject, s3CodeOf, s3StatusOf, translateS3Error } from './s3-errors.ts';
import { s3BodyStream } from './s3-streams.ts';
import { collectUpTo, uploadInParts } from './s3-storage-upload.ts';

const MiB = 1024 * 1024;

export interface S3StorageTuning {
  /** Bytes per multipart part (default 8 MiB; S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts uploaded in parallel per put (default 4). */
  queueSize?: number;
}

/** The largest stream put with `ifNotExists` (collected in memory for one conditional PutObject). */
export const MAX_CONDITIONAL_STREAM_BYTES = 16 * MiB;

/** Attaches to `s3://bucket/prefix` (no request is made: a missing bucket shows at the first operation). */
export async function openS3Storage(location: string, settings: CloudSettings = {}): Promise<S3Storage> {
  const config = resolveS3Config(location, settings);
  return new S3Storage(config, createS3Client(config, settings));
}

export class S3Storage implements Storage {
  readonly kind = 's3';
  readonly location: string;
  readonly capabilities: StorageCapabilities = {
    atomicPut: true,
    rangedGet: true,
    conditionalPut: true,
    localPath: false,
  };
  private readonly partSize: number;
  private readonly queueSize: number;
  private bucketExists = false;
  private closed = false;

  private readonly config: S3Config;
  private readonly client: S3Client;

  constructor(config: S3Config, client: S3Client, tuning: S3StorageTuning = {}) {
    this.config = config;
    this.client = client;

    this.location = config.location;
    this.partSize = tuning.partSize ?? 8 * MiB;
    this.queueSize = tuning.queueSize ?? 4;
  }

  async put(key: string, data: PutData, options: PutOptions = {}): Promise<ObjectInfo> {
    const objectKey = this.objectKey('put', key);
    const { signal } = options;
    signal?.throwIfAborted();
    try {
      if (isReplayable(data)) {
        const bytes = toBuffer(data);
        if (bytes.length <= this.partSize || options.ifNotExists)
          return await this.putOnce(key, bytes, options);
        return await this.putInParts(key, objectKey, bytes, signal);
      }
      if (options.ifNotExists) {
        const limit = MAX_CONDITIONAL_STREAM_BYTES;
        const tooLarge = () =>
          this.error(
            'put',
            key,
            'invalid-request',
            `a stream put with ifNotExists holds at most ${limit / MiB} MiB`,
          );
        return await this.putOnce(key, await collectUpTo(data, limit, signal, tooLarge), options);
      }
      return await this.putInParts(key, objectKey, data, signal);
    } catch (error) {
      throw signal?.aborted ? signal.reason : error;
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const objectKey = this.objectKey('get', key);
    const { signal, offset = 0, length } = options;
    signal?.throwIfAborted();
    const problem = rangeProblem(options.offset, length);
    if (problem) throw this.error('get', key, 'invalid-request', problem);
    if (length === 0) {
      if ((await this.stat(key, options)) === undefined)
        throw this.error('get', key, 'not-found', 'no such object');
      return readableOfBuffer(Buffer.alloc(0), signal);
    }
    const ranged = offset > 0 || length !== undefined;
    const range = ranged ? `bytes=${offset}-${length === undefined ? '' : offset + length - 1}` : undefined;
    try {
      const output = await this.client.send(
        new GetObjectCommand({
          Bucket: this.config.bucket,
          Key: objectKey,
          Range: range,
          ...(!ranged && { ChecksumMode: 'ENABLED' }),
        }),
        { abortSignal: signal },
      );
      return s3BodyStream(output.Body as Readable, signal, (error) => this.translate(error, 'get', key));
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      // 416: the object exists and the range starts at or past its end.
      if (s3CodeOf(error) === 'InvalidRange' || s3StatusOf(error) === 416) {
        return readableOfBuffer(Buffer.alloc(0), signal);
      }
      throw this.translate(error, 'get', key);
    }
  }

  async stat(key: string, options: OperationOptions = {}): Promise<ObjectInfo | undefined> {
    const objectKey = this.objectKey('stat', key);
    const { signal } = options;
    signal?.throwIfAborted();
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.config.bucket, Key: objectKey }),
        {
          abortSignal: signal,
        },
      );
      return { key, size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!isMissingObject(error)) throw this.translate(error, 'stat', key);
    }
    await this.requireBucket('stat', key, signal);
    return undefined;
  }

  async *list(prefix: string, options: OperationOptions = {}): AsyncGenerator<ObjectInfo> {
    this.checkPrefix(prefix);
    let previous: string | undefined;
    for await (const page of this.pages(prefix, undefined, options.signal)) {
      for (const object of page.Contents ?? []) {
        const key = (object.Key ?? '').slice(this.config.base.length);
        previous = this.inOrder(prefix, previous, key);
        if (keyProblem(key) !== undefined) continue;
        yield { key, size: object.Size ?? 0, modified: object.LastModified ?? new Date(0) };
      }
    }
  }

  async *listPrefixes(prefix: string, options: OperationOptions = {}): AsyncGenerator<string> {
    this.checkPrefix(prefix);
    let previous: string | undefined;
    for await (const page of this.pages(prefix, '/', options.signal)) {
      for (const common of page.CommonPrefixes ?? []) {
        const directory = (common.Prefix ?? '').slice(this.config.base.length);
        previous = this.inOrder(prefix, previous, directory);
        if (keyProblem(directory.slice(0, -1)) !== undefined) continue;
        yield directory;
      }
    }
  }

  async delete(key: string, options: OperationOptions = {}): Promise<void> {
    const objectKey = this.objectKey('delete', key);
    await this.request('delete', key, options.signal, (abortSignal) =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: objectKey }), {
        abortSignal,
      }),
    );
  }

  /** See Storage.deleteAbandoned: aborts every multipart upload under `prefix` (paginated). */
  async deleteAbandoned(prefix: string, options: OperationOptions = {}): Promise<void> {
    this.checkPrefix(prefix, 'delete');
    if (!prefix.endsWith('/'))
      throw this.error('delete', prefix, 'invalid-request', 'a prefix must end with "/"');
    const { signal } = options;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.request('delete', prefix, signal, (abortSignal) =>
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.config.bucket,
            Prefix: this.config.base + prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
          { abortSignal },
        ),
      );
      for (const upload of page.Uploads ?? []) {
        await this.request('delete', prefix, signal, (abortSignal) =>
          this.client
            .send(
              new AbortMultipartUploadCommand({
                Bucket: this.config.bucket,
                Key: upload.Key,
                UploadId: upload.UploadId,
              }),
              { abortSignal },
            )
            .catch((error: unknown) => {
              if (s3CodeOf(error) !== 'NoSuchUpload') throw error; // gone meanwhile: nothing to do
            }),
        );
      }
      const more = page.IsTruncated === true;
      keyMarker = more ? page.NextKeyMarker : undefined;
      uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }

  /** One PutObject of bytes in memory, conditional when asked. */
  private async putOnce(key: string, bytes: Buffer, options: PutOptions): Promise<ObjectInfo> {
    const objectKey = this.objectKey('put', key);
    await this.request('put', key, options.signal, (abortSignal) =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.config.bucket,
          Key: objectKey,
          Body: bytes,
          ContentLength: bytes.length,
          ...(options.ifNotExists && { IfNoneMatch: '*' }),
          ...this.encryption(),
        }),
        { abortSignal },
      ),
    );
    return { key, size: bytes.length, modified: new Date() };
  }

  private async putInParts(key: string, objectKey: string, data: PutData, signal: AbortSignal | undefined) {
    const target = {
      client: this.client,
      bucket: this.config.bucket,
      objectKey,
      partSize: this.partSize,
      queueSize: this.queueSize,
      encryption: this.encryption(),
    };
    const size = await uploadInParts(target, data, signal, (error) => this.translate(error, 'put', key));
    return { key, size, modified: new Date() };
  }

  private encryption() {
    return {
      ...(this.config.sse && { ServerSideEncryption: this.config.sse }),
      ...(this.config.kmsKeyId && { SSEKMSKeyId: this.config.kmsKeyId }),
    };
  }

  /** The listing's pages (ListObjectsV2, 1 000 keys each), fetched one at a time as they are consumed. */
  private async *pages(prefix: string, delimiter: string | undefined, signal: AbortSignal | undefined) {
    let token: string | undefined;
    do {
      this.checkOpen('list', prefix);
      const page = await this.request('list', prefix, signal, (abortSignal) =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.config.bucket,
            Prefix: this.config.base + prefix,
            Delimiter: delimiter,
            ContinuationToken: token,
          }),
          { abortSignal },
        ),
      );
      yield page;
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Fails the listing when the service breaks UTF-8 byte order (see the header comment). */
  private inOrder(prefix: string, previous: string | undefined, key: string): string {
    if (previous !== undefined && compareKeys(previous, key) >= 0) {
      throw this.error(
        'list',
        prefix,
        'other',
        `the service listed "${key}" after "${previous}": not in byte order`,
      );
    }
    return key;
  }

  /**
   * Confirms the bucket exists (once per storage): HEAD's 404 has no body, so it may mean a missing
   * object, a missing bucket or (versitygw) an unknown access key. A one-key listing answers with a
   * body that tells them apart (NoSuchBucket, AccessDenied…), and needs the same permission as HEAD.
   */
  private async requireBucket(operation: StorageOperation, key: string, signal: AbortSignal | undefined) {
    if (this.bucketExists) return;
    await this.request(operation, key, signal, (abortSignal) =>
      this.client.send(
        new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: this.config.base, MaxKeys: 1 }),
        { abortSignal },
      ),
    );
    this.bucketExists = true;
  }

  /** Sends one request: aborts reject with `signal.reason`, SDK errors become StorageErrors. */
  private async request<T>(
    operation: StorageOperation,
    key: string,
    signal: AbortSignal | undefined,
    send: (abortSignal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    this.checkOpen(operation, key);
    signal?.throwIfAborted();
    try {
      return await send(signal);
    } catch (error) {
      throw signal?.aborted ? signal.reason : this.translate(error, operation, key);
    }
  }

  private translate(error: unknown, operation: StorageOperation, key: string | undefined): unknown {
    return translateS3Error(error, this.config, operation, key);
  }

  private objectKey(operation: StorageOperation, key: string): string {
    this.checkOpen(operation, key);
    assertKey(key, { location: this.location, operation });
    return this.config.base + key;
  }

  private checkPrefix(prefix: string, operation: StorageOperation = 'list'): void {
    this.checkOpen(operation, prefix);
    assertPrefix(prefix, { location: this.location, operation });
  }

  private checkOpen(operation: StorageOperation, key: string): void {
    if (this.closed) throw this.error(operation, key, 'invalid-request', 'the storage is closed');
  }

  private error(operation: StorageOperation, key: string, reason: StorageError['reason'], detail: string) {
    return new StorageError(detail, { reason, operation, key, location: this.location });
  }
}
