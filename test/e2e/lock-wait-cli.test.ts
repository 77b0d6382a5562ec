/**
 * Overlapping runs (design §13.6, issue #14 item 2), through the real CLI on the real stack: a second
 * writer of the repository fails at once with LOCKED (exit 8), or waits with `--lock-wait` and then
 * succeeds; a wait that runs out names the holder; two writing syncs at once: one waits for the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fingerprint } from '../../src/model/content-hash.ts';
import { emptyAll, fingerprint, openTestStores, seed, type TestStores } from '../support/stores.ts';
import { runCli, snapshotIdOf, stateEnv, type CliResult } from '../support/cli.ts';

let stores: TestStores;
let work: string;
let backupDir: string;
let seeded: Fingerprint;

const backup = (...args: string[]): Promise<CliResult> =>
  runCli(['backup', '--backup-dir', backupDir, '--data-dir', join(work, 'data'), ...args], stateEnv(work));

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const lockFile = (): string => join(backupDir, '.acx-lock');

/** A backup that holds the lock for at least `seconds` (its pre-hook runs under the lock). */
function slowBackup(seconds: number, ...args: string[]): Promise<CliResult> {
  return backup('--all', '--format', 'json', '--pre-hook', `sleep ${seconds}`, ...args);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-lock-wait-'));
  backupDir = join(work, 'backups');
  stores = await openTestStores();
  await seed(stores, 0.03, 1406);
  seeded = await fingerprint(stores);
  // The parent the incremental builds on.
  snapshotIdOf(await backup('--all', '--format', 'json'));
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('two backups at once on one repository', () => {
  it('without --lock-wait the second exits 8 at once with one line naming the holder', async () => {
    const first = slowBackup(4);
    await until(() => existsSync(lockFile()), 'the first backup holds the lock');
    const started = Date.now();
    const second = await backup('--all', '--incremental');
    expect(Date.now() - started).toBeLessThan(3_500);
    expect(second.code, second.stderr).toBe(8);
    const lines = second.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^acx-data: .*is locked by "backup" \(pid \d+ on .*, since /);
    expect(second.stderr).toContain('--lock-wait');
    snapshotIdOf(await first);
  });

  it('with --lock-wait a full and an incremental both succeed, one after the other', async () => {
    const full = slowBackup(3);
    await until(() => existsSync(lockFile()), 'the full backup holds the lock');
    const incremental = await backup('--all', '--incremental', '--format', 'json', '--lock-wait', '2m');
    const fullId = snapshotIdOf(await full);
    const incrementalId = snapshotIdOf(incremental);
    expect(incremental.stderr).toMatch(/waiting for the lock held by pid \d+ on .* \("backup"\) since /);
    expect(incrementalId).toMatch(/^incremental_/);
    expect(incrementalId).not.toBe(fullId);
    for (const id of [fullId, incrementalId]) {
      const verified = await backup('--verify', id);
      expect(verified.code, verified.stderr).toBe(0);
    }
    await emptyAll(stores);
    const restored = await backup('--restore', incrementalId);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await fingerprint(stores)).toEqual(seeded);
  });

  it('a --lock-wait that runs out exits 8 naming the holder and the wait', async () => {
    const first = slowBackup(6);
    await until(() => existsSync(lockFile()), 'the first backup holds the lock');
    const second = await backup('--cleanup', '--keep', '10', '--lock-wait', '1s');
    expect(second.code, second.stderr).toBe(8);
    expect(second.stderr).toMatch(/is still locked by "backup" \(pid \d+ on .*\) after waiting \d/);
    expect(second.stderr).toContain('give a longer --lock-wait');
    snapshotIdOf(await first);
  });

  it('Ctrl-C during the wait ends it (130) and leaves the holder alone', async () => {
    const first = slowBackup(5);
    await until(() => existsSync(lockFile()), 'the first backup holds the lock');
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '../../bin/acx-data.js'),
        'backup',
        '--backup-dir',
        backupDir,
        '--data-dir',
        join(work, 'data'),
        '--all',
        '--lock-wait',
        '5m',
      ],
      { env: stateEnv(work) as NodeJS.ProcessEnv, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await until(() => stderr.includes('waiting for the lock'), 'the second run waits');
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupted while waiting for the lock');
    snapshotIdOf(await first);
  });
});

describe('two writing syncs at once', () => {
  it('the second waits for the sync lock with --lock-wait, and fails at once without it', async () => {
    const dataDir = join(work, 'sync-data');
    const env = stateEnv(work);
    const syncLock = join(work, 'state', 'sync.lock');
    const sync = (...args: string[]) =>
      runCli(['sync', '--all', '--force', '--data-dir', dataDir, ...args], env);
    // A live holder that outlasts the checks: a sync run is too quick to race reliably at this scale,
    // so the first "run" is a process that holds the lock as a sync would (same file, same content).
    const holder = spawn('sleep', ['8'], { stdio: 'ignore' });
    await mkdir(join(work, 'state'), { recursive: true });
    await writeFile(
      syncLock,
      JSON.stringify({
        pid: holder.pid,
        host: hostname(),
        command: 'sync --all --force',
        since: new Date().toISOString(),
        token: 'held-by-the-test',
      }),
    );
    try {
      const refused = await sync();
      expect(refused.code, refused.stderr).toBe(8);
      expect(refused.stderr).toMatch(/sync state directory .* is locked by "sync --all --force" \(pid \d+/);
      const waiting = sync('--lock-wait', '1m');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      holder.kill('SIGTERM');
      const waited = await waiting;
      expect(waited.code, waited.stderr).toBe(0);
      expect(waited.stderr).toMatch(/waiting for the sync lock held by pid \d+/);
      expect(existsSync(syncLock)).toBe(false);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('two real syncs started together: one waits, both succeed', async () => {
    const dataDir = join(work, 'sync-data');
    const env = stateEnv(work);
    const sync = () => runCli(['sync', '--all', '--force', '--data-dir', dataDir, '--lock-wait', '5m'], env);
    const [a, b] = await Promise.all([sync(), sync()]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(`${a.stderr}\n${b.stderr}`).toMatch(/waiting for the sync lock held by pid \d+/);
  });
});
