/**
 * Real AutoCognitix DTC codes outside SAE's `[0-3]` second character (`P93AF`, `PACED`, `PEACE`,
 * `UA80E`, `UA80F`): a database holding them exports and imports its own export back, in every import
 * format, identical by fingerprint (issue #10: these were refused with exit 9).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fingerprint } from '../../src/model/content-hash.ts';
import { diffFingerprints } from '../../src/model/content-hash.ts';
import type { TestStores } from '../support/stores.ts';
import { runCli } from '../support/cli.ts';
import { emptySchemas, fingerprint, openTestStores } from '../support/stores.ts';

const REAL_CODES = [
  ['P93AF', 'powertrain'],
  ['PACED', 'powertrain'],
  ['PEACE', 'powertrain'],
  ['UA80E', 'network'],
  ['UA80F', 'network'],
  ['P0420', 'powertrain'],
  ['P0A7F-87', 'powertrain'],
] as const;

let stores: TestStores;
let work: string;
let exportDir: string;
let original: Fingerprint;

const withoutQdrant = (fp: Fingerprint) =>
  Object.fromEntries(Object.entries(fp).filter(([key]) => !key.startsWith('qdrant/')));

async function fill(): Promise<void> {
  await emptySchemas(stores);
  for (const [code, category] of REAL_CODES)
    await stores.postgres.query(
      `INSERT INTO dtc_codes (code, description_en, description_hu, category, severity, is_generic, symptoms, created_at, updated_at)
       VALUES ($1, $2, $3, $4, 'medium', false, '{Rángatás}', '2024-05-01T10:00:00Z', '2024-05-02T10:00:00Z')`,
      [code, `Description of ${code}`, `${code} leírása`, category],
    );
  await stores.neo4j.driver.executeQuery(
    `UNWIND $codes AS row CREATE (:DTC {code: row[0], category: row[1], description_en: 'Description of ' + row[0]})`,
    { codes: REAL_CODES.map(([code, category]) => [code, category]) },
    { database: stores.neo4j.database },
  );
}

beforeAll(async () => {
  stores = await openTestStores();
  await fill();
  original = withoutQdrant(await fingerprint(stores));
  work = await mkdtemp(join(tmpdir(), 'acx-dtc-real-'));
  const result = await runCli(['export', '--all', '--include-pii', '--output-dir', work, '--format', 'json']);
  expect(result.code, result.stderr).toBe(0);
  exportDir = (JSON.parse(result.stdout) as { dir: string }).dir;
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a database holding real codes such as P93AF and UA80E imports its own export', () => {
  it.each([
    ['JSON', '--json', 'autocognitix_export.json'],
    ['CSV', '--csv', 'csv'],
    ['SQLite', '--sqlite', 'autocognitix_export.db'],
  ])('%s: every code comes back, the stores identical', async (_name, flag, file) => {
    await emptySchemas(stores);
    const result = await runCli(['import', '--format', 'json', flag, join(exportDir, file)]);
    expect(result.stderr).not.toMatch(/INTERNAL/);
    expect(result.code, `${result.stdout.slice(0, 2000)}\n${result.stderr.slice(0, 2000)}`).toBe(0);
    const summary = JSON.parse(result.stdout) as { outcome: string; totals: { rejected: number } };
    expect(summary.outcome).toBe('written');
    expect(summary.totals.rejected).toBe(0);
    const codes = await stores.postgres.query<{ code: string }>('SELECT code FROM dtc_codes ORDER BY code');
    expect(codes.rows.map((r) => r.code)).toEqual(REAL_CODES.map(([code]) => code).sort());
    expect(diffFingerprints(original, withoutQdrant(await fingerprint(stores)))).toEqual([]);
  });
});
