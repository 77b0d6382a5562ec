/**
 * Reading a format-2 snapshot's files (docs/design.md §11.7): a file's content is its blobs'
 * plaintexts in order, each authenticated and checked against its id as it is read (blob-store.ts), and
 * never more than the `contentBytes` its entry records.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AcxError } from '../errors.ts';
import type { FileEntry } from '../model/snapshot.ts';
import type { BlobStore } from './blobs/blob-store.ts';
import type { Manifest } from './manifest.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { discard, Meter } from './snapshot-files.ts';

export class BlobSnapshotReader extends SnapshotReader {
  readonly blobs: BlobStore;

  constructor(blobs: BlobStore, manifest: Manifest, prefix = `${manifest.id}/`) {
    super(blobs.storage, manifest, prefix);
    this.blobs = blobs;
  }

  override withManifest(manifest: Manifest): BlobSnapshotReader {
    return new BlobSnapshotReader(this.blobs, manifest, this.prefix);
  }

  /** The content of a file (format 2 stores no file "as stored": its content is what it stored). */
  override storedStream(path: string): Readable {
    return this.stream(path);
  }

  override stream(path: string): Readable {
    const entry = this.entry(path);
    return Readable.from(fileContent(this.blobs, this.id, path, entry), { objectMode: false });
  }
}

/** A file entry's data blob ids, in order (expanding its list blobs). */
export async function* dataBlobIds(blobs: BlobStore, entry: FileEntry): AsyncGenerator<string> {
  if (entry.blobs) {
    yield* entry.blobs;
    return;
  }
  for await (const list of blobs.readMany(entry.lists ?? [], 'list', 4)) {
    if (list.length % 32 !== 0)
      throw new AcxError('INTEGRITY', `a list blob holds ${list.length} bytes, not a multiple of 32`, {
        hint: 'the snapshot is damaged: restore another one',
      });
    for (let i = 0; i < list.length; i += 32) yield list.subarray(i, i + 32).toString('hex');
  }
}

async function* fileContent(
  blobs: BlobStore,
  id: string,
  path: string,
  entry: FileEntry,
): AsyncGenerator<Buffer> {
  let passed = 0;
  for await (const plaintext of blobs.readMany(dataBlobIds(blobs, entry))) {
    passed += plaintext.length;
    if (passed > entry.contentBytes)
      throw new AcxError(
        'INTEGRITY',
        `snapshot ${id}: ${path} holds more than the ${entry.contentBytes} bytes its entry records`,
        {
          subject: path,
          hint: 'the snapshot is damaged or was tampered with: restore another one',
        },
      );
    yield plaintext;
  }
  if (passed !== entry.contentBytes)
    throw new AcxError(
      'INTEGRITY',
      `snapshot ${id}: ${path} holds ${passed} bytes, its entry records ${entry.contentBytes}`,
      {
        subject: path,
        hint: 'the snapshot is damaged or was tampered with: restore another one',
      },
    );
}

/**
 * Re-reads one format-2 file: every blob authenticated and checked against its id, the content's
 * size, SHA-256 and records against the entry. Returns what is wrong, or undefined.
 */
export async function checkBlobFile(
  reader: BlobSnapshotReader,
  path: string,
  entry: FileEntry,
): Promise<string | undefined> {
  const content = new Meter({ hash: true, lines: true });
  try {
    await pipeline(reader.stream(path), content, discard());
  } catch (error) {
    if (error instanceof AcxError) return error.message;
    throw error;
  }
  if (content.bytes !== entry.contentBytes)
    return `holds ${content.bytes} bytes, the manifest says ${entry.contentBytes}`;
  if (content.digest() !== entry.sha256)
    return 'SHA-256 of the content differs from the manifest (corrupted)';
  if (entry.records !== undefined && content.lines !== entry.records)
    return `holds ${content.lines} records, the manifest says ${entry.records}`;
  return undefined;
}
