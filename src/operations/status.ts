/**
 * `acx-data status` (docs/design.md §13.4): the state of the backups for a monitor, read from the
 * repository (and the newest sync report), never from a database. Returns the checks and their worst
 * state; the CLI prints the one line and maps the state to the Nagios/Icinga exit code (0 OK,
 * 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
 */
import { formatBytes } from '../bytes.ts';
import { redactSecrets } from '../errors.ts';
import type { Repository, SnapshotListing } from '../repository/repository.ts';
import { readSyncReport } from './sync/sync-report-file.ts';

/** Monitor states, mildest first; the run's state is its worst check's. */
export const STATUS_STATES = ['OK', 'WARNING', 'UNKNOWN', 'CRITICAL'] as const;
export type StatusState = (typeof STATUS_STATES)[number];

export interface StatusCheck {
  check: 'repository' | 'backup-age' | 'verification' | 'size' | 'sync-report';
  state: StatusState;
  message: string;
}

export interface StatusSummary {
  state: StatusState;
  /** `ACX-DATA CRITICAL - latest backup full_… is 30h old (max 26h)` */
  line: string;
  /** Nagios performance data: `age=108000s;;93600;0 snapshots=3;;;0 …` */
  perfdata: string;
  repository: string;
  checks: StatusCheck[];
  latest?: {
    id: string;
    completedAt: string;
    ageSeconds: number;
    verified: boolean | null;
    restoreTest: boolean | null;
  };
  snapshots?: number;
  sizeBytes?: number;
  syncReport?: { file: string; timestamp: string; consistent: boolean; ageSeconds: number };
}

export interface StatusOptions {
  /**
   * Opens the repository (local or cloud): undefined when the location holds nothing yet (no backup:
   * CRITICAL); a failure makes the state UNKNOWN.
   */
  openRepository: () => Promise<Repository | undefined>;
  /** The printable, secret-free location, for messages. */
  location: string;
  maxAgeMs: number;
  maxSizeBytes?: number;
  /** `--sync-report FILE|DIR`: the report, or the folder whose newest `*.json` is it. */
  syncReport?: string;
  now?: Date;
}

/** `40s`, `45m`, `2.5h`, `30h`, `3.2d`: an age short enough for one line. */
export function formatAge(ms: number): string {
  if (ms < 90_000) return `${Math.max(0, Math.round(ms / 1000))}s`;
  const minutes = ms / 60_000;
  if (minutes < 60) return `${Math.max(0, Math.round(minutes))}m`;
  const hours = minutes / 60;
  if (hours < 72) return `${hours < 10 ? Number(hours.toFixed(1)) : Math.round(hours)}h`;
  return `${Number((hours / 24).toFixed(1))}d`;
}

const worse = (a: StatusState, b: StatusState) =>
  STATUS_STATES.indexOf(a) >= STATUS_STATES.indexOf(b) ? a : b;
const message = (error: unknown) => redactSecrets(error instanceof Error ? error.message : String(error));

/** When a snapshot was complete: its manifest's `completedAt`, else the time in its id. */
function completedAt(listing: SnapshotListing): Date {
  const at = new Date(listing.manifest.completedAt);
  return Number.isNaN(at.getTime()) ? new Date(listing.manifest.startedAt) : at;
}

function backupChecks(latest: SnapshotListing | undefined, options: StatusOptions, now: Date): StatusCheck[] {
  const max = formatAge(options.maxAgeMs);
  if (!latest)
    return [{ check: 'backup-age', state: 'CRITICAL', message: `no complete backup in ${options.location}` }];
  const age = now.getTime() - completedAt(latest).getTime();
  const checks: StatusCheck[] = [
    {
      check: 'backup-age',
      state: age > options.maxAgeMs ? 'CRITICAL' : 'OK',
      message: `latest backup ${latest.id} is ${formatAge(age)} old (max ${max})`,
    },
  ];
  const { verification } = latest;
  if (verification && !verification.ok)
    checks.push({
      check: 'verification',
      state: 'CRITICAL',
      message: `${latest.id} failed verification at ${verification.at} (${verification.problems.length} problems)`,
    });
  const drill = verification?.restoreTest;
  if (drill && !drill.ok)
    checks.push({
      check: 'verification',
      state: 'CRITICAL',
      message: `the restore drill of ${latest.id} failed at ${drill.at}${drill.error ? `: ${drill.error}` : ` (${drill.mismatches.length} datasets differ)`}`,
    });
  return checks;
}

/** Stored bytes of every object of the repository (format 2's shared packs counted once). */
async function repositorySize(repository: Repository): Promise<number> {
  let bytes = 0;
  for await (const object of repository.storage.list('')) bytes += object.size;
  return bytes;
}

function sizeCheck(bytes: number, max: number | undefined): StatusCheck[] {
  if (max === undefined) return [];
  return [
    {
      check: 'size',
      state: bytes > max ? 'WARNING' : 'OK',
      message: `repository holds ${formatBytes(bytes)} (max ${formatBytes(max)})`,
    },
  ];
}

