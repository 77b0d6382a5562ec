/**
 * Backup and restore, acx-data side by side with pg_dump / pg_restore, on the same seeded data in one run.
 *
 *   npx node bench/backup-restore.ts --scales 1,5 [--out bench/results] [--keep] [--allow-default-stack]
 *   npx node bench/backup-restore.ts --from-json bench/results/backup-restore-<date>.json   (re-render only)
 *
 * For each scale: `acx-data seed --scale S --seed 1 --force`, then, each under `/usr/bin/time -v` (wall
 * clock and peak RSS): `backup --all`, `backup --postgres`, `pg_dump -Fc`; PostgreSQL restores over the
 * seeded data (`--restore --force --target postgres` vs `pg_restore --clean --if-exists
 * --single-transaction`) and into an emptied database; full restores over the data (`--force`, which
 * takes a safety backup first) and into three emptied stores. After every restore the stores are counted
 * against what was seeded. Writes bench/results/backup-restore-<date>.md and .json. See bench/README.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  guardStack,
  loadAverage,
  libpqEnv,
  machineNotes,
  machineNotesMarkdown,
  markdownTable,
  measure,
  measureAcx,
  mib,
  option,
  prettierWrite,
  ratio,
  root,
  secs,
  type MachineNotes,
  type Measured,
} from './lib.ts';
import { assertCounts, countStores, emptyStores, type StoreCounts } from './stores.ts';

interface BackupSummary {
  id: string;
  bytes: number;
  seconds: number;
  stores: Record<string, { records: number; bytes: number; seconds: number }>;
}

interface RestoreSummary {
  seconds: number;
  safetySnapshot?: { seconds: number; bytes: number };
  restored: Record<string, { seconds: number }>;
}

/** One timed process, without its (possibly large) stdout. */
type Run = Omit<Measured, 'stdout'>;

interface ScaleResult {
  scale: number;
  counts: StoreCounts;
  /** `acx-data --version`: the start-up cost every acx-data figure includes. */
  startup: Run;
  seed: Run;
  backupAll: Run & { summary: BackupSummary };
  backupPostgres: Run & { summary: BackupSummary };
  pgDump: Run & { bytes: number };
  restorePostgresOverData: Run & { summary: RestoreSummary };
  pgRestoreOverData: Run;
  restorePostgresIntoEmpty: Run & { summary: RestoreSummary };
  pgRestoreIntoEmpty: Run;
  restoreAllOverData: Run & { summary: RestoreSummary };
  restoreAllIntoEmpty: Run & { summary: RestoreSummary };
}

const strip = ({ stdout: _stdout, ...run }: Measured): Run => run;
const json = <T>(m: Measured): T => JSON.parse(m.stdout) as T;

