/**
 * How a put reaches a block blob. Up to one block of data (default 8 MiB) goes in one Put Blob; more is
 * staged as blocks (Put Block, at most `concurrency` in flight) and published by one Put Block List.
 * The SDK's uploadStream does the same, but sends no checksum per block; here every request carries
 * the MD5 of its bytes (Content-MD5), which the service checks and refuses on mismatch (a body
 * corrupted on the way is never stored), and the committed blob records the MD5 of the whole content
 * (x-ms-blob-content-md5), which get() verifies when it reads a whole blob.
 *
 * Visibility: staged blocks are invisible until the block list is committed, so a source that fails,
 * an abort or a failed request leaves no object and the previous one unchanged. The service discards
 * uncommitted blocks after 7 days; they are never listed or billed as objects, which is why the driver
 * needs no deleteAbandoned. Memory: at most `concurrency` blocks in flight plus the one being filled.
 * Block ids are random per put and all the same length (the service requires that per blob). Two
 * multi-block puts of one key at once: the first commit discards the other's uncommitted blocks, whose
 * commit then fails InvalidBlockList, reported 'transient' (the object is whole either way).
 *
 * Retries inside a put: a block (and a single Put Blob, and the commit, when the put has no
 * condition) is a held Buffer sent again unchanged, so a 'transient' failure of one request (a
 * keep-alive socket the service closed as we reused it, a reset, a 503) is retried here, up to 4
 * attempts within 30 s. RetryingStorage outside cannot: it never replays a stream the driver has
 * started to read. A conditional request (ifNotExists) is not repeated here: had the first attempt
 * reached the service, the second would report a conflict; RetryingStorage decides for those.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BlobRequestConditions, BlockBlobClient } from '@azure/storage-blob';
import type { PutData } from '../storage.ts';
import { chunksOf } from '../storage-data.ts';
import { isStorageError } from '../storage-error.ts';
import { retry } from '../../retry.ts';

export interface BlockUploadOptions {
  blockBytes: number;
  concurrency: number;
  conditions?: BlobRequestConditions;
  encryptionScope?: string;
  /** Sends one request with the driver's deadline; `signal` joins it with the caller's. */
  request: <T>(send: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  /** The caller's signal: aborts reading the source. */
  signal?: AbortSignal;
}

export interface UploadResult {
  size: number;
  modified: Date;
}

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest();

/** One idempotent request, repeated on a 'transient' failure (see the header); `stop` ends it. */
function resent<T>(
  options: BlockUploadOptions,
  send: (signal: AbortSignal) => Promise<T>,
  stop?: AbortSignal,
): Promise<T> {
  return retry(() => options.request(send), {
    attempts: 4,
    baseMs: 200,
    maxElapsedMs: 30_000,
    signal: stop,
    isRetryable: (error) => isStorageError(error, 'transient'),
    retryAfterMs: (error) => (isStorageError(error) ? error.retryAfterMs : undefined),
  });
}

/** Sends a request again on a transient failure only when repeating it cannot change its outcome. */
const unconditional = <T>(options: BlockUploadOptions, send: (signal: AbortSignal) => Promise<T>) =>
  options.conditions ? options.request(send) : resent(options, send, options.signal);

/** Puts `data` on `blob`; rejects with the source's error, the SDK's error or the signal's reason. */
export async function uploadBlob(
  blob: BlockBlobClient,
  data: PutData,
  options: BlockUploadOptions,
): Promise<UploadResult> {
  const whole = createHash('md5');
  const tag = randomBytes(8).toString('hex');
  const ids: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const failure = new AbortController();
  let failed: { error: unknown } | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let size = 0;

  const stage = async (block: Buffer) => {
    while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
    if (failed) throw failed.error;
    const id = Buffer.from(`${tag}-${String(ids.length).padStart(6, '0')}`).toString('base64');
    ids.push(id);
    const stop = options.signal ? AbortSignal.any([options.signal, failure.signal]) : failure.signal;
    const request = resent(
      options,
      (signal) =>
        blob.stageBlock(id, block, block.length, {
          transactionalContentMD5: md5(block),
          encryptionScope: options.encryptionScope,
          abortSignal: AbortSignal.any([signal, failure.signal]),
        }),
      stop,
    ).then(
      () => undefined,
      (error: unknown) => {
        failed ??= { error };
        failure.abort();
      },
    );
    const tracked = request.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  const cut = (bytes: number): Buffer => {
    // Views, not copies: a large Buffer given to put is cut into blocks without copying it.
    const joined = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    const rest = joined.subarray(bytes);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return joined.subarray(0, bytes);
  };

  try {
    for await (const chunk of chunksOf(data, options.signal)) {
      whole.update(chunk);
      size += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      // Hold one block back until the source ends: an object of one block goes in one request.
      while (pendingBytes > options.blockBytes) await stage(cut(options.blockBytes));
    }
    if (ids.length === 0) return await putSingle(blob, cut(pendingBytes), options);
    if (pendingBytes > 0) await stage(cut(pendingBytes));
    await Promise.all(inFlight);
    if (failed) throw failed.error;
    const digest = whole.digest();
    const committed = await unconditional(options, (abortSignal) =>
      blob.commitBlockList(ids, {
        conditions: options.conditions,
        encryptionScope: options.encryptionScope,
        blobHTTPHeaders: { blobContentMD5: digest },
        abortSignal,
      }),
    );
    return { size, modified: committed.lastModified ?? new Date() };
  } catch (error) {
    failure.abort();
    await Promise.allSettled(inFlight);
    throw error;
  }
}

async function putSingle(
  blob: BlockBlobClient,
  bytes: Buffer,
  options: BlockUploadOptions,
): Promise<UploadResult> {
  const hash = md5(bytes);
  const uploaded = await unconditional(options, (abortSignal) =>
    blob.upload(bytes, bytes.length, {
      conditions: options.conditions,
      encryptionScope: options.encryptionScope,
      // Content-MD5: checked by the service against the bytes it received, and stored with the blob.
      transactionalContentMD5: hash,
      blobHTTPHeaders: { blobContentMD5: hash },
      abortSignal,
    } as Parameters<BlockBlobClient['upload']>[2]),
  );
  return { size: bytes.length, modified: uploaded.lastModified ?? new Date() };
}
