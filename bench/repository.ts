/**
 * Repository format 2 (design §11): what deduplication and `--incremental` save, at several scales, all
 * through the real CLI (`acx-data backup … --format json`), each backup under `/usr/bin/time -v`.
 *
 *   npx node bench/repository.ts --scales 1,5 [--small-chunks-scales 1] [--out bench/results] [--keep]
 *   npx node bench/repository.ts --from-json bench/results/repository-<date>.json   (re-render only)
 *
 * Per scale, on freshly seeded stores (`seed --scale S --seed 1 --force`):
 *  1. a full backup `--format-version 1` into its own directory (the before);
 *  2. a full format-2 backup into a new repository (the after: binary vectors, chunks, dedup);
 *  3. a second full format-2 backup, nothing changed (bytes added: target ≤ 1 % of the first's);
 *  4. `--incremental`, nothing changed (PostgreSQL and Neo4j read time ≤ 15 % of the full's; bytes ≤ 1 %);
 *     the repository is then copied, so that step 7 has a parent from before the change;
 *  5. 1 % of the rows of every PostgreSQL table, 1 % of the Neo4j nodes and 1 % of every collection's
 *     points changed at random (plus a few inserts and deletes), written with SQL, Cypher and Qdrant's
 *     HTTP API directly;
 *  6. a full format-2 backup (bytes added: target ≤ 5 %);
 *  7. `--incremental` in the copy made at step 4 (its parent is the unchanged snapshot: bytes added, time).
 * At `--small-chunks-scales` a third repository whose config.json is written before its first backup
 * with chunker sizes 1024/4096/32768 (the config is read as-is; no product change) gets a full backup
 * before the change and one after: the same "bytes added" with smaller chunks.
 *
 * Per-store seconds are the manifest's read times (the stores are read in parallel). "Bytes added" is
 * the summary's `stored.addedBytes` (packs and index files the repository gained). Peak RSS is each
 * backup process's (`time -v`). Writes bench/results/repository-<date>.md and .json.
 */
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openAllStores } from '../src/operations/open-stores.ts';
import { connectionsOf } from '../test/support/stores.ts';
import { seededRandom as prng } from '../test/support/random.ts';
import {
  guardStack,
  loadAverage,
  machineNotes,
  machineNotesMarkdown,
  markdownTable,
  measureAcx,
  mib,
  option,
  prettierWrite,
  ratio,
  root,
  secs,
  today,
  type MachineNotes,
  type Measured,
} from './lib.ts';
import { countStores, type StoreCounts } from './stores.ts';

interface BackupJson {
  id: string;
  bytes: number;
  seconds: number;
  stores: Record<string, { records: number; bytes: number; seconds: number }>;
  stored?: { addedBytes: number; newBytes: number; reusedBytes: number };
  parent?: string;
}

type Run = Omit<Measured, 'stdout'>;

interface Step {
  key: StepKey;
  label: string;
  run: Run;
  summary: BackupJson;
  /** Size of every file under the backup directory after the step. */
  repositoryBytes: number;
}

type StepKey = 'v1' | 'full' | 'fullAgain' | 'incremental' | 'fullChanged' | 'incrementalChanged';

interface ChangeCounts {
  postgres: { tables: number; updated: number; inserted: number; deleted: number; notUpdated: string[] };
  neo4j: { nodes: number; updated: number; inserted: number; deleted: number };
  qdrant: { collections: number; updated: number; inserted: number; deleted: number };
}

interface SmallChunks {
  chunker: { minSize: number; avgSize: number; maxSize: number };
  full: Step;
  fullChanged: Step;
}

interface ScaleResult {
  scale: number;
  counts: StoreCounts;
  seed: Run;
  steps: Step[];
  changes: ChangeCounts;
  smallChunks?: SmallChunks;
}

interface Results {
  machine: MachineNotes;
  results: ScaleResult[];
}

