/**
 * Format-2 cleanup killed with SIGKILL (design §11.9): a local repository of several format-2 snapshots
 * sharing blobs (written with the repository API, 64 KiB packs so the prune has many packs to delete
 * and rewrite; no database needed), copied afresh from a template for every trial, then
 * `backup --cleanup --keep 1` killed at moments spread over an uninterrupted run — trial i of n after a
 * progress event drawn inside the i-th n-th of the run's events, or at a time drawn inside the i-th
 * n-th of the time from its first event to its exit, alternately — and after each kill:
 *
 * - `backup --verify ID` exits 0 for every snapshot that still has a manifest;
 * - the next `backup --cleanup --keep 1` completes, leaving the newest snapshot only;
 * - the repository check of `backup --verify --all` then finds nothing wrong and no leftover pack.
 *
 * `ACX_FAULT_TRIALS` (default 3, the CI sample; 20 with ACX_SOAK=1, `npm run test:soak`) sets the number of kills (a run that ends before its moment is tried again) and `ACX_FAULT_SEED` the seed; each trial
 * prints one JSON line and the last line sums them up.
 */
import { writeNodesSnapshot } from '../support/snapshot.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfig, CONFIG_FILE } from '../../src/repository/blobs/repo-config.ts';
import { Repository } from '../../src/repository/repository.ts';
import { checkRepository, type RepositoryCheck } from '../../src/repository/repository-check.ts';
import { silentReporter } from '../../src/progress.ts';
import { putJson } from '../../src/storage/storage-helpers.ts';
import { runCli } from '../support/cli.ts';
import { runAndKill } from '../support/kill.ts';
import { seededRandom } from '../support/random.ts';

// CI runs a short sample; `npm run test:soak` the full campaign of 20.
const TRIALS = Number(process.env.ACX_FAULT_TRIALS ?? (process.env.ACX_SOAK ? 20 : 3));
const SEED = Number(process.env.ACX_FAULT_SEED ?? 20261212);
const report = (line: string) => {
  console.log(line);
  if (process.env.ACX_FAULT_LOG) appendFileSync(process.env.ACX_FAULT_LOG, line + '\n');
};

let work: string;
let template: string;
let newest: string;
/** Progress events of an uninterrupted cleanup, and its milliseconds from the first event to its exit. */
let runEvents = 0;
let activeMs = 0;

/** Rows of the first snapshot: enough for a prune that runs about a second after its first event. */
const ROWS = 90_000;

/** Rows that compress little, so 64 KiB packs hold a few chunks each. */
function rows(from: number, to: number, tag: string): string[] {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    const noise = createHash('sha256').update(`${tag}${i}`).digest('hex');
    return JSON.stringify({ id: `n${i}`, noise });
  });
}

async function writeSnapshot(
  repository: Repository,
  id: string,
  lines: string[],
  time: string,
): Promise<void> {
  await writeNodesSnapshot(repository, id, lines, { time });
}

/** Five snapshots, each changing a fifth of the one before: shared, obsolete and partly used packs. */
async function buildTemplate(dir: string): Promise<string> {
  const repository = await Repository.open(dir, { create: true });
  const config = await createConfig(repository.storage, { encrypted: false });
  await putJson(repository.storage, CONFIG_FILE, { ...config, packSize: 64 * 1024 });
  let current = rows(0, ROWS, 's0');
  let id = '';
  for (let s = 0; s < 5; s++) {
    if (s > 0) {
      const at = Math.floor(s * 0.18 * ROWS);
      const end = at + ROWS / 5;
      current = [...current.slice(0, at), ...rows(at, end, `s${s}`), ...current.slice(end)];
    }
    id = `full_2026010${s + 1}_000000`;
    await writeSnapshot(repository, id, current, `2026-01-0${s + 1}T00:00:00.000Z`);
  }
  await repository.close();
  return id;
}

async function manifestIds(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for (const name of await readdir(dir))
    if ((await readdir(join(dir, name)).catch(() => [] as string[])).includes('manifest.json'))
      ids.push(name);
  return ids.sort();
}

