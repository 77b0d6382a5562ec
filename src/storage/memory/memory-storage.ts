/**
 * A Storage in process memory: the same contract as the local driver (it passes the same suite), for
 * tests and dry runs. Every instance is empty at first and forgets everything when garbage collected;
 * `memory://name` only names it in messages.
 */
import type { Readable } from 'node:stream';
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
import { assertKey, assertPrefix, compareKeys } from '../storage-keys.ts';
import { collectBytes, rangeOf, rangeProblem, readableOfBuffer } from '../storage-data.ts';

interface StoredObject {
  readonly bytes: Buffer;
  readonly modified: Date;
}

/** The "directories" containing `key`: 'a/b/c' → 'a/', 'a/b/'. */
function parentsOf(key: string): string[] {
  const parents: string[] = [];
  for (let at = key.indexOf('/'); at !== -1; at = key.indexOf('/', at + 1))
    parents.push(key.slice(0, at + 1));
  return parents;
}

export class MemoryStorage implements Storage {
  readonly kind = 'memory';
  readonly location: string;
  readonly capabilities: StorageCapabilities = {
    atomicPut: true,
    rangedGet: true,
    conditionalPut: true,
    localPath: false,
  };
  private readonly objects = new Map<string, StoredObject>();
  /** How many objects each "directory" holds, so directory/object collisions are checked in O(depth). */
  private readonly directories = new Map<string, number>();
  private closed = false;

  constructor(name = 'default') {
    this.location = `memory://${name}`;
  }

  async put(key: string, data: PutData, options: PutOptions = {}): Promise<ObjectInfo> {
    this.check('put', key);
    // Collected first, stored in one synchronous step: visible whole or not at all.
    const bytes = await collectBytes(data, options.signal);
    this.check('put', key);
    if (options.ifNotExists && this.objects.has(key)) {
      throw this.error('put', key, 'conflict', 'the key already exists');
    }
    if (this.directories.has(`${key}/`)) {
      throw this.error('put', key, 'conflict', 'other keys are stored under this key followed by "/"');
    }
    const parents = parentsOf(key);
    const clash = parents.find((parent) => this.objects.has(parent.slice(0, -1)));
    if (clash)
      throw this.error('put', key, 'conflict', `"${clash.slice(0, -1)}" is an object, not a directory`);
    if (!this.objects.has(key)) {
      for (const parent of parents) this.directories.set(parent, (this.directories.get(parent) ?? 0) + 1);
    }
    const stored = { bytes, modified: new Date() };
    this.objects.set(key, stored);
    return { key, size: bytes.length, modified: stored.modified };
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    this.check('get', key);
    options.signal?.throwIfAborted();
    const problem = rangeProblem(options.offset, options.length);
    if (problem) throw this.error('get', key, 'invalid-request', problem);
    const stored = this.objects.get(key);
    if (!stored) throw this.error('get', key, 'not-found', 'no such object');
    const { start, end } = rangeOf(stored.bytes.length, options.offset, options.length);
    // The stored Buffer is never mutated (put replaces it), so the stream keeps this version.
    return readableOfBuffer(stored.bytes.subarray(start, end), options.signal);
  }

  async stat(key: string, options: OperationOptions = {}): Promise<ObjectInfo | undefined> {
    this.check('stat', key);
    options.signal?.throwIfAborted();
    const stored = this.objects.get(key);
    return stored && { key, size: stored.bytes.length, modified: stored.modified };
  }

  async *list(prefix: string, options: OperationOptions = {}): AsyncGenerator<ObjectInfo> {
    this.checkPrefix(prefix);
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort(compareKeys);
    for (const key of keys) {
      options.signal?.throwIfAborted();
      const stored = this.objects.get(key);
      if (stored) yield { key, size: stored.bytes.length, modified: stored.modified };
    }
  }

  async *listPrefixes(prefix: string, options: OperationOptions = {}): AsyncGenerator<string> {
    this.checkPrefix(prefix);
    const found = new Set<string>();
    for (const key of this.objects.keys()) {
      if (!key.startsWith(prefix)) continue;
      const slash = key.indexOf('/', prefix.length);
      if (slash !== -1) found.add(key.slice(0, slash + 1));
    }
    for (const directory of [...found].sort(compareKeys)) {
      options.signal?.throwIfAborted();
      if (this.directories.has(directory)) yield directory;
    }
  }

  async delete(key: string, options: OperationOptions = {}): Promise<void> {
    this.check('delete', key);
    options.signal?.throwIfAborted();
    if (!this.objects.delete(key)) return;
    for (const parent of parentsOf(key)) {
      const count = (this.directories.get(parent) ?? 1) - 1;
      if (count === 0) this.directories.delete(parent);
      else this.directories.set(parent, count);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.objects.clear();
    this.directories.clear();
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
    reason: 'conflict' | 'not-found' | 'invalid-request',
    detail: string,
  ): StorageError {
    return new StorageError(detail, { reason, operation, key, location: this.location });
  }
}
