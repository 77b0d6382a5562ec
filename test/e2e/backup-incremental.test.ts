/**
 * `backup --incremental` and `--since` end to end (issue #12, design §11.8), through the real CLI and
 * the real stores, by content hash: full → change (insert, update, delete in PostgreSQL tables, nodes,
 * relationships, points; a schema change) → incremental → empty → restore the incremental → identical
 * to the stores at that moment; restoring the full still gives the earlier state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { AUTOCOGNITIX_COLLECTION } from '../../src/model/qdrant-model.ts';
import type { TestStores } from '../support/stores.ts';
import { emptyAll, fingerprint, openTestStores, seed } from '../support/stores.ts';
import { runCli } from '../support/cli.ts';
import { recordedDiff } from '../support/recorded-fingerprints.ts';

let stores: TestStores;
let work: string;
let backupDir: string;

const backup = (...args: string[]) =>
  runCli(['backup', '--backup-dir', backupDir, '--data-dir', join(work, 'data'), ...args]);

interface Summary {
  id: string;
}
async function backupId(...args: string[]): Promise<string> {
  const result = await backup('--format', 'json', ...args);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as Summary).id;
}

interface ManifestView {
  kind: string;
  parent: string | null;
  stats: { storedBytesAdded: number };
  stores: Record<string, { datasets: Array<{ name: string; reused?: string }>; fingerprints?: Fingerprint }>;
}
async function manifestOf(id: string): Promise<ManifestView> {
  return JSON.parse(await readFile(join(backupDir, id, 'manifest.json'), 'utf8')) as ManifestView;
}

async function cypher(query: string): Promise<void> {
  await stores.neo4j.driver.executeQuery(query, {}, { database: stores.neo4j.database });
}

/** Everything a restore must bring back that the fingerprint may not name: the schema change. */
async function schemaState(): Promise<string> {
  const { rows } = await stores.postgres.query<{ c: string }>(
    `SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name) AS c
       FROM information_schema.columns WHERE table_schema = 'public'`,
  );
  const extra = await stores.postgres
    .query<{ n: string }>('SELECT count(*)::text AS n FROM public.incr_added')
    .then((r) => r.rows[0]?.n ?? '?')
    .catch(() => 'absent');
  return `${rows[0]?.c}|incr_added=${extra}`;
}

async function state(): Promise<{ fp: Fingerprint; schema: string }> {
  return { fp: await fingerprint(stores), schema: await schemaState() };
}

async function restoreAndCompare(id: string, expected: { fp: Fingerprint; schema: string }): Promise<void> {
  await emptyAll(stores);
  await stores.postgres.query('DROP TABLE IF EXISTS public.incr_added');
  const restored = await backup(
    '--restore',
    id,
    '--target',
    'postgres',
    '--target',
    'neo4j',
    '--target',
    'qdrant',
  );
  expect(restored.code, restored.stderr).toBe(0);
  const now = await state();
  expect(diffFingerprints(expected.fp, now.fp)).toEqual([]);
  expect(now.schema).toBe(expected.schema);
}

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-incremental-e2e-'));
  backupDir = join(work, 'backups');
  await seed(stores, 0.05, 11);
});

