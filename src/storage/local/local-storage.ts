/**
 * A Storage in a directory of the local file system. Keys map to files under the root ('a/b' →
 * <root>/a/b); directories are created on demand and removed when a delete empties them.
 *
 * Atomic puts: bytes go to `.tmp-<random>` in the target's directory, are fsynced (option `sync`), then
 * renamed over the target (or, for `ifNotExists`, hard-linked to it: link() fails if the target exists,
 * an atomic create-with-content) and the directory is fsynced. A reader holding an open stream keeps
 * the version it opened. Temp files are never listed, and removed when a put fails or aborts; a killed
 * process can leave one behind, invisible to every operation. Needs a file system with hard links for
 * `ifNotExists` (every POSIX local one; some network or FAT mounts refuse: reason 'other').
 *
 * Objects are regular files in real directories: a symbolic link below the root (to a file or to a
 * directory) is not an object. It is not listed, `stat` does not see it and `get` refuses it
 * ('not-found'), so a repository copied from elsewhere cannot make a reader open a file outside it. The
 * root itself may be a link.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { link, open, rename, rm, stat, unlink, lstat, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileProblemOf, makeDirectories } from '../../files.ts';
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
import { assertKey, assertPrefix, RESERVED_SEGMENT_PREFIX, splitPrefix } from '../storage-keys.ts';
import { chunksOf, destroyOnAbort, rangeOf, rangeProblem, readableOfBuffer } from '../storage-data.ts';
import {
  errnoOf,
  holdsFile,
  isMissing,
  pruneEmptyDirectories,
  reasonOfErrno,
  removeTempFiles,
  statIfExists,
  subdirectories,
  syncDirectory,
  walkFiles,
  writeChunks,
} from './local-storage-files.ts';

export interface LocalStorageConfig {
  /** The storage root; relative paths resolve against the working directory. Created on the first put. */
  root: string;
  /** Default of put's `sync`: fsync files and directories before a put resolves (default true). */
  sync?: boolean;
}

/**
 * Attaches to a directory (which need not exist yet); rejects with 'invalid-request' when the path, or
 * the nearest of its parents that exists, is not a directory (a file given as `--backup-dir`, or as a
 * parent of it): no later mkdir could succeed there.
 */
export async function openLocalStorage(config: LocalStorageConfig): Promise<LocalStorage> {
  const storage = new LocalStorage(config);
  for (let path = storage.root; ; path = dirname(path)) {
    const stats = await statOrAncestor(path).catch((error: unknown) => {
      throw storage.translate(error, 'open', undefined);
    });
    if (stats === 'look-up') continue;
    if (stats && !stats.isDirectory()) {
      const what = path === storage.root ? 'the path' : `its parent ${path}`;
      throw new StorageError(`${what} is a file, not a directory`, {
        reason: 'invalid-request',
        operation: 'open',
        location: storage.location,
        hint: `name a directory (it is created when missing) whose parents are directories`,
      });
    }
    return storage;
  }
}

/** The path's stats, undefined at the root, or 'look-up' when it is missing (ask its parent). */
async function statOrAncestor(path: string): Promise<Stats | undefined | 'look-up'> {
  try {
    return await stat(path);
  } catch (error) {
    const code = errnoOf(error);
    if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(path) !== path) return 'look-up';
    if (code === 'ENOENT') return undefined;
    throw error;
  }
}

export class LocalStorage implements Storage {
  readonly kind = 'local';
  readonly root: string;
  readonly location: string;
  readonly capabilities: StorageCapabilities = {
    atomicPut: true,
    rangedGet: true,
    conditionalPut: true,
    localPath: true,
  };
  private readonly sync: boolean;
  private closed = false;

  constructor(config: LocalStorageConfig) {
    this.root = resolve(config.root);
    this.location = this.root;
    this.sync = config.sync ?? true;
  }

  /** The absolute path of `key` (see Storage.localPath: an escape hatch for libraries needing files). */
  localPath(key: string): string {
    return this.pathOf('get', key);
  }

