/**
 * Imports, acx-data side by side with a peer loader reading the same rows, at two sizes so that memory
 * flatness shows. Synthetic inputs, written before the timed runs (not timed):
 *
 * - PostgreSQL: `pg_dtc_codes.csv` of N unique valid DTC rows (9 columns, arrays as JSON, NULLs, quoting)
 *   with the export's `manifest.json` declaring the field types; `acx-data import --csv <dir>` and
 *   `acx-data import --csv <dir> --dry-run` vs `psql -c "\copy dtc_codes(…) FROM … (FORMAT csv, HEADER)"`
 *   on a copy of the same rows whose array column is a PostgreSQL array literal (`{"a","b"}`: COPY does
 *   not read JSON arrays; every other byte is the same). Into an emptied `dtc_codes` (TRUNCATE … RESTART
 *   IDENTITY) that keeps the schema's indexes (unique code, GIN trigram and full-text among them).
 * - Neo4j: `neo4j_Symptom.csv` (N/5 nodes) and `neo4j_rel_RELATED_TO.csv` (N/5 relationships between
 *   them, endpoints by the nodes' input ids) with a manifest; `acx-data import --csv <dir>` vs the
 *   "driver UNWIND baseline": the same files read with csv-parse and loaded through neo4j-driver with
 *   `UNWIND $rows … CREATE` in batches of 1000, all in one transaction (as acx-data). Into a Neo4j
 *   emptied of nodes that keeps the application schema (uniqueness constraints and indexes).
 * - Qdrant: a vectors file (`writeVectorsFile`, N/20 points of 768-dim random unit vectors, the seeded
 *   `autocognitix` collection's config); `acx-data import --vectors <file>` vs `QdrantClient.upsertJson`
 *   in batches of 256 of the same points, read from a gzip'd JSON-lines copy. Into an empty
 *   `autocognitix` collection. Qdrant is the test double (test/qdrant-double/), not a real Qdrant.
 *
 * Every timed command runs in a process of its own under /usr/bin/time -v (wall clock, peak RSS); the
 * two in-process peers (Neo4j, Qdrant) also report their own load time (after start-up and connecting),
 * which is the figure the ratios use. After every run the store is counted. See bench/README.md.
 *
 *   npx node bench/import.ts [--sizes 200000,1000000] [--stores postgres,neo4j,qdrant] [--out bench/results]
 *                           [--keep] [--allow-default-stack]
 *   npx node bench/import.ts --from-json bench/results/import-<date>.json   (re-render only)
 *   npx node bench/import.ts --child neo4j-peer <dir> | --child qdrant-peer <points.ndjson.gz> <collection>
 */
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import { parse } from 'csv-parse';
import type { Transaction } from 'neo4j-driver';
import { writeVectorsFile } from '../src/formats/vectors/vectors-format.ts';
import type { VectorPoint } from '../src/model/dataset.ts';
import { labelMap } from '../src/model/labels.ts';
import { openAllStores, openStores } from '../src/operations/open-stores.ts';
import { connectionsOf, type TestStores } from '../test/support/stores.ts';
import { applyNeo4jSchema } from '../src/stores/neo4j/neo4j-schema.ts';
import { createCollectionBody, fieldSchemaOf } from '../src/stores/qdrant/qdrant-restore.ts';
import {
  guardStack,
  libpqEnv,
  loadAverage,
  machineNotes,
  machineNotesMarkdown,
  markdownTable,
  measure,
  measureAcx,
  mib,
  option,
  prettierWrite,
  root,
  secs,
  type MachineNotes,
  type Measured,
} from './lib.ts';
import { seededRandom } from '../src/seed/random.ts';

const COLLECTION = 'autocognitix';
const STORES = ['postgres', 'neo4j', 'qdrant'] as const;
type Store = (typeof STORES)[number];
const NEO4J_PEER_BATCH = 1000;
const QDRANT_PEER_BATCH = 256;
const VECTOR_SIZE = 768;
const PG_COLUMNS = [
  'code',
  'description_en',
  'description_hu',
  'category',
  'severity',
  'is_generic',
  'symptoms',
  'created_at',
  'updated_at',
] as const;

/** One timed process, without its stdout. */
type Run = Omit<Measured, 'stdout'>;
const strip = ({ stdout: _stdout, ...run }: Measured): Run => run;

// ------------------------------------------------------------------------------------- synthetic data

const LETTERS = ['P', 'B', 'C', 'U'] as const;
const CATEGORY: Record<string, string> = { P: 'powertrain', B: 'body', C: 'chassis', U: 'network' };
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const PARTS = [
  'Oxygen sensor',
  'Mass air flow sensor',
  'Camshaft position sensor',
  'Fuel rail pressure sensor',
  'Throttle actuator',
  'ABS wheel speed sensor',
  'Airbag squib',
  'CAN bus module',
];
const FAULTS = [
  'circuit range/performance',
  'circuit low',
  'circuit high, intermittent',
  'signal implausible',
  'no communication',
];
const PARTS_HU = [
  'Oxigénérzékelő',
  'Légtömegmérő',
  'Vezérműtengely-jeladó',
  'Üzemanyag-nyomás érzékelő',
  'Fojtószelep-működtető',
  'ABS kerékfordulat-érzékelő',
];
const SYMPTOMS_HU = [
  'Rángatás gyorsításkor',
  'Fekete füst a kipufogóból',
  'Egyenetlen alapjárat',
  'Nehéz indulás',
  'Motor teljesítményvesztése',
  'Műszerfal ki-be kapcsol',
  'Túlmelegedő motor',
  'Csökkent végsebesség',
];
const pick = <T>(list: readonly T[], r: number): T => list[Math.floor(r * list.length)] ?? list[0]!;
const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');

