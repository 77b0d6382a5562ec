/**
 * What a store's backup writes into and its restore reads from, as the stores see it: a snapshot's
 * data files and the manifest entries that describe them (docs/design.md §7). The repository implements
 * these interfaces (`repository/snapshot-files.ts`, `repository/snapshot-reader.ts`) and hands them to
 * the stores; stores never see where the bytes live (ADR 0007).
 */
import type { Readable } from 'node:stream';
import type { Fingerprint } from './content-hash.ts';

/** What one snapshot can hold: the three stores and the application's JSON data files (`--target`). */
export const BACKUP_TARGETS = ['postgres', 'neo4j', 'qdrant', 'json'] as const;
export type BackupTarget = (typeof BACKUP_TARGETS)[number];

/** Compressions of a snapshot's data files (`--compression`); `none` only for opaque native snapshots. */
export const COMPRESSIONS = ['zstd', 'gzip'] as const;
export type Compression = (typeof COMPRESSIONS)[number];
export const FILE_COMPRESSIONS = [...COMPRESSIONS, 'none'] as const;
export type FileCompression = (typeof FILE_COMPRESSIONS)[number];

/** What the manifest records of one file. */
export interface FileEntry {
  bytes: number;
  sha256: string;
  compression: FileCompression;
  contentBytes: number;
  records?: number;
  /** Format 2 (design §11.7): the content's data blobs in order, or the `list` blobs that hold them. */
  blobs?: string[];
  lists?: string[];
}

/** One dataset of a store section: a table, the nodes, a collection's points … and its files. */
export interface DatasetEntry {
  name: string;
  kind: string;
  records: number;
  files: string[];
  columns?: string[];
  [extra: string]: unknown;
}

/** One store's part of a manifest. */
export interface StoreSection {
  serverVersion: string;
  readStartedAt: string;
  readFinishedAt: string;
  datasets: DatasetEntry[];
  /**
   * The fingerprints (design §5) of what the backup wrote, by the keys of the store's `fingerprint()`,
   * computed while it streamed (design §7.3). Absent in manifests of earlier versions.
   */
  fingerprints?: Fingerprint;
  [extra: string]: unknown;
}

/** One data file being written: append lines or bytes; the sink's `closeFile` finishes it. */
export interface DataFileWriter {
  /** Relative to the snapshot, with its compression extension (`neo4j/nodes.jsonl.zst`). */
  readonly path: string;
  /** Appends bytes, waiting when the writer is behind (back-pressure). */
  write(chunk: Buffer | string): Promise<void>;
  /** Appends one record: a line without its newline. */
  writeLine(line: string): Promise<void>;
  /** Appends everything a stream yields. */
  writeFrom(source: AsyncIterable<Buffer | string>): Promise<void>;
  /** Stops writing after a failure; the snapshot is never completed. */
  abort(): void;
}

/** Where a backup writes a snapshot's data files. */
export interface SnapshotSink {
  /** Entries of the files closed so far, by path. */
  readonly entries: Readonly<Record<string, FileEntry>>;
  /** Opens `<name><extension>`; `records: true` for record files (one record per line). */
  createFile(
    name: string,
    options: { records: boolean; compression?: FileCompression },
  ): Promise<DataFileWriter>;
  /** Finishes a file and records its entry. */
  closeFile(writer: DataFileWriter): Promise<FileEntry>;
  /** Writes a whole small file from lines; returns its path. */
  writeLines(name: string, lines: Iterable<string> | AsyncIterable<string>): Promise<string>;
  /** The repository format the files are written in (design §7 = 1, §11 = 2). */
  readonly formatVersion: 1 | 2;
  /**
   * Format 2: records a file of the parent snapshot as this snapshot's own, unread (its blobs are
   * already stored). Incremental backups only (design §11.8).
   */
  reuse?(path: string, entry: FileEntry): void;
}

/** What an incremental backup knows of its parent, for one store (design §11.8). */
export interface ParentSnapshot {
  id: string;
  /** The parent's section of this store. */
  section: StoreSection;
  /** The parent's file entries (all of them). */
  files: Readonly<Record<string, FileEntry>>;
  /** The parent manifest's `consistency` (PostgreSQL: `postgresVisibility`). */
  consistency: Readonly<Record<string, unknown>>;
}

/** Where a restore reads a complete snapshot's data files, by their manifest paths. */
export interface SnapshotSource {
  readonly id: string;
  /** The manifest entry of a file (INTEGRITY when the manifest does not list it). */
  entry(path: string): FileEntry;
  /** The decompressed bytes of a file. */
  stream(path: string): Readable;
  /** The records of a record file, one line at a time. */
  lines(path: string): AsyncGenerator<string>;
  /** A small file's whole decompressed text. */
  text(path: string): Promise<string>;
  /** The bytes exactly as stored (e.g. a server's native snapshot, uploaded as it is). */
  storedStream(path: string): Readable;
}

export const nowIso = (): string => new Date().toISOString();
