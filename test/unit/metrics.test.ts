/**
 * Metrics after a run (docs/design.md §13.3; families in docs/operations.md): the real CLI writes the
 * textfile atomically and pushes it to a Pushgateway (a local receiver); the file parses with a
 * Prometheus text-format parser; a failed run keeps the previous last-success time. The families a
 * result document adds (bytes and records per store, verify, sync-verify issues) are rendered from
 * documents of the shapes the commands print.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { startHttpReceiver, type HttpReceiver } from '../support/receivers.ts';
import { tempDirs } from '../support/small-repository.ts';
import { metricFamilies, renderMetrics } from '../../src/operations/after-run/metrics.ts';
import type { RunRecord } from '../../src/operations/after-run/run-record.ts';

interface ParsedFamily {
  name: string;
  type: string;
  metrics: Array<{ value: string; labels?: Record<string, string> }>;
}

const tempDir = tempDirs('acx-metrics-');
const open: HttpReceiver[] = [];
afterEach(async () => {
  for (const receiver of open.splice(0)) await receiver.close();
});

function envOf(work: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env))
    if (/^ACX_(ALERT|METRICS|PUSHGATEWAY|SMTP)/.test(name)) delete env[name];
  return { ...env, ACX_STATE_DIR: join(work, 'state') };
}

/** The families of a Prometheus text, by name: label sets → values. */
function parse(text: string): Map<string, ParsedFamily> {
  const families = parsePrometheusTextFormat(text) as ParsedFamily[];
  return new Map(families.map((f) => [f.name, f]));
}

function valueOf(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string>): number {
  const family = families.get(name);
  expect(family, `family ${name}`).toBeDefined();
  const sample = family!.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  expect(sample, `${name} ${JSON.stringify(labels)}`).toBeDefined();
  return Number(sample!.value);
}

describe('the metrics file', () => {
  it('is written after a run, parses, and a failed run keeps the previous last-success time', async () => {
    const work = await tempDir();
    const file = join(work, 'acx_data_backup.prom');
    const list = { command: 'backup', mode: 'list' };
    const before = Date.now() / 1000;
    const ok = await runCli(
      ['backup', '--list', '--backup-dir', join(work, 'empty'), '--metrics-file', file],
      envOf(work),
    );
    expect(ok.code, ok.stderr).toBe(0);
    const first = parse(await readFile(file, 'utf8'));
    for (const family of first.values()) {
      expect(family.name).toMatch(/^acx_data_/);
      expect(family.type).toBe('GAUGE');
    }
    const success = valueOf(first, 'acx_data_last_success_timestamp_seconds', list);
    expect(success).toBeGreaterThanOrEqual(Math.floor(before));
    expect(success).toBe(valueOf(first, 'acx_data_last_run_timestamp_seconds', list));
    expect(valueOf(first, 'acx_data_run_success', list)).toBe(1);
    expect(valueOf(first, 'acx_data_exit_code', list)).toBe(0);
    expect(valueOf(first, 'acx_data_run_duration_seconds', list)).toBeGreaterThan(0);

    // The same job failing: a file where the repository should be (USAGE, exit 2).
    await writeFile(join(work, 'a-file'), '');
    const failed = await runCli(
      ['backup', '--list', '--backup-dir', join(work, 'a-file'), '--metrics-file', file],
      envOf(work),
    );
    expect(failed.code).toBe(2);
    const second = parse(await readFile(file, 'utf8'));
    expect(valueOf(second, 'acx_data_last_success_timestamp_seconds', list)).toBe(success);
    expect(valueOf(second, 'acx_data_last_run_timestamp_seconds', list)).toBeGreaterThan(success);
    expect(valueOf(second, 'acx_data_run_success', list)).toBe(0);
    expect(valueOf(second, 'acx_data_exit_code', list)).toBe(2);
    // Written through a temporary file in the same folder, renamed: nothing else is left there.
    expect((await readdir(work)).filter((n) => n !== 'state').sort()).toEqual([
      'a-file',
      'acx_data_backup.prom',
    ]);
  });

  it('a failure before any success writes no last-success time', async () => {
    const work = await tempDir();
    const file = join(work, 'm.prom');
    await writeFile(join(work, 'a-file'), '');
    await runCli(
      ['backup', '--list', '--backup-dir', join(work, 'a-file'), '--metrics-file', file],
      envOf(work),
    );
    const families = parse(await readFile(file, 'utf8'));
    expect(families.has('acx_data_last_success_timestamp_seconds')).toBe(false);
    expect(valueOf(families, 'acx_data_exit_code', { command: 'backup', mode: 'list' })).toBe(2);
  });

  it('an unwritable metrics file is one warning; the exit code stays', async () => {
    const work = await tempDir();
    const result = await runCli(
      [
        'backup',
        '--list',
        '--backup-dir',
        join(work, 'empty'),
        '--metrics-file',
        join(work, 'no', 'such', 'm.prom'),
      ],
      envOf(work),
    );
    expect(result.code).toBe(0);
    expect(
      result.stderr.split('\n').filter((l) => l.startsWith('acx-data: warning: metrics not written')),
    ).toHaveLength(1);
  });
});

