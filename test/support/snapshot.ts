/**
 * One store's backup written to a temporary snapshot directory and read back, without the backup
 * operation around it: for the per-store round-trip tests of the store drivers. The snapshot lives on a
 * local storage, so `dir` is a real folder tests may damage files in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FORMAT_VERSION,
  MANIFEST_FORMAT,
  type Manifest,
  type StoreSection,
} from '../../src/repository/manifest.ts';
import { SnapshotFiles } from '../../src/repository/snapshot-files.ts';
import { SnapshotReader } from '../../src/repository/snapshot-reader.ts';
import { openLocalStorage } from '../../src/storage/local/local-storage.ts';
import type { FileCompression } from '../../src/repository/compression.ts';
import type { StoreName } from '../../src/progress.ts';

export interface StoreSnapshot {
  dir: string;
  reader: SnapshotReader;
  section: StoreSection;
  cleanup(): Promise<void>;
}

export async function snapshotOneStore(
  store: StoreName,
  backup: (files: SnapshotFiles) => Promise<StoreSection>,
  compression: Exclude<FileCompression, 'none'> = 'zstd',
): Promise<StoreSnapshot> {
  const root = await mkdtemp(join(tmpdir(), `acx-${store}-`));
  const storage = await openLocalStorage({ root });
  const id = 'full_20260101_000000';
  const dir = join(root, id);
  const files = new SnapshotFiles(storage, id, compression);
  const section = await backup(files);
  const now = new Date().toISOString();
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    formatVersion: FORMAT_VERSION,
    id,
    kind: 'full',
    parent: null,
    tool: { name: 'acx-data', version: 'test' },
    startedAt: now,
    completedAt: now,
    compression,
    encryption: null,
    consistency: { method: 'test' },
    stores: { [store]: section },
    files: files.entries,
  };
  return {
    dir,
    reader: new SnapshotReader(storage, manifest),
    section,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
