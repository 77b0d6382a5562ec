/** Runs the real CLI (`bin/acx-data.js`) in a child process, as a user would. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/acx-data.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<CliResult> {
  return runProcess(process.execPath, [BIN, ...args], { env });
}

/** Runs `command` to its end, collecting its output as text. */
export function runProcess(
  command: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: (options.env ?? process.env) as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The environment of CLI runs that keep their state (journals, locks) in `<work>/state`. */
export function stateEnv(work: string): Record<string, string | undefined> {
  return { ...process.env, ACX_STATE_DIR: join(work, 'state') };
}

/**
 * `export <selection> --output-dir <outputDir> --format json`, which must succeed: the folder the
 * export wrote (a new one inside `outputDir`).
 */
export async function exportInto(
  outputDir: string,
  selection: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<string> {
  const result = await runCli(['export', ...selection, '--output-dir', outputDir, '--format', 'json'], env);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { dir: string }).dir;
}

/** The id of the snapshot a `backup … --format json` run wrote, which must have succeeded. */
export function snapshotIdOf(result: CliResult): string {
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { id: string }).id;
}

/** The files of an `export --all` folder that `import` takes together: the JSON export and the vectors. */
export function wholeExport(exportDir: string): string[] {
  return [
    '--json',
    join(exportDir, 'autocognitix_export.json'),
    '--vectors',
    join(exportDir, 'qdrant_vectors.json.gz'),
  ];
}

export interface ImportSummary {
  outcome: string;
  totals: { inserted: number; updated: number; skipped: number; rejected: number };
}

/** `import --format json <args>`, which must succeed without an INTERNAL error: its summary. */
export async function importOk(
  args: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<ImportSummary> {
  const result = await runCli(['import', '--format', 'json', ...args], env);
  expect(result.stderr).not.toMatch(/INTERNAL/);
  expect(result.code, `${result.stdout.slice(0, 2000)}\n${result.stderr.slice(0, 2000)}`).toBe(0);
  return JSON.parse(result.stdout) as ImportSummary;
}
