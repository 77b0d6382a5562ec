/** Byte plumbing shared by drivers and decorators: the forms of put() data and signals on streams. */
import { Readable } from 'node:stream';
import type { PutData } from './storage.ts';

/** Buffers and strings can be sent again; streams are consumed once. */
export function isReplayable(data: PutData): data is Uint8Array | string {
  return typeof data === 'string' || data instanceof Uint8Array;
}

export function toBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** The iterator's next result, or a rejection with `signal.reason` as soon as the signal aborts. */
function nextOrAbort<T>(iterator: AsyncIterator<T>, signal?: AbortSignal): Promise<IteratorResult<T>> {
  if (!signal) return iterator.next();
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    iterator.next().then(
      (result) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The data as Buffers (strings become UTF-8; buffers are not copied). An abort rejects with
 * `signal.reason` at once, even while the source is stalled, and stops the source (a Readable is
 * destroyed). Errors of the source propagate unchanged.
 */
export async function* chunksOf(data: PutData, signal?: AbortSignal): AsyncGenerator<Buffer> {
  signal?.throwIfAborted();
  if (isReplayable(data)) {
    yield toBuffer(data);
    return;
  }
  const iterator = (data as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const result = await nextOrAbort(iterator, signal);
      if (result.done) break;
      yield toBuffer(result.value);
    }
    finished = true;
  } finally {
    // Stopped early (abort, consumer failure): release the source without waiting for it.
    if (!finished) {
      try {
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
      } catch {
        // a source whose return() throws is already finished
      }
    }
  }
  signal?.throwIfAborted();
}

/** Everything, in one new Buffer (a copy, so the caller may reuse its buffers). */
export async function collectBytes(data: PutData, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of chunksOf(data, signal)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Destroys `stream` with `signal.reason` when the signal aborts (at once if it already has), and
 * forgets the signal once the stream closes.
 */
export function destroyOnAbort<T extends Readable>(stream: T, signal: AbortSignal | undefined): T {
  if (!signal) return stream;
  if (signal.aborted) {
    stream.destroy(signal.reason as Error);
    return stream;
  }
  const onAbort = () => stream.destroy(signal.reason as Error);
  signal.addEventListener('abort', onAbort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', onAbort));
  return stream;
}

const CHUNK_BYTES = 64 * 1024;

/** A byte stream of `bytes`, in 64 KiB chunks (views, not copies). */
export function readableOfBuffer(bytes: Buffer, signal?: AbortSignal): Readable {
  function* slices() {
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) yield bytes.subarray(at, at + CHUNK_BYTES);
  }
  return destroyOnAbort(Readable.from(slices(), { objectMode: false }), signal);
}

/** The [start, end) a get() returns of an object of `size` bytes (validated by rangeProblem first). */
export function rangeOf(size: number, offset = 0, length?: number): { start: number; end: number } {
  const start = Math.min(offset, size);
  const end = length === undefined ? size : Math.min(size, start + length);
  return { start, end };
}

/** Why `offset`/`length` are not a valid range, or undefined. */
export function rangeProblem(offset: number | undefined, length: number | undefined): string | undefined {
  if (offset !== undefined && !(Number.isSafeInteger(offset) && offset >= 0)) {
    return `offset must be an integer ≥ 0: ${offset}`;
  }
  if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0)) {
    return `length must be an integer ≥ 0: ${length}`;
  }
  return undefined;
}
