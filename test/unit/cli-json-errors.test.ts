/**
 * A run that fails before it has a summary still prints one result document under `--format json`:
 * `{"outcome": "failed", "error": {code, message, subject?, hint?, exitCode}}` on stdout, secrets
 * redacted, and the usual one-line message on stderr. Without `--format json`, stdout stays empty.
 * (No store is reachable here: these failures come before any data is touched.)
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

interface ErrorDocument {
  outcome: string;
  error: { code: string; message: string; subject?: string; hint?: string; exitCode: number };
}

const UNREACHABLE = { ...process.env, DATABASE_URL: 'postgresql://acx:secretpw@127.0.0.1:1/none' };

function documentOf(stdout: string): ErrorDocument {
  return JSON.parse(stdout) as ErrorDocument;
}

describe('--format json when a run fails before its summary', () => {
  it(
    'a store that cannot be reached: CONNECTION, exit 4, its password redacted',
    { timeout: 60_000 },
    async () => {
      const result = await runCli(['seed', '--scale', '0.01', '--format', 'json'], UNREACHABLE);
      expect(result.code).toBe(4);
      const doc = documentOf(result.stdout);
      expect(doc.outcome).toBe('failed');
      expect(doc.error.code).toBe('CONNECTION');
      expect(doc.error.exitCode).toBe(4);
      expect(doc.error.message).toMatch(/postgres/i);
      expect(result.stdout).not.toContain('secretpw');
      expect(result.stderr).toMatch(/^acx-data: CONNECTION/m);
      expect(result.stderr).not.toContain('secretpw');
    },
  );

  it('an input that does not exist: NOT_FOUND with its subject, exit 5', { timeout: 60_000 }, async () => {
    const result = await runCli(['import', '--json', '/nonexistent/export.json', '--format', 'json']);
    expect(result.code).toBe(5);
    expect(documentOf(result.stdout)).toEqual({
      outcome: 'failed',
      error: {
        code: 'NOT_FOUND',
        message: '--json /nonexistent/export.json: no such file',
        subject: '/nonexistent/export.json',
        hint: 'check the path',
        exitCode: 5,
      },
    });
  });

  it('a flag the command refuses: USAGE, exit 2', { timeout: 60_000 }, async () => {
    const result = await runCli(['--format', 'json', 'backup', '--target', 'mysql']);
    expect(result.code).toBe(2);
    const doc = documentOf(result.stdout);
    expect(doc.error).toMatchObject({ code: 'USAGE', exitCode: 2 });
    expect(doc.error.message).toMatch(/--target.*mysql/);
  });

  it('a bad value the command checks itself: USAGE, exit 2', { timeout: 60_000 }, async () => {
    const result = await runCli(['seed', '--scale', 'lots', '--format', 'json'], UNREACHABLE);
    expect(result.code).toBe(2);
    expect(documentOf(result.stdout).error).toMatchObject({ code: 'USAGE', subject: '--scale', exitCode: 2 });
  });

  it('prints nothing on stdout without --format json', { timeout: 60_000 }, async () => {
    const result = await runCli(['seed', '--scale', '0.01'], UNREACHABLE);
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^acx-data: CONNECTION/m);
  });
});
