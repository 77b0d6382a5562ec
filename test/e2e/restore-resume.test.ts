/**
 * A restore killed with SIGKILL inside each store leaves its journal, and the next run of the same
 * restore finishes it: the content equals the snapshot, no --force is needed and no safety snapshot is
 * taken of the half-restored data. Any other restore into those databases is refused meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { runCli, snapshotIdOf, stateEnv } from '../support/cli.ts';
import { runAndKill } from '../support/kill.ts';
import {
  closeAndRemove,
  emptyAll,
  fingerprint,
  openSeeded,
  seed,
  type TestStores,
} from '../support/stores.ts';

let stores: TestStores;
let work: string;
let backupDir: string;
let env: Record<string, string | undefined>;
let original: Fingerprint;
let id: string;

const backupArgs = (...args: string[]) => [
  'backup',
  '--backup-dir',
  backupDir,
  '--data-dir',
  join(work, 'data'),
  ...args,
];
const backup = (...args: string[]) => runCli(backupArgs(...args), env);

async function listIds(): Promise<string[]> {
  const result = await backup('--list', '--format', 'json');
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { snapshots: Array<{ id: string }> }).snapshots.map((s) => s.id);
}

/** The journal files left in the state directory. */
async function journals(): Promise<string[]> {
  const root = join(work, 'state', 'journals');
  const out: string[] = [];
  for (const key of await readdir(root).catch(() => [] as string[]))
    for (const name of await readdir(join(root, key))) out.push(name);
  return out;
}

/**
 * Kills `backup --restore id` (plus `extra`) at a restore progress event of `store` (after the safety
 * backup under --force, which reads the stores first).
 */
async function killRestoreIn(store: string, ...extra: string[]) {
  let applying = !extra.includes('--force');
  const run = await runAndKill(
    backupArgs('--restore', id, ...extra),
    {
      match: (e) => {
        if (e.type === 'phase' && /safety backup \S+ written/.test(e.message ?? '')) applying = true;
        return applying && e.store === store && (e.type === 'dataset-progress' || e.type === 'dataset-start');
      },
      nth: store === 'neo4j' ? 2 : 1,
    },
    env,
  );
  expect(run.killed, run.stderr).toBe(true);
  expect.soft(await journals()).toEqual(['restore.json']);
}

beforeAll(async () => {
  ({ stores, original } = await openSeeded(0.1, 31));
  work = await mkdtemp(join(tmpdir(), 'acx-restore-resume-'));
  backupDir = join(work, 'backups');
  env = stateEnv(work);
  id = snapshotIdOf(await backup('--postgres', '--neo4j', '--qdrant', '--format', 'json'));
});

afterAll(() => closeAndRemove(stores, work));

describe('a restore killed with SIGKILL', () => {
  for (const store of ['postgres', 'neo4j', 'qdrant']) {
    it(`inside ${store} is finished by the next run, without --force and without a safety backup`, async () => {
      await emptyAll(stores);
      await killRestoreIn(store);
      const listed = await listIds();

      // Another restore into the same databases is refused while the journal is there; nothing changes.
      const half = await fingerprint(stores);
      const other = await backup('--restore', id, '--target', 'postgres');
      expect(other.code, other.stderr).toBe(7);
      expect(other.stderr).toMatch(/was interrupted.*half restored/);
      expect(other.stderr).toContain(`acx-data backup --restore ${id}`);
      // So is an import (it would write into half-restored stores).
      const imported = await runCli(['import', '--json', join(backupDir, id, 'manifest.json')], env);
      expect(imported.code, imported.stderr).toBe(7);
      expect(imported.stderr).toMatch(/restore of \S+ .* was interrupted.*nothing was imported/);
      expect(diffFingerprints(half, await fingerprint(stores))).toEqual([]);

      const again = await backup('--restore', id, '--format', 'json');
      expect(again.code, again.stderr).toBe(0);
      const summary = JSON.parse(again.stdout) as {
        resumed?: { interrupted?: string };
        safetySnapshot?: unknown;
      };
      expect(summary.resumed?.interrupted).toBe(store);
      expect(summary.safetySnapshot).toBeUndefined();
      expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
      expect(await listIds()).toEqual(listed);
      expect(await journals()).toEqual([]);
    });
  }

  it('under --force keeps the first run’s safety snapshot and takes no second one', async () => {
    await seed(stores, 0.05, 77);
    const replaced = await fingerprint(stores);
    const before = await listIds();
    await killRestoreIn('neo4j', '--force');
    const safety = (await listIds()).filter((s) => !before.includes(s));
    expect(safety).toHaveLength(1);

    const again = await backup('--restore', id, '--format', 'json');
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout) as { resumed?: { safetySnapshot?: string } };
    expect(summary.resumed?.safetySnapshot).toBe(safety[0]);
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
    expect((await listIds()).filter((s) => !before.includes(s))).toEqual(safety);

    // The safety snapshot holds the data the restore replaced.
    await emptyAll(stores);
    const back = await backup('--restore', safety[0]!);
    expect(back.code, back.stderr).toBe(0);
    expect(diffFingerprints(replaced, await fingerprint(stores))).toEqual([]);
  });
});