async function benchScale(scale: number, env: NodeJS.ProcessEnv, keep: boolean): Promise<ScaleResult> {
  const pg = libpqEnv(env);
  const work = mkdtempSync(join(tmpdir(), `acx-bench-br-${scale}-`));
  const backupDir = join(work, 'backups');
  const dataDir = join(work, 'data');
  const dumpFile = join(work, 'pg_dump.custom');
  // A small application data directory of its own (the repository's data/ is left alone).
  const writeJsonFiles = (): void => {
    mkdirSync(join(dataDir, 'dtc_codes'), { recursive: true });
    writeFileSync(
      join(dataDir, 'dtc_codes', 'translation_cache.json'),
      JSON.stringify({ P0300: 'Gyújtáskimaradás' }),
    );
  };
  writeJsonFiles();
  const acxCommon = ['--backup-dir', backupDir, '--data-dir', dataDir, '-q', '--format', 'json'];
  try {
    console.error(`\n== scale ${scale} (work dir ${work})`);
    const startup = strip(await measureAcx(['--version'], env));
    const seed = await measureAcx(['seed', '--scale', String(scale), '--seed', '1', '--force', '-q'], env);
    const counts = await countStores(env);
    console.error(`  seeded: ${JSON.stringify(counts)}`);

    const all = await measureAcx(['backup', '--all', ...acxCommon], env);
    const backupAll = { ...strip(all), summary: json<BackupSummary>(all) };
    const pgOnly = await measureAcx(['backup', '--postgres', ...acxCommon], env);
    const backupPostgres = { ...strip(pgOnly), summary: json<BackupSummary>(pgOnly) };
    const dump = await measure('pg_dump', ['-Fc', '-f', dumpFile, pg.database], { env: pg.env });
    const pgDump = { ...strip(dump), bytes: statSync(dumpFile).size };

    const pgRestoreArgs = ['--clean', '--if-exists', '--no-owner', '--single-transaction', '-d', pg.database];
    const restorePg = async (force: boolean) => {
      const args = ['backup', '--restore', backupPostgres.summary.id, '--target', 'postgres', ...acxCommon];
      const m = await measureAcx(force ? [...args, '--force'] : args, env);
      assertCounts('acx-data restore (postgres)', counts, await countStores(env), ['postgres']);
      return { ...strip(m), summary: json<RestoreSummary>(m) };
    };
    const pgRestore = async () => {
      const m = await measure('pg_restore', [...pgRestoreArgs, dumpFile], { env: pg.env });
      assertCounts('pg_restore', counts, await countStores(env), ['postgres']);
      return strip(m);
    };

    console.error('  -- PostgreSQL restore over the seeded data');
    const restorePostgresOverData = await restorePg(true);
    const pgRestoreOverData = await pgRestore();
    console.error('  -- PostgreSQL restore into an emptied database');
    await emptyStores(env, ['postgres']);
    const restorePostgresIntoEmpty = await restorePg(false);
    await emptyStores(env, ['postgres']);
    const pgRestoreIntoEmpty = await pgRestore();

    console.error('  -- full restore over the data (--force: safety backup first)');
    const overData = await measureAcx(
      ['backup', '--restore', backupAll.summary.id, '--force', ...acxCommon],
      env,
    );
    assertCounts('acx-data restore --force (all)', counts, await countStores(env));
    console.error('  -- full restore into emptied stores');
    await emptyStores(env);
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir);
    const intoEmpty = await measureAcx(['backup', '--restore', backupAll.summary.id, ...acxCommon], env);
    assertCounts('acx-data restore (all, into empty stores)', counts, await countStores(env));

    return {
      scale,
      counts,
      startup,
      seed: strip(seed),
      backupAll,
      backupPostgres,
      pgDump,
      restorePostgresOverData,
      pgRestoreOverData,
      restorePostgresIntoEmpty,
      pgRestoreIntoEmpty,
      restoreAllOverData: { ...strip(overData), summary: json<RestoreSummary>(overData) },
      restoreAllIntoEmpty: { ...strip(intoEmpty), summary: json<RestoreSummary>(intoEmpty) },
    };
  } finally {
    if (keep) console.error(`  kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

const MB = (bytes: number): string => (bytes / 1e6).toFixed(1);

function scaleTable(r: ScaleResult): string {
  const safety = (s: RestoreSummary): string =>
    s.safetySnapshot ? `; of which safety backup ${secs(s.safetySnapshot.seconds)} s` : '';
  const row = (what: string, run: Run, note: string): string[] => [
    what,
    secs(run.seconds),
    mib(run.maxRssKiB),
    note,
  ];
  const storeSeconds = (s: BackupSummary): string =>
    Object.entries(s.stores)
      .map(([name, v]) => `${name} ${secs(v.seconds)} s / ${MB(v.bytes)} MB`)
      .join(', ');
  return markdownTable(
    ['operation', 'wall s', 'peak RSS MiB', 'notes'],
    [
      row('acx-data --version', r.startup, 'start-up only, part of every acx-data figure'),
      row(
        'acx-data seed',
        r.seed,
        `${r.counts.postgresRows} rows, ${r.counts.neo4jNodes} nodes, ${r.counts.qdrantPoints} points`,
      ),
      row(
        'acx-data backup --all',
        r.backupAll,
        `snapshot ${MB(r.backupAll.summary.bytes)} MB; ${storeSeconds(r.backupAll.summary)}`,
      ),
      row(
        'acx-data backup --postgres',
        r.backupPostgres,
        `snapshot ${MB(r.backupPostgres.summary.bytes)} MB (zstd)`,
      ),
      row('pg_dump -Fc', r.pgDump, `dump ${MB(r.pgDump.bytes)} MB (custom format, zlib)`),
      row(
        'acx-data restore --force --target postgres (over data)',
        r.restorePostgresOverData,
        `includes verification${safety(r.restorePostgresOverData.summary)}`,
      ),
      row('pg_restore --clean --if-exists --single-transaction (over data)', r.pgRestoreOverData, ''),
      row(
        'acx-data restore --target postgres (empty DB)',
        r.restorePostgresIntoEmpty,
        'includes verification',
      ),
      row('pg_restore … (empty DB)', r.pgRestoreIntoEmpty, ''),
      row(
        'acx-data restore --force (all stores, over data)',
        r.restoreAllOverData,
        `includes verification${safety(r.restoreAllOverData.summary)}`,
      ),
      row('acx-data restore (all stores, emptied first)', r.restoreAllIntoEmpty, 'includes verification'),
    ],
  );
}

function ratioTable(results: ScaleResult[]): string {
  const withoutSafety = (run: Run & { summary: RestoreSummary }): number =>
    run.seconds - (run.summary.safetySnapshot?.seconds ?? 0);
  const rows: Array<[string, (r: ScaleResult) => string]> = [
    [
      'PG backup time: acx-data backup --postgres / pg_dump -Fc',
      (r) => ratio(r.backupPostgres.seconds, r.pgDump.seconds),
    ],
    [
      'PG backup size: acx-data snapshot / pg_dump file',
      (r) => ratio(r.backupPostgres.summary.bytes, r.pgDump.bytes),
    ],
    [
      'PG restore over data: acx-data --force / pg_restore --clean',
      (r) => ratio(r.restorePostgresOverData.seconds, r.pgRestoreOverData.seconds),
    ],
    [
      "… the same without acx-data's safety backup",
      (r) => ratio(withoutSafety(r.restorePostgresOverData), r.pgRestoreOverData.seconds),
    ],
    [
      'PG restore into an empty DB: acx-data / pg_restore',
      (r) => ratio(r.restorePostgresIntoEmpty.seconds, r.pgRestoreIntoEmpty.seconds),
    ],
    [
      'PG backup time, acx-data start-up (`--version`) subtracted',
      (r) => ratio(r.backupPostgres.seconds - r.startup.seconds, r.pgDump.seconds),
    ],
    [
      'PG restore into an empty DB, acx-data start-up subtracted',
      (r) => ratio(r.restorePostgresIntoEmpty.seconds - r.startup.seconds, r.pgRestoreIntoEmpty.seconds),
    ],
    ['PG backup peak RSS: acx-data / pg_dump', (r) => ratio(r.backupPostgres.maxRssKiB, r.pgDump.maxRssKiB)],
    [
      'PG restore peak RSS (empty DB): acx-data / pg_restore',
      (r) => ratio(r.restorePostgresIntoEmpty.maxRssKiB, r.pgRestoreIntoEmpty.maxRssKiB),
    ],
  ];
  return markdownTable(
    ['ratio (lower is better for acx-data; 1.00 = same)', ...results.map((r) => `scale ${r.scale}`)],
    rows.map(([label, f]) => [label, ...results.map(f)]),
  );
}

function memoryTable(results: ScaleResult[]): string {
  const first = results[0];
  const last = results[results.length - 1];
  const span = first && last && first !== last ? `scale ${last.scale} / scale ${first.scale}` : undefined;
  const rows: Array<[string, (r: ScaleResult) => Run]> = [
    ['acx-data seed', (r) => r.seed],
    ['acx-data backup --all', (r) => r.backupAll],
    ['acx-data backup --postgres', (r) => r.backupPostgres],
    ['acx-data restore --force --target postgres', (r) => r.restorePostgresOverData],
    ['acx-data restore --target postgres (empty DB)', (r) => r.restorePostgresIntoEmpty],
    ['acx-data restore --force (all)', (r) => r.restoreAllOverData],
    ['acx-data restore (all, emptied first)', (r) => r.restoreAllIntoEmpty],
  ];
  return markdownTable(
    [
      'process (peak RSS, MiB)',
      ...results.map((r) => `scale ${r.scale}`),
      ...(span ? [span, 'within 20 %?'] : []),
    ],
    rows.map(([label, pick]) => {
      const cells = [label, ...results.map((r) => mib(pick(r).maxRssKiB))];
      if (span && first && last) {
        const q = pick(last).maxRssKiB / pick(first).maxRssKiB;
        cells.push(q.toFixed(2), q <= 1.2 ? 'yes' : 'no');
      }
      return cells;
    }),
  );
}

function report(results: ScaleResult[], notes: MachineNotes): string {
  return [
    `# Backup and restore: acx-data vs pg_dump / pg_restore (${notes.date.slice(0, 10)})`,
    '',
    'Produced by `npx node bench/backup-restore.ts` (bench/README.md). Each figure is one run under ' +
      '`/usr/bin/time -v` (wall clock, peak RSS of the process). acx-data restores include the ' +
      "verification of the snapshot's checksums; every restore was checked by counting the stores.",
    '',
    '## Ratios (same data, same run)',
    '',
    ratioTable(results),
    '',
    '## Peak memory of the acx-data processes across scales',
    '',
    'The bar of the issue: peak memory at scale 5 within 20 % of scale 1 (ratio ≤ 1.20).',
    '',
    memoryTable(results),
    '',
    ...results.flatMap((r) => [`## Scale ${r.scale}`, '', scaleTable(r), '']),
    '## Machine',
    '',
    machineNotesMarkdown(notes),
    '- pg_dump -Fc compresses with zlib at its default level; acx-data snapshots use zstd (default). ' +
      'acx-data runs its TypeScript on Node (type stripping, no build step): each process pays the start-up shown by the ' +
      '`acx-data --version` row (time and baseline RSS), which weighs most at scale 1.',
    '',
  ].join('\n');
}