/** A fresh copy of the template and its own state directory (the index cache lives there). */
async function freshCopy(name: string): Promise<{ dir: string; env: Record<string, string | undefined> }> {
  const root = join(work, name);
  await rm(root, { recursive: true, force: true });
  await cp(template, join(root, 'repo'), { recursive: true });
  return { dir: join(root, 'repo'), env: { ...process.env, ACX_STATE_DIR: join(root, 'state') } };
}

/** The repository check of `--verify --all`, in this process (a CLI start less per trial). */
async function checkDir(dir: string): Promise<RepositoryCheck> {
  const repository = await Repository.open(dir, { create: false });
  try {
    const manifests = (await repository.list()).snapshots.map((s) => s.manifest);
    return await checkRepository((await repository.blobs())!, manifests, silentReporter);
  } finally {
    await repository.close();
  }
}

const cleanupArgs = (dir: string) => ['backup', '--cleanup', '--keep', '1', '--backup-dir', dir];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-cleanup-sigkill-'));
  template = join(work, 'template');
  newest = await buildTemplate(template);
  const { dir, env } = await freshCopy('uninterrupted');
  let firstEventAt: number | undefined;
  const match = () => {
    firstEventAt ??= performance.now();
    return false;
  };
  const run = await runAndKill([...cleanupArgs(dir), '--format', 'json'], { match }, env);
  activeMs = performance.now() - firstEventAt!;
  expect(run.code, run.stderr).toBe(0);
  runEvents = run.events.length;
  expect(runEvents).toBeGreaterThan(20);
  expect(await manifestIds(dir)).toEqual([newest]);
  report(JSON.stringify({ uninterrupted: { activeMs: Math.round(activeMs), events: runEvents } }));
}, 300_000);

afterAll(() => rm(work, { recursive: true, force: true }));

describe(`format-2 cleanup killed at ${TRIALS} moments (seed ${SEED})`, () => {
  it('leaves every remaining snapshot verifiable, and the next cleanup completes', async () => {
    const random = seededRandom(SEED);
    const started = performance.now();
    let killed = 0;
    let attempts = 0;
    // A run can end before its moment (runs vary in speed): the next trial aims at the same stretch.
    for (let trial = 0; killed < TRIALS && trial < 2 * TRIALS; trial++) {
      attempts++;
      const { dir, env } = await freshCopy(`trial-${trial}`);
      const share = (0.9 * (killed + random())) / TRIALS;
      const byEvent = killed % 2 === 0;
      const moment = byEvent
        ? {
            match: () => true,
            nth: Math.max(1, Math.ceil(share * runEvents)),
            delayMs: Math.floor(random() * 20),
          }
        : { match: () => true, nth: 1, delayMs: Math.floor(share * activeMs) };
      const run = await runAndKill(cleanupArgs(dir), moment, env);
      if (run.killed) killed++;
      else expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).not.toMatch(/INTERNAL/);
      const remaining = await manifestIds(dir);
      expect(remaining).toContain(newest);
      const verified = await Promise.all(
        remaining.map((id) => runCli(['backup', '--verify', id, '--backup-dir', dir], env)),
      );
      for (const [i, v] of verified.entries())
        expect(v.code, `trial ${trial}: ${remaining[i]} after the kill: ${v.stdout}\n${v.stderr}`).toBe(0);
      const next = await runCli([...cleanupArgs(dir), '--format', 'json'], env);
      expect(next.code, `trial ${trial}: ${next.stderr}`).toBe(0);
      expect(await manifestIds(dir)).toEqual([newest]);
      const check = await checkDir(dir);
      expect(check.problems, `trial ${trial}`).toEqual([]);
      expect(check.leftoverPacks, `trial ${trial}`).toEqual([]);
      report(
        JSON.stringify({
          trial,
          moment: byEvent ? `event ${moment.nth}` : `${moment.delayMs} ms after the first event`,
          killed: run.killed,
          lastEvent: run.events.at(-1)?.message ?? run.events.at(-1)?.dataset,
          remaining: remaining.length,
        }),
      );
      await rm(join(work, `trial-${trial}`), { recursive: true, force: true });
    }
    report(
      JSON.stringify({
        kills: killed,
        attempts,
        seed: SEED,
        seconds: Math.round((performance.now() - started) / 1000),
      }),
    );
    expect(killed).toBe(TRIALS);
  });
});