/** The i-th code: unique for i < 4 · 16384 · 257 (a letter, 0–3 + 3 hex digits, then a `-XX` suffix). */
function dtcCode(i: number): string {
  const letter = LETTERS[i % 4]!;
  const j = Math.floor(i / 4);
  const base = j % 16384;
  const suffix = Math.floor(j / 16384);
  const code = `${letter}${Math.floor(base / 4096)}${hex(base % 4096, 3)}`;
  return suffix === 0 ? code : `${code}-${hex(suffix - 1, 2)}`;
}

interface DtcRow {
  code: string;
  description_en: string;
  description_hu: string | null;
  category: string;
  severity: string;
  is_generic: boolean;
  symptoms: string[];
  created_at: string;
  updated_at: string;
}

const EPOCH = Date.UTC(2024, 0, 1);
function dtcRow(i: number, random: () => number): DtcRow {
  const code = dtcCode(i);
  const part = pick(PARTS, random());
  let description_en = `${part} ${pick(FAULTS, random())} (bank ${1 + (i % 2)}, sensor ${1 + (i % 3)})`;
  if (i % 50 === 7) description_en += ' - "limp home" mode';
  const hu = `${pick(PARTS_HU, random())} áramkör hiba – ${code}`;
  const description_hu = i % 10 === 3 ? null : i % 97 === 5 ? '' : hu;
  const symptoms = Array.from({ length: Math.floor(random() * 4) }, () => pick(SYMPTOMS_HU, random()));
  const created = EPOCH + i * 37_000 + Math.floor(random() * 1000);
  return {
    code,
    description_en,
    description_hu,
    category: CATEGORY[code[0]!]!,
    severity: pick(SEVERITIES, random()),
    is_generic: code[1] === '0' || code[1] === '2',
    symptoms,
    created_at: new Date(created).toISOString(),
    updated_at: new Date(created + Math.floor(random() * 90 * 86_400_000)).toISOString(),
  };
}

/** RFC 4180 cell as the CSV export writes it: NULL unquoted empty, '' as `""`. */
const cell = (value: string | null): string =>
  value === null
    ? ''
    : value === ''
      ? '""'
      : /[",\r\n]/.test(value)
        ? `"${value.replace(/"/g, '""')}"`
        : value;
/** A PostgreSQL array literal of text elements (for COPY). */
const pgArray = (items: string[]): string =>
  `{${items.map((s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;

/** A buffered file writer with back-pressure, counting bytes and hashing (for the manifest). */
class Out {
  private readonly stream;
  private readonly hash = createHash('sha256');
  private buffer = '';
  bytes = 0;

  readonly path: string;

  constructor(path: string) {
    this.path = path;

    this.stream = createWriteStream(path);
  }

  async write(text: string): Promise<void> {
    this.buffer += text;
    if (this.buffer.length >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    const chunk = Buffer.from(this.buffer);
    this.buffer = '';
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async close(): Promise<{ bytes: number; sha256: string }> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}

type ManifestField = { name: string; type: string };

/** The CSV export's manifest.json (src/operations/export.ts) for files beside it: their fields' types. */
function writeManifest(
  dir: string,
  files: Array<{
    path: string;
    dataset: string;
    records: number;
    bytes: number;
    sha256: string;
    fields: ManifestField[];
  }>,
): void {
  const manifest = {
    format: 'acx-data-export',
    version: '2.0',
    tool: 'bench/import.ts (synthetic data)',
    export_time: new Date().toISOString(),
    export_path: dir,
    files: files.map((f) => ({
      path: f.path,
      format: 'csv',
      bytes: f.bytes,
      size_kb: Math.round((f.bytes / 1024) * 10) / 10,
      sha256: f.sha256,
      records: f.records,
      datasets: { [f.dataset]: f.records },
      fields: f.fields,
    })),
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

const PG_FIELDS: ManifestField[] = [
  { name: 'code', type: 'text' },
  { name: 'description_en', type: 'text' },
  { name: 'description_hu', type: 'text' },
  { name: 'category', type: 'text' },
  { name: 'severity', type: 'text' },
  { name: 'is_generic', type: 'boolean' },
  { name: 'symptoms', type: 'array' },
  { name: 'created_at', type: 'timestamp' },
  { name: 'updated_at', type: 'timestamp' },
];

/** `<dir>/pg_dtc_codes.csv` + manifest for acx-data, and `peerFile` (the same rows, array literals) for psql. */
export async function writePostgresInput(
  dir: string,
  peerFile: string,
  n: number,
): Promise<{ bytes: number; peerBytes: number }> {
  mkdirSync(dir, { recursive: true });
  const acx = new Out(join(dir, 'pg_dtc_codes.csv'));
  const peer = new Out(peerFile);
  const header = `${PG_COLUMNS.join(',')}\n`;
  await acx.write(header);
  await peer.write(header);
  const random = seededRandom(1);
  for (let i = 0; i < n; i++) {
    const r = dtcRow(i, random);
    const head = `${cell(r.code)},${cell(r.description_en)},${cell(r.description_hu)},${r.category},${r.severity},${r.is_generic}`;
    const tail = `${r.created_at},${r.updated_at}\n`;
    await acx.write(`${head},${cell(JSON.stringify(r.symptoms))},${tail}`);
    await peer.write(`${head},${cell(pgArray(r.symptoms))},${tail}`);
  }
  const written = await acx.close();
  const peerWritten = await peer.close();
  writeManifest(dir, [
    { path: 'pg_dtc_codes.csv', dataset: 'dtc_codes', records: n, ...written, fields: PG_FIELDS },
  ]);
  return { bytes: written.bytes, peerBytes: peerWritten.bytes };
}

const NODE_FIELDS: ManifestField[] = [
  { name: '_element_id', type: 'text' },
  { name: '_labels', type: 'array' },
  { name: 'id', type: 'text' },
  { name: 'name', type: 'text' },
  { name: 'name_en', type: 'text' },
  { name: 'severity', type: 'text' },
  { name: 'keywords', type: 'array' },
];
const REL_FIELDS: ManifestField[] = [
  { name: '_element_id', type: 'text' },
  { name: 'start_id', type: 'text' },
  { name: 'start_label', type: 'text' },
  { name: 'start_key', type: 'text' },
  { name: 'end_id', type: 'text' },
  { name: 'end_label', type: 'text' },
  { name: 'end_key', type: 'text' },
  { name: 'weight', type: 'float' },
];
const KEYWORDS = ['rezgés', 'fék', 'füst', 'zaj', 'szag', 'indítás'];
const nodeElementId = (i: number) => `4:bench:${i}`;
const symptomId = (i: number) => `sym_${i}`;
/** The one RELATED_TO target of node i: never itself; one relationship per node, so all pairs differ. */
const relatedTo = (i: number, m: number) => (i + 1 + ((i * 7919) % Math.max(1, m - 1))) % m;

/** `neo4j_Symptom.csv` (m nodes), `neo4j_rel_RELATED_TO.csv` (m relationships) and their manifest. */
async function writeNeo4jInput(dir: string, m: number): Promise<{ bytes: number }> {
  mkdirSync(dir, { recursive: true });
  const random = seededRandom(2);
  const nodes = new Out(join(dir, 'neo4j_Symptom.csv'));
  await nodes.write(`${NODE_FIELDS.map((f) => f.name).join(',')}\n`);
  for (let i = 0; i < m; i++) {
    const keywords = Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(KEYWORDS, random()));
    const name = `${pick(SYMPTOMS_HU, random())} #${i}`;
    const nameEn = `Symptom ${i}, ${pick(FAULTS, random())}`;
    await nodes.write(
      `${nodeElementId(i)},"[""Symptom""]",${symptomId(i)},${cell(name)},${cell(nameEn)},${pick(SEVERITIES, random())},${cell(JSON.stringify(keywords))}\n`,
    );
  }
  const nodeFile = await nodes.close();
  const rels = new Out(join(dir, 'neo4j_rel_RELATED_TO.csv'));
  await rels.write(`${REL_FIELDS.map((f) => f.name).join(',')}\n`);
  for (let i = 0; i < m; i++) {
    const j = relatedTo(i, m);
    await rels.write(
      `5:bench:${i},${nodeElementId(i)},Symptom,${symptomId(i)},${nodeElementId(j)},Symptom,${symptomId(j)},${(random() * 10).toFixed(3)}\n`,
    );
  }
  const relFile = await rels.close();
  writeManifest(dir, [
    { path: 'neo4j_Symptom.csv', dataset: 'Symptom', records: m, ...nodeFile, fields: NODE_FIELDS },
    { path: 'neo4j_rel_RELATED_TO.csv', dataset: 'RELATED_TO', records: m, ...relFile, fields: REL_FIELDS },
  ]);
  return { bytes: nodeFile.bytes + relFile.bytes };
}

