/**
 * Restore drills (design §13.7, issue #14 item 6) through the real CLI on the real stack:
 * `backup --verify ID --restore-test` restores into a scratch database, renamed Qdrant collections and
 * the stack's second (drill) Neo4j, records `restoreTest` in verification.json, shows it in `--list`,
 * and leaves no scratch target behind — after a pass, a failure or Ctrl-C — and the production stores
 * exactly as they were.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import neo4j, { type Driver } from 'neo4j-driver';
import type { Fingerprint } from '../../src/model/content-hash.ts';
import { manifestDigest } from '../../src/repository/manifest.ts';
import { fingerprint, openTestStores, seed, type TestStores } from '../support/stores.ts';
import { recordedDiff, recordedFingerprints } from '../support/recorded-fingerprints.ts';
import { runCli, snapshotIdOf, stateEnv, type CliResult } from '../support/cli.ts';

let stores: TestStores;
let drillGraph: Driver;
let work: string;
let backupDir: string;
let production: Fingerprint;
let full: string;

const backup = (...args: string[]): Promise<CliResult> =>
  runCli(['backup', '--backup-dir', backupDir, '--data-dir', join(work, 'data'), ...args], stateEnv(work));

interface RestoreTestView {
  ok: boolean;
  datasets: number;
  mismatches: string[];
  error?: string;
  fingerprint?: string;
  compared?: string;
  targets: { postgres?: string; neo4j?: string; qdrant?: string };
}

async function recorded(id: string): Promise<RestoreTestView | undefined> {
  const v = JSON.parse(await readFile(join(backupDir, id, 'verification.json'), 'utf8')) as {
    restoreTest?: RestoreTestView;
  };
  return v.restoreTest;
}

/** What a drill may leave behind: scratch databases, drill collections, content of the drill graph. */
async function leftovers(): Promise<{
  databases: string[];
  collections: string[];
  nodes: number;
  schema: number;
}> {
  const { rows } = await stores.postgres.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'acx_drill_%'",
  );
  const collections = (await stores.qdrant.listCollections()).filter((c) => c.includes('__drill_'));
  const nodes = await drillGraph.executeQuery('MATCH (n) RETURN count(n) AS n');
  const constraints = await drillGraph.executeQuery('SHOW CONSTRAINTS YIELD name RETURN count(*) AS n');
  const indexes = await drillGraph.executeQuery(
    "SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN count(*) AS n",
  );
  const count = (r: typeof nodes): number => Number(r.records[0]?.get('n') ?? -1);
  return {
    databases: rows.map((r) => r.datname),
    collections,
    nodes: count(nodes),
    schema: count(constraints) + count(indexes),
  };
}

const NONE = { databases: [], collections: [], nodes: 0, schema: 0 };

interface ManifestView extends Record<string, unknown> {
  formatVersion: number;
  stores: Record<string, { fingerprints?: Fingerprint } | undefined>;
}

async function readManifest(id: string): Promise<{ manifest: ManifestView; path: string }> {
  const path = join(backupDir, id, 'manifest.json');
  return { manifest: JSON.parse(await readFile(path, 'utf8')) as ManifestView, path };
}

/** Writes a changed manifest with its checksum recomputed (§7.3), so only the change is seen. */
async function writeManifest(path: string, manifest: ManifestView): Promise<void> {
  delete manifest.manifestSha256;
  manifest.manifestSha256 = manifestDigest(manifest);
  await writeFile(path, JSON.stringify(manifest, null, 2));
}

beforeAll(async () => {
  const uri = process.env.ACX_DRILL_NEO4J_URI;
  if (!uri)
    throw new Error('ACX_DRILL_NEO4J_URI is not set: the stack starts a drill Neo4j (npm run stack:up)');
  drillGraph = neo4j.driver(
    uri,
    neo4j.auth.basic(process.env.ACX_DRILL_NEO4J_USER ?? 'neo4j', process.env.ACX_DRILL_NEO4J_PASSWORD ?? ''),
  );
  work = await mkdtemp(join(tmpdir(), 'acx-drill-'));
  backupDir = join(work, 'backups');
  stores = await openTestStores();
  await seed(stores, 0.03, 1407);
  production = await fingerprint(stores);
  full = snapshotIdOf(await backup('--all', '--format', 'json'));
});