const SMALL_CHUNKER = { minSize: 1024, avgSize: 4096, maxSize: 32768 };
/** Share of records changed in step 5, and the inserts and deletes per table, label and collection. */
const CHANGE_SHARE = 0.01;
const FEW = 2;

const strip = ({ stdout: _stdout, ...run }: Measured): Run => run;

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += dirBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

interface ColumnInfo {
  name: string;
  type: string;
  hasDefault: boolean;
  generated: boolean;
  keyed: boolean;
}

/** How each kind of column is changed; the first kind that the table's constraints accept is used. */
function changeExpression(column: ColumnInfo): string | undefined {
  const c = quoteIdent(column.name);
  if (['text', 'character varying'].includes(column.type)) return `${c} = coalesce(${c}, '') || '~'`;
  if (['integer', 'bigint', 'smallint', 'numeric', 'double precision', 'real'].includes(column.type))
    return `${c} = coalesce(${c}, 0) + 1`;
  if (column.type.startsWith('timestamp') || column.type === 'date')
    return `${c} = coalesce(${c}, now()) + interval '1 day'`;
  if (column.type === 'boolean') return `${c} = NOT coalesce(${c}, false)`;
  if (column.type === 'jsonb') return `${c} = coalesce(${c}, '{}'::jsonb) || '{"bench":1}'::jsonb`;
  return undefined;
}

/**
 * PostgreSQL: in every table, 1 % of the rows (at least one), chosen at random, get one column changed
 * (the first non-key column whose change the constraints accept); then up to FEW random rows are copied
 * as new rows (tables whose key has a default) and FEW deleted (where no foreign key refuses it).
 */