/** A 768-dim random unit vector, float32 values (what Qdrant stores and exports). */
function unitVector(random: () => number): number[] {
  const v = new Array<number>(VECTOR_SIZE);
  let norm = 0;
  for (let k = 0; k < VECTOR_SIZE; k++) {
    const x = random() * 2 - 1;
    v[k] = x;
    norm += x * x;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let k = 0; k < VECTOR_SIZE; k++) v[k] = Math.fround(v[k]! * scale);
  return v;
}

/** The vectors file for acx-data and, from the same points, a gzip'd JSON-lines file for the peer. */
async function writeQdrantInput(
  vectorsFile: string,
  peerFile: string,
  p: number,
  info: Record<string, unknown>,
): Promise<{ bytes: number; peerBytes: number }> {
  const gzip = createGzip({ level: 1 });
  const out = createWriteStream(peerFile);
  gzip.pipe(out);
  const random = seededRandom(3);
  async function* points(): AsyncGenerator<VectorPoint> {
    for (let i = 0; i < p; i++) {
      const code = dtcCode(i);
      const point = {
        id: i + 1,
        vector: unitVector(random),
        payload: {
          type: 'dtc',
          code,
          category: CATEGORY[code[0]!]!,
          text: `${pick(PARTS, random())} ${code}`,
        },
      };
      if (!gzip.write(JSON.stringify(point) + '\n')) await once(gzip, 'drain');
      yield point;
    }
  }
  await writeVectorsFile(vectorsFile, [
    {
      name: COLLECTION,
      config: info.config as Record<string, unknown>,
      payloadSchema: info.payload_schema as Record<string, unknown>,
      points,
    },
  ]);
  gzip.end();
  await once(out, 'finish');
  return { bytes: fileSize(vectorsFile), peerBytes: fileSize(peerFile) };
}

const fileSize = (path: string): number => statSync(path).size;

// ----------------------------------------------------------------------------------- peers (children)

