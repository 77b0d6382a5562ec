/**
 * Bit-flip and truncation campaign (issue #10): real snapshots of all three stores and the JSON files,
 * one zstd and one gzip (with Qdrant's native snapshot, stored uncompressed), are damaged one file at a
 * time (a random bit flipped or a random truncation, in every file kind, the manifest included), and
 * each damaged snapshot goes through `--verify` and `--restore --force` in the real CLI. Every one must
 * be refused with INTEGRITY (exit 6) without touching the stores — never INTERNAL, never a crash, never a
 * partial restore — or, when the damage is harmless metadata, verify as intact and restore exactly.
 *
 * Seeded and reproducible: the seed is printed (ACX_FAULT_SEED=<n> repeats a run). `npm test` runs a
 * sample (20 damaged snapshots through verify, 4 of them also through restore); the full campaign:
 * `ACX_FAULT_TRIALS=100 ACX_FAULT_RESTORES=100 npm run test:faults`.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { fingerprint, openTestStores, seed, type TestStores } from '../support/stores.ts';
import { seededRandom as random } from '../support/random.ts';

const TRIALS = Number(process.env.ACX_FAULT_TRIALS ?? (process.env.ACX_SOAK ? 60 : 10));
const RESTORES = Number(process.env.ACX_FAULT_RESTORES ?? 4);
const SEED = Number(process.env.ACX_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));

let stores: TestStores;
let work: string;
let backupDir: string;
let dataDir: string;
let original: Fingerprint;
const snapshots: string[] = [];

const backup = (...args: string[]) =>
  runCli(['backup', '--backup-dir', backupDir, '--data-dir', dataDir, '--format', 'json', ...args]);

/** The kind of a snapshot file: its path with table, collection and JSON file names generalised. */
const kindOf = (path: string) =>
  path
    .replace(/\/tables\/[^/]+\.copy/, '/tables/*.copy')
    .replace(/^qdrant\/[^/]+\//, 'qdrant/*/')
    .replace(/^json\/.*\.json/, 'json/*.json');

async function filesOf(id: string): Promise<string[]> {
  const entries = await readdir(join(backupDir, id), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name !== 'verification.json')
    .map((e) => join(e.parentPath, e.name).slice(join(backupDir, id).length + 1))
    .sort();
}

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-bit-flips-'));
  backupDir = join(work, 'backups');
  dataDir = join(work, 'data');
  await mkdir(join(dataDir, 'dtc_codes'), { recursive: true });
  await writeFile(join(dataDir, 'dtc_codes', 'translation_cache.json'), '{"P0100":"Légtömegmérő"}');
  await seed(stores, 0.05, 7);
  original = await fingerprint(stores);
  for (const compression of ['zstd', 'gzip']) {
    // Format 1: its files are what this campaign damages (format 2: backup-format2-damage and verify --all).
    const result = await backup(
      '--all',
      '--json',
      '--qdrant-snapshots',
      '--compression',
      compression,
      '--format-version',
      '1',
    );
    expect(result.code, result.stderr).toBe(0);
    snapshots.push((JSON.parse(result.stdout) as { id: string }).id);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the next id is the next second
  }
  for (const id of snapshots) expect((await backup('--verify', id)).code).toBe(0);
}, 600_000);

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

interface Trial {
  n: number;
  snapshot: string;
  file: string;
  damage: string;
  verify: string;
  restore?: string;
}

/** What a CLI run ended with: 'INTEGRITY', 'intact', or something that fails the campaign. */
function outcomeOf(result: CliResult): string {
  if (result.code === 0) return 'intact';
  if (/INTERNAL|\n\s+at /.test(result.stderr + result.stdout)) return `CRASH ${result.stderr.slice(0, 300)}`;
  if (result.code === 6) return 'INTEGRITY';
  return `exit ${result.code}: ${result.stderr.slice(0, 300)}`;
}

describe(`bit flips and truncations (seed ${SEED}, ${TRIALS} trials, ${RESTORES} restores)`, () => {
  it('every damaged snapshot is refused with INTEGRITY by verify and restore, or is harmless', async () => {
    console.log(
      `bit-flips: ACX_FAULT_SEED=${SEED} ACX_FAULT_TRIALS=${TRIALS} ACX_FAULT_RESTORES=${RESTORES}`,
    );
    const next = random(SEED);
    const byKind = new Map<string, Array<{ snapshot: string; file: string }>>();
    for (const snapshot of snapshots)
      for (const file of await filesOf(snapshot)) {
        const kind = kindOf(file);
        byKind.set(kind, [...(byKind.get(kind) ?? []), { snapshot, file }]);
      }
    const kinds = [...byKind.keys()].sort();
    console.log(`bit-flips: ${kinds.length} file kinds: ${kinds.join(', ')}`);
    const trials: Trial[] = [];
    for (let n = 0; n < TRIALS; n++) {
      // Every kind in turn, a random file of that kind, a random flip or cut.
      const choices = byKind.get(kinds[n % kinds.length]!)!;
      const { snapshot, file } = choices[Math.floor(next() * choices.length)]!;
      const path = join(backupDir, snapshot, file);
      const good = await readFile(path);
      let damage: string;
      if (next() < 0.5 || good.length < 2) {
        const at = Math.floor(next() * good.length);
        const bit = Math.floor(next() * 8);
        const bad = Buffer.from(good);
        bad[at] = bad[at]! ^ (1 << bit);
        await writeFile(path, bad);
        damage = `flip byte ${at} bit ${bit}`;
      } else {
        const length = Math.floor(next() * good.length);
        await truncate(path, length);
        damage = `truncate ${good.length} → ${length}`;
      }
      try {
        const trial: Trial = {
          n,
          snapshot,
          file,
          damage,
          verify: outcomeOf(await backup('--verify', snapshot)),
        };
        if (n < RESTORES) {
          trial.restore = outcomeOf(await backup('--restore', snapshot, '--force'));
          // Refused: nothing was touched. Restored: exactly the original.
          expect(diffFingerprints(original, await fingerprint(stores)), JSON.stringify(trial)).toEqual([]);
        }
        trials.push(trial);
        console.log(`bit-flips: ${JSON.stringify(trial)}`);
      } finally {
        await writeFile(path, good);
      }
    }
    const tally: Record<string, number> = {};
    for (const t of trials)
      for (const outcome of [`verify ${t.verify}`, ...(t.restore ? [`restore ${t.restore}`] : [])])
        tally[outcome.split(':')[0]!] = (tally[outcome.split(':')[0]!] ?? 0) + 1;
    console.log(`bit-flips: seed ${SEED}: ${JSON.stringify(tally)}`);
    const bad = trials.filter(
      (t) =>
        !['INTEGRITY', 'intact'].includes(t.verify) ||
        (t.restore !== undefined && !['INTEGRITY', 'intact'].includes(t.restore)) ||
        (t.restore !== undefined && (t.verify === 'intact') !== (t.restore === 'intact')),
    );
    expect(bad).toEqual([]);
    // Damage verify does not see may only be in the manifest's metadata: every data file is hashed.
    expect(trials.filter((t) => t.verify === 'intact' && t.file !== 'manifest.json')).toEqual([]);
    for (const id of snapshots) expect((await backup('--verify', id)).code).toBe(0);
  });
});
