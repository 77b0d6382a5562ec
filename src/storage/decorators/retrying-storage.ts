/**
 * Retries what a Storage reports as 'transient' (timeouts, throttling, dropped connections), with the
 * backoff of src/retry.ts; every other error, and any abort, passes through at once. Applied once
 * around a driver, never inside one (restic's RetryBackend).
 *
 * What is retried:
 * - stat, delete: the whole call (both are idempotent).
 * - get: until it resolves with the stream; a transient error of the stream itself (a connection lost
 *   mid-body) reopens the object at the first byte not yet passed on (its offset, and what is left of its
 *   length), each chunk with the whole retry budget. Repository objects never change once written, so
 *   the bytes after the break are the ones that were lost.
 * - put of a Buffer or string: the whole call. put of a stream (Readable or async iterable) only until
 *   the driver pulls its first chunk: consumed bytes cannot be replayed.
 * - list, listPrefixes: each step; after items were yielded, a new listing resumes after the last key
 *   (listings are sorted, so nothing is repeated or skipped).
 *
 * Caveat for `ifNotExists`: when a create succeeded but its answer was lost, the retry reports
 * 'conflict' for the caller's own object. Lock files should hold a token the caller can recognise.
 */
import { Readable } from 'node:stream';
import { retry, type RetryOptions } from '../../retry.ts';
import type {
  GetOptions,
  ObjectInfo,
  OperationOptions,
  PutData,
  PutOptions,
  Storage,
  StorageCapabilities,
} from '../storage.ts';
import { StorageError } from '../storage-error.ts';
import { compareKeys } from '../storage-keys.ts';
import { isReplayable } from '../storage-data.ts';

/** The backoff settings of src/retry.ts; what is retried is decided here. */
export type RetryingStorageOptions = Omit<RetryOptions, 'signal' | 'isRetryable' | 'retryAfterMs'>;

export function isTransient(error: unknown): boolean {
  return error instanceof StorageError && error.reason === 'transient';
}

/** An async iterable over `source` that records whether anyone started consuming it. */
class ConsumptionTracker implements AsyncIterable<Uint8Array | string> {
  started = false;
  private iterator: AsyncIterator<Uint8Array | string> | undefined;
  private readonly source: AsyncIterable<Uint8Array | string>;

  constructor(source: AsyncIterable<Uint8Array | string>) {
    this.source = source;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array | string> {
    const next = () => {
      this.started = true;
      this.iterator ??= this.source[Symbol.asyncIterator]();
      return this.iterator.next();
    };
    const stop = async () => (await this.iterator?.return?.()) ?? { done: true as const, value: undefined };
    return { next, return: stop };
  }
}

export class RetryingStorage implements Storage {
  readonly kind: string;
  readonly location: string;
  readonly capabilities: StorageCapabilities;
  readonly localPath?: (key: string) => string;
  readonly deleteAbandoned?: (prefix: string, options?: OperationOptions) => Promise<void>;

  readonly inner: Storage;
  private readonly options: RetryingStorageOptions;

  constructor(inner: Storage, options: RetryingStorageOptions = {}) {
    this.inner = inner;
    this.options = options;

    this.kind = inner.kind;
    this.location = inner.location;
    this.capabilities = inner.capabilities;
    if (inner.localPath) this.localPath = (key) => inner.localPath!(key);
    if (inner.deleteAbandoned) {
      this.deleteAbandoned = (prefix, options = {}) =>
        this.retry(() => inner.deleteAbandoned!(prefix, options), options.signal);
    }
  }

  put(key: string, data: PutData, options: PutOptions = {}): Promise<ObjectInfo> {
    if (isReplayable(data)) return this.retry(() => this.inner.put(key, data, options), options.signal);
    const tracker = new ConsumptionTracker(data as AsyncIterable<Uint8Array | string>);
    return this.retry(
      () => this.inner.put(key, tracker, options),
      options.signal,
      () => !tracker.started,
    );
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const start = options.offset ?? 0;
    // The first get is the caller's as given (a range from 0 of an empty object is refused by S3).
    const open = (passed: number) =>
      this.inner.get(
        key,
        passed === 0
          ? options
          : {
              ...options,
              offset: start + passed,
              ...(options.length === undefined ? {} : { length: options.length - passed }),
            },
      );
    const first = await this.retry(() => open(0), options.signal);
    return Readable.from(this.resumingBody(first, open, options), { objectMode: false });
  }

  stat(key: string, options: OperationOptions = {}): Promise<ObjectInfo | undefined> {
    return this.retry(() => this.inner.stat(key, options), options.signal);
  }

  delete(key: string, options: OperationOptions = {}): Promise<void> {
    return this.retry(() => this.inner.delete(key, options), options.signal);
  }

  list(prefix: string, options: OperationOptions = {}): AsyncIterable<ObjectInfo> {
    return this.resumable(
      () => this.inner.list(prefix, options),
      (info) => info.key,
      options.signal,
    );
  }

  listPrefixes(prefix: string, options: OperationOptions = {}): AsyncIterable<string> {
    return this.resumable(
      () => this.inner.listPrefixes(prefix, options),
      (found) => found,
      options.signal,
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private retry<T>(fn: () => Promise<T>, signal: AbortSignal | undefined, canRetry = () => true): Promise<T> {
    return retry(fn, {
      ...this.options,
      signal,
      isRetryable: (error) => isTransient(error) && canRetry(),
      retryAfterMs: (error) => (error instanceof StorageError ? error.retryAfterMs : undefined),
    });
  }

  /**
   * An object's bytes, read on through transient stream errors: a failed chunk reopens the object after
   * the bytes already yielded (nothing is yielded twice or skipped).
   */
  private async *resumingBody(
    first: Readable,
    open: (passed: number) => Promise<Readable>,
    options: GetOptions,
  ): AsyncGenerator<Uint8Array> {
    let iterator: AsyncIterator<Uint8Array> | undefined = first[Symbol.asyncIterator]();
    let passed = 0;
    const step = async (): Promise<IteratorResult<Uint8Array>> => {
      if (!iterator) {
        // Everything asked for has passed: a range of no bytes is not opened again.
        if (options.length !== undefined && passed >= options.length) return { done: true, value: undefined };
        iterator = (await open(passed))[Symbol.asyncIterator]();
      }
      try {
        return await iterator.next();
      } catch (error) {
        iterator = undefined; // the broken stream is done with: the next attempt reopens the object
        throw error;
      }
    };
    try {
      for (;;) {
        const result = await this.retry(step, options.signal);
        if (result.done) return;
        passed += result.value.length;
        yield result.value;
      }
    } finally {
      await iterator?.return?.();
    }
  }

  /**
   * A sorted listing whose steps are retried: a failed step reopens the listing and skips every key up
   * to the last one yielded.
   */
  private async *resumable<T>(
    open: () => AsyncIterable<T>,
    keyOf: (item: T) => string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<T> {
    let iterator: AsyncIterator<T> | undefined;
    let last: string | undefined;
    const step = async (): Promise<IteratorResult<T>> => {
      iterator ??= open()[Symbol.asyncIterator]();
      try {
        for (;;) {
          const result = await iterator.next();
          if (result.done || last === undefined || compareKeys(keyOf(result.value), last) > 0) return result;
        }
      } catch (error) {
        iterator = undefined; // a failed listing is not resumed in place: the next step reopens it
        throw error;
      }
    };
    try {
      for (;;) {
        const result = await this.retry(step, signal);
        if (result.done) return;
        last = keyOf(result.value);
        yield result.value;
      }
    } finally {
      await iterator?.return?.();
    }
  }
}
