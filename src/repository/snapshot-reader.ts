/** Reading the data files of one complete snapshot, by their manifest entries (docs/design.md §7.5). */
import type { Readable } from 'node:stream';
import { AcxError } from '../errors.ts';
import type { SnapshotSource } from '../model/snapshot.ts';
import type { Storage } from '../storage/storage.ts';
import { MAX_RECORD_BYTES, readLines } from '../streams.ts';
import { printableKey, snapshotPathProblem } from './layout.ts';
import type { Manifest } from './manifest.ts';
import { openDecompressed, storedStream, type FileEntry } from './snapshot-files.ts';

export class SnapshotReader implements SnapshotSource {
  readonly storage: Storage;
  readonly manifest: Manifest;
  readonly prefix: string;

  /**
   * @param prefix where the snapshot's files are: `<directory name>/`, the id (readManifest refuses a
   * manifest whose id is not its directory's name), possibly in a folder outside the repository.
   */
  constructor(storage: Storage, manifest: Manifest, prefix = `${manifest.id}/`) {
    this.storage = storage;
    this.manifest = manifest;
    this.prefix = prefix;
  }

  get id(): string {
    return this.manifest.id;
  }

  /** Printable, for messages: the snapshot's directory (a local path on local storage). */
  get dir(): string {
    return printableKey(this.storage, this.prefix.slice(0, -1));
  }

  /** The same files described by another manifest (tests that damage a snapshot on purpose). */
  withManifest(manifest: Manifest): SnapshotReader {
    return new SnapshotReader(this.storage, manifest, this.prefix);
  }

  /** The storage key of a file of the snapshot. */
  keyOf(path: string): string {
    return this.prefix + path;
  }

  entry(path: string): FileEntry {
    const problem = snapshotPathProblem(path);
    if (problem)
      throw new AcxError(
        'INTEGRITY',
        `snapshot ${this.id}: unsafe file path ${JSON.stringify(path)}: ${problem}`,
        {
          subject: path,
        },
      );
    const entry = Object.hasOwn(this.manifest.files, path) ? this.manifest.files[path] : undefined;
    if (!entry)
      throw new AcxError('INTEGRITY', `snapshot ${this.id}: ${path} is not listed in the manifest`, {
        subject: path,
      });
    return entry;
  }

  storedStream(path: string): Readable {
    this.entry(path);
    return storedStream(this.storage, this.keyOf(path));
  }

  /** The decompressed bytes of a file; INTEGRITY once they pass the size its entry records. */
  stream(path: string): Readable {
    const entry = this.entry(path);
    return openDecompressed(this.storage, this.keyOf(path), entry.compression, entry.contentBytes);
  }

  /** The records of a record file, one line at a time; INTEGRITY for a line over MAX_RECORD_BYTES. */
  lines(path: string, maxLineBytes = MAX_RECORD_BYTES): AsyncGenerator<string> {
    return readLines(this.stream(path), { source: `snapshot ${this.id}: ${path}`, maxLineBytes });
  }

  /** A file read whole (a schema script): like one record, no longer than MAX_RECORD_BYTES. */
  async text(path: string, maxBytes = MAX_RECORD_BYTES): Promise<string> {
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of this.stream(path)) {
      bytes += (chunk as Buffer).length;
      if (bytes > maxBytes)
        throw new AcxError('INTEGRITY', `snapshot ${this.id}: ${path} is longer than ${maxBytes} bytes`, {
          subject: path,
          hint: 'no schema script is this long: the file is damaged or was tampered with',
        });
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
