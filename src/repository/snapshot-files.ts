/**
 * Writing and reading one snapshot's data files (docs/design.md §7.2): compressed as a whole, hashed
 * and counted while streaming, so no file is ever held in memory.
 */
import { createHash } from 'node:crypto';
import { AcxError } from '../errors.ts';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Readable, Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import type { DataFileWriter, FileCompression, FileEntry, SnapshotSink } from '../model/snapshot.ts';
import { COMPRESSION_EXTENSIONS, createCompressor, createDecompressor } from './compression.ts';

export type { FileEntry };

const NEWLINE = 0x0a;

function countNewlines(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** A transform that passes bytes through while measuring them. */
class Meter extends Transform {
  bytes = 0;
  lines = 0;
  private readonly hash = createHash('sha256');
  constructor(private readonly options: { hash: boolean; lines: boolean }) {
    super();
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

/** One data file being written: append lines or bytes, then `close()` for its manifest entry. */
export class SnapshotFileWriter implements DataFileWriter {
  readonly path: string;
  private readonly input: Transform;
  private readonly content = new Meter({ hash: false, lines: true });
  private readonly stored = new Meter({ hash: true, lines: false });
  private readonly done: Promise<void>;
  private failed: unknown;

  constructor(
    private readonly absolutePath: string,
    relativePath: string,
    private readonly compression: FileCompression,
    private readonly countsRecords: boolean,
    private readonly signal?: AbortSignal,
  ) {
    this.path = relativePath;
    this.input = this.content;
    this.done = pipeline(
      this.content,
      createCompressor(compression),
      this.stored,
      createWriteStream(absolutePath),
    );
    this.done.catch((error: unknown) => {
      this.failed = error;
    });
  }

  /** Appends bytes, waiting when the compressor is behind (back-pressure). */
  async write(chunk: Buffer | string): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.signal?.aborted) {
      this.abort();
      throw new AcxError('INTERRUPTED', `interrupted while writing ${this.path}`, { subject: this.path });
    }
    if (!this.input.write(chunk)) await Promise.race([once(this.input, 'drain'), this.done]);
  }

  /** Appends one record: a line without its newline. */
  writeLine(line: string): Promise<void> {
    return this.write(line + '\n');
  }

  /** Appends everything a stream yields (e.g. a COPY TO stream). */
  async writeFrom(source: AsyncIterable<Buffer | string>): Promise<void> {
    for await (const chunk of source) await this.write(chunk);
  }

  /** Finishes compression, flushes the file to disk and returns its manifest entry. */
  async close(): Promise<FileEntry> {
    this.input.end();
    await this.done;
    const handle = await open(this.absolutePath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return {
      bytes: this.stored.bytes,
      sha256: this.stored.digest(),
      compression: this.compression,
      contentBytes: this.content.bytes,
      ...(this.countsRecords ? { records: this.content.lines } : {}),
    };
  }

  /** Stops writing after a failure; the file stays incomplete (the snapshot has no manifest yet). */
  abort(): void {
    this.input.destroy();
  }
}

/** Creates the data files of one snapshot directory and collects their entries for the manifest. */
export class SnapshotFiles implements SnapshotSink {
  readonly entries: Record<string, FileEntry> = {};

  constructor(
    readonly dir: string,
    readonly compression: FileCompression,
    /** Aborting it makes every later write fail with INTERRUPTED. */
    readonly signal?: AbortSignal,
  ) {}

  /**
   * Opens `<name><extension>`; `records: true` for record files (one record per line). The entry is
   * recorded when the returned writer's `close()` is called through `closeFile`.
   */
  async createFile(
    name: string,
    options: { records: boolean; compression?: FileCompression },
  ): Promise<SnapshotFileWriter> {
    const compression = options.compression ?? this.compression;
    const relativePath = name + COMPRESSION_EXTENSIONS[compression];
    const absolutePath = join(this.dir, relativePath);
    await mkdir(dirname(absolutePath), { recursive: true });
    return new SnapshotFileWriter(absolutePath, relativePath, compression, options.records, this.signal);
  }

  async closeFile(writer: DataFileWriter): Promise<FileEntry> {
    if (!(writer instanceof SnapshotFileWriter))
      throw new AcxError('INTERNAL', `${writer.path} was not created by this snapshot`);
    const entry = await writer.close();
    this.entries[writer.path] = entry;
    return entry;
  }

  /** Writes a whole file from lines (for small files such as a collection's configuration). */
  async writeLines(name: string, lines: Iterable<string> | AsyncIterable<string>): Promise<string> {
    const writer = await this.createFile(name, { records: true });
    try {
      for await (const line of lines) await writer.writeLine(line);
    } catch (error) {
      writer.abort();
      throw error;
    }
    await this.closeFile(writer);
    return writer.path;
  }
}

/** The decompressed content of a stored file. */
export function openDecompressed(absolutePath: string, compression: FileCompression): Readable {
  const source = createReadStream(absolutePath);
  const decompressor = createDecompressor(compression);
  source.on('error', (error) => decompressor.destroy(error));
  return source.pipe(decompressor);
}

const discard = (): Writable => new Writable({ write: (_chunk, _enc, callback) => callback() });

/**
 * Re-reads one stored file: first its size and the SHA-256 of its stored bytes, then decompresses it to
 * the end and counts its records. Returns what is wrong, or undefined.
 */
export async function checkFile(absolutePath: string, entry: FileEntry): Promise<string | undefined> {
  const stored = new Meter({ hash: true, lines: false });
  try {
    await pipeline(createReadStream(absolutePath), stored, discard());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  if (stored.bytes !== entry.bytes)
    return `size is ${stored.bytes} bytes, the manifest says ${entry.bytes} (truncated or overwritten)`;
  if (stored.digest() !== entry.sha256) return 'SHA-256 differs from the manifest (corrupted)';
  const content = new Meter({ hash: false, lines: true });
  try {
    await pipeline(openDecompressed(absolutePath, entry.compression), content, discard());
  } catch (error) {
    return `does not decompress: ${(error as Error).message}`;
  }
  if (content.bytes !== entry.contentBytes)
    return `decompresses to ${content.bytes} bytes, the manifest says ${entry.contentBytes}`;
  if (entry.records !== undefined && content.lines !== entry.records) {
    return `holds ${content.lines} records, the manifest says ${entry.records}`;
  }
  return undefined;
}
