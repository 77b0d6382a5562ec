/**
 * The pairs of `npm run bench` (bench/run.ts): for each, acx-data and its peer on the same seeded data,
 * alternating within each round, every process timed under /usr/bin/time, every restore or import
 * checked by counting (and acx-data's restores by the store's content fingerprint). A pair returns its
 * samples (one per process run) and the figures the targets name; bench/run-report.ts renders.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openAllStores } from '../src/operations/open-stores.ts';
import { connectionsOf } from '../test/support/stores.ts';
import { measurePostgresImport, writePostgresInput } from './import.ts';
import { libpqEnv, measure, measureAcx, root, type Measured } from './lib.ts';
import type { Neo4jPeerCommand } from './neo4j-apoc.ts';
import {
  assertCounts,
  countStores,
  emptyStores,
  fingerprintStore,
  type BenchStore,
  type StoreCounts,
} from './stores.ts';

export const PAIRS = [
  'startup',
  'pg-backup',
  'pg-restore',
  'verify',
  'export',
  'neo4j-backup',
  'neo4j-restore',
  'qdrant-backup',
  'qdrant-restore',
  'pg-import',
] as const;
export type PairName = (typeof PAIRS)[number];

/** One timed process. */
export interface Sample {
  tool: string;
  round: number;
  seconds: number;
  cpuSeconds: number;
  maxRssKiB: number;
  isAcx: boolean;
  /** What the figures count per run (entities, points, records, bytes). */
  records?: number;
  bytes?: number;
}

export interface Target {
  /** `<=` a ratio or seconds or MiB, `>=` a rate. */
  op: '<=' | '>=';
  value: number;
  text: string;
}

/** A figure per round (a ratio acx/peer or a rate), rendered as median, min, max next to its target. */
export interface Figure {
  label: string;
  unit: string;
  values: number[];
  target?: Target;
}

export interface PairResult {
  pair: PairName;
  samples: Sample[];
  figures: Figure[];
  notes: string[];
}

export interface BenchContext {
  env: NodeJS.ProcessEnv;
  scale: number;
  rounds: number;
  counts: StoreCounts;
  fingerprints: Partial<Record<BenchStore, string>>;
  work: string;
  /** Results of one pair that a later one reuses (a snapshot, a dump, scrolled pages). */
  kept: Map<string, string>;
}

const sample = (tool: string, round: number, m: Measured, extra: Partial<Sample> = {}): Sample => ({
  tool,
  round,
  seconds: m.seconds,
  cpuSeconds: m.userSeconds + m.systemSeconds,
  maxRssKiB: m.maxRssKiB,
  isAcx: m.command.startsWith('acx-data'),
  ...extra,
});

const of = (samples: Sample[], tool: string): Sample[] => samples.filter((s) => s.tool === tool);

/** acx-data / peer wall time, round by round. */
function ratio(samples: Sample[], acx: string, peer: string, label: string, target?: Target): Figure {
  const a = of(samples, acx);
  const values = of(samples, peer).map((p, i) => (a[i]?.seconds ?? NaN) / p.seconds);
  return { label: `${label}: ${acx} / ${peer}`, unit: '×', values, ...(target ? { target } : {}) };
}

/** records per wall second (or per CPU second of the process), round by round. */
function rate(samples: Sample[], tool: string, unit: string, basis: 'wall' | 'cpu', target?: Target): Figure {
  const values = of(samples, tool).map(
    (s) => (s.records ?? 0) / (basis === 'wall' ? s.seconds : s.cpuSeconds),
  );
  const label = `${tool}: ${unit}${basis === 'cpu' ? ' of its own CPU (user + sys)' : ' (wall)'}`;
  return { label, unit, values, ...(target ? { target } : {}) };
}

const at = (op: Target['op'], value: number, text: string): Target => ({ op, value, text });

/** Runs `steps` in turn, reversed every other round, so that neither side always goes first. */
async function alternate(round: number, steps: Array<() => Promise<void>>): Promise<void> {
  for (const step of round % 2 === 0 ? steps : [...steps].reverse()) await step();
}

const fresh = (ctx: BenchContext, name: string): string => mkdtempSync(join(ctx.work, `${name}-`));
const json = <T>(m: Measured): T => JSON.parse(m.stdout) as T;
const acxOut = (dir: string): string[] => ['--backup-dir', dir, '-q', '--format', 'json'];