async function syncCheck(
  path: string,
  options: StatusOptions,
  now: Date,
): Promise<{ checks: StatusCheck[]; report?: StatusSummary['syncReport'] }> {
  let file = path;
  try {
    const read = await readSyncReport(path);
    file = read.path;
    if ('none' in read) throw new Error(`no *.json sync report in ${path}`);
    if ('problem' in read) throw new Error(read.problem);
    const report = { timestamp: read.report.timestamp, is_consistent: read.report.isConsistent };
    if (!report.timestamp) throw new Error(`${file} is not a sync --verify report (no timestamp)`);
    const at = new Date(report.timestamp);
    const age = now.getTime() - at.getTime();
    const checks: StatusCheck[] = [];
    const issues = read.report.issues.reduce((sum, issue) => sum + issue.count, 0);
    checks.push({
      check: 'sync-report',
      state: report.is_consistent ? 'OK' : 'WARNING',
      message: report.is_consistent
        ? `sync report ${report.timestamp}: consistent`
        : `sync report ${report.timestamp}: inconsistent (${issues} issues)`,
    });
    if (!(age <= options.maxAgeMs))
      checks.push({
        check: 'sync-report',
        state: 'WARNING',
        message: `sync report ${file} is ${formatAge(age)} old (max ${formatAge(options.maxAgeMs)})`,
      });
    return {
      checks,
      report: {
        file,
        timestamp: report.timestamp,
        consistent: report.is_consistent,
        ageSeconds: Math.round(age / 1000),
      },
    };
  } catch (error) {
    return {
      checks: [
        {
          check: 'sync-report',
          state: 'UNKNOWN',
          message: `cannot read the sync report ${file}: ${message(error)}`,
        },
      ],
    };
  }
}

function perfdataOf(
  summary: Omit<StatusSummary, 'line' | 'perfdata' | 'state'>,
  options: StatusOptions,
): string {
  const parts: string[] = [];
  if (summary.latest)
    parts.push(`age=${summary.latest.ageSeconds}s;;${Math.round(options.maxAgeMs / 1000)};0`);
  if (summary.snapshots !== undefined) parts.push(`snapshots=${summary.snapshots};;;0`);
  if (summary.sizeBytes !== undefined)
    parts.push(`size=${summary.sizeBytes}B;${options.maxSizeBytes ?? ''};;0`);
  if (summary.syncReport)
    parts.push(`sync_age=${summary.syncReport.ageSeconds}s;${Math.round(options.maxAgeMs / 1000)};;0`);
  return parts.join(' ');
}

function summarise(
  body: Omit<StatusSummary, 'line' | 'perfdata' | 'state'>,
  options: StatusOptions,
): StatusSummary {
  const state = body.checks.reduce<StatusState>((s, c) => worse(s, c.state), 'OK');
  const shown =
    state === 'OK'
      ? body.checks
      : [...body.checks]
          .filter((c) => c.state !== 'OK')
          .sort((a, b) => STATUS_STATES.indexOf(b.state) - STATUS_STATES.indexOf(a.state));
  return {
    state,
    line: `ACX-DATA ${state} - ${shown.map((c) => c.message).join('; ')}`,
    perfdata: perfdataOf(body, options),
    ...body,
  };
}

export async function checkStatus(options: StatusOptions): Promise<StatusSummary> {
  const now = options.now ?? new Date();
  const body: Omit<StatusSummary, 'line' | 'perfdata' | 'state'> = {
    repository: options.location,
    checks: [],
  };
  let repository: Repository | undefined;
  try {
    repository = await options.openRepository();
    const { snapshots } = repository ? await repository.list() : { snapshots: [] };
    const latest = snapshots[0];
    body.snapshots = snapshots.length;
    body.checks.push(...backupChecks(latest, options, now));
    if (latest)
      body.latest = {
        id: latest.id,
        completedAt: completedAt(latest).toISOString(),
        ageSeconds: Math.round((now.getTime() - completedAt(latest).getTime()) / 1000),
        verified: latest.verification ? latest.verification.ok : null,
        restoreTest: latest.verification?.restoreTest ? latest.verification.restoreTest.ok : null,
      };
    if (options.maxSizeBytes !== undefined) {
      body.sizeBytes = repository ? await repositorySize(repository) : 0;
      body.checks.push(...sizeCheck(body.sizeBytes, options.maxSizeBytes));
    }
  } catch (error) {
    body.checks = [
      {
        check: 'repository',
        state: 'UNKNOWN',
        message: `cannot read the repository ${options.location}: ${message(error)}`,
      },
    ];
  } finally {
    await repository?.close().catch(() => undefined);
  }
  if (options.syncReport !== undefined) {
    const sync = await syncCheck(options.syncReport, options, now);
    body.checks.push(...sync.checks);
    if (sync.report) body.syncReport = sync.report;
  }
  return summarise(body, options);
}
