/**
 * At most N operations of a Storage at a time (restic's semaphore backend): cloud storages throttle
 * and local disks thrash beyond a few parallel streams. Applied once around a (retrying) driver.
 *
 * What holds a slot:
 * - put, stat, delete: the whole call.
 * - get: from the call until the returned stream ends, errors or is destroyed. A caller that keeps N
 *   streams open unconsumed and asks for one more waits for ever: consume or destroy them.
 * - list, listPrefixes: each step only, not the whole iteration, so a loop that reads each listed
 *   object cannot deadlock itself.
 * Waiting callers are served in arrival order; an abort while waiting rejects with `signal.reason`.
 */
import { finished, type Readable } from 'node:stream';
import type {
  GetOptions,
  ObjectInfo,
  OperationOptions,
  PutData,
  PutOptions,
  Storage,
  StorageCapabilities,
} from '../storage.ts';

/** A counting semaphore with FIFO waiters and abortable waits. */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;

    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`concurrency must be an integer ≥ 1: ${limit}`);
  }

  /** Resolves with a release function once a slot is free. Calling release more than once is harmless. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.active < this.limit) {
      this.active++;
    } else {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.waiters.splice(this.waiters.indexOf(grant), 1);
          reject(signal?.reason);
        };
        // The releasing caller hands its slot over: `active` stays the same.
        const grant = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.waiters.push(grant);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.active--;
    };
  }

  /** Runs `fn` holding a slot. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

export class LimitingStorage implements Storage {
  readonly kind: string;
  readonly location: string;
  readonly capabilities: StorageCapabilities;
  readonly localPath?: (key: string) => string;
  readonly deleteAbandoned?: (prefix: string, options?: OperationOptions) => Promise<void>;
  private readonly semaphore: Semaphore;

  readonly inner: Storage;

  constructor(inner: Storage, concurrency: number) {
    this.inner = inner;

    this.semaphore = new Semaphore(concurrency);
    this.kind = inner.kind;
    this.location = inner.location;
    this.capabilities = inner.capabilities;
    if (inner.localPath) this.localPath = (key) => inner.localPath!(key);
    if (inner.deleteAbandoned) {
      this.deleteAbandoned = (prefix, options = {}) =>
        this.semaphore.run(() => inner.deleteAbandoned!(prefix, options), options.signal);
    }
  }

  put(key: string, data: PutData, options: PutOptions = {}): Promise<ObjectInfo> {
    return this.semaphore.run(() => this.inner.put(key, data, options), options.signal);
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const release = await this.semaphore.acquire(options.signal);
    let stream: Readable;
    try {
      stream = await this.inner.get(key, options);
    } catch (error) {
      release();
      throw error;
    }
    // end, error, premature close or destroy: whichever comes first frees the slot.
    finished(stream, () => release());
    return stream;
  }

  stat(key: string, options: OperationOptions = {}): Promise<ObjectInfo | undefined> {
    return this.semaphore.run(() => this.inner.stat(key, options), options.signal);
  }

  delete(key: string, options: OperationOptions = {}): Promise<void> {
    return this.semaphore.run(() => this.inner.delete(key, options), options.signal);
  }

  list(prefix: string, options: OperationOptions = {}): AsyncIterable<ObjectInfo> {
    return this.stepwise(this.inner.list(prefix, options), options.signal);
  }

  listPrefixes(prefix: string, options: OperationOptions = {}): AsyncIterable<string> {
    return this.stepwise(this.inner.listPrefixes(prefix, options), options.signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async *stepwise<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
    const iterator = source[Symbol.asyncIterator]();
    try {
      for (;;) {
        const result = await this.semaphore.run(() => iterator.next(), signal);
        if (result.done) return;
        yield result.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
}
