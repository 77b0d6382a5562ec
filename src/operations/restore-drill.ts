/**
 * A restore drill (`backup --verify ID --restore-test`, design §13.7), as a checklist:
 *
 * 1. scratch targets: a new PostgreSQL database `acx_drill_<random>` on the server of DATABASE_URL; the
 *    snapshot's Qdrant collections renamed `<name>__drill_<random>` (aliases left out: they would move
 *    production aliases); the Neo4j at ACX_DRILL_NEO4J_URI, refused unless it holds no node;
 * 2. restore into them through the restore itself (`restoreSnapshot`; the verification just done is passed
 *    on, so the files are not read twice), its stores
 *    opened on the drill's settings and the snapshot's Qdrant names rewritten — no second restore;
 * 3. compare: the restored content's fingerprint (§5), per dataset, against the fingerprints the
 *    backup recorded in the manifest (records and hash); a dataset of an older snapshot that recorded
 *    none is compared by its record count (`compareContent`, §13.7);
 * 4. remove the scratch targets in a `finally`, also after a failure or Ctrl-C: the database dropped,
 *    the collections deleted, the drill Neo4j emptied (batched DETACH DELETE, constraints and indexes).
 *
 * A store without a scratch target (no ACX_DRILL_NEO4J_URI) is not tested: the outcome is `incomplete`.
 * The production databases are never written: the only statements on their servers are CREATE and DROP
 * of the scratch database and the drill's own Qdrant collections.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AcxError } from '../errors.ts';
import type { DatasetFingerprint, Fingerprint } from '../model/content-hash.ts';
import type { LabelMap } from '../model/labels.ts';
import type { StoreSection } from '../model/snapshot.ts';
import { STORE_NAMES, type ProgressReporter, type StoreName } from '../progress.ts';
import type { Repository, RestoreTest } from '../repository/repository.ts';
import type { SnapshotReader } from '../repository/snapshot-reader.ts';
import {
  createScratchDatabase,
  deleteCollections,
  fingerprintDrill,
  type PostgresScratch,
} from '../stores/drill-targets.ts';
import type { StoreSet } from '../stores/registry.ts';
import { openStores } from './open-stores.ts';
import { outcomeOf, type Outcome, type RunFailure } from './outcome.ts';
import { restoreSnapshot } from './restore.ts';
import type { VerifySummary } from './verify.ts';

type Env = Record<string, string | undefined>;

export interface DrillOptions {
  repository: Repository;
  snapshot: SnapshotReader;
  /** The production settings (DATABASE_URL, QDRANT_URL, …) and the drill's (ACX_DRILL_NEO4J_*). */
  env: Env;
  labels: LabelMap;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  /** The snapshot's verification just done by the caller: the drill's restore does not repeat it. */
  verified?: VerifySummary;
}

export interface DrillSummary {
  id: string;
  /** What verification.json records (and `--list`, status, report and metrics show). */
  restoreTest: RestoreTest;
  /** `incomplete`: a store had no scratch target (each in `failures`); `failed`: the drill failed. */
  outcome: Outcome;
  failures: RunFailure[];
}

/** The drill's Neo4j settings, or undefined when none is given. */
function drillNeo4jEnv(env: Env): Env | undefined {
  const uri = env.ACX_DRILL_NEO4J_URI?.trim();
  if (!uri) return undefined;
  return {
    NEO4J_URI: uri,
    NEO4J_USER: env.ACX_DRILL_NEO4J_USER ?? env.NEO4J_USER,
    NEO4J_PASSWORD: env.ACX_DRILL_NEO4J_PASSWORD ?? env.NEO4J_PASSWORD,
    NEO4J_DATABASE: env.ACX_DRILL_NEO4J_DATABASE,
  };
}

/** `bolt://host:port`, never user or password. */
function printableUri(uri: string): string {
  try {
    const url = new URL(uri);
    return `${url.protocol}//${url.host}`;
  } catch {
    return uri.replace(/^.*@/, '');
  }
}

/** The Qdrant section with every collection renamed `<name><suffix>` and no alias. */
function renamedQdrant(section: StoreSection, suffix: string): StoreSection {
  const collections = new Set(section.datasets.filter((d) => d.kind === 'collection').map((d) => d.name));
  const rename = (name: string): string => {
    const slash = name.indexOf('/');
    const owner = slash < 0 ? name : name.slice(0, slash);
    return collections.has(owner) ? `${owner}${suffix}${slash < 0 ? '' : name.slice(slash)}` : name;
  };
  return {
    ...section,
    datasets: section.datasets.map((d) => ({
      ...d,
      name: rename(d.name),
      ...(d.kind === 'collection' ? { aliases: [] } : {}),
    })),
  };
}

