/**
 * Writing and reading one snapshot's data files (docs/design.md §7.2) on a Storage: each file is
 * compressed as a whole, hashed and counted while it streams into `storage.put`, so no file is ever
 * held in memory and none is visible before it is complete.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AcxError } from '../errors.ts';
import type { DataFileWriter, FileCompression, FileEntry, SnapshotSink } from '../model/snapshot.ts';
import type { Storage } from '../storage/storage.ts';
import { isStorageError } from '../storage/storage-error.ts';
import { COMPRESSION_EXTENSIONS, createCompressor, createDecompressor } from './compression.ts';

export type { FileEntry };

const NEWLINE = 0x0a;

/** The number of `\n` bytes in a chunk: the records it ends. */
export function countNewlines(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** A transform that passes bytes through while measuring them. */
export class Meter extends Transform {
  bytes = 0;
  lines = 0;
  private readonly hash = createHash('sha256');
  private readonly options: { hash: boolean; lines: boolean };

  constructor(options: { hash: boolean; lines: boolean }) {
    super();
    this.options = options;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.options.lines) this.lines += countNewlines(chunk);
    if (this.options.hash) this.hash.update(chunk);
    callback(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * One data file being written: append lines or bytes, then `close()` for its manifest entry. The bytes
 * flow content meter → compressor → stored meter → `storage.put(key)`; the put publishes the object
 * only once the file is closed.
 */
export class SnapshotFileWriter implements DataFileWriter {
  readonly path: string;
  private readonly content = new Meter({ hash: false, lines: true });
  private readonly stored = new Meter({ hash: true, lines: false });
  /** Settles once compression has ended and the storage holds the whole object (or either failed). */
  readonly done: Promise<void>;
  private failed: unknown;

  readonly key: string;
  private readonly compression: FileCompression;
  private readonly countsRecords: boolean;
  private readonly signal?: AbortSignal;

  constructor(
    storage: Storage,
    key: string,
    relativePath: string,
    compression: FileCompression,
    countsRecords: boolean,
    signal?: AbortSignal,
  ) {
    this.key = key;
    this.compression = compression;
    this.countsRecords = countsRecords;
    this.signal = signal;

    this.path = relativePath;
    // Either side failing ends the other: a storage error stops reading `stored` (which destroys it and
    // so the pipeline), a compressor error destroys `stored` (which fails the put).
    const compressing = pipeline(this.content, createCompressor(compression), this.stored);
    const storing = storage.put(key, this.stored, { signal });
    // Stop accepting writes at the first failure of either side…
    const stopped = Promise.all([compressing, storing]);
    stopped.catch(() => this.content.destroy());
    // …but report the cause: a failed put (a full disk) ends the pipeline with an AbortError or a
    // premature close, which only says that the put stopped reading. Each side settles once the other
    // has failed, so waiting for both cannot hang.
    this.done = Promise.allSettled([storing, compressing]).then(([stored, compressed]) => {
      const reason = [stored, compressed].find((r) => r.status === 'rejected')?.reason as unknown;
      if (reason === undefined) return;
      this.failed ??= reason;
      throw reason;
    });
    this.done.catch(() => undefined);
  }

  /** Appends bytes, waiting when the compressor or the storage is behind (back-pressure). */
  async write(chunk: Buffer | string): Promise<void> {
    this.throwIfStopped();
    try {
      if (!this.content.write(chunk)) await Promise.race([once(this.content, 'drain'), this.done]);
    } catch (error) {
      // 'drain' fails with the pipeline's AbortError when the put stopped: wait for the put's own error.
      await this.done.catch(() => undefined);
      this.throwIfStopped();
      throw error;
    }
    this.throwIfStopped();
  }

  /** An abort reads as INTERRUPTED (also when it ended the put first); otherwise the first failure. */
  private throwIfStopped(): void {
    if (this.signal?.aborted) {
      this.abort();
      throw new AcxError('INTERRUPTED', `interrupted while writing ${this.path}`, { subject: this.path });
    }
    if (this.failed) throw this.failed;
  }

  /** Appends one record: a line without its newline. */
  writeLine(line: string): Promise<void> {
    return this.write(line + '\n');
  }

  /** Appends everything a stream yields (e.g. a COPY TO stream). */
  async writeFrom(source: AsyncIterable<Buffer | string>): Promise<void> {
    for await (const chunk of source) await this.write(chunk);
  }

  /** Finishes compression, waits until the storage holds the object durably, returns its manifest entry. */
  async close(): Promise<FileEntry> {
    this.throwIfStopped();
    this.content.end();
    await this.done;
    return {
      bytes: this.stored.bytes,
      sha256: this.stored.digest(),
      compression: this.compression,
      contentBytes: this.content.bytes,
      ...(this.countsRecords ? { records: this.content.lines } : {}),
    };
  }

  /** Stops writing after a failure: the put is abandoned and stores nothing. */
  abort(): void {
    this.content.destroy();
  }
}

/**
 * Creates the data files of one snapshot (keys `<id>/<path>`) and collects their entries for the
 * manifest. Call `settle()` before removing a failed snapshot: it abandons the files still open and
 * waits until no put is in flight, so nothing lands after the removal.
 */
export class SnapshotFiles implements SnapshotSink {
  readonly entries: Record<string, FileEntry> = {};
  readonly formatVersion = 1 as const;
  /** The key prefix of the snapshot: `<id>/`. */
  readonly prefix: string;
  private readonly writers = new Set<SnapshotFileWriter>();

  readonly storage: Storage;
  readonly id: string;
  readonly compression: FileCompression;
  /** Aborting it makes every later write fail with INTERRUPTED, and ends the puts in flight. */
  readonly signal?: AbortSignal;

  constructor(storage: Storage, id: string, compression: FileCompression, signal?: AbortSignal) {
    this.storage = storage;
    this.id = id;
    this.compression = compression;
    this.signal = signal;

    this.prefix = `${id}/`;
  }

  /**
   * Opens `<name><extension>`; `records: true` for record files (one record per line). The entry is
   * recorded when the writer is closed through `closeFile`.
   */
  async createFile(
    name: string,
    options: { records: boolean; compression?: FileCompression },
  ): Promise<SnapshotFileWriter> {
    const compression = options.compression ?? this.compression;
    const relativePath = name + COMPRESSION_EXTENSIONS[compression];
    const writer = new SnapshotFileWriter(
      this.storage,
      this.prefix + relativePath,
      relativePath,
      compression,
      options.records,
      this.signal,
    );
    this.writers.add(writer);
    void writer.done.then(
      () => this.writers.delete(writer),
      () => this.writers.delete(writer),
    );
    return writer;
  }

  async closeFile(writer: DataFileWriter): Promise<FileEntry> {
    if (!(writer instanceof SnapshotFileWriter) || !writer.key.startsWith(this.prefix))
      throw new AcxError('INTERNAL', `${writer.path} was not created by this snapshot`);
    const entry = await writer.close();
    this.entries[writer.path] = entry;
    return entry;
  }

  /** Writes a whole file from lines (for small files such as a collection's configuration). */
  writeLines(name: string, lines: Iterable<string> | AsyncIterable<string>): Promise<string> {
    return writeLinesFile(this, name, lines);
  }

  /** Abandons every file still open and resolves once no put of this snapshot is in flight. */
  async settle(): Promise<void> {
    const pending = [...this.writers];
    for (const writer of pending) writer.abort();
    await Promise.allSettled(pending.map((writer) => writer.done));
  }
}

/**
 * A stream of the object under `key`, opened on first read: the model's readers return streams
 * synchronously while `storage.get` is asynchronous. Errors of the get (a missing object) surface as
 * the stream's error; destroying the stream releases the object's stream.
 */
export function storedStream(storage: Storage, key: string): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    const source = await storage.get(key);
    try {
      for await (const chunk of source) yield chunk as Buffer;
    } finally {
      source.destroy();
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** Passes bytes through until more than `limit` have passed, then fails with INTEGRITY. */
class SizeLimit extends Transform {
  private passed = 0;
  private readonly limit: number;
  private readonly key: string;

  constructor(limit: number, key: string) {
    super();
    this.limit = limit;
    this.key = key;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.passed += chunk.length;
    if (this.passed > this.limit) {
      callback(
        new AcxError(
          'INTEGRITY',
          `${this.key} decompresses to more than ${this.limit} bytes, the size the manifest records`,
          { subject: this.key, hint: 'the snapshot is damaged or was tampered with: restore another one' },
        ),
      );
      return;
    }
    callback(null, chunk);
  }
}

/**
 * The decompressed content of a stored object, never more than `limit` bytes (the manifest's
 * `contentBytes`): past it the stream fails with INTEGRITY, having handed its reader nothing beyond the
 * limit, and stops decompressing (the decompressor only runs as fast as it is read: compression.ts).
 */
export function openDecompressed(
  storage: Storage,
  key: string,
  compression: FileCompression,
  limit: number,
): Readable {
  const source = storedStream(storage, key);
  const decompressor = createDecompressor(compression);
  const bounded = new SizeLimit(limit, key);
  source.on('error', (error) => decompressor.destroy(error));
  decompressor.on('error', (error) => bounded.destroy(error));
  bounded.on('close', () => {
    decompressor.destroy();
    source.destroy();
  });
  return source.pipe(decompressor).pipe(bounded);
}

export const discard = (): Writable => new Writable({ write: (_chunk, _enc, callback) => callback() });

/**
 * Re-reads one stored object: first its size and the SHA-256 of its stored bytes, then decompresses it
 * to the end and counts its records. Returns what is wrong, or undefined.
 */
export async function checkFile(
  storage: Storage,
  key: string,
  entry: FileEntry,
): Promise<string | undefined> {
  const stored = new Meter({ hash: true, lines: false });
  try {
    await pipeline(await storage.get(key), stored, discard());
  } catch (error) {
    // A storage's hint says why a file it lists is not an object (a symbolic link, never followed).
    if (isStorageError(error, 'not-found')) return error.hint ? `missing: ${error.hint}` : 'missing';
    throw error;
  }
  if (stored.bytes !== entry.bytes)
    return `size is ${stored.bytes} bytes, the manifest says ${entry.bytes} (truncated or overwritten)`;
  if (stored.digest() !== entry.sha256) return 'SHA-256 differs from the manifest (corrupted)';
  const content = new Meter({ hash: false, lines: true });
  try {
    await pipeline(openDecompressed(storage, key, entry.compression, entry.contentBytes), content, discard());
  } catch (error) {
    if (error instanceof AcxError && error.code === 'INTEGRITY')
      return `decompresses to more than ${entry.contentBytes} bytes, the manifest says ${entry.contentBytes}`;
    return `does not decompress: ${(error as Error).message}`;
  }
  if (content.bytes !== entry.contentBytes)
    return `decompresses to ${content.bytes} bytes, the manifest says ${entry.contentBytes}`;
  if (entry.records !== undefined && content.lines !== entry.records) {
    return `holds ${content.lines} records, the manifest says ${entry.records}`;
  }
  return undefined;
}

/** A whole record file from lines, through any sink: opened, written, closed (aborted on failure). */
export async function writeLinesFile(
  sink: SnapshotSink,
  name: string,
  lines: Iterable<string> | AsyncIterable<string>,
): Promise<string> {
  const writer = await sink.createFile(name, { records: true });
  try {
    for await (const line of lines) await writer.writeLine(line);
  } catch (error) {
    writer.abort();
    throw error;
  }
  await sink.closeFile(writer);
  return writer.path;
}
