/**
 * `acx-data sync` as an operator runs it, on the live stack: the guide's partial recovery, translations
 * from a cache in the application's layout, and `--verify --report` on crafted inconsistencies of every
 * kind (each listed exactly once) and on consistent stores (none, untranslated codes included).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import neo4j from 'neo4j-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerFromEnv } from '../../src/embeddings/from-env.ts';
import type { EmbeddingProvider } from '../../src/embeddings/embedding-provider.ts';
import { canonicalDtc, embeddingText, sha256Hex } from '../../src/model/dtc-sync.ts';
import { AUTOCOGNITIX_COLLECTION, pointId } from '../../src/model/qdrant-model.ts';
import { runCli } from '../support/cli.ts';
import { openTestStores, seed, type TestStores } from '../support/stores.ts';

const SCALE = 0.01;
const SEED = 777;
let stores: TestStores;
let provider: EmbeddingProvider;
let work: string;

const plain = (value: unknown): unknown => {
  if (neo4j.isInt(value)) return value.toString();
  if (neo4j.isDateTime(value) || neo4j.isDate(value) || neo4j.isDuration(value)) return String(value);
  if (Array.isArray(value)) return value.map(plain);
  return value;
};

async function cypher(query: string, params: Record<string, unknown> = {}) {
  const { records } = await stores.neo4j.driver.executeQuery(query, params, {
    database: stores.neo4j.database,
  });
  return records.map((r) => r.toObject());
}

/** Every DTC node's properties and RELATED_TO targets, by code. */
async function dtcGraph(): Promise<Map<string, { props: Record<string, unknown>; related: string[] }>> {
  const rows = await cypher(
    'MATCH (n:DTC) OPTIONAL MATCH (n)-[:RELATED_TO]->(m:DTC) WITH n, m.code AS r ORDER BY r RETURN n.code AS code, properties(n) AS p, collect(r) AS related ORDER BY code',
  );
  return new Map(
    rows.map((r) => [
      r.code as string,
      {
        props: Object.fromEntries(
          Object.entries(r.p as Record<string, unknown>).map(([k, v]) => [k, plain(v)]),
        ),
        related: r.related as string[],
      },
    ]),
  );
}

interface Point {
  id: number | string;
  payload: Record<string, unknown>;
  vector: number[];
}

async function dtcPoints(): Promise<Map<string, Point>> {
  const out = new Map<string, Point>();
  let offset: unknown = null;
  do {
    const page: { points: Point[]; next_page_offset: unknown } = await stores.qdrant.request(
      'POST',
      `/collections/${AUTOCOGNITIX_COLLECTION}/points/scroll`,
      {
        body: {
          limit: 256,
          with_payload: true,
          with_vector: true,
          filter: { must: [{ key: 'type', match: { value: 'dtc' } }] },
          ...(offset === null ? {} : { offset }),
        },
      },
    );
    for (const p of page.points) out.set(String(p.payload.code), p);
    offset = page.next_page_offset ?? null;
  } while (offset !== null);
  return out;
}

async function pgRows(): Promise<Record<string, unknown>[]> {
  return (await stores.postgres.query('SELECT * FROM dtc_codes ORDER BY code')).rows as Record<
    string,
    unknown
  >[];
}

async function verifyReport(name: string, env = process.env) {
  const file = join(work, name);
  const result = await runCli(['sync', '--verify', '--report', file, '--data-dir', join(work, 'data')], env);
  const report = JSON.parse(await readFile(file, 'utf8')) as {
    is_consistent: boolean;
    counts: Record<string, number>;
    issues: Record<string, unknown[]>;
    issue_counts: Record<string, number>;
  };
  return { result, report };
}

async function writeCache(entries: Record<string, unknown>): Promise<void> {
  await mkdir(join(work, 'data', 'dtc_codes'), { recursive: true });
  await writeFile(
    join(work, 'data', 'dtc_codes', 'translation_cache.json'),
    JSON.stringify(entries, null, 2),
  );
}