async function changePostgres(env: NodeJS.ProcessEnv): Promise<ChangeCounts['postgres']> {
  const stores = connectionsOf(await openAllStores(env));
  const client = await stores.postgres.connect();
  const counts: ChangeCounts['postgres'] = { tables: 0, updated: 0, inserted: 0, deleted: 0, notUpdated: [] };
  try {
    await client.query('BEGIN');
    await client.query('SELECT setseed(0.42)');
    const tables = await client.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1, 2`,
    );
    for (const { schema, name } of tables.rows) {
      counts.tables++;
      const table = `${quoteIdent(schema)}.${quoteIdent(name)}`;
      const columns = (
        await client.query<ColumnInfo>(
          `SELECT c.column_name AS name, c.data_type AS type, c.column_default IS NOT NULL OR c.is_identity = 'YES' AS "hasDefault",
                  c.is_generated = 'ALWAYS' AS generated,
                  EXISTS (SELECT 1 FROM information_schema.key_column_usage k
                           WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name
                             AND k.column_name = c.column_name) AS keyed
             FROM information_schema.columns c
            WHERE c.table_schema = $1 AND c.table_name = $2 ORDER BY c.ordinal_position`,
          [schema, name],
        )
      ).rows;
      const rows = Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
      const pick = Math.max(1, Math.round(rows * CHANGE_SHARE));
      let updated = false;
      for (const column of columns.filter((c) => !c.keyed && !c.generated)) {
        const set = changeExpression(column);
        if (!set) continue;
        await client.query('SAVEPOINT change');
        try {
          const result = await client.query(
            `UPDATE ${table} SET ${set} WHERE ctid IN (SELECT ctid FROM ${table} ORDER BY random() LIMIT ${pick})`,
          );
          counts.updated += result.rowCount ?? 0;
          updated = true;
          await client.query('RELEASE SAVEPOINT change');
          break;
        } catch {
          await client.query('ROLLBACK TO SAVEPOINT change');
        }
      }
      if (!updated) counts.notUpdated.push(name);
      // Inserts: copies of random rows, the key left to its default.
      const keyHasDefault = columns.some((c) => c.keyed && c.hasDefault);
      const copied = columns
        .filter((c) => !c.generated && !(c.keyed && c.hasDefault))
        .map((c) => quoteIdent(c.name));
      if (keyHasDefault && copied.length > 0) {
        await client.query('SAVEPOINT change');
        try {
          const list = copied.join(', ');
          const result = await client.query(
            `INSERT INTO ${table} (${list}) SELECT ${list} FROM ${table} ORDER BY random() LIMIT ${FEW}`,
          );
          counts.inserted += result.rowCount ?? 0;
          await client.query('RELEASE SAVEPOINT change');
        } catch {
          await client.query('ROLLBACK TO SAVEPOINT change');
        }
      }
      await client.query('SAVEPOINT change');
      try {
        const result = await client.query(
          `DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} ORDER BY random() LIMIT ${FEW})`,
        );
        counts.deleted += result.rowCount ?? 0;
        await client.query('RELEASE SAVEPOINT change');
      } catch {
        await client.query('ROLLBACK TO SAVEPOINT change');
      }
    }
    await client.query('COMMIT');
    return counts;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
    await stores.close();
  }
}

/** Neo4j: 1 % of the nodes, at random, get a property changed (added); FEW nodes created, FEW deleted. */
async function changeNeo4j(env: NodeJS.ProcessEnv, random: () => number): Promise<ChangeCounts['neo4j']> {
  const stores = connectionsOf(await openAllStores(env));
  const { driver, database } = stores.neo4j;
  try {
    const run = async (query: string, params: Record<string, unknown> = {}) =>
      driver.executeQuery(query, params, { database });
    const ids = (await run('MATCH (n) RETURN elementId(n) AS id ORDER BY id')).records.map(
      (r) => r.get('id') as string,
    );
    const picked = sample(ids, Math.max(1, Math.round(ids.length * CHANGE_SHARE)) + FEW, random);
    const toUpdate = picked.slice(0, picked.length - FEW);
    const toDelete = picked.slice(picked.length - FEW);
    const updated = await run(
      `UNWIND $ids AS id MATCH (n) WHERE elementId(n) = id
        SET n.benchNote = 'changed by bench/repository.ts ' + id RETURN count(n) AS n`,
      { ids: toUpdate },
    );
    const deleted = await run(
      'UNWIND $ids AS id MATCH (n) WHERE elementId(n) = id DETACH DELETE n RETURN count(*) AS n',
      { ids: toDelete },
    );
    const inserted = await run(
      'UNWIND range(1, $few) AS i CREATE (n:BenchInsert {i: i, note: $note}) RETURN count(n) AS n',
      { few: FEW, note: `inserted ${new Date().toISOString()}` },
    );
    const n = (r: Awaited<ReturnType<typeof run>>) => Number(r.records[0]?.get('n') ?? 0);
    return { nodes: ids.length, updated: n(updated), inserted: n(inserted), deleted: n(deleted) };
  } finally {
    await stores.close();
  }
}

function sample<T>(items: readonly T[], k: number, random: () => number): T[] {
  const copy = [...items];
  const n = Math.min(k, copy.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

/**
 * Qdrant, through its HTTP API: in every collection 1 % of the points, at random, get a payload field
 * set; FEW points are deleted and FEW inserted (copies of random points' vectors and payloads, new ids).
 */
export async function changeQdrant(
  env: NodeJS.ProcessEnv,
  random: () => number,
): Promise<ChangeCounts['qdrant']> {
  const base = env.QDRANT_URL ?? `http://${env.QDRANT_HOST ?? 'localhost'}:${env.QDRANT_PORT ?? '6333'}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (env.QDRANT_API_KEY) headers['api-key'] = env.QDRANT_API_KEY;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body).replace(/"#(\d+)"/g, '$1'),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`Qdrant ${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    // Point ids may exceed 2^53: they travel as "#<digits>" strings here, as raw integers on the wire.
    return (JSON.parse(text.replace(/("id"|"next_page_offset"):(\d+)/g, '$1:"#$2"')) as { result: T }).result;
  };
  const counts: ChangeCounts['qdrant'] = { collections: 0, updated: 0, inserted: 0, deleted: 0 };
  const { collections } = await call<{ collections: { name: string }[] }>('GET', '/collections');
  for (const { name } of collections) {
    counts.collections++;
    const path = `/collections/${encodeURIComponent(name)}`;
    const ids: Array<string | number> = [];
    let offset: string | number | null = null;
    do {
      const page: { points: { id: string | number }[]; next_page_offset: string | number | null } =
        await call('POST', `${path}/points/scroll`, {
          limit: 5000,
          with_payload: false,
          with_vector: false,
          ...(offset === null ? {} : { offset }),
        });
      ids.push(...page.points.map((p) => p.id));
      offset = page.next_page_offset;
    } while (offset !== null);
    if (ids.length === 0) continue;
    const picked = sample(ids, Math.max(1, Math.round(ids.length * CHANGE_SHARE)) + 2 * FEW, random);
    const toUpdate = picked.slice(0, picked.length - 2 * FEW);
    const toCopy = picked.slice(picked.length - 2 * FEW, picked.length - FEW);
    const toDelete = picked.slice(picked.length - FEW);
    for (const id of toUpdate) {
      await call('POST', `${path}/points/payload?wait=true`, {
        points: [id],
        payload: { bench_note: `changed by bench/repository.ts ${String(id).replace('#', '')}` },
      });
    }
    counts.updated += toUpdate.length;
    const copies = await call<{ id: string | number; vector: unknown; payload: unknown }[]>(
      'POST',
      `${path}/points`,
      { ids: toCopy, with_payload: true, with_vector: true },
    );
    const numeric = String(ids[0]).startsWith('#');
    await call('PUT', `${path}/points?wait=true`, {
      points: copies.map((p, i) => ({
        id: numeric ? `#${9_000_000_000_000 + scaleSalt(random) + i}` : randomUuid(),
        vector: p.vector,
        payload: p.payload,
      })),
    });
    counts.inserted += copies.length;
    await call('POST', `${path}/points/delete?wait=true`, { points: toDelete });
    counts.deleted += toDelete.length;
  }
  return counts;
}

