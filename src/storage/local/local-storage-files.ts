/**
 * File-system work of the local driver: errno → reason, sorted walks that skip temp files, full writes
 * and directory fsync. No key rules here (../storage-keys.ts) and no Storage semantics (local-storage.ts).
 */
import { open, readdir, rm, rmdir, stat, type FileHandle } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import type { StorageErrorReason } from '../storage.ts';
import type { StorageOperation } from '../storage-error.ts';
import { compareKeys, keyProblem, RESERVED_SEGMENT_PREFIX } from '../storage-keys.ts';

import { errnoOf } from '../../files.ts';

export { errnoOf };

const TRANSIENT = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'EINTR', 'ESTALE']);
const PERMISSION = new Set(['EACCES', 'EPERM', 'EROFS']);

/** The reason for a file-system error code met during `operation`. */
export function reasonOfErrno(code: string | undefined, operation: StorageOperation): StorageErrorReason {
  if (code === undefined) return 'other';
  if (TRANSIENT.has(code)) return 'transient';
  if (PERMISSION.has(code)) return 'permission';
  if (code === 'ENAMETOOLONG') return 'invalid-request';
  // Creating: the key exists (link), is a directory (rename) or has a file as "directory" (mkdir).
  if (operation === 'put' && (code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTDIR'))
    return 'conflict';
  if (operation !== 'put' && (code === 'ENOENT' || code === 'ENOTDIR')) return 'not-found';
  return 'other';
}

/** True when the file (or anything on its path) does not exist. */
export function isMissing(error: unknown): boolean {
  const code = errnoOf(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** `stat` that answers undefined for a missing path. */
export async function statIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

interface Entry {
  name: string;
  path: string;
  isDirectory: boolean;
}

/**
 * The visible entries of a directory, in listing order: temp files and names that are not valid key
 * segments are left out, and so are symbolic links (never followed: not objects); a missing directory
 * is empty.
 * Sorting on `name + '/'` for directories makes a depth-first walk come out in key order.
 */
async function visibleEntries(directory: string, namePrefix = ''): Promise<Entry[]> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const entries: (Entry & { sortKey: string })[] = [];
  for (const dirent of dirents) {
    const { name } = dirent;
    if (!name.startsWith(namePrefix) || name.startsWith(RESERVED_SEGMENT_PREFIX)) continue;
    if (keyProblem(name) !== undefined) continue;
    const path = join(directory, name);
    const isDirectory = dirent.isDirectory();
    if (!isDirectory && !dirent.isFile()) continue; // links, sockets, devices, fifos are not objects
    entries.push({ name, path, isDirectory, sortKey: isDirectory ? `${name}/` : name });
  }
  return entries.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
}

export interface WalkedFile {
  key: string;
  stats: Stats;
}

/**
 * Every file under `directory` (whose key is `keyPrefix`), depth first in key order. At the top level
 * only names starting with `namePrefix` count. Files that vanish during the walk are skipped.
 */
export async function* walkFiles(
  directory: string,
  keyPrefix: string,
  namePrefix = '',
): AsyncGenerator<WalkedFile> {
  for (const entry of await visibleEntries(directory, namePrefix)) {
    const key = keyPrefix + entry.name;
    if (entry.isDirectory) {
      yield* walkFiles(entry.path, `${key}/`);
      continue;
    }
    const stats = await statIfExists(entry.path);
    if (stats?.isFile() && keyProblem(key) === undefined) yield { key, stats };
  }
}

/** The subdirectories of `directory` whose names start with `namePrefix`, in key order. */
export async function subdirectories(directory: string, namePrefix: string): Promise<Entry[]> {
  return (await visibleEntries(directory, namePrefix)).filter((entry) => entry.isDirectory);
}

/** Whether any visible file exists under `directory` (stops at the first). */
export async function holdsFile(directory: string): Promise<boolean> {
  for await (const _file of walkFiles(directory, '')) return true;
  return false;
}

/** Writes all of `chunks`, batching small chunks into fewer system calls. */
export async function writeChunks(handle: FileHandle, chunks: AsyncIterable<Buffer>): Promise<void> {
  const BATCH_BYTES = 256 * 1024;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const buffer = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    for (let at = 0; at < buffer.length;) {
      const { bytesWritten } = await handle.write(buffer, at, buffer.length - at);
      at += bytesWritten;
    }
  };
  for await (const chunk of chunks) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= BATCH_BYTES) await flush();
  }
  if (pendingBytes > 0) await flush();
}

/** fsync of a directory, so a rename in it survives a crash. Skipped where directories cannot be opened. */
export async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(directory, 'r');
  } catch (error) {
    if (errnoOf(error) === 'EISDIR' || errnoOf(error) === 'EPERM') return; // Windows
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems do not support fsync on directories: nothing more can be done there.
    if (errnoOf(error) !== 'EINVAL' && errnoOf(error) !== 'ENOTSUP') throw error;
  } finally {
    await handle.close();
  }
}

/** Removes the empty directories from `directory` up to, not including, `root`. Best effort. */
export async function pruneEmptyDirectories(directory: string, root: string): Promise<void> {
  for (let current = directory; current.startsWith(root + sep); current = dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      return; // not empty (or already gone, or not ours to remove): stop climbing
    }
  }
}

/**
 * Removes the temp files under `directory`, at any depth, then the directories left empty (`directory`
 * included). Files that are objects stay, and so do their directories. Symbolic links are not followed.
 */
export async function removeTempFiles(directory: string): Promise<void> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  for (const dirent of dirents) {
    const path = join(directory, dirent.name);
    if (dirent.isDirectory()) await removeTempFiles(path);
    else if (dirent.name.startsWith(RESERVED_SEGMENT_PREFIX)) await rm(path, { force: true });
  }
  await rmdir(directory).catch(() => undefined); // not empty: objects remain
}