afterAll(async () => {
  await stores?.postgres.query('DROP TABLE IF EXISTS public.incr_added').catch(() => undefined);
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('--incremental', () => {
  let fullId: string;
  let before: { fp: Fingerprint; schema: string };
  let incrementalId: string;
  let after: { fp: Fingerprint; schema: string };

  it('refuses without a snapshot to build on, writing nothing', async () => {
    const result = await backup('--all', '--incremental');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/USAGE.*no format-2 snapshot to build on/);
    expect((await backup('--list', '--format', 'json')).stdout).toMatch(/"snapshots":\s*\[\]/);
  });

  it('on unchanged stores reuses every PostgreSQL table and the Neo4j graph, adding almost nothing', async () => {
    fullId = await backupId('--postgres', '--neo4j', '--qdrant');
    before = await state();
    const id = await backupId('--postgres', '--neo4j', '--qdrant', '--incremental');
    expect(id).toMatch(/^incremental_\d{8}_\d{6}$/);
    const m = await manifestOf(id);
    expect(m.kind).toBe('incremental');
    expect(m.parent).toBe(fullId);
    const tables = m.stores.postgres!.datasets.filter((d) => d.name.startsWith('public.'));
    expect(tables.length).toBeGreaterThan(10);
    expect(tables.filter((d) => d.reused !== fullId).map((d) => d.name)).toEqual([]);
    expect(m.stores.neo4j!.datasets.every((d) => d.reused === fullId)).toBe(true);
    const full = await manifestOf(fullId);
    expect(m.stats.storedBytesAdded).toBeLessThanOrEqual(full.stats.storedBytesAdded / 100);
    // The reused datasets carry the parent's fingerprints, which are still the stores' own.
    expect(recordedDiff(full, before.fp)).toEqual([]);
    expect(recordedDiff(m, before.fp)).toEqual([]);
    await backup('--verify', id);
  });

  it('captures inserts, updates, deletes and a schema change in every store; both snapshots restore', async () => {
    const pg = stores.postgres;
    await pg.query(
      `INSERT INTO diagnosis_sessions (user_id, vehicle_make, vehicle_model, vehicle_year, vehicle_vin, dtc_codes, symptoms_text,
         additional_context, diagnosis_result, confidence_score, created_at, updated_at, is_deleted, deleted_at)
       SELECT user_id, vehicle_make, vehicle_model, vehicle_year, vehicle_vin, dtc_codes, 'új tünet', additional_context,
         diagnosis_result, confidence_score, created_at, updated_at, is_deleted, deleted_at FROM diagnosis_sessions ORDER BY id LIMIT 1`,
    );
    await pg.query(
      `UPDATE dtc_codes SET description_hu = 'módosított leírás' WHERE id = (SELECT min(id) FROM dtc_codes)`,
    );
    await pg.query('DELETE FROM vehicle_recalls WHERE id = (SELECT max(id) FROM vehicle_recalls)');
    await pg.query(`UPDATE vehicle_makes SET country = 'HU' WHERE id = (SELECT min(id) FROM vehicle_makes)`);
    // A schema change that rewrites no row (the default lives in the catalog) and a new table.
    await pg.query(`ALTER TABLE known_issues ADD COLUMN reviewed text NOT NULL DEFAULT 'nem'`);
    await pg.query('CREATE TABLE public.incr_added (id int PRIMARY KEY, note text)');
    await pg.query(`INSERT INTO public.incr_added VALUES (1, 'egy'), (2, 'kettő')`);
    await cypher(`MATCH (n) WITH n ORDER BY elementId(n) LIMIT 1 SET n.changed_by_test = 'igen'`);
    await cypher(`CREATE (:Symptom {name: 'incremental teszt tünet'})`);
    await cypher('MATCH ()-[r]->() WITH r ORDER BY elementId(r) LIMIT 1 DELETE r');
    await cypher('MATCH (n) WITH n ORDER BY elementId(n) DESC LIMIT 1 DETACH DELETE n');
    const page = (await stores.qdrant.request(
      'POST',
      `/collections/${AUTOCOGNITIX_COLLECTION}/points/scroll`,
      {
        body: { limit: 3, with_payload: false, with_vector: false },
      },
    )) as { points: Array<{ id: string | number }> };
    const [first, second] = page.points;
    await stores.qdrant.request('POST', `/collections/${AUTOCOGNITIX_COLLECTION}/points/delete?wait=true`, {
      body: { points: [first!.id] },
    });
    await stores.qdrant.request('POST', `/collections/${AUTOCOGNITIX_COLLECTION}/points/payload?wait=true`, {
      body: { points: [second!.id], payload: { changed_by_test: 'igen' } },
    });
    after = await state();
    expect(diffFingerprints(before.fp, after.fp)).not.toEqual([]);
    expect(after.schema).not.toBe(before.schema);

    incrementalId = await backupId('--postgres', '--neo4j', '--qdrant', '--incremental');
    const m = await manifestOf(incrementalId);
    expect(m.kind).toBe('incremental');
    const reused = new Set(m.stores.postgres!.datasets.filter((d) => d.reused).map((d) => d.name));
    // The schema changed: nothing may be taken unread from the parent.
    expect([...reused]).toEqual([]);
    expect(m.stores.neo4j!.datasets.some((d) => d.reused)).toBe(false);
    expect((await backup('--verify', incrementalId)).code).toBe(0);

    await restoreAndCompare(incrementalId, after);
    await restoreAndCompare(fullId, before);
  });

  it('after a change to one table, reads only that table again', async () => {
    await restoreAndCompare(incrementalId, after);
    const base = await backupId('--postgres', '--neo4j', '--qdrant', '--incremental');
    await stores.postgres.query(
      `UPDATE vehicle_makes SET country = 'AT' WHERE id = (SELECT max(id) FROM vehicle_makes)`,
    );
    await stores.postgres.query(
      'DELETE FROM maintenance_reminders WHERE id = (SELECT id FROM maintenance_reminders ORDER BY id LIMIT 1)',
    );
    const changed = await state();
    const id = await backupId('--postgres', '--neo4j', '--qdrant', '--incremental');
    const m = await manifestOf(id);
    expect(m.parent).toBe(base);
    const read = m.stores
      .postgres!.datasets.filter((d) => d.name.startsWith('public.') && !d.reused)
      .map((d) => d.name);
    expect(read.sort()).toEqual(['public.maintenance_reminders', 'public.vehicle_makes']);
    expect(m.stores.neo4j!.datasets.every((d) => d.reused === base)).toBe(true);
    expect(recordedDiff(m, changed.fp)).toEqual([]);
    await restoreAndCompare(id, changed);
  });
});

describe('--since', () => {
  it('builds on the newest verified snapshot taken at or before the date, and refuses when there is none', async () => {
    const none = await backup('--all', '--incremental', '--since', '2000-01-01');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no verified format-2 snapshot taken at or before 2000-01-01/);
    const list = JSON.parse((await backup('--list', '--format', 'json')).stdout) as {
      snapshots: Array<{ id: string; verification?: { ok: boolean } }>;
    };
    const verified = list.snapshots.find((s) => s.verification?.ok);
    expect(verified).toBeDefined();
    const current = await state();
    const today = new Date().toISOString().slice(0, 10);
    const id = await backupId('--postgres', '--neo4j', '--qdrant', '--incremental', '--since', today);
    expect((await manifestOf(id)).parent).toBe(verified!.id);
    await restoreAndCompare(id, current);
    expect((await backup('--all', '--since', today)).code).toBe(2);
  });
});
