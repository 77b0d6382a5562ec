/**
 * Backup under load (issue #10 item 6): a writer (test/support/load-writer.ts) inserts and updates in
 * PostgreSQL, Neo4j and Qdrant, one write after the other per store, while `acx-data backup --all` runs.
 * Reports, per store, the writer's p50/p99/max latency before the backup (the baseline, same run) and
 * during it, the writes that failed (the backup must cause none), and the backup's wall time. The content
 * of the parts is checked by test/integration/backup-under-load.test.ts, not here.
 *
 *   npm run bench:load -- [--scale 0.2] [--baseline 10] [--after 2] [--out bench/results] [--allow-default-stack]
 *
 * Seeds with --force and empties the stores at the end: run it on its own stack (bench/README.md).
 * Writes bench/results/backup-under-load-<date>.md and .json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from '../test/support/cli.ts';
import { latencies, LoadWriter, type LatencyFigures } from '../test/support/load-writer.ts';
import { emptyAll, openTestStores, seed } from '../test/support/stores.ts';
import {
  guardStack,
  loadAverage,
  machineNotes,
  machineNotesMarkdown,
  markdownTable,
  option,
  prettierWrite,
  root,
  today,
} from './lib.ts';

const argv = process.argv.slice(2);
const scale = Number(option(argv, '--scale') ?? '0.2');
const baselineSeconds = Number(option(argv, '--baseline') ?? '10');
const afterSeconds = Number(option(argv, '--after') ?? '2');
const out = resolve(option(argv, '--out') ?? join(root, 'bench/results'));
const stack = guardStack(process.env, argv.includes('--allow-default-stack'));
const notes = machineNotes(stack);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');

const stores = await openTestStores();
const work = mkdtempSync(join(tmpdir(), 'acx-bench-load-'));
try {
  console.error(`seeding scale ${scale}`);
  await seed(stores, scale, 1);
  const { rows } = await stores.postgres.query<{ code: string }>('SELECT code FROM dtc_codes');
  const writer = new LoadWriter(
    stores,
    'b',
    rows.map((r) => r.code),
    1,
  );
  await writer.prepare();
  writer.start();
  console.error(`writing for ${baselineSeconds} s before the backup (baseline)`);
  await sleep(baselineSeconds * 1000);
  const from = Date.now();
  const backup = await runCli(['backup', '--all', '--backup-dir', join(work, 'repo'), '--format', 'json']);
  const to = Date.now();
  await sleep(afterSeconds * 1000);
  await writer.stop();
  if (backup.code !== 0) throw new Error(`backup failed (exit ${backup.code}): ${backup.stderr}`);
  const summary = JSON.parse(backup.stdout) as { id: string; seconds: number };
  const figures = latencies(writer.ops, from, to);
  const errors = writer.errors();
  notes.loadAverageAtEnd = loadAverage();
  const result = {
    scale,
    baselineSeconds,
    backupSeconds: (to - from) / 1000,
    backupReportedSeconds: summary.seconds,
    writes: writer.ops.length,
    errors: errors.length,
    firstErrors: errors.slice(0, 5).map((e) => `${e.store} ${e.kind} ${e.key}: ${e.error}`),
    figures,
    notes,
  };
  mkdirSync(out, { recursive: true });
  const base = join(out, `backup-under-load-${today()}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base}.md`, report(result, figures));
  prettierWrite([`${base}.md`, `${base}.json`]);
  console.log(report(result, figures));
} finally {
  await emptyAll(stores).catch(() => undefined);
  await stores.close();
  rmSync(work, { recursive: true, force: true });
}

function report(
  result: { scale: number; baselineSeconds: number; backupSeconds: number; writes: number; errors: number },
  figures: LatencyFigures[],
): string {
  const rows = figures.map((f) => [
    f.store,
    String(f.baseline.writes),
    ms(f.baseline.p50),
    ms(f.baseline.p99),
    ms(f.baseline.max),
    String(f.duringBackup.writes),
    ms(f.duringBackup.p50),
    ms(f.duringBackup.p99),
    ms(f.duringBackup.max),
    (f.duringBackup.p99 / f.baseline.p99).toFixed(2),
  ]);
  return [
    `# Backup under load (${today()})`,
    '',
    `\`npm run bench:load -- --scale ${result.scale} --baseline ${result.baselineSeconds}\`: a writer inserts and`,
    'updates one record at a time in each store (PostgreSQL `dtc_codes`, Neo4j `LoadProbe` nodes with a',
    'relationship each, points of a Qdrant collection), first alone (baseline), then while `backup --all`',
    `runs (${result.backupSeconds.toFixed(1)} s, CLI start-up included). ${result.writes} writes, ` +
      `**${result.errors} failed**. Latencies in ms, per write, from the writer's side.`,
    '',
    markdownTable(
      [
        'store',
        'baseline writes',
        'p50',
        'p99',
        'max',
        'writes during backup',
        'p50',
        'p99',
        'max',
        'p99 during / baseline',
      ],
      rows,
    ),
    '',
    machineNotesMarkdown(notes),
    '',
  ].join('\n');
}
