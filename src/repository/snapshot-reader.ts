/** Reading the data files of one complete snapshot, by their manifest entries (docs/design.md §7.5). */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { AcxError } from '../errors.ts';
import type { Manifest } from './manifest.ts';
import { createReadStream } from 'node:fs';
import type { SnapshotSource } from '../model/snapshot.ts';
import { readLines } from '../streams.ts';
import { openDecompressed, type FileEntry } from './snapshot-files.ts';

export class SnapshotReader implements SnapshotSource {
  constructor(
    readonly dir: string,
    readonly manifest: Manifest,
  ) {}

  get id(): string {
    return this.manifest.id;
  }

  entry(path: string): FileEntry {
    const entry = this.manifest.files[path];
    if (!entry)
      throw new AcxError('INTEGRITY', `snapshot ${this.id}: ${path} is not listed in the manifest`, {
        subject: path,
      });
    return entry;
  }

  absolutePath(path: string): string {
    return join(this.dir, path);
  }

  storedStream(path: string): Readable {
    this.entry(path);
    return createReadStream(this.absolutePath(path));
  }

  /** The decompressed bytes of a file. */
  stream(path: string): Readable {
    return openDecompressed(this.absolutePath(path), this.entry(path).compression);
  }

  /** The records of a record file, one line at a time. */
  lines(path: string): AsyncGenerator<string> {
    return readLines(this.stream(path));
  }

  async text(path: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.stream(path)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
}
