/**
 * One benchmark command (issue #15): acx-data against the tools an operator would otherwise reach for,
 * on the same seeded data in the same run.
 *
 *   npm run bench -- --scale S [--only pg-backup,neo4j-restore,…] [--rounds 3] [--out bench/results]
 *                    [--allow-default-stack]
 *   npm run bench -- --from-json bench/results/bench-scale<S>-<date>.json     (re-render only)
 *
 * Seeds once (`acx-data seed --scale S --seed 1 --force`), counts and fingerprints the stores, then runs
 * the selected pairs (bench/run-pairs.ts, in a fixed order: pg-import last, as it truncates dtc_codes)
 * and writes bench/results/bench-scale<S>-<date>.md and .json (bench/run-report.ts). Runs against a
 * real Qdrant unchanged when QDRANT_URL names one. See bench/README.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { requireQdrantSettings } from '../src/config/env.ts';
import { QdrantClient } from '../src/stores/qdrant/qdrant-client.ts';
import { guardStack, loadAverage, machineNotes, measureAcx, option, root } from './lib.ts';
import { PAIRS, RUNNERS, type BenchContext, type PairName, type PairResult } from './run-pairs.ts';
import { writeReport, type BenchRun } from './run-report.ts';
import { ALL_STORES, countStores, fingerprintStore } from './stores.ts';

function parsePairs(value: string | undefined): PairName[] {
  if (value === undefined) return [...PAIRS];
  const named = value.split(',').map((s) => s.trim());
  const unknown = named.filter((n) => !PAIRS.includes(n as PairName));
  if (unknown.length > 0)
    throw new Error(`--only: unknown pair ${unknown.join(', ')} (pairs: ${PAIRS.join(', ')})`);
  return PAIRS.filter((p) => named.includes(p));
}

function positive(name: string, value: string | undefined, fallback: number): number {
  const n = Number(value ?? fallback);
  if (!(n > 0)) throw new Error(`${name} must be a positive number, not "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const outDir = resolve(option(argv, '--out') ?? join(root, 'bench/results'));
  const fromJson = option(argv, '--from-json');
  if (fromJson) {
    console.log(writeReport(outDir, JSON.parse(readFileSync(fromJson, 'utf8')) as BenchRun));
    return;
  }
  const scale = positive('--scale', option(argv, '--scale'), 1);
  const rounds = Math.round(positive('--rounds', option(argv, '--rounds'), 3));
  const pairs = parsePairs(option(argv, '--only'));
  const env = process.env;
  const stack = guardStack(env, argv.includes('--allow-default-stack'));
  const machine = machineNotes(stack);
  const qdrantServer = `${await new QdrantClient(requireQdrantSettings(env)).version()} at ${requireQdrantSettings(env).url}`;
  console.error(
    `bench on ${stack} (Qdrant ${qdrantServer}), scale ${scale}, ${rounds} round(s): ${pairs.join(', ')}`,
  );

  await measureAcx(['seed', '--scale', String(scale), '--seed', '1', '--force', '-q'], env);
  const counts = await countStores(env);
  const fingerprints: BenchContext['fingerprints'] = {};
  for (const store of ALL_STORES) fingerprints[store] = await fingerprintStore(env, store);
  console.error(`seeded: ${JSON.stringify(counts)}`);

  const work = mkdtempSync(join(tmpdir(), `acx-bench-run-${scale}-`));
  const ctx: BenchContext = { env, scale, rounds, counts, fingerprints, work, kept: new Map() };
  const results: PairResult[] = [];
  try {
    for (const pair of pairs) {
      console.error(`\n== ${pair}`);
      results.push(await RUNNERS[pair](ctx));
    }
  } finally {
    if (argv.includes('--keep')) console.error(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  machine.loadAverageAtEnd = loadAverage();
  console.log(writeReport(outDir, { scale, rounds, counts, machine, qdrantServer, pairs: results }));
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