afterAll(async () => {
  await drillGraph?.close();
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('backup --verify ID --restore-test', () => {
  it('passes, records restoreTest, shows it in --list, removes every scratch target, leaves production as it was', async () => {
    expect(await leftovers()).toEqual(NONE);
    const result = await backup('--verify', full, '--restore-test', '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    // The snapshot is read once: the drill's restore takes the verification just done.
    expect(result.stderr).toMatch(/\[postgres\]/);
    expect(result.stderr).not.toMatch(/before restoring/);
    const printed = JSON.parse(result.stdout) as { restoreTest: RestoreTestView; outcome: string };
    expect(printed.outcome).toBe('complete');
    expect(printed.restoreTest).toMatchObject({ ok: true, mismatches: [], compared: 'fingerprints' });
    expect(printed.restoreTest.datasets).toBeGreaterThan(10);
    expect(printed.restoreTest.targets.postgres).toMatch(
      /^postgresql:\/\/127\.0\.0\.1:\d+\/acx_drill_[0-9a-f]+$/,
    );
    expect(printed.restoreTest.targets.qdrant).toMatch(/^autocognitix__drill_[0-9a-f]+$/);
    expect(printed.restoreTest.targets.neo4j).toBe(process.env.ACX_DRILL_NEO4J_URI);
    expect(await recorded(full)).toEqual(printed.restoreTest);

    expect(await leftovers()).toEqual(NONE);
    expect(await fingerprint(stores)).toEqual(production);

    const list = await backup('--list', '--format', 'json');
    const listed = JSON.parse(list.stdout) as {
      snapshots: Array<{ id: string; verification?: { restoreTest?: RestoreTestView } }>;
    };
    expect(listed.snapshots.find((s) => s.id === full)?.verification?.restoreTest?.ok).toBe(true);
    const text = await backup('--list');
    expect(text.stdout).toMatch(/verified +drill/);
    expect(text.stdout).toMatch(new RegExp(`${full} .* ok \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d +ok \\d{4}-`));

    // A second drill of the same snapshot restores the same content; a plain verify keeps the record.
    const again = await backup('--verify', full, '--restore-test', '--format', 'json');
    expect(again.code, again.stderr).toBe(0);
    const second = (JSON.parse(again.stdout) as { restoreTest: RestoreTestView }).restoreTest;
    expect(second.fingerprint).toBe(printed.restoreTest.fingerprint);
    expect((await backup('--verify', full)).code).toBe(0);
    expect((await recorded(full))?.fingerprint).toBe(second.fingerprint);
  });

  it('without a scratch Neo4j the other stores are drilled and the outcome is incomplete', async () => {
    const result = await runCli(
      ['backup', '--backup-dir', backupDir, '--verify', full, '--restore-test', '--format', 'json'],
      { ...stateEnv(work), ACX_DRILL_NEO4J_URI: '' },
    );
    expect(result.code, result.stderr).toBe(3);
    const printed = JSON.parse(result.stdout) as {
      outcome: string;
      failures: Array<{ item: string; message: string }>;
      restoreTest: RestoreTestView;
    };
    expect(printed.outcome).toBe('incomplete');
    expect(printed.failures).toEqual([
      expect.objectContaining({
        item: 'neo4j',
        message: expect.stringMatching(/ACX_DRILL_NEO4J_URI/) as string,
      }),
    ]);
    expect(printed.restoreTest.ok).toBe(true);
    expect(printed.restoreTest.targets.neo4j).toBeUndefined();
    expect(await leftovers()).toEqual(NONE);
  });

  it('refuses a drill Neo4j that holds data, never empties it, and still removes its own targets', async () => {
    await drillGraph.executeQuery("CREATE (:NotOurs {name: 'keep me'})");
    try {
      const result = await backup('--verify', full, '--restore-test');
      expect(result.code, result.stderr).toBe(6);
      expect(result.stdout).toMatch(/Restore drill of .* FAILED .*drill Neo4j .* holds data/);
      expect((await recorded(full))?.ok).toBe(false);
      const left = await leftovers();
      expect(left).toMatchObject({ databases: [], collections: [], nodes: 1 });
      expect(await fingerprint(stores)).toEqual(production);
    } finally {
      await drillGraph.executeQuery('MATCH (n:NotOurs) DELETE n');
    }
  });

  it('a snapshot that verifies but does not restore fails the drill, recorded ok=false, scratch removed', async () => {
    const damaged = snapshotIdOf(
      await backup('--postgres', '--format-version', '1', '--compression', 'gzip', '--format', 'json'),
    );
    // One integer turned into text, the file's checksum and the manifest's fixed up: verify passes.
    const manifestPath = join(backupDir, damaged, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown> & {
      files: Record<string, { bytes: number; sha256: string; contentBytes?: number }>;
    };
    const path = 'postgres/tables/public.vehicle_makes.copy.gz';
    const content = gunzipSync(await readFile(join(backupDir, damaged, path))).toString('utf8');
    const changed = content.replace(/\t(\d+)\n/, '\tnot-a-number-$1\n');
    expect(changed).not.toBe(content);
    const stored = gzipSync(changed);
    await writeFile(join(backupDir, damaged, path), stored);
    manifest.files[path] = {
      ...manifest.files[path]!,
      bytes: stored.length,
      sha256: createHash('sha256').update(stored).digest('hex'),
      contentBytes: Buffer.byteLength(changed),
    };
    manifest.manifestSha256 = manifestDigest(manifest);
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
    expect((await backup('--verify', damaged)).code).toBe(0);

    const result = await backup('--verify', damaged, '--restore-test', '--format', 'json');
    expect(result.code, result.stderr).toBe(6);
    const test = await recorded(damaged);
    expect(test).toMatchObject({ ok: false });
    expect(test?.error).toMatch(/restore failed: postgres/);
    expect(await leftovers()).toEqual(NONE);
    expect(await fingerprint(stores)).toEqual(production);
  });

  it('a backup records, per dataset, the fingerprint of the stores it read (formats 1 and 2)', async () => {
    const format1 = snapshotIdOf(await backup('--all', '--format-version', '1', '--format', 'json'));
    for (const id of [full, format1]) {
      const { manifest } = await readManifest(id);
      expect(manifest.formatVersion).toBe(id === full ? 2 : 1);
      expect(Object.keys(recordedFingerprints(manifest)).length).toBeGreaterThan(20);
      expect(recordedDiff(manifest, production)).toEqual([]);
    }
  });

  it('a recorded fingerprint that differs from the restored content fails the drill, naming the dataset', async () => {
    const id = snapshotIdOf(await backup('--all', '--format-version', '1', '--format', 'json'));
    const { manifest, path } = await readManifest(id);
    // One label's hash altered, its count kept: only the content comparison can see it.
    const dtc = manifest.stores.neo4j!.fingerprints!['neo4j/nodes/DTC']!;
    manifest.stores.neo4j!.fingerprints!['neo4j/nodes/DTC'] = { ...dtc, hash: 'f'.repeat(64) };
    await writeManifest(path, manifest);
    expect((await backup('--verify', id)).code).toBe(0);

    const result = await backup('--verify', id, '--restore-test', '--format', 'json');
    expect(result.code, result.stderr).toBe(6);
    const test = await recorded(id);
    expect(test).toMatchObject({ ok: false, compared: 'fingerprints' });
    expect(test?.error).toBeUndefined();
    expect(test?.mismatches).toEqual([
      `neo4j/nodes/DTC: content differs (${dtc.records} records in the snapshot, ${dtc.records} restored)`,
    ]);
    expect(await leftovers()).toEqual(NONE);
  });

  it('a snapshot whose manifest records no fingerprint (older versions) is drilled by record counts', async () => {
    const id = snapshotIdOf(await backup('--all', '--format-version', '1', '--format', 'json'));
    const { manifest, path } = await readManifest(id);
    for (const section of Object.values(manifest.stores)) delete section!.fingerprints;
    await writeManifest(path, manifest);
    const result = await backup('--verify', id, '--restore-test', '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const test = (JSON.parse(result.stdout) as { restoreTest: RestoreTestView }).restoreTest;
    expect(test).toMatchObject({ ok: true, mismatches: [], compared: 'counts' });
    expect(test.datasets).toBeGreaterThan(10);
    expect(await leftovers()).toEqual(NONE);
  });

  it('Ctrl-C during the drill ends it (130) and removes the scratch targets', async () => {
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '../../bin/acx-data.js'),
        'backup',
        '--backup-dir',
        backupDir,
        '--verify',
        full,
        '--restore-test',
      ],
      { env: stateEnv(work) as NodeJS.ProcessEnv, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const deadline = Date.now() + 120_000;
    // Interrupted in the middle of the restore: PostgreSQL is restored, Neo4j is being written.
    while (!/\[postgres\] creating constraints|\[neo4j\]/.test(stderr) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(await leftovers()).toEqual(NONE);
    expect(await fingerprint(stores)).toEqual(production);
  });
});