/** A number that keeps inserted integer ids apart from run to run. */
const scaleSalt = (random: () => number): number => Math.floor(random() * 1e9) * 10;

function randomUuid(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A format-2 config.json as `createConfig` writes it, with other chunker sizes (§11.2). */
function writeSmallChunkConfig(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const config = {
    format: 'acx-data-repository',
    formatVersion: 2,
    id: randomBytes(32).toString('hex'),
    createdAt: new Date().toISOString(),
    chunker: { algorithm: 'fastcdc-gear32', ...SMALL_CHUNKER, seed: randomBytes(32).toString('hex') },
    compression: 'zstd',
    packSize: 16 * 1024 * 1024,
    encryption: null,
  };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

async function benchScale(
  scale: number,
  env: NodeJS.ProcessEnv,
  options: { smallChunks: boolean; keep: boolean },
): Promise<ScaleResult> {
  const work = mkdtempSync(join(tmpdir(), `acx-bench-repo-${scale}-`));
  const dataDir = join(work, 'data');
  mkdirSync(join(dataDir, 'dtc_codes'), { recursive: true });
  writeFileSync(
    join(dataDir, 'dtc_codes', 'translation_cache.json'),
    JSON.stringify({ P0300: 'Gyújtáskimaradás' }),
  );
  const dirs = {
    v1: join(work, 'format1'),
    main: join(work, 'repository'),
    copy: join(work, 'repository-copy'),
    small: join(work, 'repository-small-chunks'),
  };
  // Each repository its own index cache (the copy shares the original's repository id).
  const envFor = (dir: string): NodeJS.ProcessEnv => ({ ...env, ACX_STATE_DIR: `${dir}.state` });
  const backup = async (key: StepKey, label: string, dir: string, extra: string[]): Promise<Step> => {
    const common = ['--backup-dir', dir, '--data-dir', dataDir, '-q', '--format', 'json'];
    const m = await measureAcx(['backup', '--all', ...extra, ...common], envFor(dir));
    const summary = JSON.parse(m.stdout) as BackupJson;
    const step = { key, label, run: strip(m), summary, repositoryBytes: dirBytes(dir) };
    process.stderr.write(
      `    ${label}: ${summary.bytes} B stored in the snapshot, ${summary.stored?.addedBytes ?? '–'} B added, ` +
        `repository ${step.repositoryBytes} B; stores ${JSON.stringify(summary.stores)}\n`,
    );
    return step;
  };
  try {
    console.error(`\n== scale ${scale} (work dir ${work})`);
    const seed = strip(
      await measureAcx(['seed', '--scale', String(scale), '--seed', '1', '--force', '-q'], env),
    );
    const counts = await countStores(env);
    console.error(`  seeded: ${JSON.stringify(counts)}`);
    const steps: Step[] = [];
    steps.push(await backup('v1', 'full, format 1', dirs.v1, ['--format-version', '1']));
    steps.push(await backup('full', 'full, format 2', dirs.main, ['--format-version', '2']));
    let smallFull: Step | undefined;
    if (options.smallChunks) {
      writeSmallChunkConfig(dirs.small);
      smallFull = await backup('full', 'full, format 2, small chunks', dirs.small, ['--format-version', '2']);
    }
    steps.push(await backup('fullAgain', 'full again, unchanged', dirs.main, []));
    steps.push(await backup('incremental', '--incremental, unchanged', dirs.main, ['--incremental']));
    cpSync(dirs.main, dirs.copy, { recursive: true });
    cpSync(`${dirs.main}.state`, `${dirs.copy}.state`, { recursive: true });

    console.error('  -- changing 1 % of the records');
    const random = prng(scale * 1000 + 7);
    const changes: ChangeCounts = {
      postgres: await changePostgres(env),
      neo4j: await changeNeo4j(env, random),
      qdrant: await changeQdrant(env, random),
    };
    console.error(`  changed: ${JSON.stringify(changes)}`);

    steps.push(await backup('fullChanged', 'full after the 1 % change', dirs.main, []));
    let smallChunks: SmallChunks | undefined;
    if (smallFull) {
      const changed = await backup('fullChanged', 'full after the change, small chunks', dirs.small, []);
      smallChunks = { chunker: SMALL_CHUNKER, full: smallFull, fullChanged: changed };
    }
    steps.push(
      await backup('incrementalChanged', '--incremental after the 1 % change', dirs.copy, ['--incremental']),
    );
    return { scale, counts, seed, steps, changes, ...(smallChunks ? { smallChunks } : {}) };
  } finally {
    if (options.keep) console.error(`  kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------- report

const pct = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? '–' : `${((100 * a) / b).toFixed(2)} %`;
const kib = (bytes: number | undefined): string =>
  bytes === undefined ? '–' : (bytes / 1024).toLocaleString('en-US', { maximumFractionDigits: 0 });
const storeSeconds = (step: Step | undefined, store: string): number | undefined =>
  step?.summary.stores[store]?.seconds;

interface Check {
  what: string;
  value: number | undefined;
  limit: number;
}

/** The step whose repository the given step's one was (or was copied from) just before it ran. */
const PREVIOUS: Partial<Record<StepKey, StepKey>> = {
  fullAgain: 'full',
  incremental: 'fullAgain',
  fullChanged: 'incremental',
  incrementalChanged: 'incremental',
};

/** What the repository directory grew by on disk in a format-2 step: packs, index files and the manifest. */
function growth(r: ScaleResult, step: Step | undefined): number | undefined {
  if (!step || step.key === 'v1') return undefined;
  const previous = PREVIOUS[step.key];
  const before = previous ? r.steps.find((s) => s.key === previous)?.repositoryBytes : 0;
  return before === undefined ? undefined : step.repositoryBytes - before;
}

function checks(r: ScaleResult): Check[] {
  const by = (key: StepKey) => r.steps.find((s) => s.key === key);
  const full = by('full');
  const reference = full?.summary.stored?.addedBytes;
  const share = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b === 0 ? undefined : a / b;
  return [
    {
      what: 'full again, unchanged: bytes added',
      value: share(by('fullAgain')?.summary.stored?.addedBytes, reference),
      limit: 0.01,
    },
    {
      what: '--incremental, unchanged: bytes added',
      value: share(by('incremental')?.summary.stored?.addedBytes, reference),
      limit: 0.01,
    },
    {
      what: '--incremental, unchanged: PostgreSQL read time',
      value: share(storeSeconds(by('incremental'), 'postgres'), storeSeconds(full, 'postgres')),
      limit: 0.15,
    },
    {
      what: '--incremental, unchanged: Neo4j read time',
      value: share(storeSeconds(by('incremental'), 'neo4j'), storeSeconds(full, 'neo4j')),
      limit: 0.15,
    },
    {
      what: 'full after the 1 % change: bytes added',
      value: share(by('fullChanged')?.summary.stored?.addedBytes, reference),
      limit: 0.05,
    },
    {
      what: 'full again, unchanged: repository growth on disk (with the manifest)',
      value: share(growth(r, by('fullAgain')), growth(r, full)),
      limit: 0.01,
    },
    {
      what: '--incremental, unchanged: repository growth on disk (with the manifest)',
      value: share(growth(r, by('incremental')), growth(r, full)),
      limit: 0.01,
    },
    {
      what: 'full after the 1 % change: repository growth on disk (with the manifest)',
      value: share(growth(r, by('fullChanged')), growth(r, full)),
      limit: 0.05,
    },
  ];
}

function verdict(c: Check): string {
  if (c.value === undefined) return '–';
  return c.value <= c.limit ? 'pass' : `**miss** (${(c.value / c.limit).toFixed(1)}× the target)`;
}

function scaleReport(r: ScaleResult): string {
  const by = (key: StepKey) => r.steps.find((s) => s.key === key);
  const full = by('full');
  const v1 = by('v1');
  const reference = full?.summary.stored?.addedBytes;
  const rows = r.steps.map((s) => [
    s.label,
    secs(s.run.seconds),
    ratio(s.run.seconds, full?.run.seconds),
    secs(storeSeconds(s, 'postgres')),
    secs(storeSeconds(s, 'neo4j')),
    secs(storeSeconds(s, 'qdrant')),
    kib(s.summary.stores.qdrant?.bytes),
    kib(s.summary.bytes),
    s.key === 'v1' ? kib(s.repositoryBytes) : kib(s.summary.stored?.addedBytes),
    s.key === 'v1' || s.key === 'full' ? '–' : pct(s.summary.stored?.addedBytes, reference),
    kib(growth(r, s)),
    s.key === 'v1' || s.key === 'full' ? '–' : pct(growth(r, s), growth(r, full)),
    kib(s.repositoryBytes),
    mib(s.run.maxRssKiB),
  ]);
  const table = markdownTable(
    [
      'step',
      'wall s',
      'wall ÷ full f2',
      'PostgreSQL s',
      'Neo4j s',
      'Qdrant s',
      'Qdrant KiB',
      'snapshot KiB',
      'KiB added',
      'added ÷ first f2',
      'growth on disk KiB',
      'growth ÷ first f2',
      'repository KiB',
      'peak RSS MiB',
    ],
    rows,
  );
  const targets = markdownTable(
    ['target', 'measured', 'limit', 'result'],
    checks(r).map((c) => [
      c.what,
      c.value === undefined ? '–' : `${(100 * c.value).toFixed(2)} %`,
      `≤ ${(100 * c.limit).toFixed(0)} %`,
      verdict(c),
    ]),
  );
  const incChanged = by('incrementalChanged');
  const fullChanged = by('fullChanged');
  const notes = [
    `Seeded: ${r.counts.postgresRows} rows in ${r.counts.postgresTables} tables, ${r.counts.neo4jNodes} nodes and ` +
      `${r.counts.neo4jRelationships} relationships, ${r.counts.qdrantPoints} points in ${r.counts.qdrantCollections} collections.`,
    `Changed (step 5): PostgreSQL ${r.changes.postgres.updated} rows updated in ${r.changes.postgres.tables - r.changes.postgres.notUpdated.length} of ` +
      `${r.changes.postgres.tables} tables${r.changes.postgres.notUpdated.length ? ` (not updated: ${r.changes.postgres.notUpdated.join(', ')})` : ''}, ` +
      `${r.changes.postgres.inserted} inserted, ${r.changes.postgres.deleted} deleted; Neo4j ${r.changes.neo4j.updated} of ${r.changes.neo4j.nodes} nodes ` +
      `given a property, ${r.changes.neo4j.inserted} created, ${r.changes.neo4j.deleted} deleted; Qdrant ${r.changes.qdrant.updated} payloads changed, ` +
      `${r.changes.qdrant.inserted} points inserted, ${r.changes.qdrant.deleted} deleted in ${r.changes.qdrant.collections} collections.`,
    `Format 1 → format 2: snapshot ${kib(v1?.repositoryBytes)} → ${kib(reference)} KiB stored (${ratio(reference, v1?.repositoryBytes)}×), ` +
      `Qdrant ${kib(v1?.summary.stores.qdrant?.bytes)} → ${kib(full?.summary.stores.qdrant?.bytes)} KiB ` +
      `(${ratio(full?.summary.stores.qdrant?.bytes, v1?.summary.stores.qdrant?.bytes)}×), Qdrant read ${secs(storeSeconds(v1, 'qdrant'))} → ` +
      `${secs(storeSeconds(full, 'qdrant'))} s, wall ${secs(v1?.run.seconds)} → ${secs(full?.run.seconds)} s.`,
    `\`--incremental\`, unchanged: ${secs(by('incremental')?.run.seconds)} s wall, ${ratio(by('incremental')?.run.seconds, full?.run.seconds)}× ` +
      `the first format-2 full's (no target on the total: Qdrant, read in full by design §11.8, took ` +
      `${secs(storeSeconds(by('incremental'), 'qdrant'))} s of it).`,
    `\`--incremental\` after the change (in a copy of the repository taken before it, so its parent is the unchanged ` +
      `snapshot): ${kib(incChanged?.summary.stored?.addedBytes)} KiB added (${pct(incChanged?.summary.stored?.addedBytes, reference)} of the first full), ` +
      `${secs(incChanged?.run.seconds)} s wall (${ratio(incChanged?.run.seconds, fullChanged?.run.seconds)}× the full after the change).`,
    `Peak RSS of the backups: ${mib(Math.max(...r.steps.map((s) => s.run.maxRssKiB)))} MiB. Repository (format 2, after step 6): ` +
      `${kib(fullChanged?.repositoryBytes)} KiB.`,
  ];
  let small = '';
  if (r.smallChunks) {
    const s = r.smallChunks;
    const added = s.fullChanged.summary.stored?.addedBytes;
    const first = s.full.summary.stored?.addedBytes;
    small = [
      '',
      `Smaller chunks (config.json chunker ${s.chunker.minSize}/${s.chunker.avgSize}/${s.chunker.maxSize} instead of 2048/8192/65536), ` +
        'the same data and the same change:',
      '',
      markdownTable(
        [
          'chunker',
          'first full KiB added',
          'wall s',
          'after the change KiB added',
          'added ÷ first',
          'wall s',
          'peak RSS MiB',
        ],
        [
          [
            '2048/8192/65536 (default)',
            kib(reference),
            secs(full?.run.seconds),
            kib(fullChanged?.summary.stored?.addedBytes),
            pct(fullChanged?.summary.stored?.addedBytes, reference),
            secs(fullChanged?.run.seconds),
            mib(Math.max(full?.run.maxRssKiB ?? 0, fullChanged?.run.maxRssKiB ?? 0)),
          ],
          [
            `${s.chunker.minSize}/${s.chunker.avgSize}/${s.chunker.maxSize}`,
            kib(first),
            secs(s.full.run.seconds),
            kib(added),
            pct(added, first),
            secs(s.fullChanged.run.seconds),
            mib(Math.max(s.full.run.maxRssKiB, s.fullChanged.run.maxRssKiB)),
          ],
        ],
      ),
    ].join('\n');
  }
  return [`## Scale ${r.scale}`, '', table, '', targets, '', ...notes.map((n) => `- ${n}`), small].join('\n');
}

function render(results: Results): string {
  const rss = (r: ScaleResult | undefined) =>
    r ? Math.max(...r.steps.map((s) => s.run.maxRssKiB)) : undefined;
  const first = results.results[0];
  const last = results.results.at(-1);
  const misses = results.results.flatMap((r) =>
    checks(r)
      .filter((c) => c.value !== undefined && c.value > c.limit)
      .map(
        (c) =>
          `scale ${r.scale}: ${c.what} ${(100 * c.value!).toFixed(2)} % (target ≤ ${(100 * c.limit).toFixed(0)} %)`,
      ),
  );
  return [
    `# Repository format 2: deduplication and --incremental — ${results.machine.date.slice(0, 10)}`,
    '',
    machineNotesMarkdown(results.machine),
    '',
    'Every backup is `acx-data backup --all --format json` under `/usr/bin/time -v`, into its own directory ' +
      '(format 1) or one format-2 repository per scale. "KiB added" is what the repository gained (packs and ' +
      'index files; `stored.addedBytes`), "snapshot KiB" the stored size of the blobs the snapshot names (shared ' +
      "ones included). Store seconds are the manifest's read times; the stores are read in parallel. Format 1 " +
      'row: "KiB added" is the snapshot directory\'s size. "Growth on disk" is what the repository directory grew by ' +
      "(packs, index files and the snapshot's manifest.json and verification.json), against the first " +
      "format-2 full's; the incremental after the change ran in a copy taken before the change.",
    '',
    ...results.results.map(scaleReport),
    '',
    '## Summary',
    '',
    `- Peak RSS of any backup: ${results.results.map((r) => `scale ${r.scale} ${mib(rss(r))} MiB`).join(', ')}` +
      (first && last && first !== last
        ? `; scale ${last.scale} ÷ scale ${first.scale}: ${ratio(rss(last), rss(first))}.`
        : '.'),
    misses.length === 0 ? '- Every target is met.' : `- Targets missed: ${misses.join('; ')}.`,
    '',
  ].join('\n');
}

/** Writes the JSON (unless re-rendering) and the Markdown report; called after every scale, so a long run keeps what it has. */
function writeResults(out: string, results: Results, writeJson: boolean): string {
  mkdirSync(out, { recursive: true });
  const base = join(out, `repository-${results.machine.date.slice(0, 10) || today()}`);
  if (writeJson) writeFileSync(`${base}.json`, JSON.stringify(results, null, 2));
  const report = render(results);
  writeFileSync(`${base}.md`, report);
  prettierWrite(writeJson ? [`${base}.md`, `${base}.json`] : [`${base}.md`]);
  process.stderr.write(`wrote ${base}.md\n`);
  return report;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const out = resolve(option(argv, '--out') ?? join(root, 'bench/results'));
  const fromJson = option(argv, '--from-json');
  if (fromJson) {
    console.log(writeResults(out, JSON.parse(readFileSync(fromJson, 'utf8')) as Results, false));
    return;
  }
  const scales = (option(argv, '--scales') ?? '1').split(',').map(Number);
  const smallScales = (option(argv, '--small-chunks-scales') ?? '1').split(',').filter(Boolean).map(Number);
  const stack = guardStack(process.env, argv.includes('--allow-default-stack'));
  const results: Results = { machine: machineNotes(stack), results: [] };
  let report = '';
  for (const scale of scales) {
    results.results.push(
      await benchScale(scale, process.env, {
        smallChunks: smallScales.includes(scale),
        keep: argv.includes('--keep'),
      }),
    );
    results.machine.loadAverageAtEnd = loadAverage();
    report = writeResults(out, results, true);
  }
  console.log(report);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
