/**
 * Path options that cannot work — a folder option naming a file or a path under one, an input that does
 * not exist, a state directory that is a file — are refused up front, through the real CLI: one line
 * naming the option and the path, a hint, the catalog's exit code, and no connection attempted. The
 * stores point at ports nobody listens on, so a check that came after connecting would end with
 * CONNECTION instead.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../support/cli.ts';

const NO_STORES = {
  DATABASE_URL: 'postgresql://acx:secretpw@127.0.0.1:1/none',
  NEO4J_URI: 'bolt://127.0.0.1:1',
  QDRANT_URL: 'http://127.0.0.1:1',
};
let work: string;
let aFile: string;
let stateDir: string;
const env = (extra: Record<string, string> = {}) => ({
  ...process.env,
  ...NO_STORES,
  ACX_STATE_DIR: stateDir,
  ...extra,
});
const cli = (args: string[], extra?: Record<string, string>) => runCli(args, env(extra));

/** One error line with the code, naming `text`; one hint line; no stack, no connection, no secret. */
function expectRefused(result: CliResult, code: string, exit: number, text: RegExp): void {
  const lines = result.stderr.trim().split('\n');
  expect(lines[0], result.stderr).toMatch(new RegExp(`^acx-data: ${code} `));
  expect(lines[0]).toMatch(text);
  expect(lines[1]).toMatch(/^ {2}hint: \S/);
  expect(lines).toHaveLength(2);
  expect(result.stderr).not.toMatch(/CONNECTION|INTERNAL|ENOTDIR|\n\s+at |secretpw/);
  expect(result.code, result.stderr).toBe(exit);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-path-options-'));
  aFile = join(work, 'a-file');
  stateDir = join(work, 'state');
  await writeFile(aFile, 'not a directory\n');
  await mkdir(join(work, 'data', 'dtc_codes'), { recursive: true });
  await writeFile(join(work, 'data', 'dtc_codes', 'p.json'), '{"P0100": "MAF"}\n');
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('export --output-dir', () => {
  it('naming a file is refused before any connection', async () => {
    const result = await cli(['export', '--csv', '--output-dir', aFile]);
    expectRefused(result, 'USAGE', 2, new RegExp(`--output-dir ${aFile} is a file, not a directory`));
    expect(result.stderr).toMatch(/hint: --output-dir names a folder/);
  });

  it('under a file is refused, naming the file', async () => {
    const result = await cli(['export', '--all', '--output-dir', join(aFile, 'exports')]);
    expectRefused(result, 'USAGE', 2, new RegExp(`is under ${aFile}, which is a file`));
  });
});

describe('backup --data-dir (the JSON data files)', () => {
  it('naming a file is refused before the snapshot is started', async () => {
    const backups = join(work, 'backups-1');
    const result = await cli(['backup', '--json', '--data-dir', aFile, '--backup-dir', backups]);
    expectRefused(result, 'USAGE', 2, new RegExp(`--data-dir ${aFile} is a file, not a directory`));
    expect(await readdir(backups).catch(() => [])).toEqual([]);
  });

  it('restore --target json into a file is refused before anything is written', async () => {
    const backups = join(work, 'backups-2');
    const made = await cli(['backup', '--json', '--data-dir', join(work, 'data'), '--backup-dir', backups]);
    expect(made.code, made.stderr).toBe(0);
    const [id] = (await readdir(backups)).filter((n) => n.startsWith('full_'));
    const result = await cli([
      'backup',
      '--restore',
      id!,
      '--target',
      'json',
      '--data-dir',
      aFile,
      '--backup-dir',
      backups,
    ]);
    expectRefused(result, 'USAGE', 2, new RegExp(`--data-dir ${aFile} is a file`));
  });
});

describe('import inputs and the state directory', () => {
  it.each([
    ['--json', 'missing.json', 'file'],
    ['--csv', 'missing-csv', 'directory'],
    ['--sqlite', 'missing.db', 'file'],
    ['--graphml', 'missing.graphml', 'file'],
    ['--vectors', 'missing.json.gz', 'file'],
  ])('%s naming nothing is NOT_FOUND with a hint', async (flag, name, what) => {
    const path = join(work, name);
    const result = await cli(['import', flag, path]);
    expectRefused(result, 'NOT_FOUND', 5, new RegExp(`${flag} ${path}: no such ${what}`));
  });

  it('an ACX_STATE_DIR that is a file is a setting to fix, named, before any input is read', async () => {
    const input = join(work, 'input.json');
    await writeFile(input, JSON.stringify({ format: 'acx-data-export', datasets: [] }));
    const imported = await cli(['import', '--json', input], { ACX_STATE_DIR: aFile });
    expectRefused(imported, 'CONFIG', 2, new RegExp(`ACX_STATE_DIR\\) ${aFile} is a file, not a directory`));
  });

  it('so is it for a restore', async () => {
    const backups = join(work, 'backups-3');
    const made = await cli(['backup', '--json', '--data-dir', join(work, 'data'), '--backup-dir', backups]);
    expect(made.code, made.stderr).toBe(0);
    const [id] = (await readdir(backups)).filter((n) => n.startsWith('full_'));
    const result = await cli(
      ['backup', '--restore', id!, '--data-dir', join(work, 'restored'), '--backup-dir', backups],
      {
        ACX_STATE_DIR: join(aFile, 'state'),
      },
    );
    expectRefused(result, 'CONFIG', 2, new RegExp(`is under ${aFile}, which is a file`));
  });
});
