/**
 * The SIGKILL campaign (issue #10 item 5): backup, restore and import, each killed with SIGKILL (the
 * whole process group) at moments a seeded PRNG picks — the n-th progress event of the run, n drawn
 * across the length of an uninterrupted run, plus a random delay — and after each kill:
 *
 * - backup: nothing incomplete is listed (a snapshot that finished before the kill must verify), and the
 *   next backup succeeds and is listed;
 * - restore: the next run of the same restore succeeds without --force, takes no safety snapshot, and
 *   the stores equal the snapshot (fingerprints);
 * - import: the next run of the same import succeeds and the stores equal what one uninterrupted import
 *   gives.
 *
 * `ACX_FAULT_TRIALS` (default 3, the sample `npm test` runs; 30 with ACX_SOAK=1) sets the number of kills, `ACX_FAULT_SEED`
 * the seed: `ACX_FAULT_TRIALS=60 npm run test:faults` is the full campaign, and a failing trial is
 * replayed by its seed and number. Each trial prints one JSON line; the last line sums them up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { exportInto, runCli, stateEnv, wholeExport } from '../support/cli.ts';
import { runAndKill, type KilledRun } from '../support/kill.ts';
import {
  closeAndRemove,
  emptyAll,
  fingerprint,
  keepAccounts,
  openSeeded,
  type TestStores,
} from '../support/stores.ts';
import { seededRandom as prng } from '../support/random.ts';

const TRIALS = Number(process.env.ACX_FAULT_TRIALS ?? (process.env.ACX_SOAK ? 30 : 3));
/** `ACX_FAULT_LOG`: a file the trial lines are appended to as they end (the console shows them too). */
const report = (line: string) => {
  console.log(line);
  if (process.env.ACX_FAULT_LOG) appendFileSync(process.env.ACX_FAULT_LOG, line + '\n');
};
const SEED = Number(process.env.ACX_FAULT_SEED ?? 20261130);
const OPERATIONS = ['backup', 'restore', 'import'] as const;
type Operation = (typeof OPERATIONS)[number];

let stores: TestStores;
let work: string;
let backupDir: string;
let exportDir: string;
let env: Record<string, string | undefined>;
let original: Fingerprint;
let snapshotId: string;
let resetImportTarget: () => Promise<void>;
/** Progress events of an uninterrupted run of each operation: kill moments are drawn in this range. */
const eventsPerRun: Record<Operation, number> = { backup: 0, restore: 0, import: 0 };

const args: Record<Operation, () => string[]> = {
  backup: () => [
    'backup',
    '--postgres',
    '--neo4j',
    '--qdrant',
    '--backup-dir',
    backupDir,
    '--data-dir',
    work,
  ],
  restore: () => ['backup', '--restore', snapshotId, '--backup-dir', backupDir, '--data-dir', work],
  import: () => ['import', ...wholeExport(exportDir), '--batch-size', '200'],
};

/** Puts the stores in the state the operation starts from. */
async function prepare(op: Operation): Promise<void> {
  if (op === 'restore') await emptyAll(stores);
  if (op === 'import') await resetImportTarget();
}

async function listIds(): Promise<string[]> {
  const result = await runCli(['backup', '--list', '--backup-dir', backupDir, '--format', 'json'], env);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { snapshots: Array<{ id: string }> }).snapshots.map((s) => s.id);
}

/** The snapshots with a manifest, as `--list` lists them (read directly: one CLI start less per trial). */
async function manifestIds(): Promise<string[]> {
  const ids: string[] = [];
  for (const name of await readdir(backupDir).catch(() => [] as string[]))
    if ((await readdir(join(backupDir, name)).catch(() => [] as string[])).includes('manifest.json'))
      ids.push(name);
  return ids.sort();
}

async function journals(): Promise<number> {
  const root = join(work, 'state', 'journals');
  let n = 0;
  for (const key of await readdir(root).catch(() => [] as string[]))
    n += (await readdir(join(root, key))).length;
  return n;
}

/** After a killed backup: only complete snapshots are listed, and the next backup succeeds. */
async function checkBackup(killed: KilledRun, before: string[]): Promise<void> {
  for (const id of (await listIds()).filter((i) => !before.includes(i))) {
    const verified = await runCli(['backup', '--verify', id, '--backup-dir', backupDir], env);
    expect(verified.code, `${id} listed after the kill must be intact: ${verified.stderr}`).toBe(0);
  }
  const next = await runCli([...args.backup(), '--format', 'json'], env);
  expect(next.code, next.stderr).toBe(0);
  expect(await listIds()).toContain((JSON.parse(next.stdout) as { id: string }).id);
  expect(killed.stderr).not.toMatch(/INTERNAL/);
}

/** After a killed restore or import: the same command again gives the content one clean run gives. */
async function checkRerun(op: Operation, before: string[]): Promise<void> {
  const again = await runCli([...args[op](), '--format', 'json'], env);
  expect(again.stderr).not.toMatch(/INTERNAL/);
  expect(again.code, again.stderr).toBe(0);
  expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
  expect(await manifestIds(), 'no safety snapshot of half-restored data').toEqual([...before].sort());
  expect(await journals()).toBe(0);
}

beforeAll(async () => {
  ({ stores, original } = await openSeeded(0.03, 53));
  work = await mkdtemp(join(tmpdir(), 'acx-sigkill-'));
  backupDir = join(work, 'backups');
  env = stateEnv(work);
  resetImportTarget = await keepAccounts(stores);
  exportDir = await exportInto(work, ['--all', '--include-pii'], env);
  // One uninterrupted run of each, counting its progress events (the restore's backup is the snapshot).
  for (const op of OPERATIONS) {
    await prepare(op);
    const run = await runAndKill([...args[op](), '--format', 'json'], { match: () => false }, env);
    expect(run.code, run.stderr).toBe(0);
    eventsPerRun[op] = run.events.length;
    if (op === 'backup') snapshotId = (await listIds())[0]!;
  }
  expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
});

afterAll(() => closeAndRemove(stores, work));

describe(`SIGKILL at ${TRIALS} random moments (seed ${SEED})`, () => {
  it(
    'every killed backup, restore and import is followed by a successful run with the right content',
    async () => {
      const random = prng(SEED);
      const started = performance.now();
      const tally: Record<string, number> = {};
      for (let trial = 0; trial < TRIALS; trial++) {
        const op = OPERATIONS[trial % OPERATIONS.length]!;
        const nth = 1 + Math.floor(random() * eventsPerRun[op]);
        const delayMs = Math.floor(random() * 300);
        await prepare(op);
        const before = await listIds();
        const t0 = performance.now();
        const killed = await runAndKill(args[op](), { match: () => true, nth, delayMs }, env);
        const journalLeft = await journals();
        if (op === 'backup') await checkBackup(killed, before);
        else await checkRerun(op, before);
        const outcome = killed.killed ? 'killed' : `ended first (exit ${killed.code})`;
        const key = `${op} ${killed.killed ? 'killed' : 'ended first'}`;
        tally[key] = (tally[key] ?? 0) + 1;
        report(
          JSON.stringify({
            trial,
            op,
            nth,
            of: eventsPerRun[op],
            delayMs,
            outcome,
            journalLeft,
            seconds: +((performance.now() - t0) / 1000).toFixed(1),
          }),
        );
      }
      report(
        JSON.stringify({
          seed: SEED,
          trials: TRIALS,
          tally,
          seconds: +((performance.now() - started) / 1000).toFixed(0),
        }),
      );
    },
    TRIALS * 180_000,
  );
});
