/**
 * RetryingStorage, LimitingStorage and retry(), on a real MemoryStorage behind a small fault-injecting
 * wrapper (test code: it fails chosen calls, it does not fake the storage).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { retry, sleep } from '../../src/retry.ts';
import { LimitingStorage, Semaphore } from '../../src/storage/decorators/limiting-storage.ts';
import { RetryingStorage } from '../../src/storage/decorators/retrying-storage.ts';
import { LocalStorage } from '../../src/storage/local/local-storage.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import type { GetOptions, ObjectInfo, PutData, PutOptions, Storage } from '../../src/storage/storage.ts';
import { StorageError, type StorageOperation } from '../../src/storage/storage-error.ts';
import { listAll, readBytes, readText } from '../../src/storage/storage-helpers.ts';

const transient = (retryAfterMs?: number) =>
  new StorageError('flaky', { reason: 'transient', operation: 'get', location: 'test://', retryAfterMs });
const notFound = () =>
  new StorageError('gone', { reason: 'not-found', operation: 'get', location: 'test://' });

/** Fails the next calls of an operation with queued errors; counts calls and concurrent operations. */
class FaultyStorage implements Storage {
  readonly kind = 'faulty';
  readonly location = 'test://faulty';
  readonly capabilities;
  readonly calls: Record<string, number> = {};
  readonly faults: Partial<Record<StorageOperation, Error[]>> = {};
  /** put consumes its source's first chunk before failing (a failure mid-upload). */
  failAfterConsuming = false;
  /** list fails once with a transient error after yielding this many items. */
  listFailsAfter: number | undefined;
  delayMs = 0;
  active = 0;
  maxActive = 0;

  readonly inner: Storage;

  constructor(inner: Storage = new MemoryStorage()) {
    this.inner = inner;

    this.capabilities = inner.capabilities;
  }

  private async enter<T>(operation: StorageOperation, fn: () => Promise<T>): Promise<T> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    this.maxActive = Math.max(this.maxActive, ++this.active);
    try {
      if (this.delayMs) await sleep(Math.random() * this.delayMs);
      const fault = this.faults[operation]?.shift();
      if (fault) throw fault;
      return await fn();
    } finally {
      this.active--;
    }
  }

  async put(key: string, data: PutData, options?: PutOptions): Promise<ObjectInfo> {
    if (this.failAfterConsuming && this.faults.put?.length) {
      this.calls.put = (this.calls.put ?? 0) + 1;
      await (data as AsyncIterable<Buffer>)[Symbol.asyncIterator]().next();
      throw this.faults.put.shift();
    }
    return this.enter('put', () => this.inner.put(key, data, options));
  }
  get(key: string, options?: GetOptions): Promise<Readable> {
    return this.enter('get', () => this.inner.get(key, options));
  }
  stat(key: string) {
    return this.enter('stat', () => this.inner.stat(key));
  }
  delete(key: string) {
    return this.enter('delete', () => this.inner.delete(key));
  }
  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    this.calls.list = (this.calls.list ?? 0) + 1;
    let yielded = 0;
    for await (const info of this.inner.list(prefix)) {
      if (this.listFailsAfter !== undefined && yielded === this.listFailsAfter) {
        this.listFailsAfter = undefined;
        throw transient();
      }
      yielded++;
      yield info;
    }
  }
  listPrefixes(prefix: string) {
    return this.inner.listPrefixes(prefix);
  }
  close() {
    return this.inner.close();
  }
}

/** Retry options that never really wait, recording the delays asked for. */
function instant(delays: number[] = []) {
  return {
    attempts: 4,
    baseMs: 100,
    maxMs: 1_000,
    random: () => 0.5,
    sleep: async (ms: number) => void delays.push(ms),
  };
}

