/**
 * Issue #12: a format-1 snapshot written by the release before format 2 (test/fixtures/format1/, made by
 * scripts/fixtures/make-format1-fixture.ts from a tiny seed of all three stores and three JSON data files)
 * stays listable, verifiable and restorable by every later version, through the real CLI: listed as
 * format 1 and complete, verified, restored into empty stores with the content it was taken from
 * (expected.json: the stores' fingerprints at backup time), and a flipped byte still fails --verify.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { EXIT_CODES } from '../../src/errors.ts';
import type { SnapshotListing } from '../../src/repository/repository.ts';
import { runCli, stateEnv } from '../support/cli.ts';
import { closeAndRemove, emptyAll, fingerprint, openTestStores, type TestStores } from '../support/stores.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/format1/', import.meta.url));

interface Format1Expectation {
  snapshotId: string;
  formatVersion: number;
  jsonFiles: Record<string, string>;
  fingerprint: Fingerprint;
}

let expected: Format1Expectation;
let stores: TestStores;
let work: string;
let backupDir: string;
let dataDir: string;
let env: Record<string, string | undefined>;

const backup = (...args: string[]) =>
  runCli(['backup', '--backup-dir', backupDir, '--data-dir', dataDir, ...args], env);

beforeAll(async () => {
  expected = JSON.parse(await readFile(join(FIXTURE, 'expected.json'), 'utf8')) as Format1Expectation;
  work = await mkdtemp(join(tmpdir(), 'acx-format1-'));
  backupDir = join(work, 'backups');
  dataDir = join(work, 'data');
  env = stateEnv(work);
  await mkdir(dataDir, { recursive: true });
  // A copy: --verify records its outcome next to the snapshot, and the last case damages a file.
  await cp(join(FIXTURE, expected.snapshotId), join(backupDir, expected.snapshotId), { recursive: true });
  stores = await openTestStores();
});

afterAll(() => closeAndRemove(stores, work));

describe('a format-1 snapshot of the release before format 2', () => {
  it('is listed as a complete format-1 snapshot', async () => {
    const result = await backup('--list', '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const listing = JSON.parse(result.stdout) as {
      snapshots: SnapshotListing[];
      running: string[];
      incomplete: string[];
      damaged: unknown[];
    };
    expect(listing.snapshots.map((s) => s.id)).toEqual([expected.snapshotId]);
    expect(listing.snapshots[0]?.manifest.formatVersion).toBe(1);
    expect(expected.formatVersion).toBe(1);
    expect(listing).toMatchObject({ running: [], incomplete: [], damaged: [] });
    expect(Object.keys(listing.snapshots[0]?.manifest.stores ?? {}).sort()).toEqual([
      'neo4j',
      'postgres',
      'qdrant',
    ]);
  });

  it('holds records of every kind in all three stores, so the comparison after the restore is not vacuous', () => {
    const held = Object.entries(expected.fingerprint)
      .filter(([name]) =>
        /^(postgres\/table|neo4j\/nodes|neo4j\/relationships|qdrant\/collections\/[^/]+\/points)/.test(name),
      )
      .map(([name, { records }]) => [name, records > 0]);
    expect(held.filter(([, some]) => !some)).toEqual([]);
    const names = held.map(([name]) => name);
    for (const name of [
      'postgres/table/users',
      'postgres/table/diagnosis_sessions',
      'postgres/table/diagnosis_archive',
      'neo4j/nodes/DTC',
      'neo4j/relationships/RELATED_TO',
      'qdrant/collections/autocognitix/points',
    ])
      expect(names).toContain(name);
  });

  it('verifies', async () => {
    const result = await backup('--verify', expected.snapshotId);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('restores into empty stores the content it was taken from, and its JSON data files', async () => {
    await emptyAll(stores);
    const restored = await backup('--restore', expected.snapshotId);
    expect(restored.code, `${restored.stdout}\n${restored.stderr}`).toBe(0);
    expect(restored.stdout).toContain(`Restored ${expected.snapshotId}`);
    const after = await fingerprint(stores);
    expect(diffFingerprints(expected.fingerprint, after)).toEqual([]);
    for (const [path, text] of Object.entries(expected.jsonFiles))
      expect(await readFile(join(dataDir, path), 'utf8'), path).toBe(text);
  });

  it('fails --verify with the integrity exit code when one byte of a data file is flipped', async () => {
    const path = 'qdrant/autocognitix/points.jsonl.zst';
    const file = join(backupDir, expected.snapshotId, path);
    const bytes = await readFile(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0x01;
    await writeFile(file, bytes);
    const result = await backup('--verify', expected.snapshotId);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT_CODES.integrity);
    expect(result.stdout).toContain(`${path}: SHA-256 differs`);
  });
});
