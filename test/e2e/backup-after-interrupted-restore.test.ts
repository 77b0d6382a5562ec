/**
 * A restore killed half way leaves the stores half restored and its journal behind (design §7.7). A
 * backup or an export run then would read that data as if it were good — and a later restore of such a
 * snapshot would "succeed". Both refuse, naming the stores and the command that finishes the restore
 * (or how to undo it); stores the restore does not touch can still be backed up; once the restore is
 * finished, backups run again. A restore that is still running, and an import killed before its
 * rollback, are refused the same way.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseIdentity } from '../../src/config/state.ts';
import { journalFolder } from '../../src/operations/run-journal.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { runAndKill } from '../support/kill.ts';
import { emptyAll, openTestStores, seed, type TestStores } from '../support/stores.ts';

let stores: TestStores;
let work: string;
let backupDir: string;
let env: Record<string, string | undefined>;
let id: string;

const backup = (...args: string[]) =>
  runCli(['backup', '--backup-dir', backupDir, '--data-dir', join(work, 'data'), ...args], env);

async function listIds(): Promise<string[]> {
  const result = await backup('--list', '--format', 'json');
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { snapshots: Array<{ id: string }> }).snapshots.map((s) => s.id);
}

/** The journals' folder of the test databases, as the CLI computes it. */
const journals = () => journalFolder({ stateDir: join(work, 'state'), databases: databaseIdentity(env) });

/** A pid no process has any more. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

/** One refusal line with `code`, one hint line, no stack. */
function expectRefused(result: CliResult, code: string, exit: number): string[] {
  const lines = result.stderr.trim().split('\n').slice(-2);
  expect(lines[0], result.stderr).toMatch(new RegExp(`^acx-data: ${code} `));
  expect(lines[1]).toMatch(/^ {2}hint: \S/);
  expect(result.stderr).not.toMatch(/INTERNAL|\n\s+at /);
  expect(result.code, result.stderr).toBe(exit);
  return lines;
}

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-backup-interrupted-'));
  backupDir = join(work, 'backups');
  await mkdir(join(work, 'data', 'dtc_codes'), { recursive: true });
  await writeFile(join(work, 'data', 'dtc_codes', 'p.json'), '{"P0100": "MAF"}\n');
  env = { ...process.env, ACX_STATE_DIR: join(work, 'state') };
  await seed(stores, 0.05, 43);
  const result = await backup('--postgres', '--neo4j', '--qdrant', '--format', 'json');
  expect(result.code, result.stderr).toBe(0);
  id = (JSON.parse(result.stdout) as { id: string }).id;
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('after a restore killed half way', () => {
  it('backup and export refuse the half-restored stores until the restore is finished', async () => {
    await emptyAll(stores);
    const killed = await runAndKill(
      ['backup', '--backup-dir', backupDir, '--data-dir', join(work, 'data'), '--restore', id],
      {
        match: (e) => e.store === 'neo4j' && (e.type === 'dataset-progress' || e.type === 'dataset-start'),
        nth: 2,
      },
      env,
    );
    expect(killed.killed, killed.stderr).toBe(true);
    const before = await listIds();

    const refused = await backup('--all');
    const [line, hint] = expectRefused(refused, 'UNFINISHED', 7);
    expect(line).toMatch(/cannot backup postgres, neo4j, qdrant: a restore of \S+ .*was interrupted/);
    expect(line).toMatch(/neo4j half restored/);
    expect(hint).toContain(
      `acx-data backup --restore ${id} --target postgres --target neo4j --target qdrant`,
    );
    expect(hint).toMatch(/to undo it instead, empty them/);
    expect(await listIds()).toEqual(before);

    const exportDir = join(work, 'exports');
    const exported = await runCli(['export', '--translations', '--output-dir', exportDir], env);
    expect(expectRefused(exported, 'UNFINISHED', 7)[0]).toMatch(/cannot export postgres: a restore of/);
    expect(await readdir(exportDir).catch(() => [])).toEqual([]);

    // The JSON data files were not part of the restore: they can be backed up.
    const files = await backup('--json');
    expect(files.code, files.stderr).toBe(0);

    const finished = await backup('--restore', id);
    expect(finished.code, finished.stderr).toBe(0);
    const again = await backup('--postgres', '--neo4j', '--qdrant');
    expect(again.code, again.stderr).toBe(0);
  });

  it('a restore still running is LOCKED', async () => {
    const folder = journals();
    await mkdir(folder, { recursive: true });
    const journal = {
      journal: 'restore',
      version: 1,
      pid: process.pid,
      host: hostname(),
      startedAt: new Date().toISOString(),
      databases: databaseIdentity(env),
      snapshot: id,
      targets: ['qdrant'],
      force: true,
      done: [],
      current: 'qdrant',
    };
    await writeFile(join(folder, 'restore.json'), JSON.stringify(journal));
    try {
      const [line] = expectRefused(await backup('--qdrant'), 'LOCKED', 8);
      expect(line).toMatch(
        new RegExp(`cannot backup qdrant: a restore of ${id} .* is running \\(pid ${process.pid}`),
      );
      // Stores the restore does not write are not in its way.
      const other = await backup('--json');
      expect(other.code, other.stderr).toBe(0);
    } finally {
      await rm(join(folder, 'restore.json'));
    }
  });

  it('an import killed before its rollback is refused for the stores it left uncommitted', async () => {
    const folder = join(journals(), 'import-20261130T000000000Z-deadbeef');
    await mkdir(folder, { recursive: true });
    const journal = {
      journal: 'import',
      version: 1,
      pid: deadPid(),
      host: hostname(),
      startedAt: new Date().toISOString(),
      databases: databaseIdentity(env),
      inputs: ['qdrant_vectors.json.gz'],
      stores: { qdrant: 'open' },
    };
    await writeFile(join(folder, 'journal.json'), JSON.stringify(journal));
    try {
      const [line, hint] = expectRefused(await backup('--qdrant'), 'UNFINISHED', 7);
      expect(line).toMatch(
        /cannot backup qdrant: an import into these databases \(qdrant_vectors.json.gz\) was interrupted/,
      );
      expect(hint).toMatch(/run the same import again/);
    } finally {
      await rm(folder, { recursive: true });
    }
  });
});
