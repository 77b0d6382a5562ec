/**
 * One alert per run (docs/design.md §13.2), built from the run record: tool and version, host,
 * command, outcome, exit code, error code, message and hint, the snapshot id, start, end and
 * duration. Every text goes through `redactSecrets`; no channel URL is part of the record.
 */
import { redactSecrets } from '../../errors.ts';
import { TOOL } from '../tool.ts';
import { snapshotOf, type RunRecord } from './run-record.ts';

/** The generic JSON webhook's body (also what the e-mail and Slack texts are made of). */
export interface AlertDocument {
  tool: string;
  version: string;
  host: string;
  command: string;
  mode: string;
  outcome: 'succeeded' | 'failed';
  exitCode: number;
  error: { code: string; message: string; hint: string | null; subject: string | null } | null;
  snapshot: string | null;
  argv: string[];
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  /** The title line, as in the e-mail's subject. */
  title: string;
  /** The whole alert as plain text, one fact per line. */
  text: string;
}

function titleOf(record: RunRecord, host: string): string {
  const what = record.mode === record.command ? record.command : `${record.command} (${record.mode})`;
  return record.exitCode === 0
    ? `acx-data ${what} succeeded on ${host}`
    : `acx-data ${what} failed on ${host}: ${record.error?.code ?? `exit ${record.exitCode}`}`;
}

function textOf(record: RunRecord, title: string, snapshot: string | undefined, seconds: number): string {
  const { error } = record;
  const lines = [title, `exit code: ${record.exitCode}`];
  if (error) {
    lines.push(`error: ${error.code}${error.subject ? ` [${error.subject}]` : ''}: ${error.message}`);
    if (error.hint) lines.push(`hint: ${error.hint}`);
  }
  if (snapshot !== undefined) lines.push(`snapshot: ${snapshot}`);
  lines.push(
    `command: acx-data ${record.argv.join(' ')}`,
    `started: ${record.startedAt.toISOString()}`,
    `ended: ${record.endedAt.toISOString()} (${seconds.toFixed(1)} s)`,
    `tool: ${TOOL.name} ${TOOL.version}`,
  );
  return lines.join('\n');
}

export function alertDocument(record: RunRecord, host: string): AlertDocument {
  const r = redactSecrets;
  const snapshot = snapshotOf(record);
  const seconds = (record.endedAt.getTime() - record.startedAt.getTime()) / 1000;
  const title = titleOf(record, host);
  const { error } = record;
  return {
    tool: TOOL.name,
    version: TOOL.version,
    host,
    command: record.command,
    mode: record.mode,
    outcome: record.exitCode === 0 ? 'succeeded' : 'failed',
    exitCode: record.exitCode,
    error: error
      ? {
          code: error.code,
          message: r(error.message),
          hint: error.hint === undefined ? null : r(error.hint),
          subject: error.subject === undefined ? null : r(error.subject),
        }
      : null,
    snapshot: snapshot ?? null,
    argv: record.argv.map(r),
    startedAt: record.startedAt.toISOString(),
    endedAt: record.endedAt.toISOString(),
    durationSeconds: seconds,
    title: r(title),
    text: r(textOf(record, title, snapshot, seconds)),
  };
}

/** Slack's incoming-webhook body: `text` (the notification) and one section block. */
export function slackBody(alert: AlertDocument): { text: string; blocks: unknown[] } {
  const icon = alert.outcome === 'failed' ? ':red_circle:' : ':large_green_circle:';
  return {
    text: `${icon} ${alert.title}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${alert.title}*` } },
      { type: 'section', text: { type: 'mrkdwn', text: '```' + alert.text + '```' } },
    ],
  };
}