/** The driver UNWIND baseline: the same CSV files, csv-parse, batches of 1000 in one transaction. */
async function neo4jPeer(dir: string): Promise<void> {
  const stores = await openStores(process.env, ['neo4j']);
  const connection = stores.neo4j!.connection;
  const session = connection.driver.session({ database: connection.database, defaultAccessMode: 'WRITE' });
  try {
    const started = performance.now();
    const tx: Transaction = session.beginTransaction();
    const load = async (file: string, query: string, row: (r: Record<string, string>) => unknown) => {
      let batch: unknown[] = [];
      let n = 0;
      const parser = createReadStream(join(dir, file)).pipe(parse({ columns: true }));
      for await (const record of parser as AsyncIterable<Record<string, string>>) {
        batch.push(row(record));
        if (batch.length >= NEO4J_PEER_BATCH) {
          await tx.run(query, { rows: batch });
          n += batch.length;
          batch = [];
        }
      }
      if (batch.length > 0) await tx.run(query, { rows: batch });
      return n + batch.length;
    };
    const nodes = await load('neo4j_Symptom.csv', 'UNWIND $rows AS r CREATE (n:Symptom) SET n = r', (r) => ({
      id: r.id,
      name: r.name,
      name_en: r.name_en,
      severity: r.severity,
      keywords: JSON.parse(r.keywords ?? '[]') as string[],
    }));
    const nodesDone = performance.now();
    const relationships = await load(
      'neo4j_rel_RELATED_TO.csv',
      'UNWIND $rows AS r MATCH (a:Symptom {id: r.a}) MATCH (b:Symptom {id: r.b}) CREATE (a)-[x:RELATED_TO]->(b) SET x.weight = r.w',
      (r) => ({ a: r.start_key, b: r.end_key, w: Number(r.weight) }),
    );
    const relsDone = performance.now();
    await tx.commit();
    const done = performance.now();
    process.stdout.write(
      JSON.stringify({
        nodes,
        relationships,
        seconds: (done - started) / 1000,
        nodeSeconds: (nodesDone - started) / 1000,
        relSeconds: (relsDone - nodesDone) / 1000,
        commitSeconds: (done - relsDone) / 1000,
      }),
    );
  } finally {
    await session.close();
    await stores.close();
  }
}

