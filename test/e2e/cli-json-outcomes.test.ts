/**
 * `--format json` prints exactly one result document, for every way a run can end (docs/json-output.md):
 * a complete run, an incomplete one (some items failed: outcome, failures and exit 3), a failed one that
 * has a summary (every item failed) and one that fails before it has any (`{outcome: "failed", error}`).
 * The real CLI runs against the shared PostgreSQL; the Qdrant part runs against a private Qdrant double
 * (test/qdrant-double/) whose one-shot fault hook makes its Qdrant answer 500, so exactly one store fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERROR_CATALOG, EXIT_CODES, type ErrorCode } from '../../src/errors.ts';
import { startQdrantDouble, type QdrantDouble } from '../qdrant-double/server.ts';
import { runCli, type CliResult } from '../support/cli.ts';

interface Failure {
  item: string;
  code: ErrorCode;
  message: string;
}
interface Summary {
  id: string;
  dir: string;
  outcome: 'complete' | 'incomplete' | 'failed';
  failures: Failure[];
  results?: Record<string, { ok: boolean }>;
  restored?: Record<string, unknown>;
}
interface ErrorDocument {
  outcome: 'failed';
  error: { code: ErrorCode; message: string; subject?: string; exitCode: number };
}

let work: string;
let repo: string;
let snapshotId: string;
let qdrant: QdrantDouble;
let closedPort: number;

const exitOf = (code: ErrorCode): number => EXIT_CODES[ERROR_CATALOG[code].exit];

/** The one JSON document on stdout (JSON.parse refuses a second one). */
function documentOf<T>(result: CliResult): T {
  expect(result.stderr).not.toMatch(/INTERNAL/);
  return JSON.parse(result.stdout) as T;
}

/** The CLI with Qdrant at the private double (or at `qdrantUrl`). */
function cli(args: string[], qdrantUrl = qdrant.url): Promise<CliResult> {
  return runCli([...args, '--format', 'json'], { ...process.env, QDRANT_URL: qdrantUrl, QDRANT_API_KEY: '' });
}

/** Makes the double answer the next `times` calls of a Qdrant operation with a 500. */
async function breakQdrant(operationId: string, times = 10): Promise<void> {
  for (let i = 0; i < times; i++) {
    const response = await fetch(`${qdrant.url}/__double/fault`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operationId }),
    });
    expect(response.status).toBe(200);
  }
}

/** Answers the faults still armed (each call uses one up) so the next test starts with a healthy Qdrant. */
async function healQdrant(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const response = await fetch(`${qdrant.url}/collections`);
    if (response.status === 200) return;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-cli-json-'));
  repo = join(work, 'backups');
  closedPort = await freePort();
  // The shared stores, seeded by the CLI: seed prints its inventory as one document.
  const seeded = await runCli(['seed', '--scale', '0.02', '--seed', '11', '--force', '--format', 'json']);
  expect(seeded.code, seeded.stderr).toBe(0);
  expect(
    documentOf<{ inventory: { postgres: Record<string, number> } }>(seeded).inventory.postgres.dtc_codes,
  ).toBeGreaterThan(0);
  // Format 1: the damage case truncates one of its files (format 2's damage: backup-format2-damage).
  const backup = await runCli([
    'backup',
    '--postgres',
    '--qdrant',
    '--backup-dir',
    repo,
    '--format-version',
    '1',
    '--format',
    'json',
  ]);
  expect(backup.code, backup.stderr).toBe(0);
  snapshotId = documentOf<{ id: string }>(backup).id;
  qdrant = await startQdrantDouble();
});

