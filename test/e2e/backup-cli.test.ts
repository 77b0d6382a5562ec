/**
 * `acx-data backup` end to end, through the real CLI and the real stores: backup → empty → restore →
 * identical content (with and without pg_dump), verification of damaged files, killed backups,
 * refusal and --force with its safety snapshot, and cleanup.
 */
import { planCounts } from '../../src/seed/plan.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { manifestDigest } from '../../src/repository/manifest.ts';
import type { TestStores } from '../support/stores.ts';
import { emptyAll, fingerprint, openTestStores, seed } from '../support/stores.ts';
import { runCli } from '../support/cli.ts';

const BIN = fileURLToPath(new URL('../../bin/acx-data.js', import.meta.url));
let stores: TestStores;
let work: string;
let backupDir: string;
let dataDir: string;
let original: Fingerprint;
let fullId: string;

const JSON_FILES: Record<string, string> = {
  'dtc_codes/translation_cache.json': JSON.stringify({
    P0100: 'Légtömegmérő áramkör hiba',
    P0101: 'Légtömegmérő tartomány',
  }),
  'dtc_codes/all_codes_merged.json': JSON.stringify({
    metadata: { total_codes: 1 },
    codes: [{ code: 'P0100', symptoms: ['Rángatás'] }],
  }),
  'translation_glossary.json': '{"szivattyú":"pump"}',
};

const backup = (...args: string[]) =>
  runCli(['backup', '--backup-dir', backupDir, '--data-dir', dataDir, ...args]);

async function backupId(...args: string[]): Promise<string> {
  const result = await backup('--format', 'json', ...args);
  expect(result.stderr).not.toMatch(/INTERNAL/);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { id: string }).id;
}

async function readJsonFiles(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of Object.keys(JSON_FILES))
    out[path] = await readFile(join(dataDir, path), 'utf8').catch(() => '(missing)');
  return out;
}

async function listIds(): Promise<string[]> {
  const result = await backup('--list', '--format', 'json');
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { snapshots: Array<{ id: string }> }).snapshots.map((s) => s.id);
}

/** The seed of the whole file (the cleanup case seeds its own, smaller one). */
const SCALE = 0.1;

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-backup-e2e-'));
  backupDir = join(work, 'backups');
  dataDir = join(work, 'data');
  for (const [path, text] of Object.entries(JSON_FILES)) {
    await mkdir(join(dataDir, path, '..'), { recursive: true });
    await writeFile(join(dataDir, path), text);
  }
  await mkdir(join(dataDir, 'exports'), { recursive: true });
  await writeFile(join(dataDir, 'exports', 'autocognitix_export.json'), '{"not":"data"}');
  // The default backup directory under the data directory is never swept into --json either.
  await mkdir(join(dataDir, 'backups', 'full_20250101_000000'), { recursive: true });
  await writeFile(join(dataDir, 'backups', 'full_20250101_000000', 'manifest.json'), '{}');
  await seed(stores, SCALE, 5);
  original = await fingerprint(stores);
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('backup → empty → restore', () => {
  it('restores every row, node, relationship, point, schema object and JSON file identically', async () => {
    fullId = await backupId('--all');
    expect(fullId).toMatch(/^full_\d{8}_\d{6}$/);
    const manifest = JSON.parse(await readFile(join(backupDir, fullId, 'manifest.json'), 'utf8')) as {
      stores: { postgres: { method: string } };
      jsonFiles: { datasets: Array<{ files: string[] }> };
      consistency: { method: string };
    };
    expect(manifest.stores.postgres.method).toMatch(/^pg_dump/);
    expect(manifest.consistency.method).toBe('postgres-exported-snapshot');
    expect(manifest.jsonFiles.datasets[0]?.files.sort()).toEqual(
      Object.keys(JSON_FILES)
        .map((p) => `json/${p}`)
        .sort(),
    );

    expect((await backup('--verify', fullId)).code).toBe(0);
    await emptyAll(stores);
    await rm(join(dataDir, 'dtc_codes'), { recursive: true });
    await rm(join(dataDir, 'translation_glossary.json'));

    const restored = await backup('--restore', fullId);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`Restored ${fullId}`);
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
    expect(await readJsonFiles()).toEqual(JSON_FILES);
  });

  it('does the same without pg_dump on PATH (built-in schema dump)', async () => {
    const env = { ...process.env, PATH: '/nonexistent' };
    const result = await runCli(['backup', '--postgres', '--backup-dir', backupDir, '--format', 'json'], env);
    expect(result.code, result.stderr).toBe(0);
    const id = (JSON.parse(result.stdout) as { id: string }).id;
    const manifest = JSON.parse(await readFile(join(backupDir, id, 'manifest.json'), 'utf8')) as {
      stores: { postgres: { method: string } };
    };
    expect(manifest.stores.postgres.method).toBe('built-in');
    await emptyAll(stores);
    const restored = await runCli(['backup', '--backup-dir', backupDir, '--restore', id], env);
    expect(restored.code, restored.stderr).toBe(0);
    const after = await fingerprint(stores);
    const postgresOnly = (f: Fingerprint) =>
      Object.fromEntries(Object.entries(f).filter(([k]) => k.startsWith('postgres/')));
    expect(diffFingerprints(postgresOnly(original), postgresOnly(after))).toEqual([]);
    // Bring Neo4j and Qdrant back for the tests that follow.
    expect((await backup('--restore', fullId, '--target', 'neo4j', '--target', 'qdrant')).code).toBe(0);
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
  });
});

