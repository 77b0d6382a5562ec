/**
 * The folder of one export, `<output-dir>/<YYYYMMDD_HHMMSS>/`, on a Storage (docs/design.md §8).
 *
 * The format writers produce real files: SQLite and exceljs need a path, and the streaming
 * writers (CSV, JSON, GraphML, vectors) take one today. On a storage with local files
 * (`capabilities.localPath`) they write in place, as they always did (`<file>.partial`, renamed when
 * complete), and nothing is copied. On any other storage they write into a local staging folder, and
 * each file is put into the storage once its format has finished. Listing, hashing, removing and the
 * manifest go through the storage either way.
 *
 * While the export runs, the folder holds `.acx-writing`: created with `ifNotExists`, it claims the id
 * against a concurrent export of the same second, and makes a folder that cannot be written fail at
 * once. It is deleted just before the manifest is written, last.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { AcxError } from '../errors.ts';
import { RetryingStorage } from '../storage/decorators/retrying-storage.ts';
import { openStorage } from '../storage/registry.ts';
import type { Storage } from '../storage/storage.ts';
import { isStorageError } from '../storage/storage-error.ts';
import { deletePrefix, putJson } from '../storage/storage-helpers.ts';
import { isChoiceOfLocation } from '../repository/repository.ts';

export const EXPORT_MANIFEST_FILE = 'manifest.json';
/** Present while an export writes its folder; never part of a finished export. */
export const EXPORT_CLAIM_FILE = '.acx-writing';

/** A file of the export folder: its path inside it and what the storage says of it. */
export interface ExportObject {
  path: string;
  bytes: number;
}