function write(outDir: string, results: ScaleResult[], notes: MachineNotes): void {
  const markdown = report(results, notes);
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `backup-restore-${notes.date.slice(0, 10)}`);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.json`, `${JSON.stringify({ machine: notes, results }, null, 2)}\n`);
  prettierWrite([`${base}.md`, `${base}.json`]);
  console.log(markdown);
  console.error(`written: ${base}.md, ${base}.json`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const outDir = resolve(option(argv, '--out') ?? join(root, 'bench/results'));
  const fromJson = option(argv, '--from-json');
  if (fromJson) {
    // Re-render the report of an earlier run from its raw figures; no store is touched.
    const saved = JSON.parse(readFileSync(fromJson, 'utf8')) as {
      machine: MachineNotes;
      results: ScaleResult[];
    };
    write(outDir, saved.results, saved.machine);
    return;
  }
  const scales = (option(argv, '--scales') ?? '1,5').split(',').map((s) => {
    const n = Number(s);
    if (!(n > 0)) throw new Error(`bad scale "${s}"`);
    return n;
  });
  const stack = guardStack(process.env, argv.includes('--allow-default-stack'));
  const notes = machineNotes(stack);
  console.error(`backup-restore benchmark on ${stack}, scales ${scales.join(', ')}`);
  const results: ScaleResult[] = [];
  for (const scale of scales) results.push(await benchScale(scale, process.env, argv.includes('--keep')));
  notes.loadAverageAtEnd = loadAverage();
  write(outDir, results, notes);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
