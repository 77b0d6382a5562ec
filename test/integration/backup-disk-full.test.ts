/**
 * `backup --all` into file systems too small for it (tmpfs mounts of several sizes, so the disk fills
 * while the schema, a large table, the vectors or the last files are written): each run must end
 * promptly with one STORAGE line naming the file and the directory, leave no lock, no snapshot
 * directory and no PostgreSQL session inside a transaction, and the next backup into a roomy directory
 * must succeed. Needs root (mount); CI runs as root on the same machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../support/cli.ts';
import { openTestStores, seed, type TestStores } from '../support/stores.ts';

const BIG_TABLE = 'public.acx_test_disk_full';
let stores: TestStores;
let work: string;
const mounts: string[] = [];
let roomyBytes = 0;

function mountTmpfs(path: string, bytes: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', path]);
  mounts.push(path);
}

const canMount = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Sessions of this database, other than ours, still inside a transaction. */
async function sessionsInTransaction(): Promise<string[]> {
  const { rows } = await stores.postgres.query<{ state: string; query: string }>(
    `SELECT state, query FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        AND (state LIKE 'idle in transaction%' OR query ILIKE 'COPY%')`,
  );
  return rows.map((r) => `${r.state}: ${r.query.slice(0, 80)}`);
}

async function backupInto(dir: string): Promise<CliResult & { seconds: number }> {
  const started = performance.now();
  const result = await runCli(['backup', '--all', '--backup-dir', dir, '--data-dir', join(work, 'data')]);
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

describe.skipIf(!canMount)('backup into a full file system (tmpfs mounts; needs root)', () => {
  beforeAll(async () => {
    stores = await openTestStores();
    work = await mkdtemp(join(tmpdir(), 'acx-disk-full-'));
    await mkdir(join(work, 'data'), { recursive: true });
    await seed(stores, 0.05, 7);
    // A table larger than what the connection buffers: its COPY is still running when the disk fills.
    await stores.postgres.query(
      `CREATE TABLE ${BIG_TABLE} AS SELECT g, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS t
         FROM generate_series(1, 300000) g`,
    );
    const roomy = await backupInto(join(work, 'roomy'));
    expect(roomy.code, roomy.stderr).toBe(0);
    roomyBytes = Number(
      execFileSync('du', ['-sb', join(work, 'roomy')], { encoding: 'utf8' }).split('\t')[0],
    );
    await rm(join(work, 'roomy'), { recursive: true });
  }, 300_000);

  afterAll(async () => {
    for (const path of mounts.reverse()) execFileSync('umount', ['-l', path]);
    await stores?.postgres.query(`DROP TABLE IF EXISTS ${BIG_TABLE}`).catch(() => undefined);
    await stores?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  // Fractions of a roomy backup's size: the schema files, the big table, the vectors, the last files.
  it.each([
    ['the schema files', 0],
    ['the big table', 0.02],
    ['the vectors', 0.5],
    ['the last files', 0.97],
  ])(
    'fails cleanly when the disk fills during %s',
    async (_moment, fraction) => {
      const mount = await mkdtemp(join(work, 'mount-'));
      mountTmpfs(mount, Math.max(16 * 1024, Math.floor(roomyBytes * fraction)));
      const dir = join(mount, 'backups');
      const result = await backupInto(dir);

      expect(result.code, result.stderr).toBe(1);
      expect(result.seconds).toBeLessThan(60);
      const lastLines = result.stderr.trim().split('\n').slice(-2);
      expect(lastLines[0]).toMatch(
        new RegExp(`^acx-data: STORAGE.*cannot put "[^"]+" on ${dir}: no space left on device`),
      );
      expect(lastLines[1]).toMatch(/hint: free space on the file system .* or choose another directory/);
      expect(result.stderr).not.toMatch(/INTERNAL|AbortError|operation was aborted|\n\s+at /);
      // No lock, no partial snapshot, no transaction left open.
      expect(await readdir(dir).catch(() => [])).toEqual([]);
      expect(await sessionsInTransaction()).toEqual([]);
    },
    120_000,
  );

  it('backs up into a roomy directory afterwards', async () => {
    const result = await backupInto(join(work, 'after'));
    expect(result.code, result.stderr).toBe(0);
    expect((await readdir(join(work, 'after'))).filter((n) => n.startsWith('full_'))).toHaveLength(1);
  }, 120_000);
});
