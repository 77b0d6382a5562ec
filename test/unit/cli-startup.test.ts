/**
 * Declaring the commands loads no database driver, format library or compressor: `--help`,
 * `--version` and every subcommand's `--help` start without them, while real runs do load them (so
 * the check can fail). The CLI runs as a child process with test/support/record-modules.mjs preloaded,
 * which writes every module the process loaded to a file. Built-in modules count too: `node:sqlite`
 * (which Node 22 greets with an ExperimentalWarning) is loaded only by the runs that use SQLite.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/acx-data.js', import.meta.url));
const RECORDER = fileURLToPath(new URL('../support/record-modules.mjs', import.meta.url));
const HEAVY = [
  'pg',
  'neo4j-driver',
  'exceljs',
  'node:sqlite',
  'zstd-napi',
  'saxes',
  'csv-parse',
  'csv-stringify',
];
// Stores nobody listens on: a real run fails to connect instead of touching the shared stack.
const NO_STORES = {
  DATABASE_URL: 'postgresql://acx:secret@127.0.0.1:1/none',
  NEO4J_URI: 'bolt://127.0.0.1:1',
  QDRANT_URL: 'http://127.0.0.1:1',
};

let work: string;
let runs = 0;

/**
 * The packages (by name, from their node_modules folder) and the built-in modules imported as ES
 * modules (`node:…`, as the loader resolves them) a CLI run loaded, and its exit code.
 */
async function packagesLoadedBy(args: string[]): Promise<{ code: number | null; packages: Set<string> }> {
  const file = join(work, `modules-${++runs}.txt`);
  await writeFile(file, '');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', RECORDER, BIN, ...args], {
      env: { ...process.env, ...NO_STORES, ACX_RECORD_MODULES: file },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
  const packages = new Set<string>();
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    // The innermost node_modules folder names the package (@scope/name or name).
    const inner = [...line.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].pop();
    if (inner?.[1]) packages.add(inner[1]);
    else if (line.startsWith('node:')) packages.add(line);
  }
  expect(packages.has('commander'), `the recorder saw ${args.join(' ')} load commander`).toBe(true);
  return { code, packages };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-cli-startup-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('starting the CLI', () => {
  it.each([
    [['--help']],
    [['--version']],
    [['backup', '--help']],
    [['export', '--help']],
    [['import', '--help']],
    [['seed', '--help']],
    [['help', 'backup']],
  ])('%j loads no driver, format library or compressor', { timeout: 60_000 }, async (args) => {
    const { code, packages } = await packagesLoadedBy(args);
    expect(code).toBe(0);
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
  });

  it(
    'a real run loads them: export, import and backup --list together load every one',
    { timeout: 120_000 },
    async () => {
      const empty = join(work, 'empty.json');
      await writeFile(empty, '{}');
      const loaded = new Set<string>();
      for (const args of [
        ['export', '--translations', '--output-dir', join(work, 'exports')],
        ['import', '--json', empty],
        ['backup', '--list', '--backup-dir', join(work, 'no-backups')],
      ]) {
        const { packages } = await packagesLoadedBy(args);
        for (const p of packages) loaded.add(p);
      }
      expect(HEAVY.filter((p) => !loaded.has(p))).toEqual([]);
    },
  );
});
