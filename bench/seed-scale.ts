/**
 * Seeding at large scale: time and peak RSS of `acx-data seed`, and the resident memory of the stores'
 * processes (the Qdrant double, Neo4j) once it is done.
 *
 *   npx node bench/seed-scale.ts --scale 30 [--baseline 1] [--out bench/results] [--allow-default-stack]
 *   npx node bench/seed-scale.ts --from-json bench/results/seed-<date>.json   (re-render only)
 *
 * Runs the baseline scale first (default 1, `--baseline 0` to skip), then `--scale`; each is
 * `acx-data seed --scale S --seed 1 --force -q` under `/usr/bin/time -v`. Pids come from
 * the stack's state directory (`$ACX_STACK_DIR`, default `.stack/`). Writes bench/results/seed-<date>.md
 * and .json. Nothing is extrapolated: only scales that were run are reported.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
  pidFromFile,
  ratio,
  root,
  rssOf,
  secs,
  stackDir,
  type MachineNotes,
  type Measured,
} from './lib.ts';
import { countStores, type StoreCounts } from './stores.ts';

interface SeedResult {
  scale: number;
  run: Omit<Measured, 'stdout'>;
  counts: StoreCounts;
  /** RSS (KiB) of the stores' processes right after the seed finished. */
  qdrantDoubleRssKiB: number | undefined;
  neo4jRssKiB: number | undefined;
  qdrantDoubleRssBeforeKiB: number | undefined;
  neo4jRssBeforeKiB: number | undefined;
  /** Load averages (1, 5, 15 min) just before and after the seed: how busy the shared machine was. */
  loadAverageBefore: string;
  loadAverageAfter: string;
}

function storePids(env: NodeJS.ProcessEnv): { qdrant: number | undefined; neo4j: number | undefined } {
  const dir = stackDir(env);
  return {
    qdrant: pidFromFile(join(dir, 'qdrant', 'qdrant.pid')),
    neo4j: pidFromFile(join(dir, 'neo4j', 'neo4j.pid')),
  };
}

async function seedAt(scale: number, env: NodeJS.ProcessEnv): Promise<SeedResult> {
  console.error(`\n== seed at scale ${scale}`);
  const pids = storePids(env);
  const qdrantDoubleRssBeforeKiB = rssOf(pids.qdrant);
  const neo4jRssBeforeKiB = rssOf(pids.neo4j);
  const loadAverageBefore = loadAverage();
  const m = await measureAcx(['seed', '--scale', String(scale), '--seed', '1', '--force', '-q'], env);
  const qdrantDoubleRssKiB = rssOf(pids.qdrant);
  const neo4jRssKiB = rssOf(pids.neo4j);
  const loadAverageAfter = loadAverage();
  const counts = await countStores(env);
  console.error(`  seeded: ${JSON.stringify(counts)}`);
  const { stdout: _stdout, ...run } = m;
  return {
    scale,
    run,
    counts,
    qdrantDoubleRssKiB,
    neo4jRssKiB,
    qdrantDoubleRssBeforeKiB,
    neo4jRssBeforeKiB,
    loadAverageBefore,
    loadAverageAfter,
  };
}

function report(results: SeedResult[], notes: MachineNotes): string {
  const first = results[0];
  const last = results[results.length - 1];
  const span = first && last && first !== last;
  const n = (x: number): string => x.toLocaleString('en-US');
  const table = markdownTable(
    [
      'scale',
      'PostgreSQL rows',
      'Neo4j nodes / relationships',
      'Qdrant points',
      'seed wall s',
      'seed CPU s (user+sys)',
      'seed peak RSS MiB',
      'Qdrant double RSS MiB (before → after)',
      'Neo4j RSS MiB (before → after)',
      'load average before → after',
    ],
    results.map((r) => [
      String(r.scale),
      n(r.counts.postgresRows),
      `${n(r.counts.neo4jNodes)} / ${n(r.counts.neo4jRelationships)}`,
      n(r.counts.qdrantPoints),
      secs(r.run.seconds),
      secs(r.run.userSeconds + r.run.systemSeconds),
      mib(r.run.maxRssKiB),
      `${mib(r.qdrantDoubleRssBeforeKiB)} → ${mib(r.qdrantDoubleRssKiB)}`,
      `${mib(r.neo4jRssBeforeKiB)} → ${mib(r.neo4jRssKiB)}`,
      `${r.loadAverageBefore} → ${r.loadAverageAfter}`,
    ]),
  );
  const ratios =
    span && first && last
      ? markdownTable(
          [`scale ${last.scale} / scale ${first.scale}`, 'ratio'],
          [
            ['Qdrant points', ratio(last.counts.qdrantPoints, first.counts.qdrantPoints)],
            ['seed wall time', ratio(last.run.seconds, first.run.seconds)],
            [
              'seed CPU time (user+sys)',
              ratio(
                last.run.userSeconds + last.run.systemSeconds,
                first.run.userSeconds + first.run.systemSeconds,
              ),
            ],
            ['seed peak RSS', ratio(last.run.maxRssKiB, first.run.maxRssKiB)],
            ['Qdrant double RSS after seeding', ratio(last.qdrantDoubleRssKiB, first.qdrantDoubleRssKiB)],
          ],
        )
      : '';
  return [
    `# Seeding at scale: acx-data seed (${notes.date.slice(0, 10)})`,
    '',
    'Produced by `npx node bench/seed-scale.ts` (bench/README.md): `acx-data seed --scale S --seed 1 ' +
      '--force` under `/usr/bin/time -v`; store process RSS by `ps -o rss=` on the pids in the stack ' +
      'state directory, read just before and just after the seed. Only the scales listed were run; ' +
      'nothing is extrapolated. "before" is what the store held from the previous run, which the seed ' +
      'empties first (--force).',
    '',
    table,
    '',
    ...(ratios ? [ratios, ''] : []),
    '## Machine',
    '',
    machineNotesMarkdown(notes),
    '- The Qdrant double holds dense vectors as Float32Array chunks (≈3 KiB per 768-dim point) and runs ' +
      'with --max-old-space-size=8192; a real Qdrant would use its own storage. Neo4j RSS is the JVM ' +
      '(2 GB heap + 512 MB page cache + off-heap); PostgreSQL runs as several processes and is not listed.',
    '',
  ].join('\n');
}

function write(outDir: string, results: SeedResult[], notes: MachineNotes): void {
  const markdown = report(results, notes);
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `seed-${notes.date.slice(0, 10)}`);
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
      results: SeedResult[];
    };
    write(outDir, saved.results, saved.machine);
    return;
  }
  const scale = Number(option(argv, '--scale') ?? '30');
  const baseline = Number(option(argv, '--baseline') ?? '1');
  if (!(scale > 0) || !(baseline >= 0)) throw new Error('--scale must be > 0 and --baseline ≥ 0');
  const stack = guardStack(process.env, argv.includes('--allow-default-stack'));
  const notes = machineNotes(stack);
  console.error(`seed benchmark on ${stack} (state ${stackDir()})`);
  const results: SeedResult[] = [];
  for (const s of baseline > 0 && baseline !== scale ? [baseline, scale] : [scale]) {
    results.push(await seedAt(s, process.env));
  }
  notes.loadAverageAtEnd = loadAverage();
  write(outDir, results, notes);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