describe('the Pushgateway', () => {
  it('gets the same metrics by PUT to /metrics/job/acx_data/command/<command>, from ACX_PUSHGATEWAY_URL too', async () => {
    const work = await tempDir();
    const gateway = await startHttpReceiver([503]);
    open.push(gateway);
    const file = join(work, 'm.prom');
    const result = await runCli(
      [
        'backup',
        '--list',
        '--backup-dir',
        join(work, 'empty'),
        '--metrics-file',
        file,
        '--metrics-push',
        `${gateway.url}/`,
      ],
      envOf(work),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(gateway.requests).toHaveLength(2); // a 503, then the push again
    const push = gateway.requests[1]!;
    expect(push.method).toBe('PUT');
    expect(push.url).toBe('/metrics/job/acx_data/command/backup');
    expect(push.headers['content-type']).toMatch(/^text\/plain/);
    expect(push.body).toBe(await readFile(file, 'utf8'));
    expect(valueOf(parse(push.body), 'acx_data_run_success', { command: 'backup', mode: 'list' })).toBe(1);

    await runCli(['key', 'list', '--backup-dir', join(work, 'empty')], {
      ...envOf(work),
      ACX_PUSHGATEWAY_URL: gateway.url,
    });
    const key = gateway.requests[2]!;
    expect(key.url).toBe(
      `/metrics/job/acx_data/command@base64/${Buffer.from('key list').toString('base64url')}`,
    );
    expect(
      valueOf(parse(key.body), 'acx_data_exit_code', { command: 'key list', mode: 'list' }),
    ).toBeGreaterThan(0);
  });
});

describe('families from the result document', () => {
  const record = (result: unknown, command = 'backup', mode = 'backup'): RunRecord => ({
    command,
    mode,
    argv: [command],
    startedAt: new Date('2026-12-01T02:00:00Z'),
    endedAt: new Date('2026-12-01T02:01:30Z'),
    exitCode: 0,
    result,
  });

  it('a backup: bytes and records per store', async () => {
    const summary = {
      id: 'full_20261201_020000',
      stores: {
        postgres: { records: 3000, bytes: 120_000, seconds: 10 },
        neo4j: { records: 500, bytes: 40_000, seconds: 5 },
      },
      bytes: 160_000,
      seconds: 90,
    };
    const families = parse(await renderMetrics(metricFamilies(record(summary), [])));
    const base = { command: 'backup', mode: 'backup' };
    expect(valueOf(families, 'acx_data_bytes_written', { ...base, store: 'postgres' })).toBe(120_000);
    expect(valueOf(families, 'acx_data_bytes_written', { ...base, store: 'neo4j' })).toBe(40_000);
    expect(valueOf(families, 'acx_data_records', { ...base, store: 'postgres' })).toBe(3000);
    expect(valueOf(families, 'acx_data_run_duration_seconds', base)).toBe(90);
    expect(valueOf(families, 'acx_data_last_success_timestamp_seconds', base)).toBe(
      Date.parse('2026-12-01T02:01:30Z') / 1000,
    );
  });

  it('backup --verify: ok 0/1; sync --verify: consistency and issue counts per kind', async () => {
    const verify = parse(
      await renderMetrics(metricFamilies(record({ id: 'full_x', ok: false }, 'backup', 'verify'), [])),
    );
    expect(valueOf(verify, 'acx_data_verify_ok', { command: 'backup', mode: 'verify' })).toBe(0);

    const report = {
      timestamp: '2026-12-01T03:00:00Z',
      is_consistent: false,
      issue_counts: { missing_in_neo4j: 4, missing_in_qdrant: 0, content_mismatches: 2 },
    };
    const sync = parse(
      await renderMetrics(metricFamilies(record({ sync: {}, verify: report }, 'sync', 'verify'), [])),
    );
    const base = { command: 'sync', mode: 'verify' };
    expect(valueOf(sync, 'acx_data_sync_consistent', base)).toBe(0);
    expect(valueOf(sync, 'acx_data_sync_verify_issues', { ...base, kind: 'missing_in_neo4j' })).toBe(4);
    expect(valueOf(sync, 'acx_data_sync_verify_issues', { ...base, kind: 'content_mismatches' })).toBe(2);
    expect(valueOf(sync, 'acx_data_sync_verify_issues', { ...base, kind: 'missing_in_qdrant' })).toBe(0);
  });

  it('backup --verify --restore-test: the drill result, duration and time per snapshot (one id or --all)', async () => {
    const restoreTest = {
      at: '2026-12-01T07:00:00.000Z',
      ok: false,
      durationMs: 16_500,
      datasets: 3,
      mismatches: ['x'],
    };
    const base = { command: 'backup', mode: 'verify' };
    const one = parse(
      await renderMetrics(
        metricFamilies(record({ id: 'full_a', ok: true, restoreTest }, 'backup', 'verify'), []),
      ),
    );
    const labels = { ...base, snapshot: 'full_a' };
    expect(valueOf(one, 'acx_data_restore_drill_ok', labels)).toBe(0);
    expect(valueOf(one, 'acx_data_restore_drill_duration_seconds', labels)).toBe(16.5);
    expect(valueOf(one, 'acx_data_restore_drill_timestamp_seconds', labels)).toBe(
      Date.parse('2026-12-01T07:00:00Z') / 1000,
    );
    const all = parse(
      await renderMetrics(
        metricFamilies(
          record(
            { ok: true, drill: { id: 'full_b', restoreTest: { ...restoreTest, ok: true } } },
            'backup',
            'verify',
          ),
          [],
        ),
      ),
    );
    expect(valueOf(all, 'acx_data_restore_drill_ok', { ...base, snapshot: 'full_b' })).toBe(1);
    // A verify without a drill has no drill families.
    const plain = await renderMetrics(
      metricFamilies(record({ id: 'full_c', ok: true }, 'backup', 'verify'), []),
    );
    expect(plain).not.toContain('acx_data_restore_drill');
  });
});
