/**
 * Small format-2 repositories for tests on `memory://`: 256-byte chunks and 64 KiB packs, so a few
 * thousand records span several packs, with what the tests around them read back and check.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { Repository, type RepositoryAccess } from '../../src/repository/repository.ts';
import { verifyAll } from '../../src/operations/verify.ts';
import { silentReporter } from '../../src/progress.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import { putJson } from '../../src/storage/storage-helpers.ts';

/** Records that compress little (a digest each), so a few thousand fill several 64 KiB packs. */
export const rowsOf = (salt: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      id: `${salt}${i}`,
      code: `P${String(i).padStart(4, '0')}`,
      digest: createHash('sha256').update(`${salt}${i}`).digest('base64'),
    }),
  );

/** Repository access from a password (none: unencrypted) and an index cache folder; no secret files. */
export function access(password?: string, cacheDir?: string): RepositoryAccess {
  return {
    env: password === undefined ? {} : { ACX_REPOSITORY_PASSWORD: password },
    readSecretFile: () => {
      throw new Error('no files here');
    },
    ...(cacheDir ? { cacheDir } : {}),
  };
}

/** A `memory://<name>` storage holding the config of an unencrypted repository with 256-byte chunks and 64 KiB packs. */
export async function smallRepositoryStorage(
  name: string,
  createdAt = '2026-01-01T00:00:00.000Z',
): Promise<MemoryStorage> {
  const storage = new MemoryStorage(name);
  await putJson(storage, 'config.json', {
    format: 'acx-data-repository',
    formatVersion: 2,
    id: createHash('sha256').update(name).digest('hex'),
    createdAt,
    chunker: {
      algorithm: 'fastcdc-gear32',
      minSize: 64,
      avgSize: 256,
      maxSize: 1024,
      seed: createHash('sha256').update(`seed ${name}`).digest('hex'),
    },
    compression: 'zstd',
    packSize: 64 * 1024,
    encryption: null,
  });
  return storage;
}

/** An unencrypted repository on `memory://<name>` with 256-byte chunks and 64 KiB packs: snapshots span several packs. */
export async function smallRepository(name: string): Promise<Repository> {
  return Repository.onStorage(await smallRepositoryStorage(name));
}

/** Every file of a snapshot, read through the repository (content, decompressed). */
export async function contentOf(repository: Repository, id: string): Promise<Map<string, Buffer>> {
  const reader = await repository.open(id);
  const files = new Map<string, Buffer>();
  for (const path of Object.keys(reader.manifest.files).sort()) {
    const chunks: Buffer[] = [];
    for await (const chunk of reader.stream(path)) chunks.push(chunk as Buffer);
    files.set(path, Buffer.concat(chunks));
  }
  return files;
}

/** `--verify --all` of a repository: its problems, one line each (none when it passes). */
export async function verifyProblems(repository: Repository): Promise<string[]> {
  const summary = await verifyAll(repository, silentReporter);
  const lines = [
    ...summary.snapshots.flatMap((v) => v.problems.map((p) => `${v.id}/${p.file}: ${p.problem}`)),
    ...(summary.repository?.problems.map((p) => `${p.object}: ${p.problem}`) ?? []),
    ...(summary.repository?.leftoverPacks.map((p) => `leftover ${p.pack}`) ?? []),
    ...summary.damaged.map((d) => `${d.id}: ${d.problem}`),
  ];
  if (!summary.ok && lines.length === 0) lines.push('not ok');
  return lines;
}

/** A maker of temporary folders named `<prefix>…`, each removed after the test that made it. */
export function tempDirs(prefix: string): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
