/**
 * File-system conditions an operator causes or meets — a file given as a directory, a read-only mount,
 * a full disk — end with one catalogued line naming the path, with a hint, never INTERNAL or a stack
 * trace. The stores point at ports nobody listens on: these mistakes are reported before any
 * connection. Full and read-only file systems are small tmpfs mounts (root only; CI runs as root).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotFiles } from '../../src/repository/snapshot-files.ts';
import { openLocalStorage } from '../../src/storage/local/local-storage.ts';
import { listAll } from '../../src/storage/storage-helpers.ts';
import { runCli, type CliResult } from '../support/cli.ts';

const NO_STORES = {
  DATABASE_URL: 'postgresql://acx:secretpw@127.0.0.1:1/none',
  NEO4J_URI: 'bolt://127.0.0.1:1',
  QDRANT_URL: 'http://127.0.0.1:1',
};
const cli = (...args: string[]) => runCli(args, { ...process.env, ...NO_STORES });

const canMount = process.getuid?.() === 0;
let work: string;
let aFile: string;
const mounts: string[] = [];

async function mountTmpfs(options: string): Promise<string> {
  const path = await mkdtemp(join(work, 'mount-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', path]);
  mounts.push(path);
  return path;
}

/** One error line with the code, a hint line, no stack, no INTERNAL. */
function expectOneLine(result: CliResult, code: string, exit: number, text: RegExp): void {
  const lines = result.stderr.trim().split('\n');
  expect(lines[0], result.stderr).toMatch(new RegExp(`^acx-data: ${code} `));
  expect(lines[0]).toMatch(text);
  expect(lines[1]).toMatch(/^ {2}hint: /);
  expect(lines).toHaveLength(2);
  expect(result.stderr).not.toMatch(/INTERNAL|\n\s+at |secretpw/);
  expect(result.code, result.stderr).toBe(exit);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-fs-'));
  aFile = join(work, 'a-file');
  await writeFile(aFile, 'not a directory\n');
});

afterAll(async () => {
  for (const path of mounts.reverse()) execFileSync('umount', ['-l', path]);
  await rm(work, { recursive: true, force: true });
});

describe('a file where a directory belongs', () => {
  it('backup --backup-dir naming a file is a usage error, before any connection', async () => {
    const result = await cli('backup', '--postgres', '--backup-dir', aFile);
    expectOneLine(result, 'USAGE', 2, new RegExp(`${aFile}.*is a file, not a directory`));
  });

  it('backup --backup-dir under a file (ENOTDIR) names the file', async () => {
    const result = await cli('backup', '--postgres', '--backup-dir', join(aFile, 'backups'));
    expectOneLine(result, 'USAGE', 2, new RegExp(`its parent ${aFile} is a file, not a directory`));
  });

  it('--verify and --restore on a file say so instead of "does not exist"', async () => {
    for (const mode of ['--verify', '--restore']) {
      const result = await cli('backup', mode, 'latest', '--backup-dir', aFile);
      expectOneLine(result, 'USAGE', 2, /is a file, not a directory/);
    }
  });
});

describe('import inputs of the wrong kind', () => {
  it.each(['--json', '--graphml', '--vectors'])(
    '%s naming a directory says so, with a hint',
    async (flag) => {
      const result = await cli('import', flag, work);
      expectOneLine(result, 'INVALID_INPUT', 9, new RegExp(`${work}: is a directory, not a file`));
    },
  );
});

describe.skipIf(!canMount)('read-only and full file systems (tmpfs; needs root)', () => {
  beforeAll(() => {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
  });

  it('cleanup in a read-only backup directory names the file system (EROFS)', async () => {
    const mount = await mountTmpfs('size=1m');
    await mkdir(join(mount, 'full_20260101_000000'));
    await writeFile(join(mount, 'full_20260101_000000', 'manifest.json'), '{}');
    execFileSync('mount', ['-o', 'remount,ro', mount]);
    const result = await cli('backup', '--cleanup', '--keep', '1', '--backup-dir', mount);
    expectOneLine(result, 'USAGE', 2, new RegExp(`on ${mount}: read-only file system`));
    expect(result.stderr).toMatch(/hint: the file system holding .* is mounted read-only/);
  });

  it('a snapshot file on a full disk fails with the storage error, not an abort', async () => {
    const mount = await mountTmpfs('size=256k');
    const storage = await openLocalStorage({ root: mount });
    // Twenty tries: the abort won the race in most of them before the fix.
    for (let i = 0; i < 20; i++) {
      const files = new SnapshotFiles(storage, `full_20260101_0000${String(i).padStart(2, '0')}`, 'zstd');
      const writer = await files.createFile('qdrant/c/points.jsonl', { records: true });
      const failure = await (async () => {
        for (let n = 0; n < 64; n++) await writer.write(randomBytes(64 * 1024).toString('base64') + '\n');
        await files.closeFile(writer);
      })().then(
        () => new Error('the write succeeded'),
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ code: 'STORAGE', reason: 'other' });
      expect((failure as Error).message).toMatch(
        /cannot put ".*points\.jsonl\.zst" on .*: no space left on device$/,
      );
      expect((failure as { hint?: string }).hint).toMatch(/^free space on the file system holding /);
      await files.settle();
      expect(await listAll(storage, '')).toEqual([]);
    }
  });
});