/** A snapshot of the named stores, taken once (untimed) unless an earlier pair kept one. */
async function snapshotOf(
  ctx: BenchContext,
  store: 'postgres' | 'neo4j' | 'qdrant' | 'all',
): Promise<[string, string]> {
  const key = `snapshot:${store}`;
  if (!ctx.kept.has(key)) {
    const dir = fresh(ctx, `snapshot-${store}`);
    const m = await measureAcx(['backup', `--${store}`, ...acxOut(dir)], ctx.env);
    ctx.kept.set(key, `${dir}\n${json<{ id: string }>(m).id}`);
  }
  return ctx.kept.get(key)!.split('\n') as [string, string];
}

/** After a restore: the counts of `store`, and for acx-data the fingerprint, against the seeded ones. */
async function checkRestored(
  ctx: BenchContext,
  what: string,
  store: BenchStore,
  fingerprint: boolean,
): Promise<void> {
  assertCounts(what, ctx.counts, await countStores(ctx.env), [store]);
  if (fingerprint && (await fingerprintStore(ctx.env, store)) !== ctx.fingerprints[store])
    throw new Error(`${what}: the restored ${store} differs from what was seeded (fingerprint)`);
}

const entities = (c: StoreCounts): number => c.neo4jNodes + c.neo4jRelationships;

// ------------------------------------------------------------------------------------------- the pairs

async function startup(ctx: BenchContext): Promise<PairResult> {
  const samples: Sample[] = [];
  for (let round = 0; round < ctx.rounds; round++) {
    samples.push(sample('acx-data --version', round, await measureAcx(['--version'], ctx.env)));
    samples.push(sample('acx-data --help', round, await measureAcx(['--help'], ctx.env)));
  }
  const figures = ['acx-data --version', 'acx-data --help'].flatMap((tool): Figure[] => [
    {
      label: `${tool}: wall`,
      unit: 's',
      values: of(samples, tool).map((s) => s.seconds),
      target: at('<=', 0.3, '≤ 0.3 s'),
    },
    {
      label: `${tool}: peak RSS`,
      unit: 'MiB',
      values: of(samples, tool).map((s) => s.maxRssKiB / 1024),
      target: at('<=', 70, '≤ 70 MiB'),
    },
  ]);
  return { pair: 'startup', samples, figures, notes: [] };
}

async function pgBackup(ctx: BenchContext): Promise<PairResult> {
  const pg = libpqEnv(ctx.env);
  const samples: Sample[] = [];
  for (let round = 0; round < ctx.rounds; round++) {
    const last = round === ctx.rounds - 1;
    const dir = fresh(ctx, 'pg-backup');
    await alternate(round, [
      async () => {
        const m = await measureAcx(['backup', '--postgres', ...acxOut(dir)], ctx.env);
        samples.push(
          sample('acx-data backup --postgres', round, m, { bytes: json<{ bytes: number }>(m).bytes }),
        );
        if (last) ctx.kept.set('snapshot:postgres', `${dir}\n${json<{ id: string }>(m).id}`);
      },
      async () => {
        const file = join(dir, 'dump.custom');
        samples.push(
          sample(
            'pg_dump -Fc',
            round,
            await measure('pg_dump', ['-Fc', '-f', file, pg.database], { env: pg.env }),
          ),
        );
        if (last) ctx.kept.set('dump:custom', file);
      },
      async () => {
        const out = join(dir, 'dump.dir');
        const m = await measure('pg_dump', ['-Fd', '-j2', '-f', out, pg.database], { env: pg.env });
        samples.push(sample('pg_dump -Fd -j2', round, m));
        rmSync(out, { recursive: true, force: true });
      },
    ]);
  }
  const acx = 'acx-data backup --postgres';
  return {
    pair: 'pg-backup',
    samples,
    figures: [
      ratio(samples, acx, 'pg_dump -Fc', 'PostgreSQL backup', at('<=', 0.5, '≤ 0.5×')),
      ratio(samples, acx, 'pg_dump -Fd -j2', 'PostgreSQL backup'),
    ],
    notes: [],
  };
}

