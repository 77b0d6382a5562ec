/**
 * Real AutoCognitix DTC codes outside SAE's `[0-3]` second character (`P93AF`, `PACED`, `PEACE`,
 * `UA80E`, `UA80F`): a database holding them exports and imports its own export back, in every import
 * format, identical by fingerprint (issue #10: these were refused with exit 9).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { importOk } from '../support/cli.ts';
import { useExportedStores } from '../support/exported-stores.ts';
import { emptySchemas, fingerprint, partOf, type TestStores } from '../support/stores.ts';

const REAL_CODES = [
  ['P93AF', 'powertrain'],
  ['PACED', 'powertrain'],
  ['PEACE', 'powertrain'],
  ['UA80E', 'network'],
  ['UA80F', 'network'],
  ['P0420', 'powertrain'],
  ['P0A7F-87', 'powertrain'],
] as const;

async function fill(stores: TestStores): Promise<void> {
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

const fx = useExportedStores('acx-dtc-real-', ['--all', '--include-pii'], fill);
/** The imports get no vectors file: the stores compared are PostgreSQL and Neo4j. */
const compared = (fp: Fingerprint) => partOf(fp, 'postgres', 'neo4j');

describe('a database holding real codes such as P93AF and UA80E imports its own export', () => {
  it.each([
    ['JSON', '--json', 'autocognitix_export.json'],
    ['CSV', '--csv', 'csv'],
    ['SQLite', '--sqlite', 'autocognitix_export.db'],
  ])('%s: every code comes back, the stores identical', async (_name, flag, file) => {
    await emptySchemas(fx.stores);
    const summary = await importOk([flag, join(fx.exportDir, file)]);
    expect(summary.outcome).toBe('written');
    expect(summary.totals.rejected).toBe(0);
    const codes = await fx.stores.postgres.query<{ code: string }>(
      'SELECT code FROM dtc_codes ORDER BY code',
    );
    expect(codes.rows.map((r) => r.code)).toEqual(REAL_CODES.map(([code]) => code).sort());
    expect(diffFingerprints(compared(fx.original), compared(await fingerprint(fx.stores)))).toEqual([]);
  });
});
