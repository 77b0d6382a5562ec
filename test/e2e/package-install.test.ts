/**
 * The published package, as an operator gets it: `npm pack` (which builds dist/), `npm install -g` of the
 * tarball into an empty prefix, then the installed `acx-data` (JavaScript from dist/, no src/, no
 * TypeScript) seeds, backs up, verifies, empties and restores the stack: content identical. It would fail
 * if the build left out a file the code reads at run time, or if a dependency were only a devDependency.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFingerprints } from '../../src/model/content-hash.ts';
import type { TestStores } from '../support/stores.ts';
import { emptyAll, fingerprint, openTestStores, seed } from '../support/stores.ts';
import { runProcess } from '../support/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let work: string;
let installed: string;
let stores: TestStores;

/** The machine's PATH with this test's Node first: npm and the installed bin run on it. */
const PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);

const run = (command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
  runProcess(command, args, {
    cwd: options.cwd ?? work,
    env: { ...process.env, PATH, ACX_STATE_DIR: join(work, 'state'), ...options.env },
  });

const acx = (...args: string[]) => run(installed, args);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-package-'));
  const packed = await run('npm', ['pack', '--pack-destination', work], { cwd: ROOT });
  expect(packed.code, packed.stderr).toBe(0);
  // npm prints the prepack build's output too: the tarball is the one file it wrote.
  const tarballs = (await readdir(work)).filter((f) => f.endsWith('.tgz'));
  expect(tarballs).toHaveLength(1);
  const filename = tarballs[0]!;
  const prefix = join(work, 'global');
  const install = await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(work, filename),
    ],
    // The README's install command: onnxruntime-node's CPU binaries are in its package; its install script
    // would only fetch the optional CUDA libraries from NuGet.
    { env: { ONNXRUNTIME_NODE_INSTALL: 'skip' } },
  );
  expect(install.code, install.stderr).toBe(0);
  installed = join(prefix, 'bin', 'acx-data');
  stores = await openTestStores();
}, 600_000);

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the package from npm pack, installed with npm install -g', () => {
  it('holds the built JavaScript, not the TypeScript sources, and no development dependency', async () => {
    const packageDir = join(work, 'global', 'lib', 'node_modules', 'acx-data');
    expect(existsSync(join(packageDir, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(join(packageDir, 'dist', 'model', 'schema', 'postgres-schema.sql'))).toBe(true);
    expect(existsSync(join(packageDir, 'src'))).toBe(false);
    expect(existsSync(join(packageDir, 'test'))).toBe(false);
    const dependencies = await readdir(join(packageDir, 'node_modules'));
    expect(dependencies).not.toContain('better-sqlite3');
    expect(dependencies).not.toContain('typescript');
    expect(dependencies).not.toContain('vitest');
  });

  it('answers --version and --help', async () => {
    const version = await acx('--version');
    expect(version.code, version.stderr).toBe(0);
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
    const help = await acx('--help');
    expect(help.code, help.stderr).toBe(0);
    for (const command of ['backup', 'export', 'import', 'sync', 'seed', 'key'])
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    expect(help.stderr).toBe('');
  });

  it('backs up, verifies and restores the three stores into empty ones: content identical', async () => {
    await seed(stores, 0.02, 11);
    const original = await fingerprint(stores);
    const backupDir = join(work, 'backups');
    const backup = await acx('backup', '--all', '--backup-dir', backupDir, '--format', 'json', '-q');
    expect(backup.code, backup.stderr).toBe(0);
    const { id } = JSON.parse(backup.stdout) as { id: string };
    const verify = await acx('backup', '--backup-dir', backupDir, '--verify', id, '-q');
    expect(verify.code, verify.stderr).toBe(0);
    await emptyAll(stores);
    const restore = await acx('backup', '--backup-dir', backupDir, '--restore', id, '-q');
    expect(restore.code, restore.stderr).toBe(0);
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
    // Nothing the package printed carries the stack's passwords.
    for (const text of [backup.stdout, backup.stderr, verify.stderr, restore.stderr])
      expect(text).not.toContain('acxdata-local');
  });
});