async function pgRestore(ctx: BenchContext): Promise<PairResult> {
  const pg = libpqEnv(ctx.env);
  const [dir, id] = await snapshotOf(ctx, 'postgres');
  if (!ctx.kept.has('dump:custom')) {
    const file = join(fresh(ctx, 'dump'), 'dump.custom');
    await measure('pg_dump', ['-Fc', '-f', file, pg.database], { env: pg.env });
    ctx.kept.set('dump:custom', file);
  }
  const dump = ctx.kept.get('dump:custom')!;
  const samples: Sample[] = [];
  for (let round = 0; round < ctx.rounds; round++) {
    await alternate(round, [
      async () => {
        await emptyStores(ctx.env, ['postgres']);
        const m = await measureAcx(
          ['backup', '--restore', id, '--target', 'postgres', ...acxOut(dir)],
          ctx.env,
        );
        await checkRestored(ctx, 'acx-data restore --target postgres', 'postgres', true);
        samples.push(sample('acx-data restore --target postgres', round, m));
      },
      ...['-j2', '--single-transaction'].map((mode) => async () => {
        await emptyStores(ctx.env, ['postgres']);
        const m = await measure('pg_restore', [mode, '--no-owner', '-d', pg.database, dump], { env: pg.env });
        await checkRestored(ctx, `pg_restore ${mode}`, 'postgres', false);
        samples.push(sample(`pg_restore ${mode}`, round, m));
      }),
    ]);
  }
  return {
    pair: 'pg-restore',
    samples,
    figures: [
      ratio(
        samples,
        'acx-data restore --target postgres',
        'pg_restore -j2',
        'PostgreSQL restore into an emptied database',
        at('<=', 1.0, '≤ 1.0×'),
      ),
      ratio(
        samples,
        'acx-data restore --target postgres',
        'pg_restore --single-transaction',
        'PostgreSQL restore into an emptied database, all or nothing like acx-data',
      ),
    ],
    notes: [
      'All into a database emptied by bench/stores.ts. acx-data restores in one transaction (a failure ' +
        'leaves the database as it was) and checks each block of the snapshot as it reads it; ' +
        '`pg_restore -j2` loads in two sessions with no such guarantee (it cannot be combined with ' +
        '--single-transaction), so `pg_restore --single-transaction` is measured beside it. Neither ' +
        'runs ANALYZE (autovacuum does, within a minute).',
    ],
  };
}

