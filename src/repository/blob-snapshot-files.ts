/**
 * Writing one format-2 snapshot's files (docs/design.md §11.7): each file's content is cut by the
 * content-defined chunker and stored as blobs (deduplicated against the whole repository), hashed and
 * counted while it streams. Nothing is visible until the run flushes its packs and index and writes the
 * manifest.
 */
import { createHash, type Hash } from 'node:crypto';
import { AcxError } from '../errors.ts';
import type { DataFileWriter, FileCompression, FileEntry, SnapshotSink } from '../model/snapshot.ts';
import type { BlobStore } from './blobs/blob-store.ts';
import { Chunker } from './blobs/chunker.ts';
import { countNewlines, writeLinesFile } from './snapshot-files.ts';

/** At most this many data blob ids are written inline in a file's entry; more go into list blobs. */
export const INLINE_BLOBS = 1000;
/** Data blob ids per list blob (32 raw bytes each: 2 MiB). */
export const LIST_BLOB_IDS = 65_536;

/** What a run has stored so far: bytes the repository did not hold, and bytes it found there. */
export interface BlobProgress {
  newBytes: number;
  reusedBytes: number;
}

class BlobFileWriter implements DataFileWriter {
  private readonly chunker: Chunker;
  private readonly hash: Hash = createHash('sha256');
  private ids: string[] = [];
  private readonly lists: string[] = [];
  private contentBytes = 0;
  private lines = 0;
  private storedBytes = 0;
  private failed: unknown;
  private closed = false;

  private readonly files: BlobSnapshotFiles;
  readonly path: string;
  private readonly countsRecords: boolean;

  constructor(files: BlobSnapshotFiles, path: string, countsRecords: boolean) {
    this.files = files;
    this.path = path;
    this.countsRecords = countsRecords;

    const c = files.store.config.chunker;
    this.chunker = new Chunker(
      { minSize: c.minSize, avgSize: c.avgSize, maxSize: c.maxSize },
      files.store.chunkerSeed,
    );
  }

  async write(chunk: Buffer | string): Promise<void> {
    this.throwIfStopped();
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.hash.update(bytes);
    this.contentBytes += bytes.length;
    if (this.countsRecords) this.lines += countNewlines(bytes);
    try {
      for (const piece of this.chunker.push(bytes)) await this.store(piece);
    } catch (error) {
      this.failed ??= error;
      throw error;
    }
  }

  writeLine(line: string): Promise<void> {
    return this.write(line + '\n');
  }

  async writeFrom(source: AsyncIterable<Buffer | string>): Promise<void> {
    for await (const chunk of source) await this.write(chunk);
  }

  private async store(piece: Buffer): Promise<void> {
    const added = await this.files.store.add('data', piece);
    this.ids.push(added.id);
    this.storedBytes += added.length;
    if (added.isNew) this.files.progress.newBytes += piece.length;
    else this.files.progress.reusedBytes += piece.length;
    this.files.onProgress?.(this.files.progress);
    // Ids go into list blobs as they come, so a huge file's entry never holds them all in memory.
    if (this.ids.length >= LIST_BLOB_IDS) await this.storeList();
  }

  private async storeList(): Promise<void> {
    const ids = this.ids.splice(0, LIST_BLOB_IDS);
    const list = Buffer.concat(ids.map((id) => Buffer.from(id, 'hex')));
    const added = await this.files.store.add('list', list);
    this.lists.push(added.id);
  }

  private throwIfStopped(): void {
    if (this.files.signal?.aborted) {
      this.abort();
      throw new AcxError('INTERRUPTED', `interrupted while writing ${this.path}`, { subject: this.path });
    }
    if (this.failed) throw this.failed;
    if (this.closed) throw new AcxError('INTERNAL', `${this.path} was written after it was closed`);
  }

  async close(): Promise<FileEntry> {
    this.throwIfStopped();
    const last = this.chunker.finish();
    if (last) await this.store(last);
    if (this.lists.length > 0 || this.ids.length > INLINE_BLOBS)
      while (this.ids.length > 0) await this.storeList();
    this.closed = true;
    return {
      bytes: this.storedBytes,
      sha256: this.hash.digest('hex'),
      compression: this.files.store.config.compression,
      contentBytes: this.contentBytes,
      ...(this.countsRecords ? { records: this.lines } : {}),
      ...(this.lists.length > 0 ? { lists: [...this.lists] } : { blobs: [...this.ids] }),
    };
  }

  abort(): void {
    this.failed ??= new AcxError('INTERRUPTED', `${this.path} was abandoned`, { subject: this.path });
  }
}

/** The files of one format-2 snapshot, and their entries for its manifest. */
export class BlobSnapshotFiles implements SnapshotSink {
  readonly entries: Record<string, FileEntry> = {};
  readonly formatVersion = 2 as const;
  readonly progress: BlobProgress = { newBytes: 0, reusedBytes: 0 };
  /** Called after each stored chunk (the backup throttles it into progress events). */
  onProgress?: (progress: BlobProgress) => void;

  readonly store: BlobStore;
  readonly id: string;
  readonly signal?: AbortSignal;

  constructor(store: BlobStore, id: string, signal?: AbortSignal) {
    this.store = store;
    this.id = id;
    this.signal = signal;
  }

  /** Opens `name` (format 2 paths carry no compression extension: blobs are compressed one by one). */
  async createFile(
    name: string,
    options: { records: boolean; compression?: FileCompression },
  ): Promise<DataFileWriter> {
    // A store that reads again after a dropped connection writes its files again: the last one closed
    // is the snapshot's (as format 1's put replaces an object).
    return new BlobFileWriter(this, name, options.records);
  }

  async closeFile(writer: DataFileWriter): Promise<FileEntry> {
    if (!(writer instanceof BlobFileWriter))
      throw new AcxError('INTERNAL', `${writer.path} was not created by this snapshot`);
    const entry = await writer.close();
    this.entries[writer.path] = entry;
    return entry;
  }

  /** Records a file of an earlier snapshot as this one's, unread (incremental backups, §11.8). */
  reuse(path: string, entry: FileEntry): void {
    this.entries[path] = entry;
    this.progress.reusedBytes += entry.contentBytes;
  }

  writeLines(name: string, lines: Iterable<string> | AsyncIterable<string>): Promise<string> {
    return writeLinesFile(this, name, lines);
  }

  /** Waits until no pack put of the run is in flight. */
  async settle(): Promise<void> {
    await this.store.settle();
  }
}
