/**
 * CSV formula injection (issue #10): text that starts with `=`, `+`, `-`, `@`, tab, CR or `'` is
 * exported so that no cell of any CSV file starts with a character a spreadsheet runs as a formula, and
 * the export imports back identical (fingerprint, and the values themselves). Negative numbers stay
 * numbers.
 */
import { describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { importOk } from '../support/cli.ts';
import { useExportedStores } from '../support/exported-stores.ts';
import { emptySchemas, fingerprint, partOf, type TestStores } from '../support/stores.ts';
import { FORMULA_STARTS } from '../support/awkward-records.ts';

const PAYLOAD = `cmd|' /C calc'!A0`;
/** A spreadsheet runs these as formulas; a negative number is only a number. */
const dangerous = (cell: string) => /^[=+\-@\t\r]/.test(cell) && !/^-\d+(\.\d+)?(e[-+]?\d+)?$/i.test(cell);

async function fill(stores: TestStores): Promise<void> {
  for (const [i, start] of FORMULA_STARTS.entries())
    await stores.postgres.query(
      `INSERT INTO dtc_codes (code, description_en, description_hu, category, severity, is_generic, system, symptoms, created_at, updated_at)
       VALUES ($1, $2, $3, 'powertrain', 'medium', false, $4, $5, '2024-05-01T10:00:00Z', '2024-05-02T10:00:00Z')`,
      [`P010${i}`, `${start}${PAYLOAD}`, `${start}HYPERLINK("http://x")`, `${start}`, [`${start}1+1`]],
    );
  await stores.neo4j.driver.executeQuery(
    `UNWIND range(0, size($starts) - 1) AS i
     CREATE (:DTC {code: 'P010' + toString(i), description_en: $starts[i] + $payload, score: -5 - i,
                   ratio: -0.5, \`=weird key\`: $starts[i] + 'SUM(A1:A9)'})`,
    { starts: [...FORMULA_STARTS], payload: PAYLOAD },
    { database: stores.neo4j.database },
  );
}

const fx = useExportedStores('acx-csv-formula-', ['--csv'], fill);
/** The export holds no vectors: the stores compared are PostgreSQL and Neo4j. */
const compared = (fp: Fingerprint) => partOf(fp, 'postgres', 'neo4j');

describe('CSV export of formula-looking text', () => {
  it('writes no cell, in any CSV file, that a spreadsheet would run as a formula', async () => {
    const files = (await readdir(join(fx.exportDir, 'csv'))).filter((f) => f.endsWith('.csv'));
    expect(files).toEqual(
      expect.arrayContaining(['pg_dtc_codes.csv', 'neo4j_DTC.csv', 'dtc_codes_full.csv']),
    );
    let escaped = 0;
    for (const file of files) {
      const rows = parse(await readFile(join(fx.exportDir, 'csv', file), 'utf8')) as string[][];
      for (const row of rows)
        for (const cell of row) {
          expect(dangerous(cell), `${file}: ${JSON.stringify(cell)}`).toBe(false);
          if (cell.startsWith("'")) escaped++;
        }
    }
    expect(escaped).toBeGreaterThan(FORMULA_STARTS.length * 4);
    const nodes = await readFile(join(fx.exportDir, 'csv', 'neo4j_DTC.csv'), 'utf8');
    expect(nodes).toContain(`'=${PAYLOAD}`);
    expect(nodes).toContain(`'=weird key`);
    expect(nodes).toMatch(/,-0\.5,-5\r\n/);
    const manifest = JSON.parse(await readFile(join(fx.exportDir, 'manifest.json'), 'utf8')) as {
      files: Array<{ path: string; escaping?: string }>;
    };
    for (const entry of manifest.files.filter((f) => f.path.endsWith('.csv')))
      expect(entry.escaping, entry.path).toBe('leading-apostrophe');
  });

  it('imports back identical: every value starting with = + - @ tab CR or a real quote', async () => {
    await emptySchemas(fx.stores);
    await importOk(['--csv', join(fx.exportDir, 'csv')]);
    expect(diffFingerprints(compared(fx.original), compared(await fingerprint(fx.stores)))).toEqual([]);
    const rows = await fx.stores.postgres.query<{ description_en: string; symptoms: string[] }>(
      'SELECT description_en, symptoms FROM dtc_codes ORDER BY code',
    );
    expect(rows.rows.map((r) => r.description_en)).toEqual(FORMULA_STARTS.map((s) => `${s}${PAYLOAD}`));
    expect(rows.rows.map((r) => r.symptoms)).toEqual(FORMULA_STARTS.map((s) => [`${s}1+1`]));
    const { records } = await fx.stores.neo4j.driver.executeQuery(
      'MATCH (d:DTC) RETURN d.description_en AS text, d.`=weird key` AS weird, d.score AS score ORDER BY d.code',
      {},
      { database: fx.stores.neo4j.database },
    );
    expect(records.map((r) => r.get('text') as string)).toEqual(FORMULA_STARTS.map((s) => `${s}${PAYLOAD}`));
    expect(records.map((r) => r.get('weird') as string)).toEqual(FORMULA_STARTS.map((s) => `${s}SUM(A1:A9)`));
    expect(records.map((r) => Number(r.get('score')))).toEqual(FORMULA_STARTS.map((_, i) => -5 - i));
  });
});