/**
 * The snapshot as the drill restores it: the same files, the stores it drills, Qdrant renamed. The
 * reader's own methods read the files (by path, unchanged); only the manifest they see differs.
 */
function drillReader(snapshot: SnapshotReader, stores: StoreName[], suffix: string): SnapshotReader {
  const manifest = snapshot.manifest;
  const sections: Partial<Record<StoreName, StoreSection>> = {};
  for (const name of stores) {
    const section = manifest.stores[name];
    if (section) sections[name] = name === 'qdrant' ? renamedQdrant(section, suffix) : section;
  }
  return Object.create(snapshot, {
    manifest: { value: { ...manifest, stores: sections }, enumerable: true },
  }) as SnapshotReader;
}

/** `dataset: N in the snapshot, M restored` for each count that differs. */
export function compareCounts(
  section: { postgres?: StoreSection; neo4j?: StoreSection; qdrant?: StoreSection },
  restored: Fingerprint,
  suffix: string,
): { datasets: number; mismatches: string[] } {
  const expected = new Map<string, number>();
  for (const d of section.postgres?.datasets ?? [])
    if (d.kind === 'table') expected.set(`postgres/table/${d.name.replace(/^public\./, '')}`, d.records);
  for (const d of section.neo4j?.datasets ?? [])
    if (d.kind === 'nodes' || d.kind === 'relationships') expected.set(`neo4j/${d.kind}`, d.records);
  for (const d of section.qdrant?.datasets ?? [])
    if (d.kind === 'points') expected.set(`qdrant/collections/${d.name}`, d.records);
  const actual = (key: string): number => {
    if (key === 'neo4j/nodes' || key === 'neo4j/relationships')
      return Object.entries(restored)
        .filter(([k]) => k.startsWith(`${key}/`))
        .reduce((sum, [, v]) => sum + v.records, 0);
    return restored[key]?.records ?? 0;
  };
  const mismatches: string[] = [];
  for (const [key, records] of expected) {
    const got = actual(key);
    if (got !== records)
      mismatches.push(`${key.replace(suffix, '')}: ${records} records in the snapshot, ${got} restored`);
  }
  return { datasets: expected.size, mismatches };
}

/** The hash of an empty dataset (no record: the sum is 0). */
const EMPTY_HASH = '0'.repeat(64);

type Sections = { postgres?: StoreSection; neo4j?: StoreSection; qdrant?: StoreSection };

/** What the drill compared: the recorded fingerprints, record counts (older snapshots), or both. */
export type Compared = 'fingerprints' | 'counts' | 'fingerprints and counts';

/**
 * Splits the snapshot's datasets into those with a recorded fingerprint (by fingerprint key) and the
 * sections of those without one, which are compared by count. A graph with fingerprints is taken whole:
 * a label or type the restore holds beyond the recorded ones is expected empty.
 */
function recordedFingerprints(
  sections: Sections,
  restored: Fingerprint,
): { expected: Map<string, DatasetFingerprint>; byCount: Sections } {
  const expected = new Map<string, DatasetFingerprint>();
  const byCount: Sections = {};
  const { postgres, neo4j, qdrant } = sections;
  const split = (section: StoreSection, keyOf: (name: string) => string | undefined): StoreSection => ({
    ...section,
    datasets: section.datasets.filter((d) => {
      const key = keyOf(d.name);
      const recorded = key === undefined ? undefined : section.fingerprints?.[key];
      if (recorded) expected.set(key!, recorded);
      return !recorded;
    }),
  });
  if (postgres)
    byCount.postgres = split(postgres, (name) => `postgres/table/${name.replace(/^public\./, '')}`);
  if (qdrant) byCount.qdrant = split(qdrant, (name) => `qdrant/collections/${name}`);
  if (neo4j?.fingerprints) {
    const graph = (key: string) => key.startsWith('neo4j/nodes/') || key.startsWith('neo4j/relationships/');
    for (const key of Object.keys(restored).filter(graph))
      expected.set(key, { records: 0, hash: EMPTY_HASH });
    for (const [key, recorded] of Object.entries(neo4j.fingerprints))
      if (graph(key)) expected.set(key, recorded);
  } else if (neo4j) byCount.neo4j = neo4j;
  return { expected, byCount };
}

/**
 * The drill's comparison (design §13.7): each dataset's restored fingerprint against the one the backup
 * recorded (records and hash: "content differs" names it), and, for datasets of snapshots that recorded
 * none, its record count (`compareCounts`). `sections` are the snapshot's own (Qdrant not renamed);
 * `suffix` is taken out of the restored keys first.
 */