beforeAll(async () => {
  stores = await openTestStores();
  const configured = providerFromEnv(process.env);
  if (!configured) throw new Error('the stack exports no embedding provider (npm run -s stack:env)');
  provider = configured;
  work = await mkdtemp(join(tmpdir(), 'acx-sync-e2e-'));
});

afterAll(async () => {
  await provider?.close();
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('without an embedding provider', () => {
  it('refuses PostgreSQL → Qdrant before connecting, and says how to configure one', async () => {
    const result = await runCli(['sync', '--postgres-qdrant'], { ...process.env, EMBEDDING_PROVIDER: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('needs an embedding provider');
    expect(result.stderr).toContain('EMBEDDING_PROVIDER=local');
  });
});

describe('--all without a translation cache', () => {
  it('notes that there is nothing to translate and succeeds; --translations named alone refuses with a hint', async () => {
    await seed(stores, SCALE, SEED);
    const empty = await mkdtemp(join(work, 'no-data-'));
    const all = await runCli(['sync', '--all', '--data-dir', empty]);
    expect(all.code, all.stdout + all.stderr).toBe(0);
    expect(all.stdout).toContain('no translation cache at');
    const alone = await runCli(['sync', '--translations', '--data-dir', empty]);
    expect(alone.code).toBe(5);
    expect(alone.stderr).toContain('hint: point --data-dir');
  });
});

describe('partial recovery, as in the guide', () => {
  it('rebuilds every DTC node and point from PostgreSQL alone, field by field, with the model’s vectors', async () => {
    await seed(stores, SCALE, SEED);
    const seededGraph = await dtcGraph();
    const seededPoints = await dtcPoints();
    await stores.set.neo4j.empty();
    await stores.set.qdrant.empty();

    const synced = await runCli([
      'sync',
      '--postgres-neo4j',
      '--postgres-qdrant',
      '--force',
      '--format',
      'json',
    ]);
    expect(synced.code, synced.stderr).toBe(0);
    const { result, report } = await verifyReport('recovered.json');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(report.is_consistent).toBe(true);

    const rows = await pgRows();
    expect(await dtcGraph()).toEqual(seededGraph);
    const points = await dtcPoints();
    expect(points.size).toBe(rows.length);
    const texts = rows.map((r) => embeddingText(canonicalDtc(r)));
    const vectors = await provider.embed(texts);
    rows.forEach((row, i) => {
      const code = String(row.code);
      const p = points.get(code);
      const seeded = seededPoints.get(code);
      expect(String(p?.id)).toBe(pointId('dtc', code).toString());
      const { _embedding_model_version: model, _embedding_text_sha256: hash, ...payload } = p?.payload ?? {};
      expect(payload).toEqual(seeded?.payload);
      expect([model, hash]).toEqual([provider.model, sha256Hex(texts[i] ?? '')]);
      const expected = Array.from(vectors[i] ?? []);
      expect(p?.vector.length).toBe(expected.length);
      p?.vector.forEach((v, k) => expect(Math.abs(v - (expected[k] ?? NaN))).toBeLessThan(1e-6));
    });
  });
});

describe('--verify', () => {
  it('finds nothing on consistent stores, untranslated codes included', async () => {
    await seed(stores, SCALE, SEED);
    const untranslated = await stores.postgres.query(
      'SELECT count(*) AS n FROM dtc_codes WHERE description_hu IS NULL',
    );
    expect(Number(untranslated.rows[0]?.n)).toBeGreaterThan(0);
    const { result, report } = await verifyReport('consistent.json');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(report.is_consistent).toBe(true);
    expect(Object.values(report.issue_counts).every((n) => n === 0)).toBe(true);
  });

  it('lists each crafted inconsistency exactly once, sorted, with exit 10', async () => {
    await seed(stores, SCALE, SEED);
    const codes = (await pgRows()).map((r) => String(r.code));
    const pick = (i: number) => codes[i] as string;
    await cypher('MATCH (n:DTC {code: $c}) DETACH DELETE n', { c: pick(1) });
    await stores.qdrant.request('POST', `/collections/${AUTOCOGNITIX_COLLECTION}/points/delete?wait=true`, {
      body: { points: [pointId('dtc', pick(2))] },
    });
    await cypher("CREATE (:DTC {code: 'P9ZZZ', description_en: 'x', category: 'powertrain'})");
    const [vector] = await provider.embed(['x']);
    await stores.qdrant.request('PUT', `/collections/${AUTOCOGNITIX_COLLECTION}/points?wait=true`, {
      body: {
        points: [
          {
            id: pointId('dtc', 'P9ZZY'),
            vector: Array.from(vector ?? []),
            payload: { type: 'dtc', code: 'P9ZZY' },
          },
        ],
      },
    });
    await cypher("MATCH (n:DTC {code: $c}) SET n.severity = 'wrong'", { c: pick(3) });
    const linked = (
      await stores.postgres.query<{ code: string; r: string }>(
        'SELECT code, related_codes[1] AS r FROM dtc_codes WHERE cardinality(related_codes) > 0 AND related_codes[1] = ANY(SELECT code FROM dtc_codes) AND code <> ALL($1) ORDER BY code LIMIT 1',
        [[pick(1), pick(3)]],
      )
    ).rows[0];
    if (!linked) throw new Error('the seed has no RELATED_TO to remove');
    await cypher('MATCH (:DTC {code: $a})-[r:RELATED_TO]->(:DTC {code: $b}) DELETE r', {
      a: linked.code,
      b: linked.r,
    });
    await stores.qdrant.request('POST', `/collections/${AUTOCOGNITIX_COLLECTION}/points/payload?wait=true`, {
      body: { points: [pointId('dtc', pick(4))], payload: { category: 'wrong' } },
    });
    await stores.qdrant.request('POST', `/collections/${AUTOCOGNITIX_COLLECTION}/points/payload?wait=true`, {
      body: {
        points: [pointId('dtc', pick(5))],
        payload: { _embedding_text_sha256: sha256Hex('another text') },
      },
    });
    await writeCache({
      [pick(6)]: { translation: 'Nem alkalmazott fordítás' },
      P9ZZX: 'ismeretlen',
      [pick(8)]: 42,
    });
    // '' is a value, NULL is not: an untranslated code whose node holds '' differs.
    const untranslated = (
      await stores.postgres.query<{ code: string }>(
        'SELECT code FROM dtc_codes WHERE description_hu IS NULL AND code <> ALL($1) ORDER BY code LIMIT 1',
        [[1, 2, 3, 4, 5, 6, 8].map(pick).concat(linked.code)],
      )
    ).rows[0]?.code as string;
    await cypher("MATCH (n:DTC {code: $c}) SET n.description_hu = ''", { c: untranslated });

    const { result, report } = await verifyReport('crafted.json');
    expect(result.code).toBe(10);
    expect(report.is_consistent).toBe(false);
    const codesOf = (kind: string) =>
      report.issues[kind]?.map((e) => (typeof e === 'string' ? e : (e as { code: string }).code));
    expect(codesOf('missing_in_neo4j')).toEqual([pick(1)]);
    expect(codesOf('missing_in_qdrant')).toEqual([pick(2)]);
    expect(codesOf('missing_in_postgres')).toEqual(['P9ZZY', 'P9ZZZ']);
    expect(codesOf('extra_in_neo4j')).toEqual(['P9ZZZ']);
    expect(codesOf('extra_in_qdrant')).toEqual(['P9ZZY']);
    const mismatches = [
      {
        code: pick(3),
        source: 'postgres_vs_neo4j',
        fields: { severity: { postgres: expect.any(String), neo4j: 'wrong' } },
      },
      {
        code: untranslated,
        source: 'postgres_vs_neo4j',
        fields: { description_hu: { postgres: null, neo4j: '' } },
      },
    ].sort((a, b) => (a.code < b.code ? -1 : 1));
    expect(report.issues.content_mismatches).toEqual(mismatches);
    expect(codesOf('translation_cache_invalid_entries')).toEqual([pick(8)]);
    expect(report.issues.relationship_mismatches).toEqual([
      { code: linked.code, missing: [linked.r], extra: [] },
    ]);
    expect(report.issues.payload_mismatches).toEqual([
      { code: pick(4), fields: { category: { postgres: expect.any(String), qdrant: 'wrong' } } },
    ]);
    expect(codesOf('vector_issues')).toEqual([pick(5)]);
    expect(codesOf('translation_mismatches')).toEqual([pick(6)]);
    expect(codesOf('translation_cache_unknown_codes')).toEqual(['P9ZZX']);
    for (const [kind, list] of Object.entries(report.issues))
      expect(report.issue_counts[kind], kind).toBe(list.length);
    await rm(join(work, 'data'), { recursive: true, force: true });
  });
});

describe('--translations', () => {
  it('updates all three stores from the cache and re-embeds only the changed points', async () => {
    await seed(stores, SCALE, SEED);
    const rows = await pgRows();
    const untranslated = rows.find((r) => r.description_hu === null)?.code as string;
    const translated = rows.find((r) => typeof r.description_hu === 'string' && r.description_hu !== '')
      ?.code as string;
    await writeCache({
      [untranslated]: 'Új magyar leírás',
      [translated]: { translation: 'Felülírt leírás' },
      P9ZZX: 'ismeretlen kód',
      [String(rows[10]?.code)]: 42,
    });
    // Points with the model's vectors first, so that re-embedding is visible.
    expect((await runCli(['sync', '--postgres-qdrant', '--force'])).code).toBe(0);

    const first = await runCli([
      'sync',
      '--translations',
      '--data-dir',
      join(work, 'data'),
      '--format',
      'json',
    ]);
    const summary = JSON.parse(first.stdout) as {
      directions: {
        target: string;
        created: number;
        updated: number;
        different: number;
        embeddings: number;
        rejected: unknown[];
        skipped: unknown[];
      }[];
    };
    const [pg, graph, vectors] = summary.directions;
    expect([pg?.created, pg?.updated, pg?.different, pg?.rejected.length, pg?.skipped.length]).toEqual([
      1, 0, 1, 1, 1,
    ]);
    expect(first.code).toBe(3);
    expect(graph?.updated).toBe(1);
    expect([vectors?.updated, vectors?.embeddings]).toEqual([1, 1]);
    const hu = async (code: string) => ({
      pg: (await stores.postgres.query('SELECT description_hu FROM dtc_codes WHERE code = $1', [code]))
        .rows[0]?.description_hu,
      neo4j: (await cypher('MATCH (n:DTC {code: $c}) RETURN n.description_hu AS d', { c: code }))[0]?.d,
      qdrant: (await dtcPoints()).get(code)?.payload.description,
    });
    expect(await hu(untranslated)).toEqual({
      pg: 'Új magyar leírás',
      neo4j: 'Új magyar leírás',
      qdrant: 'Új magyar leírás',
    });

    const forced = await runCli([
      'sync',
      '--translations',
      '--force',
      '--data-dir',
      join(work, 'data'),
      '--format',
      'json',
    ]);
    const again = JSON.parse(forced.stdout) as typeof summary;
    expect([again.directions[0]?.updated, again.directions[2]?.embeddings]).toEqual([1, 1]);
    expect(await hu(translated)).toEqual({
      pg: 'Felülírt leírás',
      neo4j: 'Felülírt leírás',
      qdrant: 'Felülírt leírás',
    });
    await rm(join(work, 'data'), { recursive: true, force: true });
  });
});
