/**
 * The first file a run creates — the repository lock, an export folder's claim, a run journal in the
 * state directory — on a file system so full that even it cannot be written. That is the operator's
 * disk condition, reported as the file-system table (src/files.ts) words it: STORAGE (exit 1), "no space
 * left on device", naming the directory, with the hint to free space — never USAGE (exit 2, "bad
 * flags"), INTERNAL or raw errno text. Needs root (tmpfs mounts); CI runs as root.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../support/cli.ts';

const canMount = process.getuid?.() === 0;
let work: string;
const mounts: string[] = [];

/** A tmpfs of 64 KiB filled to the last byte: creating a file works, writing one byte does not. */
async function fullFileSystem(): Promise<string> {
  const path = await mkdtemp(join(work, 'full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', path]);
  mounts.push(path);
  await writeFile(join(path, 'filler'), Buffer.alloc(1024 * 1024)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOSPC') throw error;
  });
  return path;
}

/** One STORAGE line naming `place` and the full disk, one hint line to free space; no USAGE, no stack. */
function expectDiskFull(result: CliResult, place: string): void {
  const lines = result.stderr.trim().split('\n');
  const last = lines.slice(-2);
  expect(last[0], result.stderr).toMatch(/^acx-data: STORAGE /);
  expect(last[0]).toContain(place);
  expect(last[0]).toMatch(/no space left on device/);
  expect(last[1]).toMatch(/^ {2}hint: free space on the file system holding /);
  expect(result.stderr).not.toMatch(/USAGE|INTERNAL|ENOSPC|\n\s+at /);
  expect(result.code, result.stderr).toBe(1);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-state-full-'));
  await mkdir(join(work, 'data'));
});

afterAll(async () => {
  for (const path of mounts.reverse()) execFileSync('umount', ['-l', path]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!canMount)('the first file of a run on a full file system (tmpfs; needs root)', () => {
  it('backup --all: the lock cannot be written', async () => {
    const mount = await fullFileSystem();
    const dir = join(mount, 'backups');
    const result = await runCli(['backup', '--all', '--backup-dir', dir, '--data-dir', join(work, 'data')]);
    expectDiskFull(result, dir);
    expect(result.stderr).toContain('.acx-lock');
    expect(await readdir(dir).catch(() => [])).toEqual([]);
  });

  it('backup --json (no store) and --cleanup: the same', async () => {
    const mount = await fullFileSystem();
    const backup = await runCli([
      'backup',
      '--json',
      '--backup-dir',
      mount,
      '--data-dir',
      join(work, 'data'),
    ]);
    expectDiskFull(backup, mount);
    await mkdir(join(mount, 'full_20260101_000000'));
    const cleanup = await runCli(['backup', '--cleanup', '--keep', '1', '--backup-dir', mount]);
    expectDiskFull(cleanup, mount);
  });

  it('export: the folder’s claim cannot be written', async () => {
    const mount = await fullFileSystem();
    const result = await runCli(['export', '--translations', '--output-dir', mount]);
    expectDiskFull(result, mount);
  });

  it('import: the run journal cannot be written in the state directory', async () => {
    const mount = await fullFileSystem();
    const input = join(work, 'input.json');
    await writeFile(input, JSON.stringify({ format: 'acx-data-export', datasets: [] }));
    const result = await runCli(['import', '--json', input], { ...process.env, ACX_STATE_DIR: mount });
    expectDiskFull(result, mount);
  });
});