afterAll(async () => {
  await qdrant?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('export --format json', () => {
  const exportTo = async (name: string, ...args: string[]) => {
    const out = join(work, name);
    return { out, result: await cli(['export', '--output-dir', out, ...args]) };
  };

  it('complete: outcome complete, no failures, exit 0', async () => {
    const { result } = await exportTo('export-complete', '--translations', '--qdrant');
    expect(result.code, result.stderr).toBe(0);
    const summary = documentOf<Summary>(result);
    expect(summary.outcome).toBe('complete');
    expect(summary.failures).toEqual([]);
    expect(summary.results).toMatchObject({ translations: { ok: true }, qdrant: { ok: true } });
  });

  it('incomplete: the format whose store failed is listed, the others kept, exit 3', async () => {
    await breakQdrant('get_collections');
    const { result } = await exportTo('export-incomplete', '--translations', '--qdrant');
    await healQdrant();
    expect(result.code, result.stderr).toBe(EXIT_CODES.incomplete);
    const summary = documentOf<Summary>(result);
    expect(summary.outcome).toBe('incomplete');
    expect(summary.failures.map((f) => f.item)).toEqual(['qdrant']);
    expect(summary.results).toMatchObject({ translations: { ok: true }, qdrant: { ok: false } });
    // The good format and the manifest stay; the failed format left nothing behind.
    expect((await readdir(summary.dir)).sort()).toEqual(['manifest.json', 'translations.json']);
    expect(result.stderr).toMatch(/INCOMPLETE.*finished without qdrant/);
  });

  it('failed with a summary: every format failed, exit of the failure', async () => {
    await breakQdrant('get_collections');
    const { result } = await exportTo('export-failed', '--qdrant');
    await healQdrant();
    const summary = documentOf<Summary>(result);
    expect(summary.outcome).toBe('failed');
    expect(summary.failures).toHaveLength(1);
    expect(summary.failures[0]?.item).toBe('qdrant');
    expect(result.code).toBe(exitOf(summary.failures[0]!.code));
    expect(result.code).not.toBe(0);
  });

  it('failed before any summary: a store that cannot be reached, exit 4, nothing written', async () => {
    const out = join(work, 'export-unreachable');
    const result = await cli(
      ['export', '--output-dir', out, '--qdrant'],
      `http://acx:secretpw@127.0.0.1:${closedPort}`,
    );
    expect(result.code).toBe(EXIT_CODES.connection);
    const doc = documentOf<ErrorDocument>(result);
    expect(doc.outcome).toBe('failed');
    expect(doc.error).toMatchObject({ code: 'CONNECTION', subject: 'qdrant', exitCode: 4 });
    expect(result.stdout).not.toContain('secretpw');
    await expect(stat(out)).rejects.toThrow();
  });
});

describe('backup --restore --format json', () => {
  it('complete: outcome complete, exit 0', async () => {
    const result = await cli([
      'backup',
      '--restore',
      snapshotId,
      '--target',
      'postgres',
      '--force',
      '--backup-dir',
      repo,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const summary = documentOf<Summary>(result);
    expect(summary.outcome).toBe('complete');
    expect(summary.failures).toEqual([]);
    expect(Object.keys(summary.restored ?? {})).toEqual(['postgres']);
  });

  it('incomplete: PostgreSQL restored, Qdrant failed and listed, exit 3', async () => {
    await breakQdrant('upsert_points');
    const result = await cli([
      'backup',
      '--restore',
      snapshotId,
      '--target',
      'postgres',
      '--target',
      'qdrant',
      '--force',
      '--backup-dir',
      repo,
    ]);
    await healQdrant();
    expect(result.code, result.stderr).toBe(EXIT_CODES.incomplete);
    const summary = documentOf<Summary>(result);
    expect(summary.outcome).toBe('incomplete');
    expect(summary.failures.map((f) => f.item)).toEqual(['qdrant']);
    expect(Object.keys(summary.restored ?? {})).toEqual(['postgres']);
    expect(result.stderr).toMatch(/INCOMPLETE.*failed for qdrant \(restored: postgres\)/);
  });

  it('failed with a summary: the only target failed, exit of its failure', async () => {
    await breakQdrant('upsert_points');
    const result = await cli([
      'backup',
      '--restore',
      snapshotId,
      '--target',
      'qdrant',
      '--force',
      '--backup-dir',
      repo,
    ]);
    await healQdrant();
    const summary = documentOf<Summary>(result);
    expect(summary.outcome).toBe('failed');
    expect(summary.failures.map((f) => f.item)).toEqual(['qdrant']);
    expect(summary.restored).toEqual({});
    expect(result.code).toBe(exitOf(summary.failures[0]!.code));
    expect(result.code).not.toBe(0);
  });

  it('failed before any summary: a snapshot that does not exist, NOT_FOUND, exit 5', async () => {
    const result = await cli(['backup', '--restore', 'full_20000101_000000', '--backup-dir', repo]);
    expect(result.code).toBe(EXIT_CODES.notFound);
    expect(documentOf<ErrorDocument>(result)).toMatchObject({
      outcome: 'failed',
      error: { code: 'NOT_FOUND', subject: 'full_20000101_000000', exitCode: 5 },
    });
    expect(result.stderr).toMatch(/^acx-data: NOT_FOUND \[full_20000101_000000\]/m);
  });

  it('failed before any summary: Qdrant cannot be reached, CONNECTION, exit 4', async () => {
    const result = await cli(
      ['backup', '--restore', snapshotId, '--target', 'qdrant', '--backup-dir', repo],
      `http://127.0.0.1:${closedPort}`,
    );
    expect(result.code).toBe(EXIT_CODES.connection);
    expect(documentOf<ErrorDocument>(result).error).toMatchObject({ code: 'CONNECTION', exitCode: 4 });
  });
});

describe('the other backup modes print one document too', () => {
  it('--list, --cleanup --dry-run: exit 0', async () => {
    const list = await cli(['backup', '--list', '--backup-dir', repo]);
    expect(list.code, list.stderr).toBe(0);
    expect(documentOf<{ snapshots: Array<{ id: string }> }>(list).snapshots.map((s) => s.id)).toContain(
      snapshotId,
    );
    const cleanup = await cli(['backup', '--cleanup', '--keep', '1', '--dry-run', '--backup-dir', repo]);
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(documentOf<{ dryRun: boolean }>(cleanup).dryRun).toBe(true);
  });

  it('--verify of a damaged snapshot: its problems, INTEGRITY, exit 6', async () => {
    const damaged = join(work, 'damaged');
    await cp(join(repo, snapshotId), join(damaged, snapshotId), { recursive: true });
    const tables = join(damaged, snapshotId, 'postgres', 'tables');
    const files = (await readdir(tables)).filter((f) => f.includes('dtc_codes'));
    expect(files.length).toBeGreaterThan(0);
    await truncate(join(tables, files[0]!), 10);
    const result = await cli(['backup', '--verify', snapshotId, '--backup-dir', damaged]);
    expect(result.code).toBe(EXIT_CODES.integrity);
    const summary = documentOf<{ ok: boolean; problems: Array<{ file: string }> }>(result);
    expect(summary.ok).toBe(false);
    expect(summary.problems.map((p) => p.file)).toContain(`postgres/tables/${files[0]}`);
  });
});
