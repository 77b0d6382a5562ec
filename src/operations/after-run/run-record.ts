/**
 * The run record (docs/design.md §13.1): what the CLI knows of one invocation once it has ended, and
 * the settings of what happens after it (metrics file, Pushgateway, alerts). The CLI builds both; the
 * after-run step reads them and never changes the run's exit code.
 */

/** The error that ended a run, as the catalog names it (INTERNAL for anything else). */
export interface RunError {
  code: string;
  message: string;
  hint?: string;
  subject?: string;
}

export interface RunRecord {
  /** The command path: `backup`, `sync`, `key list`, `status`. */
  command: string;
  /** What the command did: `backup`'s mode (`backup`, `verify`, `list`…), `sync` or `verify`, else the command. */
  mode: string;
  /** The command line after the program name, secrets and channel URLs redacted. */
  argv: string[];
  startedAt: Date;
  endedAt: Date;
  exitCode: number;
  error?: RunError;
  /** The result document the command printed (what `--format json` prints), when it printed one. */
  result?: unknown;
  /** The snapshot the flags name (`--verify ID`, `--restore ID`…); a result's own `id` wins over it. */
  snapshot?: string;
}

export const ALERT_ON = ['failure', 'always'] as const;
export type AlertOn = (typeof ALERT_ON)[number];

/** Flags, else the environment (design §13.1's table); the flag wins. */
export interface AfterRunSettings {
  metricsFile?: string;
  metricsPush?: string;
  alertWebhook?: string;
  alertSlack?: string;
  alertEmail?: string[];
  alertOn: AlertOn;
  /** `ACX_SMTP_URL`: `smtp://user:password@host:port` (or `smtps://`). */
  smtpUrl?: string;
  /** `ACX_ALERT_FROM` (default `acx-data@<host>`). */
  alertFrom?: string;
}

/** Whether anything is to happen after the run (nothing configured: the after-run code is not loaded). */
export function hasAfterRunWork(settings: AfterRunSettings): boolean {
  return (
    settings.metricsFile !== undefined ||
    settings.metricsPush !== undefined ||
    settings.alertWebhook !== undefined ||
    settings.alertSlack !== undefined ||
    (settings.alertEmail?.length ?? 0) > 0
  );
}

const SNAPSHOT_ID = /^(full|incremental)_\d{8}_\d{6}$/;

/** The snapshot the run made or read: the result's `id`, else the one its flags named, else the error's subject. */
export function snapshotOf(record: RunRecord): string | undefined {
  const result = record.result as { id?: unknown } | undefined;
  if (result && typeof result === 'object' && typeof result.id === 'string') return result.id;
  if (record.snapshot !== undefined) return record.snapshot;
  const subject = record.error?.subject;
  return subject !== undefined && SNAPSHOT_ID.test(subject) ? subject : undefined;
}

/** `host:port` of a channel URL: how warnings name a channel (a webhook's path may hold its secret). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host || '(no host)';
  } catch {
    return '(not a URL)';
  }
}
