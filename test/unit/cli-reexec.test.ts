/**
 * bin/acx-data.js re-executes a data command once with V8's heap settings and glibc's malloc settings
 * (docs/decisions/0020, 0021): the new process starts with both (glibc reads its settings from the
 * environment the process started with, /proc/self/environ), then removes the malloc settings it added
 * from `process.env`, so hooks and child processes inherit the operator's environment unchanged.
 * `--version` is not re-executed, and an operator's own heap size or malloc setting is left alone.
 * The CLI runs with test/support/report-process.mjs preloaded, which writes what the process saw.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/acx-data.js', import.meta.url));
const REPORTER = fileURLToPath(new URL('../support/report-process.mjs', import.meta.url));

interface Seen {
  pid: number;
  firstPid: number;
  execArgv: string[];
  startEnv: Record<string, string>;
  env: Record<string, string | undefined>;
}

let work: string;
let runs = 0;

async function run(
  args: string[],
  env: Record<string, string> = {},
  nodeFlags: string[] = [],
): Promise<Seen> {
  const file = join(work, `seen-${++runs}.json`);
  const clean = { ...process.env };
  for (const name of ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'NODE_OPTIONS']) delete clean[name];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', REPORTER, BIN, ...args], {
      env: { ...clean, ...env, ACX_REPORT_PROCESS: file },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
  expect(code).toBe(0);
  return JSON.parse(await readFile(file, 'utf8')) as Seen;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-cli-reexec-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the re-execution of data commands', () => {
  it('starts with the heap flags and malloc settings, and hides the malloc settings from children', async () => {
    const seen = await run(['backup', '--list', '--backup-dir', join(work, 'empty')]);
    expect(seen.pid).toBe(seen.firstPid);
    expect(seen.execArgv).toEqual(
      expect.arrayContaining([
        '--max-semi-space-size=4',
        '--max-old-space-size=1024',
        '--heap-growing-percent=150',
      ]),
    );
    expect(seen.startEnv.MALLOC_ARENA_MAX).toBe('2');
    expect(seen.startEnv.MALLOC_MMAP_THRESHOLD_).toBe('1048576');
    expect(seen.env).toEqual({
      MALLOC_ARENA_MAX: undefined,
      MALLOC_MMAP_THRESHOLD_: undefined,
      ACX_REEXEC_ADDED_ENV: undefined,
    });
  });

  it("keeps the operator's own malloc setting, in its process and its children's", async () => {
    const seen = await run(['backup', '--list', '--backup-dir', join(work, 'empty')], {
      MALLOC_ARENA_MAX: '4',
    });
    expect(seen.startEnv.MALLOC_ARENA_MAX).toBe('4');
    expect(seen.startEnv.MALLOC_MMAP_THRESHOLD_).toBe('1048576');
    expect(seen.env.MALLOC_ARENA_MAX).toBe('4');
    expect(seen.env.MALLOC_MMAP_THRESHOLD_).toBeUndefined();
  });

  it('leaves --version and an operator-sized heap as they are', async () => {
    const version = await run(['--version']);
    expect(version.execArgv).not.toContain('--heap-growing-percent=150');
    expect(version.startEnv.MALLOC_ARENA_MAX).toBeUndefined();
    const sized = await run(['backup', '--list', '--backup-dir', join(work, 'empty')], {}, [
      '--max-old-space-size=512',
    ]);
    expect(sized.execArgv).not.toContain('--heap-growing-percent=150');
    expect(sized.startEnv.MALLOC_ARENA_MAX).toBeUndefined();
  });
});
