/**
 * Importing into a PostgreSQL database without the application's schema says so and names the way to
 * create it (`seed --schema-only`), instead of "tables: " with an empty list; after that command the
 * same import succeeds.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { closeAndRemove, emptyAll, openTestStores, seed, type TestStores } from '../support/stores.ts';

let stores: TestStores;
let work: string;
let exported: string;

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-no-schema-'));
  await seed(stores, 0.01, 3);
  const result = await runCli(['export', '--json', '--output-dir', work]);
  expect(result.code, result.stderr).toBe(0);
  const [id] = (await readdir(work)).filter((name) => !name.startsWith('.'));
  exported = join(work, id!, 'autocognitix_export.json');
  await emptyAll(stores);
}, 300_000);

afterAll(() => closeAndRemove(stores, work));

describe('import into a database without the schema', () => {
  it('says the schema is missing and how to create it', async () => {
    const result = await runCli(['import', '--json', exported]);
    expect(result.code, result.stderr).toBe(9);
    expect(result.stderr).toMatch(/the AutoCognitix schema is missing, nothing was written/);
    expect(result.stderr).toMatch(
      /hint: create the application's empty schema with `acx-data seed --schema-only`/,
    );
    expect(result.stderr).not.toMatch(/tables: *$/m);
    expect(
      (
        await stores.postgres.query('SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1', [
          'public',
        ])
      ).rows[0],
    ).toEqual({ n: 0 });
  }, 120_000);

  it('imports once `seed --schema-only` created it', async () => {
    const schema = await runCli(['seed', '--schema-only']);
    expect(schema.code, schema.stderr).toBe(0);
    const { rows } = await stores.postgres.query<{ n: number }>('SELECT count(*)::int AS n FROM dtc_codes');
    expect(rows[0]?.n).toBe(0);
    const result = await runCli(['import', '--json', exported]);
    expect(result.code, result.stderr).toBe(0);
    const after = await stores.postgres.query<{ n: number }>('SELECT count(*)::int AS n FROM dtc_codes');
    expect(after.rows[0]?.n).toBeGreaterThan(0);
  }, 120_000);
});