/** Direct upserts: the JSON-lines copy of the points, gunzip'd, each line a PointStruct, batches of 256. */
async function qdrantPeer(file: string, collection: string): Promise<void> {
  const stores = await openStores(process.env, ['qdrant']);
  const client = stores.qdrant!.client;
  try {
    const started = performance.now();
    const lines = createInterface({
      input: createReadStream(file).pipe(createGunzip()),
      crlfDelay: Infinity,
    });
    let batch: string[] = [];
    let points = 0;
    for await (const line of lines) {
      if (line === '') continue;
      batch.push(line);
      if (batch.length >= QDRANT_PEER_BATCH) {
        await client.upsertJson(collection, batch);
        points += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) await client.upsertJson(collection, batch);
    points += batch.length;
    process.stdout.write(JSON.stringify({ points, seconds: (performance.now() - started) / 1000 }));
  } finally {
    await stores.close();
  }
}

// ------------------------------------------------------------------------------------ store handling

export async function resetPostgres(stores: TestStores): Promise<void> {
  await stores.postgres.query('TRUNCATE dtc_codes RESTART IDENTITY CASCADE');
}

async function countDtc(stores: TestStores): Promise<number> {
  const { rows } = await stores.postgres.query<{ n: string }>('SELECT count(*) AS n FROM dtc_codes');
  return Number(rows[0]?.n ?? 0);
}

/** Deletes every node, keeps (and re-applies) the application schema. */
async function resetNeo4j(stores: TestStores): Promise<void> {
  const { driver, database } = stores.neo4j;
  const session = driver.session({ database });
  try {
    await session.run('MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS');
  } finally {
    await session.close();
  }
  await applyNeo4jSchema(stores.neo4j, labelMap('production'));
}

async function countGraph(stores: TestStores): Promise<{ nodes: number; relationships: number }> {
  const { driver, database } = stores.neo4j;
  const one = async (query: string) =>
    Number((await driver.executeQuery(query, {}, { database, routing: 'READ' })).records[0]?.get('n') ?? 0);
  return {
    nodes: await one('MATCH (n) RETURN count(n) AS n'),
    relationships: await one('MATCH ()-[r]->() RETURN count(r) AS n'),
  };
}

/** Every collection dropped; an empty `autocognitix` created from the seeded configuration and payload indexes. */
async function resetQdrant(stores: TestStores, info: Record<string, unknown>): Promise<void> {
  for (const name of await stores.qdrant.listCollections()) await stores.qdrant.deleteCollection(name);
  await stores.qdrant.createCollection(
    COLLECTION,
    createCollectionBody(info.config as Record<string, unknown>),
  );
  for (const [field, index] of Object.entries((info.payload_schema ?? {}) as Record<string, unknown>))
    await stores.qdrant.createPayloadIndex(
      COLLECTION,
      field,
      fieldSchemaOf(index as { data_type: string; params?: unknown }),
    );
}

function check(what: string, expected: unknown, actual: unknown): void {
  if (JSON.stringify(expected) !== JSON.stringify(actual))
    throw new Error(
      `${what}: expected ${JSON.stringify(expected)}, the store holds ${JSON.stringify(actual)}`,
    );
}

// ------------------------------------------------------------------------------------------- the runs

interface ImportSummaryJson {
  outcome: string;
  totals: { inserted: number; updated: number; skipped: number; rejected: number };
}

export interface PostgresResult {
  rows: number;
  csvBytes: number;
  peerBytes: number;
  acx: Run & { stagingSeconds?: number; applySeconds?: number };
  /** Absent when bench/run.ts leaves the dry run out. */
  dryRun?: Run;
  psql: Run;
}

interface Neo4jResult {
  nodes: number;
  relationships: number;
  csvBytes: number;
  acx: Run & { nodeSeconds?: number; relSeconds?: number };
  peer: Run & { load: { seconds: number; nodeSeconds: number; relSeconds: number; commitSeconds: number } };
}

interface QdrantResult {
  points: number;
  fileBytes: number;
  peerBytes: number;
  acx: Run & { datasetSeconds?: number };
  peer: Run & { load: { seconds: number } };
}

interface SizeResult {
  n: number;
  postgres?: PostgresResult;
  neo4j?: Neo4jResult;
  qdrant?: QdrantResult;
}

const summaryOf = (m: Measured): ImportSummaryJson => JSON.parse(m.stdout) as ImportSummaryJson;

/** `[neo4j] neo4j_Symptom: 40000 records in 12.3 s` lines of the line reporter → seconds by dataset. */
function datasetSeconds(stderr: string): Record<string, number> {
  const seconds: Record<string, number> = {};
  for (const m of stderr.matchAll(/^\[\w+\] (\S+): \d+ records in ([\d.]+) s$/gm))
    seconds[m[1]!] = Number(m[2]);
  return seconds;
}

/** With --json-events: the time of the PostgreSQL "applying" phase, to split staging from applying. */
function applyPhaseTime(stderr: string): number | undefined {
  for (const line of stderr.split('\n')) {
    try {
      const event = JSON.parse(line) as { type?: string; store?: string; time?: string; message?: string };
      if (event.type === 'phase' && event.store === 'postgres' && event.message?.includes('applying'))
        return Date.parse(event.time ?? '');
    } catch {
      // not an event line
    }
  }
  return undefined;
}

async function benchPostgres(
  stores: TestStores,
  env: NodeJS.ProcessEnv,
  work: string,
  n: number,
): Promise<PostgresResult> {
  const dir = join(work, 'pg');
  const peerFile = join(work, 'pg_dtc_codes.copy.csv');
  const t = performance.now();
  const { bytes, peerBytes } = await writePostgresInput(dir, peerFile, n);
  console.error(
    `  wrote ${dir} (${(bytes / 1e6).toFixed(0)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  return {
    rows: n,
    csvBytes: bytes,
    peerBytes,
    ...(await measurePostgresImport(stores, env, dir, peerFile, n)),
  };
}

/**
 * One round of the PostgreSQL pair on inputs `writePostgresInput` wrote: `acx-data import --csv`, its
 * `--dry-run` (unless `dryRun` is false), then `psql \copy`, each into an emptied `dtc_codes` and
 * counted after. Also bench/run.ts's `pg-import` pair.
 */
export async function measurePostgresImport(
  stores: TestStores,
  env: NodeJS.ProcessEnv,
  dir: string,
  peerFile: string,
  n: number,
  options: { dryRun?: boolean } = {},
): Promise<Pick<PostgresResult, 'acx' | 'psql'> & { dryRun?: Run }> {
  await resetPostgres(stores);
  const t = Date.now();
  const acx = await measureAcx(['import', '--csv', dir, '--format', 'json', '--json-events'], env);
  const phase = applyPhaseTime(acx.stderrTail);
  const summary = summaryOf(acx);
  check(
    'acx-data import (postgres)',
    { outcome: 'written', inserted: n },
    { outcome: summary.outcome, inserted: summary.totals.inserted },
  );
  check('dtc_codes rows after acx-data import', n, await countDtc(stores));

  let dry: Measured | undefined;
  if (options.dryRun !== false) {
    await resetPostgres(stores);
    dry = await measureAcx(['import', '--csv', dir, '--dry-run', '--format', 'json', '-q'], env);
    const drySummary = summaryOf(dry);
    check(
      'acx-data import --dry-run (postgres)',
      { outcome: 'rolled-back', inserted: n },
      {
        outcome: drySummary.outcome,
        inserted: drySummary.totals.inserted,
      },
    );
    check('dtc_codes rows after the dry run', 0, await countDtc(stores));
  }

  await resetPostgres(stores);
  const pg = libpqEnv(env);
  const copy = `\\copy dtc_codes(${PG_COLUMNS.join(',')}) FROM '${peerFile}' WITH (FORMAT csv, HEADER true)`;
  const psql = await measure('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', copy], {
    env: pg.env,
    label: `psql -c "${copy}"`,
  });
  check('dtc_codes rows after psql \\copy', n, await countDtc(stores));
  await resetPostgres(stores);
  return {
    acx: {
      ...strip(acx),
      ...(phase
        ? { stagingSeconds: (phase - t) / 1000, applySeconds: acx.seconds - (phase - t) / 1000 }
        : {}),
    },
    ...(dry ? { dryRun: strip(dry) } : {}),
    psql: strip(psql),
  };
}

const childArgs = (...args: string[]) => [join(root, 'bench/import.ts'), '--child', ...args];

async function benchNeo4j(
  stores: TestStores,
  env: NodeJS.ProcessEnv,
  work: string,
  m: number,
): Promise<Neo4jResult> {
  const dir = join(work, 'neo4j');
  let t = performance.now();
  const { bytes } = await writeNeo4jInput(dir, m);
  console.error(
    `  wrote ${dir} (${(bytes / 1e6).toFixed(0)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const expected = { nodes: m, relationships: m };

  await resetNeo4j(stores);
  const acx = await measureAcx(['import', '--csv', dir, '--format', 'json'], env);
  const summary = summaryOf(acx);
  check(
    'acx-data import (neo4j)',
    { outcome: 'written', inserted: 2 * m },
    { outcome: summary.outcome, inserted: summary.totals.inserted },
  );
  check('graph after acx-data import', expected, await countGraph(stores));
  const seconds = datasetSeconds(acx.stderrTail);

  await resetNeo4j(stores);
  t = performance.now();
  const peer = await measure(process.execPath, childArgs('neo4j-peer', dir), {
    env,
    label: `driver UNWIND baseline ${dir}`,
  });
  const load = JSON.parse(peer.stdout) as Neo4jResult['peer']['load'];
  check('graph after the driver UNWIND baseline', expected, await countGraph(stores));
  await resetNeo4j(stores);
  return {
    nodes: m,
    relationships: m,
    csvBytes: bytes,
    acx: { ...strip(acx), nodeSeconds: seconds.neo4j_Symptom, relSeconds: seconds.neo4j_rel_RELATED_TO },
    peer: { ...strip(peer), load },
  };
}

async function benchQdrant(
  stores: TestStores,
  env: NodeJS.ProcessEnv,
  work: string,
  p: number,
  info: Record<string, unknown>,
): Promise<QdrantResult> {
  const file = join(work, 'qdrant_vectors.json.gz');
  const peerFile = join(work, 'points.ndjson.gz');
  const t = performance.now();
  const { bytes, peerBytes } = await writeQdrantInput(file, peerFile, p, info);
  console.error(
    `  wrote ${file} (${(bytes / 1e6).toFixed(0)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  await resetQdrant(stores, info);
  const acx = await measureAcx(['import', '--vectors', file, '--format', 'json'], env);
  const summary = summaryOf(acx);
  check(
    'acx-data import (qdrant)',
    { outcome: 'written', inserted: p },
    { outcome: summary.outcome, inserted: summary.totals.inserted },
  );
  check('points after acx-data import', p, await stores.qdrant.count(COLLECTION));

  await resetQdrant(stores, info);
  const peer = await measure(process.execPath, childArgs('qdrant-peer', peerFile, COLLECTION), {
    env,
    label: `upsertJson baseline ${peerFile}`,
  });
  check('points after the upsert baseline', p, await stores.qdrant.count(COLLECTION));
  await resetQdrant(stores, info);
  return {
    points: p,
    fileBytes: bytes,
    peerBytes,
    acx: { ...strip(acx), datasetSeconds: datasetSeconds(acx.stderrTail)[COLLECTION] },
    peer: { ...strip(peer), load: JSON.parse(peer.stdout) as { seconds: number } },
  };
}

// ----------------------------------------------------------------------------------------- the report

const rate = (records: number, seconds: number | undefined) =>
  seconds === undefined || seconds <= 0
    ? '–'
    : Math.round(records / seconds)
        .toLocaleString('en-US')
        .replace(/,/g, ' ');
const q2 = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? '–' : (a / b).toFixed(2);
const MB = (bytes: number) => (bytes / 1e6).toFixed(0);

function growth(results: SizeResult[], pick: (r: SizeResult) => Run | undefined): (r: SizeResult) => string {
  const first = results.find((r) => pick(r));
  return (r) => (r === first || !first ? '' : q2(pick(r)?.maxRssKiB, pick(first)?.maxRssKiB));
}

const cpu = (run: Run) => `${secs(run.userSeconds)} / ${secs(run.systemSeconds)}`;
const GROWTH = 'peak RSS / peak RSS at the smallest N';

function postgresTables(results: SizeResult[], startup: number): string {
  const rows = results.filter((r) => r.postgres);
  const acxGrowth = growth(rows, (r) => r.postgres?.acx);
  const dryGrowth = growth(rows, (r) => r.postgres?.dryRun);
  const main = markdownTable(
    [
      'N (rows)',
      'acx-data command',
      'acx s',
      'rows/s',
      'psql \\copy s',
      'psql rows/s',
      'ratio acx/psql',
      'acx peak RSS MiB',
      GROWTH,
    ],
    rows.flatMap((r) => {
      const p = r.postgres!;
      return [
        [
          String(p.rows),
          'import --csv',
          secs(p.acx.seconds),
          rate(p.rows, p.acx.seconds),
          secs(p.psql.seconds),
          rate(p.rows, p.psql.seconds),
          q2(p.acx.seconds, p.psql.seconds),
          mib(p.acx.maxRssKiB),
          acxGrowth(r),
        ],
        [
          String(p.rows),
          'import --csv --dry-run',
          secs(p.dryRun?.seconds),
          rate(p.rows, p.dryRun?.seconds),
          '(no peer)',
          '',
          `${q2(p.dryRun?.seconds, p.psql.seconds)} (${q2(p.dryRun?.seconds, p.acx.seconds)} × the import)`,
          mib(p.dryRun?.maxRssKiB),
          dryGrowth(r),
        ],
      ];
    }),
  );
  const detail = markdownTable(
    [
      'N (rows)',
      'CSV MB (acx / psql file)',
      'acx: read, check, COPY to staging s (incl. start-up)',
      'acx: apply (INSERT … SELECT) + commit s',
      'acx CPU user / sys s',
      'ratio acx/psql, acx start-up subtracted',
      'psql peak RSS MiB',
    ],
    rows.map((r) => {
      const p = r.postgres!;
      return [
        String(p.rows),
        `${MB(p.csvBytes)} / ${MB(p.peerBytes)}`,
        secs(p.acx.stagingSeconds),
        secs(p.acx.applySeconds),
        cpu(p.acx),
        q2(p.acx.seconds - startup, p.psql.seconds),
        mib(p.psql.maxRssKiB),
      ];
    }),
  );
  return `${main}\n\n${detail}`;
}

function neo4jTables(results: SizeResult[], startup: number): string {
  const rows = results.filter((r) => r.neo4j);
  const acxGrowth = growth(rows, (r) => r.neo4j?.acx);
  const main = markdownTable(
    [
      'N (nodes + relationships)',
      'acx s',
      'records/s',
      'baseline s',
      'baseline records/s',
      'ratio acx/baseline',
      'acx peak RSS MiB',
      GROWTH,
    ],
    rows.map((r) => {
      const g = r.neo4j!;
      const records = g.nodes + g.relationships;
      return [
        `${g.nodes} + ${g.relationships}`,
        secs(g.acx.seconds),
        rate(records, g.acx.seconds),
        secs(g.peer.load.seconds),
        rate(records, g.peer.load.seconds),
        q2(g.acx.seconds, g.peer.load.seconds),
        mib(g.acx.maxRssKiB),
        acxGrowth(r),
      ];
    }),
  );
  const detail = markdownTable(
    [
      'N (nodes + relationships)',
      'acx nodes / relationships s',
      'baseline nodes / relationships / commit s',
      'acx CPU user / sys s',
      'baseline CPU user / sys s',
      'ratio, acx start-up subtracted',
      'baseline process peak RSS MiB',
    ],
    rows.map((r) => {
      const g = r.neo4j!;
      return [
        `${g.nodes} + ${g.relationships}`,
        `${secs(g.acx.nodeSeconds)} / ${secs(g.acx.relSeconds)}`,
        `${secs(g.peer.load.nodeSeconds)} / ${secs(g.peer.load.relSeconds)} / ${secs(g.peer.load.commitSeconds)}`,
        cpu(g.acx),
        cpu(g.peer),
        q2(g.acx.seconds - startup, g.peer.load.seconds),
        mib(g.peer.maxRssKiB),
      ];
    }),
  );
  return `${main}\n\n${detail}`;
}

function qdrantTables(results: SizeResult[], startup: number): string {
  const rows = results.filter((r) => r.qdrant);
  const acxGrowth = growth(rows, (r) => r.qdrant?.acx);
  const main = markdownTable(
    [
      'N (points)',
      'acx s',
      'points/s',
      'baseline s',
      'baseline points/s',
      'ratio acx/baseline',
      'acx peak RSS MiB',
      GROWTH,
    ],
    rows.map((r) => {
      const v = r.qdrant!;
      return [
        String(v.points),
        secs(v.acx.seconds),
        rate(v.points, v.acx.seconds),
        secs(v.peer.load.seconds),
        rate(v.points, v.peer.load.seconds),
        q2(v.acx.seconds, v.peer.load.seconds),
        mib(v.acx.maxRssKiB),
        acxGrowth(r),
      ];
    }),
  );
  const detail = markdownTable(
    [
      'N (points)',
      'file MB (acx / baseline)',
      'acx CPU user / sys s',
      'baseline CPU user / sys s',
      'ratio, acx start-up subtracted',
      'baseline process peak RSS MiB',
    ],
    rows.map((r) => {
      const v = r.qdrant!;
      return [
        String(v.points),
        `${MB(v.fileBytes)} / ${MB(v.peerBytes)}`,
        cpu(v.acx),
        cpu(v.peer),
        q2(v.acx.seconds - startup, v.peer.load.seconds),
        mib(v.peer.maxRssKiB),
      ];
    }),
  );
  return `${main}\n\n${detail}`;
}

function report(results: SizeResult[], startup: Run, notes: MachineNotes): string {
  const s = startup.seconds;
  const has = (store: Store) => results.some((r) => r[store]);
  return [
    `# Imports: acx-data vs psql \\copy, a driver UNWIND load and direct Qdrant upserts (${notes.date.slice(0, 10)})`,
    '',
    'Produced by `npx node bench/import.ts` (bench/README.md). Synthetic inputs, the same rows for both sides; each',
    'command in a process of its own under `/usr/bin/time -v` (wall clock, peak RSS). acx-data figures are the whole',
    `command, start-up included (\`acx-data --version\`: ${secs(s)} s, ${mib(startup.maxRssKiB)} MiB); the Neo4j and`,
    'Qdrant baselines run in a process of their own too, but their seconds are their in-process load time (after',
    'start-up and connecting), so the ratios are conservative for acx-data. Ratios are acx-data / peer (1.00 is',
    'parity, 2.00 twice as long). "peak RSS / peak RSS at the smallest N" is the memory growth with the input’s',
    'size: a streaming import keeps it near 1.0. "CPU user / sys" are the process’s own CPU seconds (time -v); the',
    'rest of the wall time is waiting (for the store, or for a core: 2 cores serve both the client and the store).',
    'After every run the store was counted (rows, nodes and relationships, points) against the input.',
    '',
    ...(has('postgres')
      ? [
          '## PostgreSQL: `acx-data import --csv <dir>` vs `psql -c "\\copy dtc_codes(…) FROM … (FORMAT csv, HEADER true)"`',
          '',
          '`pg_dtc_codes.csv`: N unique valid DTC rows (code with a `-XX` suffix beyond 65 536 codes, English and',
          'Hungarian descriptions with commas, quotes, NULLs and `""`, category matching the letter, severity,',
          'is_generic, 0–3 symptoms as a JSON array, ISO timestamps) with a `manifest.json` in the export format',
          'declaring the field types (so values are read by declared type, as from a real export). psql reads a copy',
          'of the same rows whose `symptoms` are PostgreSQL array literals (`{"a","b"}`), as COPY does not read JSON',
          'arrays. Both into an emptied `dtc_codes` (`TRUNCATE … RESTART IDENTITY`) with its indexes (unique code,',
          'category/severity, two GIN array indexes, GIN full-text and trigram). acx-data runs one transaction:',
          'records are checked, COPY’d into a temporary staging table, checked for duplicates, then inserted with',
          'one `INSERT … SELECT`. `--dry-run` is the same import rolled back.',
          '',
          postgresTables(results, s),
          '',
        ]
      : []),
    ...(has('neo4j')
      ? [
          '## Neo4j: `acx-data import --csv <dir>` vs the driver UNWIND baseline',
          '',
          '`neo4j_Symptom.csv` (N/5 nodes: `_element_id`, `_labels` = `["Symptom"]`, unique `id`, `name`, `name_en`,',
          '`severity`, `keywords` list) and `neo4j_rel_RELATED_TO.csv` (N/5 relationships, endpoints by the nodes’',
          'input ids, a `weight` property) with a manifest. Into a Neo4j emptied of nodes that keeps the application',
          'schema (uniqueness constraints and indexes). Baseline: the same files through csv-parse, then',
          '`UNWIND $rows AS r CREATE (n:Symptom) SET n = r` and `UNWIND $rows AS r MATCH (a:Symptom {id: r.a})',
          'MATCH (b:Symptom {id: r.b}) CREATE (a)-[:RELATED_TO]->(b)` in batches of 1000, all in one transaction',
          '(acx-data also uses one transaction, batches of `--batch-size` 1000, and for each batch first reads the',
          'stored records it names to apply the conflict strategy).',
          '',
          neo4jTables(results, s),
          '',
        ]
      : []),
    ...(has('qdrant')
      ? [
          '## Qdrant (the test double): `acx-data import --vectors <file>` vs direct `upsertJson` batches',
          '',
          'A vectors file written by `writeVectorsFile` (N/20 points, 768-dim random unit float32 vectors, integer',
          'ids, a 4-key payload; the seeded `autocognitix` collection’s configuration and payload indexes). Into an',
          'empty `autocognitix` collection. Baseline: the same points as gzip’d JSON lines, each line passed as is',
          'to `QdrantClient.upsertJson` in batches of 256 (no JSON parsing on the client). acx-data parses the file,',
          'checks every point (id, dimensions, finite numbers, duplicates via its on-disk ledger), reads the stored',
          'versions of each batch of 1000 (`--batch-size`) for the conflict strategy, writes an undo file, then',
          'upserts. **Qdrant is the test double** (test/qdrant-double/, a Node process), not a real Qdrant: these',
          'figures compare client sides against the same server.',
          '',
          qdrantTables(results, s),
          '',
        ]
      : []),
    '## Machine',
    '',
    machineNotesMarkdown(notes),
    '',
  ].join('\n');
}

function write(outDir: string, results: SizeResult[], startup: Run, notes: MachineNotes): void {
  const base = join(outDir, `import-${notes.date.slice(0, 10)}`);
  mkdirSync(outDir, { recursive: true });
  const markdown = report(results, startup, notes);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.json`, `${JSON.stringify({ machine: notes, startup, results }, null, 2)}\n`);
  prettierWrite([`${base}.md`, `${base}.json`]);
  console.log(markdown);
  console.error(`written: ${base}.md, ${base}.json`);
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    if (argv[1] === 'neo4j-peer') return neo4jPeer(argv[2]!);
    if (argv[1] === 'qdrant-peer') return qdrantPeer(argv[2]!, argv[3]!);
    throw new Error(`unknown child ${argv[1]}`);
  }
  const outDir = resolve(option(argv, '--out') ?? join(root, 'bench/results'));
  const fromJson = option(argv, '--from-json');
  if (fromJson) {
    const saved = JSON.parse(readFileSync(fromJson, 'utf8')) as {
      machine: MachineNotes;
      startup: Run;
      results: SizeResult[];
    };
    write(outDir, saved.results, saved.startup, saved.machine);
    return;
  }
  const sizes = (option(argv, '--sizes') ?? '200000,1000000').split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 20) throw new Error(`bad size "${s}"`);
    return n;
  });
  const only = (option(argv, '--stores') ?? STORES.join(',')).split(',') as Store[];
  const unknown = only.filter((s) => !STORES.includes(s));
  if (unknown.length > 0) throw new Error(`unknown store: ${unknown.join(', ')}`);
  const env = process.env;
  const stack = guardStack(env, argv.includes('--allow-default-stack'));
  const notes = machineNotes(stack);
  console.error(`import benchmark on ${stack}, N = ${sizes.join(', ')}, stores ${only.join(', ')}`);

  const startup = strip(await measureAcx(['--version'], env));
  console.error(
    '== preparing: a small seed (schema, constraints, the autocognitix collection), then emptied',
  );
  await measureAcx(['seed', '--scale', '0.01', '--seed', '1', '--force', '-q'], env);
  const stores = connectionsOf(await openAllStores(env));
  const results: SizeResult[] = [];
  try {
    const info = await stores.qdrant.getCollection(COLLECTION);
    await resetPostgres(stores);
    await resetNeo4j(stores);
    await resetQdrant(stores, info);
    for (const n of sizes) {
      const work = mkdtempSync(join(tmpdir(), `acx-bench-import-${n}-`));
      const result: SizeResult = { n };
      try {
        if (only.includes('postgres')) {
          console.error(`\n== PostgreSQL, ${n} rows`);
          result.postgres = await benchPostgres(stores, env, work, n);
        }
        if (only.includes('neo4j')) {
          console.error(`\n== Neo4j, ${n / 5} nodes + ${n / 5} relationships`);
          result.neo4j = await benchNeo4j(stores, env, work, Math.floor(n / 5));
        }
        if (only.includes('qdrant')) {
          console.error(`\n== Qdrant, ${n / 20} points`);
          result.qdrant = await benchQdrant(stores, env, work, Math.floor(n / 20), info);
        }
      } finally {
        if (argv.includes('--keep')) console.error(`  kept ${work}`);
        else rmSync(work, { recursive: true, force: true });
      }
      results.push(result);
    }
  } finally {
    await stores.close();
  }
  notes.loadAverageAtEnd = loadAverage();
  write(outDir, results, startup, notes);
}

if (import.meta.main)
  main().catch((error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