  async put(key: string, data: PutData, options: PutOptions = {}): Promise<ObjectInfo> {
    const path = this.pathOf('put', key);
    options.signal?.throwIfAborted();
    const directory = dirname(path);
    const sync = options.sync ?? this.sync;
    const { handle, tempPath } = await this.createTempFile(key, directory);
    let isOpen = true;
    try {
      await this.io('put', key, () => writeChunks(handle, chunksOf(data, options.signal)));
      const stats = await this.io('put', key, async () => {
        if (sync) await handle.sync();
        return handle.stat();
      });
      isOpen = false;
      await this.io('put', key, () => handle.close());
      options.signal?.throwIfAborted(); // the last moment at which an abort leaves nothing behind
      await this.publish(key, tempPath, path, options.ifNotExists ?? false);
      // From here the object is visible: a failing directory fsync rejects but cannot undo it.
      if (sync) await this.io('put', key, () => syncDirectory(directory));
      return { key, size: stats.size, modified: stats.mtime };
    } catch (error) {
      throw options.signal?.aborted ? options.signal.reason : error;
    } finally {
      if (isOpen) await handle.close().catch(() => undefined);
      await rm(tempPath, { force: true }).catch(() => undefined);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const path = this.pathOf('get', key);
    options.signal?.throwIfAborted();
    const problem = rangeProblem(options.offset, options.length);
    if (problem) throw new StorageError(problem, this.context('get', key, 'invalid-request'));
    await this.refuseLinks('get', key);
    // O_NOFOLLOW: a link put in place after the check still fails (ELOOP) instead of being followed.
    const handle = await this.io('get', key, () => open(path, constants.O_RDONLY | constants.O_NOFOLLOW));
    try {
      const stats = await this.io('get', key, () => handle.stat());
      if (!stats.isFile()) throw new StorageError('no such object', this.context('get', key, 'not-found'));
      const { start, end } = rangeOf(stats.size, options.offset, options.length);
      if (start >= end) {
        await handle.close();
        return readableOfBuffer(Buffer.alloc(0), options.signal);
      }
      // The open handle pins this version: a concurrent rename or delete does not change what it reads.
      const stream = handle.createReadStream({ start, end: end - 1, autoClose: true });
      return destroyOnAbort(stream, options.signal);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  async stat(key: string, options: OperationOptions = {}): Promise<ObjectInfo | undefined> {
    const path = this.pathOf('stat', key);
    options.signal?.throwIfAborted();
    const stats = await this.io('stat', key, async () => {
      const own = await lstat(path).catch((error: unknown) => {
        if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return undefined;
        throw error;
      });
      return own && (await this.linkIn(key)) === undefined ? own : undefined;
    });
    return stats?.isFile() ? { key, size: stats.size, modified: stats.mtime } : undefined;
  }

  async *list(prefix: string, options: OperationOptions = {}): AsyncGenerator<ObjectInfo> {
    this.checkPrefix(prefix);
    const { directory, partial } = splitPrefix(prefix);
    const files = walkFiles(join(this.root, ...directory.split('/')), directory, partial);
    for (;;) {
      options.signal?.throwIfAborted();
      const next = await this.io('list', prefix, () => files.next());
      if (next.done) return;
      yield { key: next.value.key, size: next.value.stats.size, modified: next.value.stats.mtime };
    }
  }

  async *listPrefixes(prefix: string, options: OperationOptions = {}): AsyncGenerator<string> {
    this.checkPrefix(prefix);
    const { directory, partial } = splitPrefix(prefix);
    const path = join(this.root, ...directory.split('/'));
    for (const entry of await this.io('list', prefix, () => subdirectories(path, partial))) {
      options.signal?.throwIfAborted();
      // A directory with only temp files (a put in progress) or emptied by a crash holds no object.
      if (await this.io('list', prefix, () => holdsFile(entry.path))) yield `${directory}${entry.name}/`;
    }
  }

  async delete(key: string, options: OperationOptions = {}): Promise<void> {
    const path = this.pathOf('delete', key);
    options.signal?.throwIfAborted();
    try {
      await unlink(path);
    } catch (error) {
      if (isMissing(error)) return;
      // unlink of a directory: EISDIR on Linux, EPERM on macOS. A "directory" is not an object.
      const code = errnoOf(error);
      if (
        (code === 'EISDIR' || code === 'EPERM') &&
        (await lstat(path).catch(() => undefined))?.isDirectory()
      ) {
        return;
      }
      throw this.translate(error, 'delete', key);
    }
    await pruneEmptyDirectories(dirname(path), this.root);
  }

  /** See Storage.deleteAbandoned: the temp files of killed puts under `prefix`, and emptied directories. */
  async deleteAbandoned(prefix: string, options: OperationOptions = {}): Promise<void> {
    if (this.closed)
      throw new StorageError('the storage is closed', this.context('delete', prefix, 'invalid-request'));
    assertPrefix(prefix, { location: this.location, operation: 'delete' });
    if (!prefix.endsWith('/'))
      throw new StorageError('a prefix must end with "/"', this.context('delete', prefix, 'invalid-request'));
    options.signal?.throwIfAborted();
    const directory = join(this.root, ...prefix.split('/').filter((segment) => segment !== ''));
    await this.io('delete', prefix, () => removeTempFiles(directory));
    await pruneEmptyDirectories(dirname(directory), this.root);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Maps file-system errors to StorageError; passes other errors (sources', aborts) through. */
  translate(error: unknown, operation: StorageOperation, key: string | undefined): unknown {
    if (error instanceof StorageError || errnoOf(error) === undefined) return error;
    // Worded from the one table of file-system problems (src/files.ts): "no space left on device".
    const problem = fileProblemOf(error);
    return new StorageError(problem.text, {
      ...this.context(operation, key, reasonOfErrno(problem.code, operation)),
      hint: problem.hint(this.location),
      cause: error,
    });
  }

  private async io<T>(
    operation: StorageOperation,
    key: string | undefined,
    action: () => Promise<T>,
  ): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw this.translate(error, operation, key);
    }
  }

  /**
   * An exclusive new temp file next to the target. A delete may remove the directory between our mkdir
   * and open (it prunes empty directories), so a missing directory is created again a few times.
   */
  private async createTempFile(
    key: string,
    directory: string,
  ): Promise<{ handle: FileHandle; tempPath: string }> {
    for (let attempt = 1; ; attempt++) {
      const tempPath = join(directory, `${RESERVED_SEGMENT_PREFIX}${randomBytes(8).toString('hex')}`);
      try {
        return { handle: await open(tempPath, 'wx'), tempPath };
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT' || attempt >= 5) throw this.translate(error, 'put', key);
      }
      await this.io('put', key, () => makeDirectories(directory));
    }
  }

  /** Makes the finished temp file the object: rename replaces, link creates only if absent. */
  private async publish(key: string, tempPath: string, path: string, ifNotExists: boolean): Promise<void> {
    try {
      if (ifNotExists) await link(tempPath, path);
      else await rename(tempPath, path);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') {
        const detail =
          code === 'EEXIST' && (await statIfExists(path))?.isFile()
            ? 'the key already exists'
            : 'other keys are stored under this key followed by "/"';
        throw new StorageError(detail, { ...this.context('put', key, 'conflict'), cause: error });
      }
      throw this.translate(error, 'put', key);
    }
  }

  /** The first segment of `key` (as a key prefix) that is a symbolic link on disk, or undefined. */
  private async linkIn(key: string): Promise<string | undefined> {
    const segments = key.split('/');
    for (let n = 1; n <= segments.length; n++) {
      const part = segments.slice(0, n);
      const stats = await lstat(join(this.root, ...part)).catch(() => undefined);
      if (!stats) return undefined; // missing: the open that follows says so
      if (stats.isSymbolicLink()) return part.join('/');
    }
    return undefined;
  }

  /** Rejects a key reached through a symbolic link below the root (see the class comment). */
  private async refuseLinks(operation: StorageOperation, key: string): Promise<void> {
    const link = await this.linkIn(key);
    if (link === undefined) return;
    throw new StorageError(`"${link}" is a symbolic link; links below the storage root are never followed`, {
      ...this.context(operation, key, 'not-found'),
      hint: 'a repository holds regular files only: replace the link by the file it points to if you trust it',
    });
  }

  private pathOf(operation: StorageOperation, key: string): string {
    if (this.closed)
      throw new StorageError('the storage is closed', this.context(operation, key, 'invalid-request'));
    assertKey(key, { location: this.location, operation });
    return join(this.root, ...key.split('/'));
  }

  private checkPrefix(prefix: string): void {
    if (this.closed)
      throw new StorageError('the storage is closed', this.context('list', prefix, 'invalid-request'));
    assertPrefix(prefix, { location: this.location, operation: 'list' });
  }

  private context(operation: StorageOperation, key: string | undefined, reason: StorageError['reason']) {
    return { operation, key, reason, location: this.location };
  }
}
