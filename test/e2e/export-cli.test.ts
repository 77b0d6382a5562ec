/**
 * `acx-data export` end to end on the real stores: every format read back by an independent reader and
 * compared with the stores, every filter against an expected set computed from the generator, and no
 * secret or (by default) personal value in any exported byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestStores } from '../support/stores.ts';
import { dtcRecord } from '../../src/seed/dtc.ts';
import { planCounts } from '../../src/seed/plan.ts';
import { openTestStores, seed } from '../support/stores.ts';
import { runCli } from '../support/cli.ts';
import {
  readCsv,
  readGraphml,
  readJson,
  readSqlite,
  readXlsx,
  sqliteTables,
  type Row,
} from '../support/export-readers.ts';

const SCALE = 0.05;
const SEED = 7;
let stores: TestStores;
let work: string;
let full: string;

async function exportTo(...args: string[]): Promise<string> {
  const out = await mkdtemp(join(work, 'export-'));
  const result = await runCli(['export', '--output-dir', out, '--format', 'json', ...args]);
  expect(result.stderr).not.toMatch(/INTERNAL/);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { dir: string }).dir;
}

const sorted = (values: Iterable<unknown>) => [...values].map(String).sort();

beforeAll(async () => {
  stores = await openTestStores();
  await seed(stores, SCALE, SEED);
  work = await mkdtemp(join(tmpdir(), 'acx-export-e2e-'));
  full = await exportTo('--all');
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('every format holds the stores content', () => {
  it('writes the guide layout with a manifest listing sizes and SHA-256', async () => {
    const manifest = (await readJson(join(full, 'manifest.json'))) as {
      files: Array<{ path: string; sha256: string; bytes: number }>;
      results: Record<string, boolean>;
    };
    for (const name of [
      'autocognitix_export.xlsx',
      'autocognitix_export.json',
      'autocognitix_export.db',
      'neo4j_graph.graphml',
      'qdrant_vectors.json.gz',
      'translations.json',
      'diagnosis_history.json',
      'csv/dtc_codes_full.csv',
      'csv/pg_dtc_codes.csv',
      'csv/neo4j_DTC.csv',
      'csv/neo4j_rel_CAUSES.csv',
    ]) {
      expect(
        manifest.files.map((f) => f.path),
        name,
      ).toContain(name);
    }
    expect(Object.values(manifest.results).every(Boolean)).toBe(true);
    const { createHash } = await import('node:crypto');
    for (const f of manifest.files)
      expect(
        createHash('sha256')
          .update(await readFile(join(full, f.path)))
          .digest('hex'),
        f.path,
      ).toBe(f.sha256);
    expect((await readdir(full, { recursive: true })).some((f) => String(f).endsWith('.partial'))).toBe(
      false,
    );
  });

  it('keeps DTC codes exact in every format: arrays, NULL vs empty, accents, timestamps', async () => {
    const pg = (
      await stores.postgres.query<{
        code: string;
        description_hu: string | null;
        symptoms: string[];
        applicable_makes: string[] | null;
        is_generic: boolean;
        created_at: string;
      }>(
        "SELECT code, description_hu, symptoms, applicable_makes, is_generic, to_json(created_at) #>> '{}' AS created_at FROM dtc_codes",
      )
    ).rows;
    const byCode = new Map(pg.map((r) => [r.code, r]));
    expect(pg.some((r) => r.description_hu === '')).toBe(true);
    expect(pg.some((r) => r.description_hu === null)).toBe(true);
    const check = (
      format: string,
      rows: Row[],
      decode: (r: Row) => {
        hu: unknown;
        symptoms: unknown;
        makes: unknown;
        generic: unknown;
        created: unknown;
      },
    ) => {
      expect(sorted(rows.map((r) => r.code)), format).toEqual(sorted(byCode.keys()));
      for (const row of rows) {
        const expected = byCode.get(String(row.code));
        const got = decode(row);
        expect(
          { hu: got.hu, symptoms: got.symptoms, makes: got.makes, generic: got.generic },
          `${format} ${String(row.code)}`,
        ).toEqual({
          hu: expected?.description_hu,
          symptoms: expected?.symptoms,
          makes: expected?.applicable_makes,
          generic: expected?.is_generic,
        });
        // Exactly PostgreSQL's own ISO rendering: offset and every fractional digit kept.
        expect(got.created, `${format} created_at`).toBe(expected?.created_at);
      }
    };
    const json = (v: unknown) => (v === null ? null : JSON.parse(String(v)));
    check('csv', await readCsv(join(full, 'csv/pg_dtc_codes.csv')), (r) => ({
      hu: r.description_hu,
      symptoms: json(r.symptoms),
      makes: json(r.applicable_makes),
      generic: r.is_generic === 'true',
      created: r.created_at,
    }));
    check('sqlite', readSqlite(join(full, 'autocognitix_export.db'), 'dtc_codes'), (r) => ({
      hu: r.description_hu,
      symptoms: json(r.symptoms),
      makes: json(r.applicable_makes),
      generic: r.is_generic === 1n,
      created: r.created_at,
    }));
    const doc = (await readJson(join(full, 'autocognitix_export.json'))) as {
      postgresql: Record<string, { data: Row[]; row_count: number }>;
    };
    check('json', doc.postgresql.dtc_codes?.data ?? [], (r) => ({
      hu: r.description_hu,
      symptoms: r.symptoms,
      makes: r.applicable_makes,
      generic: r.is_generic,
      created: r.created_at,
    }));
    const xlsx = await readXlsx(join(full, 'autocognitix_export.xlsx'));
    expect(Object.keys(xlsx.sheets)[0]).toBe('Summary');
    check('xlsx', xlsx.sheets.pg_dtc_codes ?? [], (r) => ({
      hu: r.description_hu,
      symptoms: json(r.symptoms),
      makes: json(r.applicable_makes),
      generic: r.is_generic,
      created: r.created_at,
    }));
  });

  it('keeps UUIDs and nested JSONB of diagnosis sessions', async () => {
    const pg = (
      await stores.postgres.query<{ id: string; diagnosis_result: unknown; dtc_codes: string[] }>(
        'SELECT id, diagnosis_result, dtc_codes FROM diagnosis_sessions',
      )
    ).rows;
    const byId = new Map(pg.map((r) => [r.id, r]));
    const csv = await readCsv(join(full, 'csv/pg_diagnosis_sessions.csv'));
    const sqlite = readSqlite(join(full, 'autocognitix_export.db'), 'diagnosis_sessions');
    expect(csv).toHaveLength(pg.length);
    expect(sqlite).toHaveLength(pg.length);
    for (const row of [...csv, ...sqlite]) {
      const expected = byId.get(String(row.id));
      expect(expected, String(row.id)).toBeDefined();
      expect(JSON.parse(String(row.diagnosis_result))).toEqual(expected?.diagnosis_result);
      expect(JSON.parse(String(row.dtc_codes))).toEqual(expected?.dtc_codes);
    }
    const history = (await readJson(join(full, 'diagnosis_history.json'))) as { sessions: Row[] };
    const active = (await stores.postgres.query('SELECT 1 FROM diagnosis_sessions WHERE NOT is_deleted'))
      .rowCount;
    expect(history.sessions).toHaveLength(active ?? -1);
    expect(history.sessions.every((s) => s.is_deleted === false)).toBe(true);
  });

  it('exports every node and relationship with labels, types and endpoints', async () => {
    const count = async (cypher: string) =>
      Number((await stores.neo4j.driver.executeQuery(cypher)).records[0]?.get('n'));
    const nodes = await count('MATCH (n) RETURN count(n) AS n');
    const rels = await count('MATCH ()-[r]->() RETURN count(r) AS n');
    const graph = await readGraphml(join(full, 'neo4j_graph.graphml'));
    expect(graph.nodes).toHaveLength(nodes);
    expect(graph.edges).toHaveLength(rels);
    const ids = new Set(graph.nodes.map((n) => n.id));
    expect(graph.edges.every((e) => ids.has(e.source) && ids.has(e.target))).toBe(true);
    expect(graph.keys.find((k) => k.name === 'occurrence_count' && k.for === 'edge')?.type).toBe('long');
    expect(graph.keys.find((k) => k.name === 'confidence' && k.for === 'edge')?.type).toBe('double');
    const dtcNodes = await readCsv(join(full, 'csv/neo4j_DTC.csv'));
    expect(dtcNodes).toHaveLength(await count('MATCH (n:DTC) RETURN count(n) AS n'));
    const causes = await readCsv(join(full, 'csv/neo4j_rel_CAUSES.csv'));
    expect(causes).toHaveLength(await count('MATCH ()-[r:CAUSES]->() RETURN count(r) AS n'));
    expect(causes.every((r) => r.start_label === 'DTC' && typeof r.start_key === 'string')).toBe(true);
    const tables = sqliteTables(join(full, 'autocognitix_export.db'));
    expect(tables).toEqual(
      expect.arrayContaining([
        'dtc_codes',
        'neo4j_DTC',
        'neo4j_rel_CAUSES',
        '_export_metadata',
        'translations',
      ]),
    );
  });

  it('exports every Qdrant point with exact ids and float32 vectors', async () => {
    const file = (await readJson(join(full, 'qdrant_vectors.json.gz'))) as {
      collections: Record<
        string,
        { points: Array<{ id: unknown; vector: number[]; payload: Row }>; points_count: number }
      >;
    };
    const collection = file.collections.autocognitix;
    expect(collection?.points_count).toBe(await stores.qdrant.count('autocognitix'));
    // A 63-bit id (beyond 2^53), as production's md5-based ids are.
    const first = collection?.points.find((p) => typeof p.id === 'bigint');
    const [live] = (
      await stores.qdrant.scroll('autocognitix', {
        limit: 1,
        offset: first?.id as bigint,
        with_vector: true,
        with_payload: true,
      })
    ).points;
    expect(first?.id).toEqual(live?.id);
    expect(first?.payload).toEqual(live?.payload);
    expect(Float32Array.from(first?.vector ?? [])).toEqual(
      Float32Array.from((live?.vector as number[]) ?? []),
    );
  });
});

describe('privacy', () => {
  it('no password hash, token, email, IP, VIN, licence plate or user id appears in any exported byte', async () => {
    const secrets = (
      await stores.postgres.query<{ v: string }>(`
      SELECT hashed_password AS v FROM users UNION SELECT verification_token FROM users UNION SELECT reset_token FROM users
      UNION SELECT email FROM users UNION SELECT host(last_login_ip) FROM users UNION SELECT id::text FROM users
      UNION SELECT vin FROM user_vehicles UNION SELECT license_plate FROM user_vehicles UNION SELECT vehicle_vin FROM diagnosis_sessions
      UNION SELECT vehicle_info->>'vin' FROM diagnosis_archive`)
    ).rows
      .map((r) => r.v)
      .filter((v): v is string => typeof v === 'string' && v.length >= 6);
    expect(secrets.length).toBeGreaterThan(50);
    const texts: Array<[string, string]> = [];
    for (const path of (await readdir(full, { recursive: true })).map(String)) {
      const bytes = await readFile(join(full, path)).catch(() => undefined);
      if (!bytes) continue;
      if (path.endsWith('.gz')) texts.push([path, gunzipSync(bytes).toString('utf8')]);
      else if (path.endsWith('.xlsx')) texts.push([path, (await readXlsx(join(full, path))).text]);
      else texts.push([path, bytes.toString('utf8')]);
    }
    for (const [path, text] of texts) {
      const leaked = secrets.filter((s) => text.includes(s));
      expect(leaked, path).toEqual([]);
    }
    expect(sqliteTables(join(full, 'autocognitix_export.db'))).not.toContain('users');
  });

  it('exports personal data, never secrets, with --include-pii', async () => {
    const dir = await exportTo('--csv', '--include-pii');
    const users = await readCsv(join(dir, 'csv/pg_users.csv'));
    expect(users.length).toBeGreaterThan(0);
    expect(Object.keys(users[0] ?? {})).toEqual(expect.arrayContaining(['email']));
    expect(Object.keys(users[0] ?? {})).not.toEqual(expect.arrayContaining(['hashed_password']));
    const text = await readFile(join(dir, 'csv/pg_users.csv'), 'utf8');
    const hashes = (
      await stores.postgres.query<{ v: string }>('SELECT hashed_password AS v FROM users')
    ).rows.map((r) => r.v);
    expect(hashes.filter((h) => text.includes(h))).toEqual([]);
  });
});

describe('filters', () => {
  const counts = planCounts(SCALE);
  const records = Array.from({ length: counts.dtc }, (_, i) => dtcRecord(SEED, i, counts.dtc));
  const fold = (s: string) =>
    s
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase();
  const letterOf: Record<string, string> = { powertrain: 'P', body: 'B', chassis: 'C', network: 'U' };
  const translated = (r: (typeof records)[number]) =>
    r.description_hu !== null && r.description_hu.trim() !== '';
  const makes = records.flatMap((r) => r.applicable_makes ?? []);
  const accented = makes.find((m) => fold(m) !== m.toLowerCase()) ?? makes[0] ?? 'Toyota';

  const cases: Array<[string, string[], (r: (typeof records)[number]) => boolean]> = [
    ['--category P', ['--category', 'P'], (r) => r.code.startsWith('P') && letterOf[r.category] === 'P'],
    ['--category B,C', ['--category', 'B,C'], (r) => ['B', 'C'].includes(r.code[0] ?? '')],
    [
      `--manufacturer ${fold(accented)}`,
      ['--manufacturer', fold(accented).toUpperCase()],
      (r) =>
        fold(r.manufacturer_code ?? '') === fold(accented) ||
        (r.applicable_makes ?? []).some((m) => fold(m) === fold(accented)),
    ],
    ['--translated', ['--translated'], translated],
    ['--untranslated', ['--untranslated'], (r) => !translated(r)],
    [
      '--since 2025-07-01 --until 2025-09-30',
      ['--since', '2025-07-01', '--until', '2025-09-30'],
      (r) =>
        r.updated_at.getTime() >= Date.parse('2025-07-01T00:00:00Z') &&
        r.updated_at.getTime() <= Date.parse('2025-09-30T23:59:59.999Z'),
    ],
    [
      '--category P --translated --since 2025-06-01',
      ['--category', 'P', '--translated', '--since', '2025-06-01'],
      (r) =>
        r.code.startsWith('P') &&
        translated(r) &&
        r.updated_at.getTime() >= Date.parse('2025-06-01T00:00:00Z'),
    ],
  ];

  it.each(cases)(
    '%s selects the same DTC codes in every format, with their graph neighbourhood and points',
    async (_name, args, predicate) => {
      const expected = sorted(records.filter(predicate).map((r) => r.code));
      expect(expected.length, 'the filter must select something').toBeGreaterThan(0);
      expect(expected.length, 'the filter must leave something out').toBeLessThan(records.length);
      const dir = await exportTo(
        '--csv',
        '--json',
        '--sqlite',
        '--excel',
        '--graphml',
        '--qdrant',
        '--translations',
        ...args,
      );
      const doc = (await readJson(join(dir, 'autocognitix_export.json'))) as {
        postgresql: Record<string, { data: Row[] }>;
        neo4j: { nodes: Record<string, { data: Row[] }> };
      };
      const xlsx = await readXlsx(join(dir, 'autocognitix_export.xlsx'));
      const translationsDoc = (await readJson(join(dir, 'translations.json'))) as {
        translations: Record<string, unknown>;
      };
      const graph = await readGraphml(join(dir, 'neo4j_graph.graphml'));
      const codeKey = graph.keys.find((k) => k.for === 'node' && k.name === 'code')?.id ?? '';
      const vectors = (await readJson(join(dir, 'qdrant_vectors.json.gz'))) as {
        collections: Record<string, { points: Array<{ payload: Row }> }>;
      };
      const selections: Record<string, string[]> = {
        'csv pg_dtc_codes': sorted((await readCsv(join(dir, 'csv/pg_dtc_codes.csv'))).map((r) => r.code)),
        'csv dtc_codes_full': sorted((await readCsv(join(dir, 'csv/dtc_codes_full.csv'))).map((r) => r.code)),
        'csv neo4j_DTC': sorted((await readCsv(join(dir, 'csv/neo4j_DTC.csv'))).map((r) => r.code)),
        'json postgresql': sorted((doc.postgresql.dtc_codes?.data ?? []).map((r) => r.code)),
        'json neo4j': sorted((doc.neo4j.nodes.DTC?.data ?? []).map((r) => r.code)),
        'sqlite dtc_codes': sorted(
          readSqlite(join(dir, 'autocognitix_export.db'), 'dtc_codes').map((r) => r.code),
        ),
        'sqlite neo4j_DTC': sorted(
          readSqlite(join(dir, 'autocognitix_export.db'), 'neo4j_DTC').map((r) => r.code),
        ),
        'xlsx pg_dtc_codes': sorted((xlsx.sheets.pg_dtc_codes ?? []).map((r) => r.code)),
        'translations.json': sorted(Object.keys(translationsDoc.translations)),
        graphml: sorted(
          graph.nodes
            .filter((n) => (n.data.labels ?? '').split(':').includes('DTC'))
            .map((n) => n.data[codeKey]),
        ),
        'qdrant dtc points': sorted(
          Object.values(vectors.collections)
            .flatMap((c) => c.points)
            .filter((p) => p.payload.type === 'dtc')
            .map((p) => p.payload.code),
        ),
      };
      for (const [where, codes] of Object.entries(selections)) expect(codes, where).toEqual(expected);
      // The graph is the selection's neighbourhood: non-DTC neighbours are there, and every edge stays inside it.
      expect(graph.nodes.length).toBeGreaterThan(expected.length);
      const ids = new Set(graph.nodes.map((n) => n.id));
      expect(graph.edges.every((e) => ids.has(e.source) && ids.has(e.target))).toBe(true);
    },
  );
});

describe('errors', () => {
  it('rejects bad filter values before touching anything', async () => {
    const result = await runCli(['export', '--csv', '--category', 'X', '--output-dir', join(work, 'never')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--category/);
    await expect(readdir(join(work, 'never'))).rejects.toThrow();
  });

  it('names an unwritable output folder', async () => {
    const result = await runCli(['export', '--csv', '--output-dir', '/proc/acx-cannot-write-here']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/output directory/);
  });
});