export function compareContent(
  sections: Sections,
  restored: Fingerprint,
  suffix: string,
): { datasets: number; mismatches: string[]; compared: Compared } {
  const found: Fingerprint = Object.fromEntries(
    Object.entries(restored).map(([key, value]) => [key.replace(suffix, ''), value]),
  );
  const { expected, byCount } = recordedFingerprints(sections, found);
  const counted = compareCounts(byCount, found, '');
  const mismatches: string[] = [];
  for (const [key, recorded] of [...expected].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const got = found[key] ?? { records: 0, hash: EMPTY_HASH };
    if (got.records !== recorded.records || got.hash !== recorded.hash)
      mismatches.push(
        `${key}: content differs (${recorded.records} records in the snapshot, ${got.records} restored)`,
      );
  }
  const compared: Compared =
    counted.datasets === 0 ? 'fingerprints' : expected.size === 0 ? 'counts' : 'fingerprints and counts';
  return {
    datasets: expected.size + counted.datasets,
    mismatches: [...mismatches, ...counted.mismatches],
    compared,
  };
}

/** One digest of the restored content (drill names taken out): equal drills of a snapshot give equal digests. */
function digestOf(fingerprint: Fingerprint, suffix: string): string {
  const entries = Object.entries(fingerprint)
    .map(([k, v]) => [k.replace(suffix, ''), v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

/** What was set up, for the `finally` that removes it. */
interface Scratch {
  postgres?: PostgresScratch;
  qdrantCollections: string[];
  /** Set once the drill Neo4j was found empty (only then is it emptied afterwards). */
  neo4jChecked?: boolean;
  stores?: StoreSet;
}

async function removeScratch(scratch: Scratch, reporter: ProgressReporter): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
      reporter.emit({
        type: 'warning',
        message: `drill: could not remove ${what}: ${(error as Error).message}`,
      });
    }
  };
  const stores = scratch.stores;
  if (scratch.qdrantCollections.length > 0 && stores?.qdrant)
    await attempt(`Qdrant collections ${scratch.qdrantCollections.join(', ')}`, () =>
      deleteCollections(stores.qdrant, scratch.qdrantCollections),
    );
  if (scratch.neo4jChecked && stores?.neo4j)
    await attempt('the drill Neo4j content', () => stores.neo4j!.empty());
  await stores?.close();
  if (scratch.postgres) await attempt(`database ${scratch.postgres.name}`, () => scratch.postgres!.drop());
  return problems;
}

type DrillResult = Omit<RestoreTest, 'at' | 'durationMs' | 'targets'>;
type DrillReader = ReturnType<typeof drillReader>;

/**
 * Phase 1: the scratch targets — the PostgreSQL database, the renamed collections, the drill Neo4j
 * (checked empty) — recorded in `scratch` as they are made, so the `finally` removes what exists.
 */
async function setUpScratch(
  options: DrillOptions,
  plan: { drilled: StoreName[]; random: string; suffix: string; neo4jEnv: Env | undefined },
  scratch: Scratch,
  targets: RestoreTest['targets'],
): Promise<DrillReader> {
  const { snapshot, reporter, env } = options;
  const { drilled, neo4jEnv } = plan;
  const drillEnv: Env = { ...env, ...(neo4jEnv ?? {}) };
  if (drilled.includes('postgres')) {
    scratch.postgres = await createScratchDatabase(env, `acx_drill_${plan.random}`);
    drillEnv.DATABASE_URL = scratch.postgres.settings.url;
    targets.postgres = scratch.postgres.printable;
  }
  if (drilled.includes('neo4j')) targets.neo4j = printableUri(neo4jEnv!.NEO4J_URI!);
  const reader = drillReader(snapshot, drilled, plan.suffix);
  if (drilled.includes('qdrant')) {
    scratch.qdrantCollections = reader.manifest.stores
      .qdrant!.datasets.filter((d) => d.kind === 'collection')
      .map((d) => d.name);
    targets.qdrant = scratch.qdrantCollections.join(', ');
  }
  reporter.emit({
    type: 'phase',
    store: 'repository',
    message: `restore drill of ${snapshot.id} into ${Object.values(targets).join('; ')}`,
  });
  scratch.stores = await openStores(drillEnv, drilled, { reporter });
  if (scratch.stores.neo4j) {
    if (!(await scratch.stores.neo4j.isEmpty()))
      throw new AcxError(
        'NOT_EMPTY',
        `the drill Neo4j at ${targets.neo4j} holds data: a drill writes only into an empty graph and never empties one it did not fill`,
        {
          subject: 'ACX_DRILL_NEO4J_URI',
          hint: 'point ACX_DRILL_NEO4J_URI at an empty Neo4j kept for drills',
        },
      );
    scratch.neo4jChecked = true;
  }
  return reader;
}