function exportId(time: Date): string {
  const iso = time.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}_${iso.slice(11, 19).replace(/:/g, '')}`;
}

function unwritable(outputDir: string, cause: unknown): AcxError {
  return new AcxError(
    'USAGE',
    `cannot write to the output directory ${outputDir}: ${(cause as Error).message}`,
    { subject: outputDir, cause, hint: 'choose a writable folder with --output-dir' },
  );
}

export class ExportDirectory {
  /** The key prefix of the folder: `<id>/`. */
  readonly prefix: string;
  /** Printable: the folder's local path on local storage. */
  readonly dir: string;

  readonly storage: Storage;
  readonly id: string;
  /** The local folder formats write into when the storage has no local files; else undefined. */
  private readonly staging: string | undefined;

  private constructor(storage: Storage, id: string, staging: string | undefined) {
    this.storage = storage;
    this.id = id;
    this.staging = staging;

    this.prefix = `${id}/`;
    this.dir =
      storage.capabilities.localPath && storage.localPath
        ? storage.localPath(id)
        : `${storage.location.replace(/\/+$/, '')}/${id}`;
  }

  /**
   * Claims a new folder under `output` (a local directory, a storage location, or an open storage)
   * named by `time`, or by the next free second when that one is taken. USAGE when it cannot be written.
   */
  static async create(output: string | Storage, time: Date): Promise<ExportDirectory> {
    let storage: Storage;
    try {
      storage = typeof output === 'string' ? new RetryingStorage(await openStorage(output)) : output;
    } catch (error) {
      throw isStorageError(error) && isChoiceOfLocation(error) ? unwritable(String(output), error) : error;
    }
    const outputDir = storage.location;
    const token = randomBytes(16).toString('hex');
    for (let t = Math.floor(time.getTime() / 1000) * 1000; ; t += 1000) {
      const id = exportId(new Date(t));
      if (await holdsAnything(storage, `${id}/`)) continue;
      try {
        await storage.put(`${id}/${EXPORT_CLAIM_FILE}`, `${token}\n`, { ifNotExists: true });
      } catch (error) {
        if (isStorageError(error, 'conflict')) continue; // another export took this second
        // A folder that cannot be written is the choice of --output-dir (USAGE); a full disk is not (STORAGE).
        throw isStorageError(error) && isChoiceOfLocation(error) ? unwritable(outputDir, error) : error;
      }
      const staging = storage.capabilities.localPath
        ? undefined
        : await mkdtemp(join(tmpdir(), `acx-export-${id}-`));
      return new ExportDirectory(storage, id, staging);
    }
  }

  /**
   * The real file a format writes `path` (relative, '/'-separated) into; its folder exists. Files
   * written there become part of the export with `publish()`.
   */
  async localFile(path: string): Promise<string> {
    const key = this.prefix + path;
    const file =
      this.staging === undefined ? this.storage.localPath!(key) : join(this.staging, ...path.split('/'));
    await mkdir(dirname(file), { recursive: true });
    return file;
  }

  /** Puts what the last format staged into the storage (nothing to do when formats write in place). */
  async publish(signal?: AbortSignal): Promise<void> {
    if (this.staging === undefined) return;
    for (const file of await stagedFiles(this.staging)) {
      const path = relative(this.staging, file).split(sep).join('/');
      await this.storage.put(this.prefix + path, createReadStream(file), { signal });
      await rm(file, { force: true });
    }
  }

  /** The export's files (the claim excluded), sorted by path. */
  async files(): Promise<ExportObject[]> {
    const found: ExportObject[] = [];
    for await (const info of this.storage.list(this.prefix)) {
      const path = info.key.slice(this.prefix.length);
      if (path !== EXPORT_CLAIM_FILE) found.push({ path, bytes: info.size });
    }
    return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * The SHA-256 of a file's stored bytes. A local file is read through one reused buffer: a read stream's
   * chunks are each a new off-heap buffer that only a GC frees, and hashing a file of tens of MiB
   * left that much dead memory resident when the export ended (issue #15).
   */
  async sha256(path: string): Promise<string> {
    const hash = createHash('sha256');
    const key = this.prefix + path;
    if (this.storage.capabilities.localPath && this.storage.localPath)
      return hashLocalFile(this.storage.localPath(key), hash);
    for await (const chunk of await this.storage.get(key)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  /** Removes what a failed format left: files not in `kept`, staged or stored. */
  async removeAllBut(kept: ReadonlySet<string>): Promise<void> {
    if (this.staging !== undefined) await clearFolder(this.staging);
    for (const { path } of await this.files())
      if (!kept.has(path)) await this.storage.delete(this.prefix + path);
  }

  /** Writes the manifest, last: only now is the folder a finished export. */
  async writeManifest(manifest: unknown): Promise<void> {
    await this.storage.delete(this.prefix + EXPORT_CLAIM_FILE);
    await putJson(this.storage, this.prefix + EXPORT_MANIFEST_FILE, manifest);
    await this.dropStaging();
  }

  /** Removes the whole folder (a run that failed before its manifest). */
  async discard(): Promise<void> {
    await this.dropStaging();
    await deletePrefix(this.storage, this.prefix);
    await this.storage.deleteAbandoned?.(this.prefix);
  }

  private async dropStaging(): Promise<void> {
    if (this.staging !== undefined) await rm(this.staging, { recursive: true, force: true });
  }
}

/** Bytes read at a time when hashing a local file. */
const HASH_READ_BYTES = 1 << 20;

async function hashLocalFile(file: string, hash: Hash): Promise<string> {
  const buffer = Buffer.allocUnsafe(HASH_READ_BYTES);
  const handle = await open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return hash.digest('hex');
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

/** Whether any object exists under `prefix`; stops at the first. */
async function holdsAnything(storage: Storage, prefix: string): Promise<boolean> {
  for await (const _object of storage.list(prefix)) return true;
  return false;
}

/** Every file under `folder`, at any depth. */
async function stagedFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function clearFolder(folder: string): Promise<void> {
  for (const entry of await readdir(folder)) await rm(join(folder, entry), { recursive: true, force: true });
}
