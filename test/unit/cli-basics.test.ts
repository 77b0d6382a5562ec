import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { runCli } from '../support/cli.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('acx-data CLI basics', () => {
  it('prints help with the exit-code table', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('seed');
    expect(result.stdout).toMatch(/exit codes/i);
  });

  it('prints help for a subcommand', async () => {
    const result = await runCli(['seed', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--scale');
    expect(result.stdout).toContain('--force');
  });

  it('prints its version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('rejects an unknown command with the usage exit code', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('frobnicate');
  });

  it('rejects a bad --scale before touching any store', async () => {
    const result = await runCli(['seed', '--scale', 'lots'], {
      ...process.env,
      DATABASE_URL: 'postgresql://x:secretpw@127.0.0.1:1/none',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--scale');
    expect(result.stderr).not.toContain('secretpw');
  });

  it('names the unreachable store without showing its password', async () => {
    const result = await runCli(['seed', '--scale', '0.01'], {
      ...process.env,
      DATABASE_URL: 'postgresql://x:secretpw@127.0.0.1:1/none',
    });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/postgres/i);
    expect(result.stderr).not.toContain('secretpw');
  });
});