/** Phase 2: the restore into the scratch targets, then the restored content fingerprinted and compared. */
async function restoreAndCompare(
  options: DrillOptions,
  reader: DrillReader,
  drilled: StoreName[],
  scratch: Scratch,
  suffix: string,
): Promise<DrillResult> {
  const { snapshot, reporter } = options;
  const restore = await restoreSnapshot({
    repository: options.repository,
    snapshot: reader,
    targets: drilled,
    stores: scratch.stores!,
    dryRun: false,
    force: false,
    qdrantSnapshots: false,
    dataDir: '',
    // force is false: no safety backup is ever taken (the scratch targets are new and empty).
    safetyBackup: {
      compression: 'zstd',
      pgDump: 'never',
      qdrantSnapshots: false,
      dataDir: '',
      excludedDirs: [],
    },
    reporter,
    signal: options.signal,
    verified: options.verified,
  });
  if (restore.failures.length > 0)
    throw new AcxError(
      restore.failures[0]!.code,
      `restore failed: ${restore.failures.map((f) => `${f.item}: ${f.message}`).join('; ')}`,
      { subject: snapshot.id },
    );
  reporter.emit({
    type: 'phase',
    store: 'repository',
    message: `drill: fingerprinting the restored content`,
  });
  const fingerprint = await fingerprintDrill(scratch.stores!, options.labels, scratch.qdrantCollections);
  // The snapshot's own sections (Qdrant under its own names) of the stores drilled.
  const sections: Sections = {};
  for (const name of drilled) {
    const section = snapshot.manifest.stores[name];
    if (section) sections[name] = section;
  }
  const result = compareContent(sections, fingerprint, suffix);
  return { ok: result.mismatches.length === 0, ...result, fingerprint: digestOf(fingerprint, suffix) };
}

/** Runs the drill of `snapshot`; its result is returned (the caller records it), never thrown. */
export async function drillSnapshot(options: DrillOptions): Promise<DrillSummary> {
  const { snapshot, reporter, env } = options;
  const started = performance.now();
  const at = new Date().toISOString();
  const random = randomBytes(4).toString('hex');
  const suffix = `__drill_${random}`;
  const held = STORE_NAMES.filter((name) => snapshot.manifest.stores[name]);
  const neo4jEnv = drillNeo4jEnv(env);
  const failures: RunFailure[] = [];
  const drilled = held.filter((name) => name !== 'neo4j' || neo4jEnv !== undefined);
  if (held.includes('neo4j') && !neo4jEnv)
    failures.push({
      item: 'neo4j',
      code: 'CONFIG',
      message: 'not tested: no scratch Neo4j (ACX_DRILL_NEO4J_URI is not set)',
      hint: 'set ACX_DRILL_NEO4J_URI (+ ACX_DRILL_NEO4J_USER/_PASSWORD) to an empty Neo4j; never the production one',
    });
  const scratch: Scratch = { qdrantCollections: [] };
  const targets: RestoreTest['targets'] = {};
  let result: DrillResult;
  try {
    const reader = await setUpScratch(options, { drilled, random, suffix, neo4jEnv }, scratch, targets);
    result = await restoreAndCompare(options, reader, drilled, scratch, suffix);
  } catch (error) {
    if (error instanceof AcxError && error.code === 'INTERRUPTED') {
      await removeScratch(scratch, reporter);
      throw error;
    }
    result = { ok: false, datasets: 0, mismatches: [], error: (error as Error).message };
  }
  const leftovers = await removeScratch(scratch, reporter);
  if (leftovers.length > 0)
    result = {
      ...result,
      error: [result.error, `not removed: ${leftovers.join('; ')}`].filter(Boolean).join('; '),
    };
  const restoreTest: RestoreTest = {
    at,
    ...result,
    durationMs: Math.round(performance.now() - started),
    targets,
  };
  if (!restoreTest.ok)
    failures.push({
      item: 'restore drill',
      code: 'INTEGRITY',
      message: restoreTest.error ?? restoreTest.mismatches.join('; '),
    });
  const outcome: Outcome = !restoreTest.ok ? 'failed' : outcomeOf(failures, held.length);
  return { id: snapshot.id, restoreTest, outcome, failures };
}