async function verify(ctx: BenchContext): Promise<PairResult> {
  const dir = fresh(ctx, 'verify');
  const m0 = await measureAcx(['backup', '--all', ...acxOut(dir)], ctx.env);
  const id = json<{ id: string }>(m0).id;
  const files = (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
  const samples: Sample[] = [];
  for (let round = 0; round < ctx.rounds; round++) {
    await alternate(round, [
      async () => {
        samples.push(
          sample(
            'acx-data backup --verify',
            round,
            await measureAcx(['backup', '--verify', id, ...acxOut(dir)], ctx.env),
          ),
        );
      },
      async () => {
        samples.push(
          sample(
            'sha256sum',
            round,
            await measure('sha256sum', files, {
              env: ctx.env,
              label: `sha256sum (${files.length} files of the repository)`,
            }),
          ),
        );
      },
    ]);
  }
  return {
    pair: 'verify',
    samples,
    figures: [ratio(samples, 'acx-data backup --verify', 'sha256sum', 'Verify a snapshot of every store')],
    notes: [
      `The repository holds the one snapshot (\`backup --all\`, ${files.length} files); sha256sum reads every file of it. ` +
        'acx-data also decompresses and decodes every file it checks.',
    ],
  };
}

const EXPORT_FORMATS = ['csv', 'json', 'sqlite', 'excel', 'graphml', 'qdrant'] as const;

async function exportRates(ctx: BenchContext): Promise<PairResult> {
  const samples: Sample[] = [];
  for (let round = 0; round < ctx.rounds; round++) {
    for (const format of EXPORT_FORMATS) {
      const dir = fresh(ctx, `export-${format}`);
      const m = await measureAcx(
        ['export', `--${format}`, '--output-dir', dir, '-q', '--format', 'json'],
        ctx.env,
      );
      const records = json<{ results: Record<string, { records: number }> }>(m).results[
        format === 'excel' ? 'excel' : format
      ]?.records;
      samples.push(sample(`acx-data export --${format}`, round, m, { records: records ?? 0 }));
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    pair: 'export',
    samples,
    figures: EXPORT_FORMATS.map((f) => rate(samples, `acx-data export --${f}`, 'records/s', 'wall')),
    notes: ['No peer: records/s of each format written on its own, start-up included.'],
  };
}

/** One run of a Neo4j peer of bench/neo4j-apoc.ts (`export`, `export-file`, `import`) on `file`. */
const apocPeer = (ctx: BenchContext, command: Neo4jPeerCommand, file: string, label?: string) =>
  measure(process.execPath, [join(root, 'bench/neo4j-apoc.ts'), command, file], {
    env: ctx.env,
    ...(label ? { label } : {}),
  });

/**
 * Whether APOC's streamed export yields the graph: tried once, untimed, into `file`. On larger graphs it
 * can yield no row and no error (neo4j/apoc#647); the peer is then APOC's export to a file of the server.
 */
async function probeApocStream(ctx: BenchContext): Promise<{ streams: boolean; file: string }> {
  const file = join(fresh(ctx, 'apoc'), 'apoc.json');
  const streams = await apocPeer(ctx, 'export', file).then(
    () => true,
    (error: unknown) => {
      if (!/streamed no row/.test(String(error))) throw error;
      return false;
    },
  );
  return { streams, file };
}

async function neo4jBackup(ctx: BenchContext): Promise<PairResult> {
  const samples: Sample[] = [];
  const { streams } = await probeApocStream(ctx);
  const exportCommand = streams ? 'export' : 'export-file';
  const n = entities(ctx.counts);
  for (let round = 0; round < ctx.rounds; round++) {
    const dir = fresh(ctx, 'neo4j-backup');
    const last = round === ctx.rounds - 1;
    await alternate(round, [
      async () => {
        const m = await measureAcx(['backup', '--neo4j', ...acxOut(dir)], ctx.env);
        samples.push(sample('acx-data backup --neo4j', round, m, { records: n }));
        if (last) ctx.kept.set('snapshot:neo4j', `${dir}\n${json<{ id: string }>(m).id}`);
      },
      async () => {
        const file = join(dir, 'apoc.json');
        const m = await apocPeer(
          ctx,
          exportCommand,
          file,
          `apoc.export.json.all (${streams ? 'streamed' : 'to a file of the server'}) > ${file}`,
        );
        samples.push(sample('APOC export.json.all', round, m, { records: n }));
        if (last) ctx.kept.set('apoc:json', file);
      },
    ]);
  }
  return {
    pair: 'neo4j-backup',
    samples,
    figures: [
      ratio(
        samples,
        'acx-data backup --neo4j',
        'APOC export.json.all',
        'Neo4j backup',
        at('<=', 0.5, '≤ 0.5×'),
      ),
      rate(samples, 'acx-data backup --neo4j', 'entities/s', 'wall', at('>=', 50_000, '≥ 50 000')),
    ],
    notes: [
      `${ctx.counts.neo4jNodes} nodes + ${ctx.counts.neo4jRelationships} relationships${streams ? '; the APOC side is a driver script writing the streamed rows to a file.' : '.'}`,
      ...(streams
        ? []
        : [
            "APOC's streamed export yielded no row and no error (neo4j/apoc#647, tried once, untimed): the APOC side is `apoc.export.json.all('<file>', {})`, APOC writing the export to a file of the server (then moved next to acx-data's output: a rename), not the streamed driver script.",
          ]),
    ],
  };
}

async function neo4jRestore(ctx: BenchContext): Promise<PairResult> {
  const [dir, id] = await snapshotOf(ctx, 'neo4j');
  if (!ctx.kept.has('apoc:json')) {
    const probe = await probeApocStream(ctx);
    if (!probe.streams) await apocPeer(ctx, 'export-file', probe.file);
    ctx.kept.set('apoc:json', probe.file);
  }
  const file = ctx.kept.get('apoc:json')!;
  const n = entities(ctx.counts);
  const samples: Sample[] = [];
  let method = '';
  for (let round = 0; round < ctx.rounds; round++) {
    await alternate(round, [
      async () => {
        await emptyStores(ctx.env, ['neo4j']);
        const m = await measureAcx(['backup', '--restore', id, '--target', 'neo4j', ...acxOut(dir)], ctx.env);
        await checkRestored(ctx, 'acx-data restore --target neo4j', 'neo4j', true);
        samples.push(sample('acx-data restore --target neo4j', round, m, { records: n }));
      },
      async () => {
        await emptyStores(ctx.env, ['neo4j']);
        const m = await apocPeer(ctx, 'import', file, `apoc.import.json (or the UNWIND load) < ${file}`);
        method = json<{ method: string }>(m).method;
        await checkRestored(ctx, method, 'neo4j', false);
        samples.push(sample('APOC import.json', round, m, { records: n }));
      },
    ]);
  }
  // Leave the graph as seeded (APOC's import adds neo4jImportId properties and constraints).
  await emptyStores(ctx.env, ['neo4j']);
  await measureAcx(['backup', '--restore', id, '--target', 'neo4j', ...acxOut(dir)], ctx.env);
  const peerLabel = method === 'unwind' ? 'driver UNWIND load (APOC import not enabled)' : 'APOC import.json';
  for (const s of samples) if (s.tool === 'APOC import.json') s.tool = peerLabel;
  return {
    pair: 'neo4j-restore',
    samples,
    figures: [
      ratio(samples, 'acx-data restore --target neo4j', peerLabel, 'Neo4j restore into an emptied database'),
      rate(samples, 'acx-data restore --target neo4j', 'entities/s', 'wall', at('>=', 30_000, '≥ 30 000')),
    ],
    notes: [
      method === 'unwind'
        ? 'APOC refused its import (`apoc.import.file.enabled` is not set in the server’s conf/apoc.conf; the stack sets it): the peer is bench/neo4j-apoc.ts’s driver UNWIND load of the same APOC JSON file, labelled as such.'
        : 'The APOC side creates the `neo4jImportId` uniqueness constraints APOC requires, then sends the file’s bytes to `apoc.import.json`.',
    ],
  };
}

const loop = (ctx: BenchContext, command: string, dir: string) =>
  measure(process.execPath, [join(root, 'bench/qdrant-loops.ts'), command, dir], {
    env: ctx.env,
    label: `qdrant-loops ${command} ${dir}`,
  });

async function qdrantBackup(ctx: BenchContext): Promise<PairResult> {
  const samples: Sample[] = [];
  const p = ctx.counts.qdrantPoints;
  for (let round = 0; round < ctx.rounds; round++) {
    const dir = fresh(ctx, 'qdrant-backup');
    const last = round === ctx.rounds - 1;
    await alternate(round, [
      async () => {
        const m = await measureAcx(['backup', '--qdrant', ...acxOut(dir)], ctx.env);
        samples.push(sample('acx-data backup --qdrant', round, m, { records: p }));
        if (last) ctx.kept.set('snapshot:qdrant', `${dir}\n${json<{ id: string }>(m).id}`);
      },
      async () => {
        const out = join(dir, 'scroll');
        mkdirSync(out);
        samples.push(sample('bare scroll loop', round, await loop(ctx, 'scroll', out), { records: p }));
        if (last) ctx.kept.set('qdrant:pages', out);
      },
      async () => {
        const out = join(dir, 'server-snapshot');
        mkdirSync(out);
        samples.push(
          sample('server snapshot + download', round, await loop(ctx, 'snapshot-download', out), {
            records: p,
          }),
        );
        if (last) ctx.kept.set('qdrant:snapshots', out);
      },
    ]);
  }
  const acx = 'acx-data backup --qdrant';
  return {
    pair: 'qdrant-backup',
    samples,
    figures: [
      ratio(samples, acx, 'bare scroll loop', 'Qdrant backup', at('<=', 1.3, '≤ 1.3×')),
      ratio(samples, acx, 'server snapshot + download', 'Qdrant backup'),
      rate(samples, acx, 'points/s', 'wall'),
      rate(samples, acx, 'points/s', 'cpu', at('>=', 10_000, '≥ 10 000')),
    ],
    notes: [`${p} points in ${ctx.counts.qdrantCollections} collection(s); page size 256 on both sides.`],
  };
}

async function qdrantRestore(ctx: BenchContext): Promise<PairResult> {
  const [dir, id] = await snapshotOf(ctx, 'qdrant');
  for (const [key, command] of [
    ['qdrant:pages', 'scroll'],
    ['qdrant:snapshots', 'snapshot-download'],
  ] as const) {
    if (!ctx.kept.has(key)) {
      const out = fresh(ctx, command);
      await loop(ctx, command, out);
      ctx.kept.set(key, out);
    }
  }
  const p = ctx.counts.qdrantPoints;
  const samples: Sample[] = [];
  const peer = async (tool: string, command: string, key: string, round: number): Promise<void> => {
    await emptyStores(ctx.env, ['qdrant']);
    const m = await loop(ctx, command, ctx.kept.get(key)!);
    await checkRestored(ctx, tool, 'qdrant', false);
    samples.push(sample(tool, round, m, { records: p }));
  };
  for (let round = 0; round < ctx.rounds; round++) {
    await alternate(round, [
      async () => {
        await emptyStores(ctx.env, ['qdrant']);
        const m = await measureAcx(
          ['backup', '--restore', id, '--target', 'qdrant', ...acxOut(dir)],
          ctx.env,
        );
        await checkRestored(ctx, 'acx-data restore --target qdrant', 'qdrant', true);
        samples.push(sample('acx-data restore --target qdrant', round, m, { records: p }));
      },
      () => peer('bare upsert loop', 'upsert', 'qdrant:pages', round),
      () => peer('server snapshot upload', 'snapshot-upload', 'qdrant:snapshots', round),
    ]);
  }
  const acx = 'acx-data restore --target qdrant';
  return {
    pair: 'qdrant-restore',
    samples,
    figures: [
      ratio(samples, acx, 'bare upsert loop', 'Qdrant restore', at('<=', 1.3, '≤ 1.3×')),
      ratio(samples, acx, 'server snapshot upload', 'Qdrant restore'),
      rate(samples, acx, 'points/s', 'wall'),
      rate(samples, acx, 'points/s', 'cpu', at('>=', 10_000, '≥ 10 000')),
    ],
    notes: [
      'Into an emptied Qdrant; the upsert loop sends the scrolled pages back as they came, 2 requests in flight like acx-data.',
    ],
  };
}

async function pgImport(ctx: BenchContext): Promise<PairResult> {
  const n = Math.max(1000, Math.round(200_000 * ctx.scale));
  const dir = join(ctx.work, 'pg-import');
  const peerFile = join(ctx.work, 'pg_dtc_codes.copy.csv');
  await writePostgresInput(dir, peerFile, n);
  const stores = connectionsOf(await openAllStores(ctx.env));
  const samples: Sample[] = [];
  try {
    for (let round = 0; round < ctx.rounds; round++) {
      const r = await measurePostgresImport(stores, ctx.env, dir, peerFile, n, { dryRun: false });
      const as = (run: typeof r.acx, isAcx: boolean): Sample => ({
        tool: isAcx ? 'acx-data import --csv' : 'psql \\copy',
        round,
        seconds: run.seconds,
        cpuSeconds: run.userSeconds + run.systemSeconds,
        maxRssKiB: run.maxRssKiB,
        isAcx,
        records: n,
      });
      samples.push(as(r.acx, true), as(r.psql, false));
    }
  } finally {
    await stores.close();
  }
  return {
    pair: 'pg-import',
    samples,
    figures: [
      ratio(samples, 'acx-data import --csv', 'psql \\copy', 'PostgreSQL import', at('<=', 1.2, '≤ 1.2×')),
      rate(samples, 'acx-data import --csv', 'rows/s', 'wall'),
    ],
    notes: [
      `${n} synthetic dtc_codes rows (200 000 × scale) written by bench/import.ts, into an emptied dtc_codes; acx-data first, then psql, in each round. ` +
        'It truncates dtc_codes (and what references it), so it runs last.',
    ],
  };
}

export const RUNNERS: Record<PairName, (ctx: BenchContext) => Promise<PairResult>> = {
  startup,
  'pg-backup': pgBackup,
  'pg-restore': pgRestore,
  verify,
  export: exportRates,
  'neo4j-backup': neo4jBackup,
  'neo4j-restore': neo4jRestore,
  'qdrant-backup': qdrantBackup,
  'qdrant-restore': qdrantRestore,
  'pg-import': pgImport,
};
