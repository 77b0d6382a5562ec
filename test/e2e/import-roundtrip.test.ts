/**
 * export → empty stores → import → the stores are identical to the original, for every import format,
 * by the canonical content hash the backup tests use (rows, sequences, nodes with typed properties,
 * relationships with their endpoints, points with float32 vectors and payloads). Accounts (`users`) are
 * never imported (exports hold no password hashes): the test keeps them in the target, as an operator
 * importing into a running application would have them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fingerprint } from '../../src/model/content-hash.ts';
import { diffFingerprints } from '../../src/model/content-hash.ts';
import { exportInto, importOk, runCli } from '../support/cli.ts';
import {
  closeAndRemove,
  keepAccounts,
  fingerprint,
  openSeeded,
  partOf,
  type TestStores,
} from '../support/stores.ts';
import { emptyQdrant } from '../../src/stores/qdrant/qdrant-schema.ts';

const BIN = fileURLToPath(new URL('../../bin/acx-data.js', import.meta.url));
const SCALE = 0.1;
const SEED = 11;
let stores: TestStores;
let work: string;
let exportDir: string;
let plain: string;
let original: Fingerprint;
let resetTarget: () => Promise<void>;

const importCli = (...args: string[]) => importOk(args);

beforeAll(async () => {
  ({ stores, original } = await openSeeded(SCALE, SEED));
  resetTarget = await keepAccounts(stores);
  work = await mkdtemp(join(tmpdir(), 'acx-import-rt-'));
  exportDir = await exportInto(work, ['--all', '--include-pii']);
  // The default export (no personal data), of the same original content; its own folder.
  plain = await exportInto(await mkdtemp(join(work, 'plain-')), ['--all']);
});

afterAll(() => closeAndRemove(stores, work));

describe('export → empty stores → import gives identical stores', () => {
  it.each([
    ['JSON', ['--json', 'autocognitix_export.json']],
    ['CSV', ['--csv', 'csv']],
    ['SQLite', ['--sqlite', 'autocognitix_export.db']],
  ])('%s (with the vectors file): PostgreSQL, Neo4j and Qdrant', async (_name, [flag, file]) => {
    await resetTarget();
    const summary = await importCli(
      flag as string,
      join(exportDir, file as string),
      '--vectors',
      join(exportDir, 'qdrant_vectors.json.gz'),
    );
    expect(summary.outcome).toBe('written');
    expect(summary.totals.rejected).toBe(0);
    expect(summary.totals.inserted).toBeGreaterThan(15_000);
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
  });

  it('GraphML: the whole graph, every relationship and property type', async () => {
    await resetTarget();
    const summary = await importCli('--graphml', join(exportDir, 'neo4j_graph.graphml'));
    expect(summary.outcome).toBe('written');
    const after = await fingerprint(stores);
    expect(diffFingerprints(partOf(original, 'neo4j'), partOf(after, 'neo4j'))).toEqual([]);
  });

  it('vectors alone, into a Qdrant without the collection: created as it was, every point with its vector and payload', async () => {
    await resetTarget();
    await emptyQdrant(stores.qdrant);
    await importCli('--vectors', join(exportDir, 'qdrant_vectors.json.gz'));
    const after = await fingerprint(stores);
    expect(diffFingerprints(partOf(original, 'qdrant'), partOf(after, 'qdrant'))).toEqual([]);
  });

  it('Ctrl-C during an import: exit 130, every store as it was', async () => {
    await resetTarget();
    const before = await fingerprint(stores);
    const child = spawn(
      process.execPath,
      [
        BIN,
        'import',
        '-v',
        '--csv',
        join(exportDir, 'csv'),
        '--vectors',
        join(exportDir, 'qdrant_vectors.json.gz'),
      ],
      { env: process.env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((r) => child.once('close', r));
    // Interrupt once Neo4j is being written (PostgreSQL is staged in its transaction by then).
    while (!/\[neo4j\]/.test(stderr)) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await closed, stderr).toBe(130);
    expect(stderr).toMatch(/INTERRUPTED.*nothing was written/);
    expect(diffFingerprints(before, await fingerprint(stores))).toEqual([]);
  });

  it('the default export (no personal data): the rest identical; records that need personal data are skipped with a note', async () => {
    await resetTarget();
    const run = await runCli([
      'import',
      '--csv',
      join(plain, 'csv'),
      '--vectors',
      join(plain, 'qdrant_vectors.json.gz'),
      '--format',
      'json',
    ]);
    expect(run.code, run.stderr.slice(0, 3000)).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      outcome: string;
      totals: { rejected: number };
      datasets: { dataset: string; counts: { inserted: number; skipped: number }; notes?: string[] }[];
    };
    expect(summary.outcome).toBe('written');
    expect(summary.totals.rejected).toBe(0);
    const vehicles = summary.datasets.find((d) => d.dataset === 'user_vehicles');
    expect(vehicles?.counts.inserted).toBe(0);
    expect(vehicles?.counts.skipped).toBeGreaterThan(0);
    expect(vehicles?.notes).toEqual([expect.stringMatching(/lacks user_id, personal data .* --include-pii/)]);
    expect(summary.datasets.find((d) => d.dataset === 'maintenance_reminders')?.notes).toEqual([
      expect.stringMatching(/belong to user_vehicles records that were not created/),
    ]);
    // Everything without personal data is as it was.
    const personal = [
      'users',
      'user_vehicles',
      'maintenance_reminders',
      'diagnosis_sessions',
      'diagnosis_archive',
    ];
    const withoutPersonal = (fp: Fingerprint) =>
      Object.fromEntries(
        Object.entries(fp).filter(([k]) => !personal.some((t) => k === `postgres/table/${t}`)),
      );
    expect(diffFingerprints(withoutPersonal(original), withoutPersonal(await fingerprint(stores)))).toEqual(
      [],
    );
  });

  it('importing the same export again changes nothing under skip, and counts every record as skipped', async () => {
    // The stores now hold the vectors import; bring back the full content with the JSON export first.
    await resetTarget();
    await importCli('--json', join(exportDir, 'autocognitix_export.json'));
    const before = await fingerprint(stores);
    const again = await importCli('--json', join(exportDir, 'autocognitix_export.json'));
    expect(again.totals.inserted).toBe(0);
    expect(again.totals.updated).toBe(0);
    expect(again.totals.skipped).toBeGreaterThan(15_000);
    expect(diffFingerprints(before, await fingerprint(stores))).toEqual([]);
  });
});
