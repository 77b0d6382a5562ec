/**
 * A target holding only the application's empty schema (PostgreSQL tables without rows, Neo4j
 * constraints and indexes without nodes, a Qdrant collection without points) holds no data: a restore
 * replaces that schema without --force and ends with the snapshot's content. A target with records is
 * still refused.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { runCli } from '../support/cli.ts';
import { emptySchemas, fingerprint, openTestStores, seed, type TestStores } from '../support/stores.ts';

let stores: TestStores;
let work: string;
let original: Fingerprint;
let id: string;
const cli = (...args: string[]) =>
  runCli(['backup', '--backup-dir', join(work, 'backups'), '--data-dir', join(work, 'data'), ...args]);

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-schema-only-'));
  await mkdir(join(work, 'data'));
  await seed(stores, 0.02, 11);
  original = await fingerprint(stores);
  const backup = await cli('--postgres', '--neo4j', '--qdrant', '--format', 'json');
  expect(backup.code, backup.stderr).toBe(0);
  id = (JSON.parse(backup.stdout) as { id: string }).id;
}, 300_000);

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('restore into stores holding only the schema', () => {
  it('still refuses stores that hold records', async () => {
    const result = await cli('--restore', id);
    expect(result.code, result.stderr).toBe(7);
    expect(result.stderr).toMatch(/postgres, neo4j, qdrant already hold data/);
  }, 120_000);

  it('replaces an empty schema without --force', async () => {
    await emptySchemas(stores);
    const { rows } = await stores.postgres.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`,
    );
    expect(rows[0]?.n).toBeGreaterThan(0); // the schema is there, without rows
    const result = await cli('--restore', id);
    expect(result.stderr).not.toMatch(/already hold data/);
    expect(result.code, result.stderr).toBe(0);
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
  }, 300_000);
});
