/**
 * The run's Prometheus metrics (docs/design.md §13.3; families listed in docs/operations.md "Metrics"):
 * written whole to a temporary file in the metrics file's folder and renamed over it (node_exporter's
 * textfile collector never reads half a file), and optionally PUT to a Pushgateway. prom-client is
 * loaded only when metrics are asked for. A failed run keeps the previous file's last-success time.
 */
import { readFile } from 'node:fs/promises';
import { redactSecrets } from '../../errors.ts';
import { writeFileAtomically } from '../../files.ts';
import type { RetryOptions } from '../../retry.ts';
import { DeliveryError, deliverHttp } from './deliver.ts';
import { hostOf, type AfterRunSettings, type RunRecord } from './run-record.ts';

export const LAST_SUCCESS = 'acx_data_last_success_timestamp_seconds';

type Labels = Record<string, string>;
type Sample = { labels: Labels; value: number };
type Family = { name: string; help: string; labelNames: string[]; samples: Sample[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The label pairs of one sample line: `{command="backup",mode="backup"}`. */
function parseLabels(text: string): Labels {
  const labels: Labels = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
    labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
  return labels;
}

/** The last-success samples of the previous file (none when there is none or it cannot be read). */
export async function previousSuccesses(file: string): Promise<Sample[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^acx_data_last_success_timestamp_seconds(?:\{(.*)\})?\s+(\S+)/.exec(line);
    const value = m ? Number(m[2]) : NaN;
    if (m && Number.isFinite(value)) samples.push({ labels: parseLabels(m[1] ?? ''), value });
  }
  return samples;
}

/** Backup: bytes and records per store (`stores: {postgres: {records, bytes}}`). */
function storeFamilies(base: Labels, result: Record<string, unknown>): Family[] {
  const bytes: Sample[] = [];
  const records: Sample[] = [];
  const stores = isObject(result.stores) ? result.stores : {};
  for (const [store, s] of Object.entries(stores)) {
    if (!isObject(s)) continue;
    if (typeof s.bytes === 'number') bytes.push({ labels: { ...base, store }, value: s.bytes });
    if (typeof s.records === 'number') records.push({ labels: { ...base, store }, value: s.records });
  }
  return [
    {
      name: 'acx_data_bytes_written',
      help: 'Bytes the run wrote, per store (backup).',
      labelNames: ['store'],
      samples: bytes,
    },
    {
      name: 'acx_data_records',
      help: 'Records the run read or wrote, per store (backup).',
      labelNames: ['store'],
      samples: records,
    },
  ];
}

/**
 * `backup --verify ID --restore-test` (`restoreTest`) or `--verify --all --restore-test` (`drill`): the
 * drill's result, its time and duration, labelled with the snapshot drilled.
 */
function drillFamilies(base: Labels, result: Record<string, unknown>): Family[] {
  const drill = isObject(result.drill) ? result.drill : result;
  const test = drill.restoreTest;
  const id = typeof drill.id === 'string' ? drill.id : undefined;
  if (!isObject(test) || typeof test.ok !== 'boolean' || id === undefined) return [];
  const labels = { ...base, snapshot: id };
  const families: Family[] = [
    {
      name: 'acx_data_restore_drill_ok',
      help: '1 when the restore drill restored the snapshot into scratch targets and its content matched, else 0.',
      labelNames: ['snapshot'],
      samples: [{ labels, value: test.ok ? 1 : 0 }],
    },
  ];
  if (typeof test.durationMs === 'number')
    families.push({
      name: 'acx_data_restore_drill_duration_seconds',
      help: 'Wall time of the restore drill: restore, fingerprint and comparison.',
      labelNames: ['snapshot'],
      samples: [{ labels, value: test.durationMs / 1000 }],
    });
  if (typeof test.at === 'string' && !Number.isNaN(Date.parse(test.at)))
    families.push({
      name: 'acx_data_restore_drill_timestamp_seconds',
      help: 'When the restore drill started (Unix time).',
      labelNames: ['snapshot'],
      samples: [{ labels, value: Date.parse(test.at) / 1000 }],
    });
  return families;
}

/** `backup --verify` (one snapshot or --all): ok; `sync --verify`: consistency and issue counts per kind. */
function verifyFamilies(base: Labels, result: Record<string, unknown>): Family[] {
  const families: Family[] = [];
  if (typeof result.ok === 'boolean')
    families.push({
      name: 'acx_data_verify_ok',
      help: '1 when the snapshot (or with --verify --all the repository) passed verification, else 0.',
      labelNames: [],
      samples: [{ labels: base, value: result.ok ? 1 : 0 }],
    });
  families.push(...drillFamilies(base, result));
  const sync = isObject(result.verify) ? result.verify : result;
  if (typeof sync.is_consistent === 'boolean' && isObject(sync.issue_counts)) {
    families.push({
      name: 'acx_data_sync_consistent',
      help: '1 when sync --verify found the three stores consistent, else 0.',
      labelNames: [],
      samples: [{ labels: base, value: sync.is_consistent ? 1 : 0 }],
    });
    families.push({
      name: 'acx_data_sync_verify_issues',
      help: 'Issues sync --verify found, per kind (the report keys).',
      labelNames: ['kind'],
      samples: Object.entries(sync.issue_counts)
        .filter((e): e is [string, number] => typeof e[1] === 'number')
        .map(([kind, value]) => ({ labels: { ...base, kind }, value })),
    });
  }
  return families;
}

/** Every family of this run; `successes` are the previous file's last-success samples. */
export function metricFamilies(record: RunRecord, successes: readonly Sample[]): Family[] {
  const base = { command: record.command, mode: record.mode };
  const sameRun = (l: Labels) => l.command === base.command && l.mode === base.mode;
  const ended = record.endedAt.getTime() / 1000;
  const lastSuccess = successes.filter((s) => !sameRun(s.labels));
  const previous = successes.find((s) => sameRun(s.labels));
  if (record.exitCode === 0) lastSuccess.push({ labels: base, value: ended });
  else if (previous) lastSuccess.push({ labels: base, value: previous.value });
  const run = (name: string, help: string, value: number): Family => ({
    name,
    help,
    labelNames: [],
    samples: [{ labels: base, value }],
  });
  const families: Family[] = [
    run('acx_data_last_run_timestamp_seconds', 'When the last run ended (Unix time).', ended),
    {
      name: LAST_SUCCESS,
      help: 'When the last successful run (exit code 0) ended (Unix time).',
      labelNames: [],
      samples: lastSuccess,
    },
    run(
      'acx_data_run_duration_seconds',
      'Wall time of the last run.',
      ended - record.startedAt.getTime() / 1000,
    ),
    run('acx_data_exit_code', 'Exit code of the last run (README: exit codes).', record.exitCode),
    run(
      'acx_data_run_success',
      '1 when the last run succeeded (exit code 0), else 0.',
      record.exitCode === 0 ? 1 : 0,
    ),
  ];
  if (isObject(record.result))
    families.push(...storeFamilies(base, record.result), ...verifyFamilies(base, record.result));
  return families.filter((f) => f.samples.length > 0);
}

/** The families in Prometheus text format, through prom-client's registry. */
export async function renderMetrics(families: readonly Family[]): Promise<string> {
  const { Registry, Gauge } = await import('prom-client');
  const registry = new Registry();
  for (const family of families) {
    const gauge = new Gauge({
      name: family.name,
      help: family.help,
      labelNames: ['command', 'mode', ...family.labelNames],
      registers: [registry],
    });
    for (const sample of family.samples) gauge.set(sample.labels, sample.value);
  }
  return registry.metrics();
}

/** `<url>/metrics/job/acx_data/command/<command>` (base64 form when the command is not a plain word). */
export function pushUrl(base: string, command: string): string {
  const group = /^[\w.-]+$/.test(command)
    ? `command/${command}`
    : `command@base64/${Buffer.from(command).toString('base64url')}`;
  return `${base.replace(/\/+$/, '')}/metrics/job/acx_data/${group}`;
}

/** Writes the metrics file and pushes to the Pushgateway, as configured; one warning per failure. */
export async function writeMetrics(
  record: RunRecord,
  settings: AfterRunSettings,
  retry?: RetryOptions,
): Promise<string[]> {
  const successes = settings.metricsFile ? await previousSuccesses(settings.metricsFile) : [];
  const text = await renderMetrics(metricFamilies(record, successes));
  const warnings: string[] = [];
  if (settings.metricsFile !== undefined)
    await writeFileAtomically(settings.metricsFile, text, {
      doing: 'write the metrics file',
      createFolder: false,
    }).catch((error: unknown) =>
      warnings.push(redactSecrets(`metrics not written: ${(error as Error).message}`)),
    );
  if (settings.metricsPush !== undefined) {
    const url = pushUrl(settings.metricsPush, record.command);
    await deliverHttp(
      url,
      { method: 'PUT', body: text, contentType: 'text/plain; version=0.0.4' },
      retry,
    ).catch((error: unknown) =>
      warnings.push(
        `metrics not pushed to the Pushgateway ${hostOf(settings.metricsPush!)}: ${error instanceof DeliveryError ? error.message : 'failed'}`,
      ),
    );
  }
  return warnings;
}