describe('verification', () => {
  it('names a flipped byte and a truncated file in every kind of data file, and restore refuses them', async () => {
    // Format 1 (design §7): a snapshot is its files (format 2's packs: repository-format2 tests).
    const format1Id = await backupId('--all', '--format-version', '1');
    const copyId = 'full_20000101_000000';
    const copy = join(backupDir, copyId);
    await cp(join(backupDir, format1Id), copy, { recursive: true });
    const manifest = JSON.parse(await readFile(join(copy, 'manifest.json'), 'utf8')) as {
      id: string;
      files: Record<string, { bytes: number }>;
    };
    // A snapshot's directory is named by its id (a renamed copy is refused): the copy gets its own,
    // and the manifest's checksum is sealed again over it.
    const { manifestSha256: _old, ...content } = { ...manifest, id: copyId } as Record<string, unknown>;
    const sealed = { ...content, manifestSha256: manifestDigest(content) };
    await writeFile(join(copy, 'manifest.json'), JSON.stringify(sealed, null, 2));
    const kinds = new Map<string, string>();
    for (const path of Object.keys(manifest.files)) {
      const kind = path
        .replace(/\/tables\/[^/]+\.copy/, '/tables/*.copy')
        .replace(/^qdrant\/[^/]+\//, 'qdrant/*/')
        .replace(/^json\/.*/, 'json/*');
      if (!kinds.has(kind)) kinds.set(kind, path);
    }
    expect([...kinds.keys()].sort()).toEqual(
      [
        'json/*',
        'neo4j/nodes.jsonl.zst',
        'neo4j/relationships.jsonl.zst',
        'neo4j/schema.jsonl.zst',
        'postgres/schema-post.sql.zst',
        'postgres/schema-pre.sql.zst',
        'postgres/sequences.jsonl.zst',
        'postgres/tables/*.copy.zst',
        'qdrant/*/collection.json.zst',
        'qdrant/*/points.jsonl.zst',
      ].sort(),
    );
    for (const path of kinds.values()) {
      const file = join(copy, path);
      const good = await readFile(file);
      const flipped = Buffer.from(good);
      flipped[Math.floor(flipped.length / 2)] = (flipped[Math.floor(flipped.length / 2)] ?? 0) ^ 0x40;
      await writeFile(file, flipped);
      const bad = await backup('--verify', copyId);
      expect(bad.code, path).toBe(6);
      expect(bad.stdout, path).toContain(`${path}: SHA-256 differs`);
      await truncate(file, Math.floor(good.length / 2));
      const short = await backup('--verify', copyId);
      expect(short.code, path).toBe(6);
      expect(short.stdout, path).toContain(`${path}: size is`);
      await writeFile(file, good);
    }
    expect((await backup('--verify', copyId)).code).toBe(0);

    // A damaged snapshot is never restored, even with --force, and nothing changes.
    const points = [...kinds.values()].find((p) => p.includes('points')) ?? '';
    await truncate(join(copy, points), 100);
    await emptyAll(stores);
    const empty = await fingerprint(stores);
    const refused = await backup('--restore', copyId, '--force');
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain('failed verification, nothing was restored');
    expect(diffFingerprints(empty, await fingerprint(stores))).toEqual([]);
    await rm(copy, { recursive: true });
    // The JSON data files are still in place: restore the three stores only.
    const restored = await backup(
      '--restore',
      fullId,
      '--target',
      'postgres',
      '--target',
      'neo4j',
      '--target',
      'qdrant',
    );
    expect(restored.code, restored.stderr).toBe(0);
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
  });
});

describe('killed backups', () => {
  it('never show as complete, and the next backup succeeds', async () => {
    const before = await listIds();
    for (const delayMs of [300, 1500, 3000, 6000]) {
      const child = spawn(
        process.execPath,
        [BIN, 'backup', '--all', '--backup-dir', backupDir, '--data-dir', dataDir, '-q'],
        { env: process.env, stdio: 'ignore' },
      );
      const closed = new Promise((r) => child.once('close', r)); // before the kill: a fast run may end first
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await closed;
      const listed = await listIds();
      for (const id of listed.filter((i) => !before.includes(i))) {
        // Only a backup that finished before the kill may be listed, and it must be intact.
        expect((await backup('--verify', id)).code, id).toBe(0);
        before.push(id);
      }
    }
    const leftovers = (await readdir(backupDir)).filter((d) => d.startsWith('full_') && !before.includes(d));
    const next = await backupId('--postgres');
    expect(await listIds()).toContain(next);
    for (const d of leftovers) expect(await readdir(backupDir)).not.toContain(d);
  });
});

describe('Ctrl-C', () => {
  it('stops a backup with exit code 130 and leaves no snapshot and no directory', async () => {
    await mkdir(backupDir, { recursive: true });
    const before = await readdir(backupDir);
    const child = spawn(
      process.execPath,
      [BIN, 'backup', '--all', '--backup-dir', backupDir, '--data-dir', dataDir],
      {
        env: process.env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((r) => child.once('close', r));
    // Wait until the stores are being read, then interrupt.
    while (!/\[(postgres|neo4j|qdrant)\]/.test(stderr)) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await closed, stderr).toBe(130);
    expect(stderr).toMatch(/INTERRUPTED.*no snapshot was written/);
    expect((await readdir(backupDir)).sort()).toEqual(before.sort());
  });
});

describe('restoring over data', () => {
  it('refuses non-empty stores without --force and changes nothing', async () => {
    const before = await fingerprint(stores);
    const result = await backup('--restore', fullId);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/NOT_EMPTY.*already hold data/);
    expect(diffFingerprints(before, await fingerprint(stores))).toEqual([]);
  });

  it('with --force takes a safety snapshot first, which restores the replaced data', async () => {
    await seed(stores, 0.05, 99);
    const replaced = await fingerprint(stores);
    const result = await backup('--restore', fullId, '--force', '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { safetySnapshot: { id: string } };
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
    const safety = summary.safetySnapshot.id;
    expect(await listIds()).toContain(safety);
    const back = await backup('--restore', safety, '--force');
    expect(back.code, back.stderr).toBe(0);
    expect(diffFingerprints(replaced, await fingerprint(stores))).toEqual([]);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const before = await fingerprint(stores);
    const result = await backup('--restore', fullId, '--force', '--dry-run');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/drop\s+table public\.dtc_codes \(350 records\)/);
    expect(result.stdout).toMatch(
      new RegExp(`load\\s+table public\\.dtc_codes \\(${planCounts(SCALE).dtc} records\\)`),
    );
    expect(diffFingerprints(before, await fingerprint(stores))).toEqual([]);
    expect(await listIds()).not.toHaveLength(0);
  });
});

describe('cleanup', () => {
  it('keeps what the rules keep and the newest verified snapshot, and honours --dry-run', async () => {
    const ids = await listIds();
    expect(ids.length).toBeGreaterThan(3);
    const dry = await backup('--cleanup', '--keep', '1', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would delete/);
    expect(await listIds()).toEqual(ids);
    const listing = JSON.parse((await backup('--list', '--format', 'json')).stdout) as {
      snapshots: Array<{ id: string; verification?: { ok: boolean } }>;
    };
    const newestVerified = listing.snapshots.find((s) => s.verification?.ok)?.id;
    expect(newestVerified).toBeDefined();
    const result = await backup('--cleanup', '--keep', '1', '--format', 'json');
    expect(result.code).toBe(0);
    expect(await listIds()).toEqual([...new Set([ids[0], newestVerified])]);
  });
});

describe('hooks', () => {
  it('runs the pre-hook before and the post-hook after the stores are read', async () => {
    const pre = join(work, 'pre.txt');
    const post = join(work, 'post.txt');
    const id = await backupId(
      '--postgres',
      '--pre-hook',
      `echo "$ACX_SNAPSHOT_ID" > ${pre}`,
      '--post-hook',
      `date +%s%N > ${post}`,
    );
    expect((await readFile(pre, 'utf8')).trim()).toBe(id);
    expect((await readFile(post, 'utf8')).trim()).toMatch(/^\d+$/);
  });

  it('runs the post-hook even when the backup fails, and leaves no snapshot', async () => {
    const post = join(work, 'post-after-failure.txt');
    const before = await listIds();
    const result = await backup('--postgres', '--pre-hook', 'exit 3', '--post-hook', `touch ${post}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/HOOK \[pre-hook\].*exit 3/);
    expect(await readFile(post, 'utf8')).toBe('');
    expect(await listIds()).toEqual(before);
  });
});
