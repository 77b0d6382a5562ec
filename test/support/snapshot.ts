/**
 * Snapshots for tests: one store's backup written to a temporary snapshot directory and read back,
 * without the backup operation around it (for the per-store round-trip tests of the store drivers; the
 * snapshot lives on a local storage, so `dir` is a real folder tests may damage files in), and a
 * format-1 snapshot written by hand, as an earlier version or an attacker would.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MANIFEST_FORMAT, type Manifest, type StoreSection } from '../../src/repository/manifest.ts';
import { SnapshotFiles } from '../../src/repository/snapshot-files.ts';
import { SnapshotReader } from '../../src/repository/snapshot-reader.ts';
import { Repository } from '../../src/repository/repository.ts';
import type { SnapshotSink } from '../../src/model/snapshot.ts';
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
  const manifest = testManifest({
    id,
    time: now,
    compression,
    stores: { [store]: section },
    files: files.entries,
  });

  return {
    dir,
    reader: new SnapshotReader(storage, manifest),
    section,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * The same through format 2 (design §11): a Repository on a temporary local folder, the store's files
 * written as deduplicated blobs, the manifest last, and the snapshot read back as a restore reads it.
 */
export async function snapshotOneStoreFormat2(
  store: StoreName,
  backup: (files: SnapshotSink) => Promise<StoreSection>,
): Promise<StoreSnapshot> {
  const root = await mkdtemp(join(tmpdir(), `acx-${store}-f2-`));
  const storage = await openLocalStorage({ root });
  const repository = Repository.onStorage(storage);
  const id = 'full_20260101_000000';
  const files = await repository.createSnapshot(id, { formatVersion: 2, compression: 'zstd' });
  const section = await backup(files);
  const now = new Date().toISOString();
  const manifest = testManifest({
    id,
    time: now,
    repository: (await repository.blobs())!.config,
    stores: { [store]: section },
    files: files.entries,
  });

  await repository.finishSnapshot(manifest, files);
  const reader = await repository.open(id);
  return {
    dir: join(root, id),
    reader,
    section: reader.manifest.stores[store]!,
    cleanup: async () => {
      await repository.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A gzip file of a hand-made snapshot holding `lines` (one record each): its bytes and manifest entry. */
export function gzipFile(lines: string[]) {
  const text = lines.map((line) => `${line}\n`).join('');
  const bytes = gzipSync(text);
  const entry = {
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    compression: 'gzip',
    contentBytes: Buffer.byteLength(text),
    records: lines.length,
  };
  return { bytes, entry };
}

/**
 * A format-1 snapshot `<dir>/<id>` as any earlier acx-data wrote it, made with nothing but node:fs and
 * zlib: one Neo4j dataset `nodes` in `neo4j/nodes.jsonl.gz` holding `lines`. `change` edits the
 * manifest before it is written.
 */
export async function writeHandMadeSnapshot(
  dir: string,
  id: string,
  lines: string[],
  change: (manifest: Record<string, unknown>) => void = () => undefined,
): Promise<void> {
  const { bytes, entry } = gzipFile(lines);
  await mkdir(join(dir, id, 'neo4j'), { recursive: true });
  await writeFile(join(dir, id, 'neo4j', 'nodes.jsonl.gz'), bytes);
  const manifest: Record<string, unknown> = {
    format: 'acx-data-snapshot',
    formatVersion: 1,
    id,
    kind: 'full',
    parent: null,
    tool: { name: 'acx-data', version: '0.1.0' },
    startedAt: '2026-01-01T00:00:00.000Z',
    completedAt: '2026-01-01T00:00:01.000Z',
    compression: 'gzip',
    encryption: null,
    consistency: { method: 'per-store', hooks: { pre: null, post: null } },
    stores: {
      neo4j: {
        serverVersion: '5.26.0',
        readStartedAt: '2026-01-01T00:00:00.000Z',
        readFinishedAt: '2026-01-01T00:00:01.000Z',
        datasets: [{ name: 'nodes', kind: 'nodes', records: lines.length, files: ['neo4j/nodes.jsonl.gz'] }],
      },
    },
    files: { 'neo4j/nodes.jsonl.gz': entry },
  };
  change(manifest);
  await writeFile(join(dir, id, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

/**
 * A format-2 snapshot holding one Neo4j nodes file of `lines`, written as a backup writes one: files,
 * then the run's packs and index, then the manifest (encrypted when the repository is).
 */
export async function writeNodesSnapshot(
  repository: Repository,
  id: string,
  lines: readonly string[],
  options: { time?: string; encrypt?: boolean } = {},
): Promise<Manifest> {
  const time = options.time ?? new Date().toISOString();
  const files = await repository.createSnapshot(id, {
    formatVersion: 2,
    compression: 'zstd',
    encrypt: options.encrypt ?? false,
  });
  const blobs = (await repository.blobs())!;
  const writer = await files.createFile('neo4j/nodes.jsonl', { records: true });
  for (const line of lines) await writer.writeLine(line);
  await files.closeFile(writer);
  const manifest = testManifest({
    id,
    time,
    repository: blobs.config,
    stores: {
      neo4j: {
        serverVersion: '5',
        readStartedAt: time,
        readFinishedAt: time,
        datasets: [{ name: 'nodes', kind: 'nodes', records: lines.length, files: [writer.path] }],
      },
    },
    files: { ...files.entries },
  });

  await repository.finishSnapshot(manifest, files);
  return manifest;
}

/**
 * The manifest a test snapshot gets: format 1 without `repository`, format 2 (its repository's id and
 * encryption) with it; everything else as a backup would write it.
 */
function testManifest(m: {
  id: string;
  time: string;
  compression?: Exclude<FileCompression, 'none'>;
  repository?: { id: string; encryption: Manifest['encryption'] };
  stores: Manifest['stores'];
  files: Manifest['files'];
}): Manifest {
  return {
    format: MANIFEST_FORMAT,
    formatVersion: m.repository ? 2 : 1,
    id: m.id,
    kind: 'full',
    parent: null,
    tool: { name: 'acx-data', version: 'test' },
    startedAt: m.time,
    completedAt: m.time,
    compression: m.compression ?? 'zstd',
    encryption: m.repository?.encryption ?? null,
    ...(m.repository ? { repository: m.repository.id } : {}),
    consistency: { method: 'test' },
    stores: m.stores,
    files: m.files,
  };
}