describe('retry()', () => {
  it('retries retryable errors with capped exponential backoff, then gives up with the last error', async () => {
    const delays: number[] = [];
    let calls = 0;
    const failure = retry(
      async () => {
        calls++;
        throw new Error(`attempt ${calls}`);
      },
      { ...instant(delays), attempts: 6, isRetryable: () => true },
    );
    await expect(failure).rejects.toThrow('attempt 6');
    expect(calls).toBe(6);
    // Full jitter with random() = 0.5: half of min(maxMs, baseMs · 2^(n-1)).
    expect(delays).toEqual([50, 100, 200, 400, 500]);
  });

  it('returns the first success and never retries what is not retryable', async () => {
    let calls = 0;
    expect(
      await retry(async (attempt) => (attempt < 3 ? Promise.reject(new Error('x')) : 'ok'), {
        ...instant(),
        isRetryable: () => true,
      }),
    ).toBe('ok');
    await expect(
      retry(async () => {
        calls++;
        throw new Error('fatal');
      }, instant()),
    ).rejects.toThrow('fatal');
    expect(calls).toBe(1);
  });

  it('waits at least a retry-after hint, and stops when the time budget would be exceeded', async () => {
    const delays: number[] = [];
    let calls = 0;
    const hinted = retry(async () => (++calls === 1 ? Promise.reject(new Error('slow down')) : 'ok'), {
      ...instant(delays),
      isRetryable: () => true,
      retryAfterMs: () => 5_000,
    });
    expect(await hinted).toBe('ok');
    expect(delays).toEqual([5_000]);
    let clock = 0;
    calls = 0;
    const budget = retry(
      async () => {
        calls++;
        clock += 400;
        throw new Error('still down');
      },
      {
        ...instant(),
        attempts: 100,
        maxElapsedMs: 1_000,
        now: () => clock,
        isRetryable: () => true,
      },
    );
    await expect(budget).rejects.toThrow('still down');
    expect(calls).toBe(3); // elapsed + next delay: 400 + 50, 800 + 100, then 1200 + 200 > 1000
  });

  it('rejects promptly with the signal’s reason when aborted during a backoff', async () => {
    const controller = new AbortController();
    const reason = new Error('user stop');
    let calls = 0;
    const started = Date.now();
    const pending = retry(
      async () => {
        calls++;
        throw new Error('down');
      },
      {
        baseMs: 60_000,
        random: () => 1,
        isRetryable: () => true,
        signal: controller.signal,
      },
    );
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(calls).toBe(1);
    await expect(retry(async () => 'never', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(retry(async () => 1, { attempts: 0 })).rejects.toThrow(RangeError);
  });
});

describe('RetryingStorage', () => {
  it('retries transient failures of stat, get, delete and Buffer puts', async () => {
    const faulty = new FaultyStorage();
    const storage = new RetryingStorage(faulty, instant());
    faulty.faults.put = [transient(), transient()];
    await storage.put('k', Buffer.from('value'));
    expect(faulty.calls.put).toBe(3);
    faulty.faults.stat = [transient()];
    expect((await storage.stat('k'))?.size).toBe(5);
    faulty.faults.get = [transient()];
    expect(await readText(storage, 'k')).toBe('value');
    expect(faulty.calls.get).toBe(2);
    faulty.faults.delete = [transient(), transient(), transient()];
    await storage.delete('k');
    expect(faulty.calls.delete).toBe(4);
    expect(await faulty.inner.stat('k')).toBeUndefined();
  });

  it('never retries other reasons, and gives up after the attempts', async () => {
    const faulty = new FaultyStorage();
    const storage = new RetryingStorage(faulty, instant());
    faulty.faults.get = [notFound(), transient()];
    await expect(storage.get('x')).rejects.toMatchObject({ reason: 'not-found' });
    expect(faulty.calls.get).toBe(1);
    faulty.faults.stat = [transient(), transient(), transient(), transient(), transient()];
    await expect(storage.stat('x')).rejects.toMatchObject({ reason: 'transient' });
    expect(faulty.calls.stat).toBe(4);
  });

  it('retries a streamed put only while its source is untouched', async () => {
    const faulty = new FaultyStorage();
    const storage = new RetryingStorage(faulty, instant());
    faulty.faults.put = [transient()];
    await storage.put('fresh', Readable.from([Buffer.from('stream '), Buffer.from('data')]));
    expect(faulty.calls.put).toBe(2);
    expect(await readText(faulty.inner, 'fresh')).toBe('stream data');
    faulty.failAfterConsuming = true;
    faulty.faults.put = [transient()];
    await expect(
      storage.put('half', Readable.from([Buffer.from('a'), Buffer.from('b')])),
    ).rejects.toMatchObject({
      reason: 'transient',
    });
    expect(faulty.calls.put).toBe(3);
  });

  it('resumes a failed listing after the last key it yielded', async () => {
    const faulty = new FaultyStorage();
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const key of keys) await faulty.inner.put(key, key);
    faulty.listFailsAfter = 4;
    const storage = new RetryingStorage(faulty, instant());
    expect((await listAll(storage, '')).map((info) => info.key)).toEqual(keys);
    expect(faulty.calls.list).toBe(2);
  });

  it('reads on after a connection lost mid-body, from the first byte not yet passed on', async () => {
    const content = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));
    const memory = new MemoryStorage();
    await memory.put('obj', content);
    const opened: GetOptions[] = [];
    let breaks = 2;
    let cut = 30_000;
    /** Each get's body: `cut` bytes, then (`breaks` times in all) a transient error instead of the rest. */
    const breaking: Storage = Object.assign(Object.create(memory) as Storage, {
      get: async (key: string, options: GetOptions = {}) => {
        opened.push({ offset: options.offset, length: options.length });
        const body = await memory.get(key, options);
        if (breaks === 0) return body;
        breaks--;
        return Readable.from(
          (async function* () {
            let sent = 0;
            for await (const chunk of body as AsyncIterable<Buffer>) {
              if (sent + chunk.length > cut) {
                if (cut > sent) yield chunk.subarray(0, cut - sent);
                body.destroy();
                throw transient();
              }
              sent += chunk.length;
              yield chunk;
            }
          })(),
        );
      },
    });
    const storage = new RetryingStorage(breaking, instant());
    expect(await readBytes(storage, 'obj')).toEqual(content);
    expect(opened).toEqual([
      { offset: undefined, length: undefined },
      { offset: 30_000, length: undefined },
      { offset: 60_000, length: undefined },
    ]);
    // A range: the reopened get asks for what is left of it, and a break after its last byte ends it.
    opened.length = 0;
    breaks = 2;
    expect(await readBytes(storage, 'obj', { offset: 1000, length: 50_000 })).toEqual(
      content.subarray(1000, 51_000),
    );
    expect(opened).toEqual([
      { offset: 1000, length: 50_000 },
      { offset: 31_000, length: 20_000 },
    ]);
    // Each chunk has the whole budget; a body that breaks before its first byte each time spends it.
    breaks = 10;
    cut = 0;
    await expect(readBytes(storage, 'obj')).rejects.toThrow('flaky');
  });

  it('honours Retry-After and an abort during the backoff', async () => {
    const delays: number[] = [];
    const faulty = new FaultyStorage();
    faulty.faults.stat = [transient(1_234)];
    await new RetryingStorage(faulty, instant(delays)).stat('k');
    expect(delays).toEqual([1_234]);
    const controller = new AbortController();
    const reason = new Error('interrupted');
    const down = new FaultyStorage();
    down.faults.stat = [transient(), transient()];
    const pending = new RetryingStorage(down, { baseMs: 60_000, random: () => 1 }).stat('k', {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
    expect(down.calls.stat).toBe(1);
  });

  it('keeps the wrapped driver’s localPath, and only that', () => {
    const local = new LocalStorage({ root: '/srv/backups' });
    expect(new RetryingStorage(local).localPath?.('a/b')).toBe('/srv/backups/a/b');
    expect(new LimitingStorage(new RetryingStorage(local), 2).localPath?.('c')).toBe('/srv/backups/c');
    expect(new RetryingStorage(new MemoryStorage()).localPath).toBeUndefined();
  });
});

describe('LimitingStorage', () => {
  it('never runs more than N operations at once', async () => {
    const faulty = new FaultyStorage();
    faulty.delayMs = 5;
    const storage = new LimitingStorage(faulty, 3);
    await Promise.all(Array.from({ length: 30 }, (_, i) => storage.put(`k${i % 10}`, `v${i}`)));
    await Promise.all(Array.from({ length: 30 }, (_, i) => storage.stat(`k${i % 10}`)));
    await Promise.all(Array.from({ length: 10 }, (_, i) => storage.delete(`k${i}`)));
    expect(faulty.maxActive).toBe(3);
    expect(await listAll(faulty.inner, '')).toEqual([]);
  });

  it('holds a get’s slot until its stream ends or is destroyed', async () => {
    const inner = new MemoryStorage();
    await inner.put('a', 'aaa');
    const storage = new LimitingStorage(inner, 1);
    const first = await storage.get('a');
    let second: Readable | undefined;
    const waiting = storage.get('a').then((stream) => (second = stream));
    await sleep(20);
    expect(second).toBeUndefined();
    first.resume();
    await waiting;
    second!.destroy();
    expect(await storage.stat('a')).toMatchObject({ size: 3 }); // the destroyed stream freed its slot
  });

  it('holds a listing’s slot per step only, so reading each listed object cannot deadlock', async () => {
    const inner = new MemoryStorage();
    for (const key of ['x/1', 'x/2', 'x/3']) await inner.put(key, key);
    const storage = new LimitingStorage(inner, 1);
    const read: string[] = [];
    for await (const info of storage.list('x/')) read.push(await readText(storage, info.key));
    expect(read).toEqual(['x/1', 'x/2', 'x/3']);
  });

  it('gives up a wait on abort without losing the slot', async () => {
    const inner = new MemoryStorage();
    await inner.put('a', 'a');
    const storage = new LimitingStorage(inner, 1);
    const held = await storage.get('a');
    const controller = new AbortController();
    const reason = new Error('stop waiting');
    const waiting = storage.stat('a', { signal: controller.signal });
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    held.destroy();
    expect(await storage.stat('a')).toMatchObject({ size: 1 });
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
