/**
 * A target holding only the application's empty schema (PostgreSQL tables without rows, Neo4j
 * constraints and indexes without nodes, a Qdrant collection without points) holds no data: a restore
 * replaces that schema without --force and ends with the snapshot's content. A target with records is
 * still refused.
 */
import { mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { runCli, snapshotIdOf } from '../support/cli.ts';
import { closeAndRemove, emptySchemas, fingerprint, openSeeded, type TestStores } from '../support/stores.ts';

let stores: TestStores;
let work: string;
let original: Fingerprint;
let id: string;
const cli = (...args: string[]) =>
  runCli(['backup', '--backup-dir', join(work, 'backups'), '--data-dir', join(work, 'data'), ...args]);

beforeAll(async () => {
  ({ stores, original } = await openSeeded(0.02, 11));
  work = await mkdtemp(join(tmpdir(), 'acx-schema-only-'));
  await mkdir(join(work, 'data'));
  id = snapshotIdOf(await cli('--postgres', '--neo4j', '--qdrant', '--format', 'json'));
}, 300_000);

afterAll(() => closeAndRemove(stores, work));

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
