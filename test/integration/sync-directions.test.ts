/**
 * Each sync direction on the live stack with crafted differences (docs/design.md §10.3): exactly the
 * documented writes, with and without --force; --dry-run counts the same and changes nothing; --prune
 * deletes what only the target holds; --all --force twice reaches a fixed point with no embedding.
 * Content is read back through each store's own SDK, not through the code under test.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { providerFromEnv } from '../../src/embeddings/from-env.ts';
import type { EmbeddingProvider } from '../../src/embeddings/embedding-provider.ts';
import { labelMap } from '../../src/model/labels.ts';
import { AUTOCOGNITIX_COLLECTION, pointId } from '../../src/model/qdrant-model.ts';
import { runSync, type SyncDirection, type SyncSummary } from '../../src/operations/sync/sync.ts';
import { verifyStores } from '../../src/operations/sync/sync-verify.ts';
import { seedStores } from '../../src/operations/seed.ts';
import { silentReporter } from '../../src/progress.ts';
import { fingerprint, openTestStores, seed, type TestStores } from '../support/stores.ts';

const SCALE = 0.01; // 70 codes
const SEED = 4242;
const labels = labelMap('production');

let stores: TestStores;
let provider: EmbeddingProvider;

function sync(
  directions: SyncDirection[],
  flags: { force?: boolean; dryRun?: boolean; prune?: boolean } = {},
): Promise<SyncSummary> {
  return runSync({
    directions,
    stores: stores.set,
    labels,
    force: flags.force ?? false,
    dryRun: flags.dryRun ?? false,
    prune: flags.prune ?? false,
    batchSize: 16,
    dataDir: '/nonexistent',
    embeddings: provider,
    reporter: silentReporter,
  });
}

async function cypher(query: string, params: Record<string, unknown> = {}) {
  const { records } = await stores.neo4j.driver.executeQuery(query, params, {
    database: stores.neo4j.database,
  });
  return records.map((r) => r.toObject());
}

async function codes(): Promise<string[]> {
  const { rows } = await stores.postgres.query<{ code: string }>('SELECT code FROM dtc_codes ORDER BY code');
  return rows.map((r) => r.code);
}

async function nodeProps(code: string): Promise<Record<string, unknown> | undefined> {
  const rows = await cypher('MATCH (n:DTC {code: $code}) RETURN properties(n) AS p', { code });
  return rows[0]?.p as Record<string, unknown> | undefined;
}

async function relatedOf(code: string): Promise<string[]> {
  const rows = await cypher(
    'MATCH (:DTC {code: $code})-[:RELATED_TO]->(b:DTC) RETURN b.code AS c ORDER BY c',
    {
      code,
    },
  );
  return rows.map((r) => r.c as string);
}

async function point(
  code: string,
): Promise<{ payload: Record<string, unknown>; vector: number[] } | undefined> {
  const points = await stores.qdrant.request<{ payload: Record<string, unknown>; vector: number[] }[]>(
    'POST',
    `/collections/${AUTOCOGNITIX_COLLECTION}/points`,
    { body: { ids: [pointId('dtc', code)], with_payload: true, with_vector: true } },
  );
  return points[0];
}

const only = (s: SyncSummary) => {
  const d = s.directions[0];
  if (!d) throw new Error('no direction in the summary');
  expect(d.failure).toBeUndefined();
  return d;
};

beforeAll(async () => {
  stores = await openTestStores();
  const configured = providerFromEnv(process.env);
  if (!configured) throw new Error('the stack exports no embedding provider (npm run -s stack:env)');
  provider = configured;
});

afterAll(async () => {
  await provider?.close();
  await stores?.close();
});

describe('PostgreSQL → Neo4j', () => {
  let all: string[];
  beforeEach(async () => {
    await seed(stores, SCALE, SEED);
    all = await codes();
  });

  it('creates what is missing, rewrites what differs only with --force, reports extras, and --dry-run counts the same', async () => {
    const [changed, stale, emptied, deleted, withLink] = all.filter((c, i) => i % 7 === 3) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const pgLinks = await stores.postgres.query<{ related_codes: string[] }>(
      'SELECT related_codes FROM dtc_codes WHERE code = $1',
      [withLink],
    );
    const linkTarget = pgLinks.rows[0]?.related_codes.find((c) => c !== withLink && all.includes(c));
    await stores.postgres.query('UPDATE dtc_codes SET system = NULL WHERE code = $1', [stale]);
    await cypher("MATCH (n:DTC {code: $c}) SET n.severity = 'critical-x'", { c: changed });
    await cypher("MATCH (n:DTC {code: $c}) SET n.system = 'stale system'", { c: stale });
    await cypher('MATCH (n:DTC {code: $c}) SET n.symptoms = []', { c: emptied });
    await cypher('MATCH (n:DTC {code: $c}) DETACH DELETE n', { c: deleted });
    await cypher("CREATE (:DTC {code: 'P9ZZZ', description_en: 'only in Neo4j', category: 'powertrain'})");
    expect(linkTarget, 'the seed gives this code a RELATED_TO to remove').toBeDefined();
    if (linkTarget)
      await cypher('MATCH (:DTC {code: $a})-[r:RELATED_TO]->(:DTC {code: $b}) DELETE r', {
        a: withLink,
        b: linkTarget,
      });
    const extraLink = [all[0], all[1]] as [string, string];
    await cypher('MATCH (a:DTC {code: $a}), (b:DTC {code: $b}) MERGE (a)-[:RELATED_TO]->(b)', {
      a: extraLink[0],
      b: extraLink[1],
    });
    const pgRelated = await stores.postgres.query<{ related_codes: string[] }>(
      'SELECT related_codes FROM dtc_codes WHERE code = $1',
      [extraLink[0]],
    );
    const extraIsExpected = pgRelated.rows[0]?.related_codes.includes(extraLink[1]) ?? false;
    expect(extraIsExpected, 'the crafted extra RELATED_TO is not one PostgreSQL lists').toBe(false);
    const deletedLinks =
      (
        await stores.postgres.query<{ related_codes: string[] }>(
          'SELECT related_codes FROM dtc_codes WHERE code = $1',
          [deleted],
        )
      ).rows[0]?.related_codes.filter((c) => all.includes(c)).length ?? 0;
    const incoming = (
      await stores.postgres.query<{ n: string }>(
        'SELECT count(*) AS n FROM dtc_codes WHERE $1 = ANY(related_codes) AND code <> $1',
        [deleted],
      )
    ).rows[0]?.n;

    const before = await fingerprint(stores);
    const dry = only(await sync(['postgres-neo4j'], { dryRun: true }));
    expect(await fingerprint(stores)).toEqual(before);

    const real = only(await sync(['postgres-neo4j']));
    for (const d of [dry, real]) {
      expect(d.checked).toBe(all.length);
      expect(d.created).toBe(1);
      expect(d.updated).toBe(0);
      expect(d.different).toBe(3);
      expect(d.unchanged).toBe(all.length - 4);
      expect(d.extra).toBe(1);
      expect(d.extraCodes).toEqual(['P9ZZZ']);
    }
    expect(real.linksCreated).toBe(dry.linksCreated);
    expect(real.linksCreated).toBe(deletedLinks + Number(incoming) + (linkTarget ? 1 : 0));
    expect(real.extraLinks).toBe(extraIsExpected ? 0 : 1);
    expect((await nodeProps(changed))?.severity).toBe('critical-x');
    expect((await nodeProps(deleted))?.code).toBe(deleted);
    if (linkTarget) expect(await relatedOf(withLink)).toContain(linkTarget);

    const forced = only(await sync(['postgres-neo4j'], { force: true }));
    expect([forced.created, forced.updated, forced.different, forced.extra]).toEqual([0, 3, 0, 1]);
    const pgRow = (await stores.postgres.query('SELECT * FROM dtc_codes WHERE code = $1', [changed]))
      .rows[0] as Record<string, unknown>;
    expect((await nodeProps(changed))?.severity).toBe(pgRow.severity);
    expect(await nodeProps(stale)).not.toHaveProperty('system');
    expect(((await nodeProps(emptied))?.symptoms as unknown[]).length).toBeGreaterThan(0);
    expect(await nodeProps('P9ZZZ')).toBeDefined();

    const again = only(await sync(['postgres-neo4j'], { force: true }));
    expect([again.created, again.updated, again.linksCreated]).toEqual([0, 0, 0]);

    const pruned = only(await sync(['postgres-neo4j'], { prune: true }));
    expect(pruned.pruned).toBe(1);
    expect(await nodeProps('P9ZZZ')).toBeUndefined();
    if (!extraIsExpected) expect(await relatedOf(extraLink[0])).not.toContain(extraLink[1]);
  });
});

describe('PostgreSQL → Qdrant', () => {
  let all: string[];
  beforeEach(async () => {
    await seed(stores, SCALE, SEED);
    all = await codes();
  });

  it('embeds only what it writes; a payload change keeps the vector, a text change re-embeds; extras are kept until --prune', async () => {
    // The seeded points' vectors are stand-ins: --force rewrites every point once, with the model's vectors.
    const first = only(await sync(['postgres-qdrant'], { force: true }));
    expect(first.updated).toBe(all.length);
    expect(first.embeddings).toBe(all.length);
    const [payloadOnly, textChange, deleted] = [all[2], all[5], all[9]] as [string, string, string];
    const kept = (await point(payloadOnly))?.vector;
    const oldText = (await point(textChange))?.vector;
    await stores.postgres.query("UPDATE dtc_codes SET system = 'Teszt rendszer' WHERE code = $1", [
      payloadOnly,
    ]);
    await stores.postgres.query("UPDATE dtc_codes SET description_hu = 'Új leírás' WHERE code = $1", [
      textChange,
    ]);
    await stores.qdrant.request('POST', `/collections/${AUTOCOGNITIX_COLLECTION}/points/delete?wait=true`, {
      body: { points: [pointId('dtc', deleted)] },
    });
    await stores.qdrant.request('PUT', `/collections/${AUTOCOGNITIX_COLLECTION}/points?wait=true`, {
      body: { points: [{ id: 12345, vector: kept, payload: { type: 'dtc', code: 'P9ZZZ' } }] },
    });

    const before = await fingerprint(stores);
    const dry = only(await sync(['postgres-qdrant'], { dryRun: true }));
    expect(await fingerprint(stores)).toEqual(before);
    const real = only(await sync(['postgres-qdrant']));
    for (const d of [dry, real]) {
      expect([d.created, d.updated, d.different, d.extra, d.embeddings]).toEqual([1, 0, 2, 1, 1]);
    }
    const forced = only(await sync(['postgres-qdrant'], { force: true }));
    expect([forced.created, forced.updated, forced.embeddings]).toEqual([0, 2, 1]);
    const payloadPoint = await point(payloadOnly);
    expect(payloadPoint?.payload.system).toBe('Teszt rendszer');
    expect(payloadPoint?.vector).toEqual(kept);
    const textPoint = await point(textChange);
    expect(textPoint?.payload.description).toBe('Új leírás');
    expect(textPoint?.vector).not.toEqual(oldText);

    const again = only(await sync(['postgres-qdrant'], { force: true }));
    expect([again.created, again.updated, again.embeddings]).toEqual([0, 0, 0]);
    const pruned = only(await sync(['postgres-qdrant'], { prune: true }));
    expect(pruned.pruned).toBe(1);
    expect(pruned.extraCodes).toEqual(['P9ZZZ (point 12345)']);
  });
});

describe('Neo4j → PostgreSQL', () => {
  it('inserts only the codes PostgreSQL lacks, with valid NOT NULL values, and never overwrites', async () => {
    await seed(stores, SCALE, SEED);
    const all = await codes();
    const removed = all[4] as string;
    await stores.postgres.query('DELETE FROM vehicle_dtc_frequency WHERE dtc_code = $1', [removed]);
    await stores.postgres
      .query('DELETE FROM dtc_recall_correlations WHERE dtc_code = $1', [removed])
      .catch(() => undefined);
    await stores.postgres
      .query('DELETE FROM dtc_complaint_correlations WHERE dtc_code = $1', [removed])
      .catch(() => undefined);
    const { rows: gone } = await stores.postgres.query('DELETE FROM dtc_codes WHERE code = $1 RETURNING *', [
      removed,
    ]);
    await cypher("CREATE (:DTC {code: 'B1ABC', description_en: 'Neo4j only'})");
    await cypher("CREATE (:DTC {code: 'C1ABD'})");
    await cypher("MATCH (n:DTC {code: $c}) SET n.severity = 'neo4j-value'", { c: all[0] });

    const before = await fingerprint(stores);
    const dry = only(await sync(['neo4j-postgres'], { dryRun: true }));
    expect(await fingerprint(stores)).toEqual(before);
    const real = only(await sync(['neo4j-postgres']));
    for (const d of [dry, real]) {
      expect(d.created).toBe(2);
      expect(d.different).toBe(1);
      expect(d.rejected).toEqual([{ code: 'C1ABD', reason: expect.stringContaining('description_en') }]);
    }
    const back = (await stores.postgres.query('SELECT * FROM dtc_codes WHERE code = $1', [removed]))
      .rows[0] as Record<string, unknown>;
    const original = gone[0] as Record<string, unknown>;
    for (const f of [
      'description_en',
      'description_hu',
      'category',
      'severity',
      'is_generic',
      'symptoms',
      'related_codes',
    ])
      expect(back[f], f).toEqual(original[f]);
    expect(back.created_at).toEqual(original.created_at);
    const made = (await stores.postgres.query('SELECT * FROM dtc_codes WHERE code = $1', ['B1ABC']))
      .rows[0] as Record<string, unknown>;
    expect([made.category, made.severity, made.is_generic, made.symptoms]).toEqual([
      'body',
      'medium',
      true,
      null,
    ]);
    const kept = (await stores.postgres.query('SELECT severity FROM dtc_codes WHERE code = $1', [all[0]]))
      .rows[0];
    expect(kept?.severity).not.toBe('neo4j-value');
    const again = only(await sync(['neo4j-postgres']));
    expect(again.created).toBe(0);
  });
});

describe('--all --force', () => {
  it('reaches a fixed point with every direction: the second run writes nothing and computes no embedding', async () => {
    await seed(stores, SCALE, SEED);
    const all = await codes();
    await cypher('MATCH (n:DTC) WITH n ORDER BY n.code LIMIT 5 DETACH DELETE n');
    // A code only Neo4j holds, with what a row needs: --all brings it into PostgreSQL before comparing.
    await cypher(
      "CREATE (:DTC {code: 'B1ABC', description_en: 'Neo4j only', category: 'body', symptoms: ['zaj'], related_codes: [$r]})",
      { r: all[7] },
    );
    await stores.postgres.query(
      'UPDATE dtc_codes SET description_hu = NULL WHERE code IN (SELECT code FROM dtc_codes ORDER BY code LIMIT 3)',
    );
    const dataDir = await mkdtemp(join(tmpdir(), 'acx-sync-cache-'));
    await mkdir(join(dataDir, 'dtc_codes'));
    await writeFile(
      join(dataDir, 'dtc_codes', 'translation_cache.json'),
      JSON.stringify({
        [all[0] as string]: 'Fordítás',
        [all[20] as string]: { translation: 'Másik fordítás' },
      }),
    );
    try {
      const run = () =>
        runSync({
          directions: ['postgres-neo4j', 'postgres-qdrant', 'neo4j-postgres', 'translations'],
          stores: stores.set,
          labels,
          force: true,
          dryRun: false,
          prune: true,
          batchSize: 16,
          dataDir,
          embeddings: provider,
          reporter: silentReporter,
        });
      const first = await run();
      expect(first.outcome).toBe('complete');
      expect(first.directions.map((d) => d.direction)).toEqual([
        'neo4j-postgres',
        'translations',
        'translations',
        'translations',
        'postgres-neo4j',
        'postgres-qdrant',
      ]);
      expect(first.directions[0]?.created).toBe(1);
      expect(first.directions.every((d) => d.pruned === 0)).toBe(true);
      const between = await fingerprint(stores);
      const second = await run();
      expect(second.outcome).toBe('complete');
      for (const d of second.directions)
        expect([d.direction, d.created, d.updated, d.linksCreated, d.pruned, d.embeddings]).toEqual([
          d.direction,
          0,
          0,
          0,
          0,
          0,
        ]);
      expect(await fingerprint(stores)).toEqual(between);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('--label-scheme legacy', () => {
  it('writes DTCNode nodes as neomodel did (is_generic as text, related_codes only as relationships) and verifies them', async () => {
    const legacy = labelMap('legacy');
    await seedStores(stores.set, { scale: SCALE, seed: SEED, force: true, labels: legacy });
    await stores.set.neo4j.empty();
    const base = {
      stores: stores.set,
      labels: legacy,
      batchSize: 16,
      dataDir: '/nonexistent',
      reporter: silentReporter,
    };
    const summary = await runSync({
      ...base,
      directions: ['postgres-neo4j'],
      force: false,
      dryRun: false,
      prune: false,
    });
    expect(summary.outcome).toBe('complete');
    const rows = await cypher('MATCH (n:DTCNode) RETURN properties(n) AS p ORDER BY n.code');
    expect(rows).toHaveLength((await codes()).length);
    const first = rows[0]?.p as Record<string, unknown>;
    expect(typeof first.is_generic).toBe('string');
    expect(first).not.toHaveProperty('related_codes');
    expect((await cypher('MATCH (:DTC) RETURN count(*) AS n'))[0]?.n.toNumber()).toBe(0);
    const related = await cypher('MATCH (:DTCNode)-[r:RELATED_TO]->(:DTCNode) RETURN count(r) AS n');
    expect(related[0]?.n.toNumber()).toBeGreaterThan(0);
    const verified = await verifyStores(base);
    expect(verified.issue_counts).toMatchObject({
      missing_in_neo4j: 0,
      content_mismatches: 0,
      relationship_mismatches: 0,
    });
  });
});
