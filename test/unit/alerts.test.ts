/**
 * Alerts after a run (docs/design.md §13.1–13.2), through the real CLI: a failed run (a snapshot that
 * is not there, a database that cannot be reached) and, with --alert-on always, a successful one are
 * delivered to a local JSON webhook, a Slack-compatible one and an SMTP sink with authentication.
 * No secret — a DATABASE_URL password, the SMTP password, a Slack webhook's path token — reaches an
 * alert, stdout or stderr; a receiver that answers 503 twice gets one alert; a receiver that is down
 * leaves the exit code as it was and adds one warning line.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../support/cli.ts';
import {
  closedPort,
  startHttpReceiver,
  startSmtpSink,
  type HttpReceiver,
  type SmtpSink,
} from '../support/receivers.ts';
import { tempDirs } from '../support/small-repository.ts';
import { writeHandMadeSnapshot } from '../support/snapshot.ts';
import type { AlertDocument } from '../../src/operations/after-run/alert-message.ts';

const DB_PASSWORD = 'DbPassw0rd-7f3a';
const SMTP_PASSWORD = 'SmtpPassw0rd-91c2';
const SLACK_TOKEN = 'SlackT0ken-5be8d';
const SECRETS = [DB_PASSWORD, SMTP_PASSWORD, SLACK_TOKEN];

const tempDir = tempDirs('acx-alerts-');
const open: Array<HttpReceiver | SmtpSink> = [];
afterEach(async () => {
  for (const receiver of open.splice(0)) await receiver.close();
});

/** The environment of a run: no store reachable, no after-run settings but those given. */
function envOf(work: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env))
    if (/^ACX_(ALERT|METRICS|PUSHGATEWAY|SMTP)/.test(name)) delete env[name];
  return {
    ...env,
    DATABASE_URL: `postgresql://acx:${DB_PASSWORD}@127.0.0.1:1/none`,
    NEO4J_URI: 'bolt://127.0.0.1:1',
    QDRANT_URL: 'http://127.0.0.1:1',
    ACX_STATE_DIR: join(work, 'state'),
    ...extra,
  };
}

async function receivers(statuses: number[] = []) {
  const webhook = await startHttpReceiver(statuses);
  const slack = await startHttpReceiver();
  const smtp = await startSmtpSink('alerts', SMTP_PASSWORD);
  open.push(webhook, slack, smtp);
  return { webhook, slack, smtp, slackUrl: `${slack.url}/services/T0001/B0002/${SLACK_TOKEN}` };
}

function expectNoSecret(texts: string[]): void {
  for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
}

/** A repository holding one snapshot, so that `--verify` of another id fails with NOT_FOUND. */
async function repositoryWithOneSnapshot(): Promise<string> {
  const dir = join(await tempDir(), 'backups');
  await writeHandMadeSnapshot(dir, 'full_20260101_000000', ['{"id":1}']);
  return dir;
}

describe('alerts after a failed run', () => {
  it('sends the error, hint, snapshot and host to the webhook, Slack and e-mail, with no secret anywhere', async () => {
    const work = await tempDir();
    const r = await receivers();
    const backupDir = await repositoryWithOneSnapshot();
    const args = ['backup', '--verify', 'full_20990101_000000', '--backup-dir', backupDir];
    const result = await runCli(
      [
        ...args,
        '--alert-webhook',
        `${r.webhook.url}/hook`,
        '--alert-slack',
        r.slackUrl,
        '--alert-email',
        'ops@example.org, dba@example.org',
      ],
      envOf(work, { ACX_SMTP_URL: r.smtp.url, ACX_ALERT_FROM: 'acx@example.org' }),
    );
    expect(result.code, result.stderr).toBe(5);
    expect(result.stderr).not.toMatch(/warning/);

    expect(r.webhook.requests).toHaveLength(1);
    const request = r.webhook.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/hook');
    expect(request.headers['content-type']).toBe('application/json');
    const alert = JSON.parse(request.body) as AlertDocument;
    expect(alert).toMatchObject({
      tool: 'acx-data',
      host: hostname(),
      command: 'backup',
      mode: 'verify',
      outcome: 'failed',
      exitCode: 5,
      snapshot: 'full_20990101_000000',
      error: { code: 'NOT_FOUND' },
    });
    expect(alert.error!.message).toContain('full_20990101_000000');
    expect(alert.error!.hint).toMatch(/\S/);
    expect(alert.argv).toContain('--alert-slack');
    expect(alert.argv[alert.argv.indexOf('--alert-slack') + 1]).toBe('***');
    expect(alert.durationSeconds).toBeGreaterThan(0);
    expect(alert.text).toContain(`hint: ${alert.error!.hint}`);

    expect(r.slack.requests).toHaveLength(1);
    expect(r.slack.requests[0]!.url).toBe(`/services/T0001/B0002/${SLACK_TOKEN}`);
    const slack = JSON.parse(r.slack.requests[0]!.body) as {
      text: string;
      blocks: Array<{ text: { text: string } }>;
    };
    expect(slack.text).toContain(`acx-data backup (verify) failed on ${hostname()}: NOT_FOUND`);
    expect(slack.blocks.map((b) => b.text.text).join('\n')).toContain('snapshot: full_20990101_000000');

    expect(r.smtp.messages).toHaveLength(1);
    const mail = r.smtp.messages[0]!;
    expect(mail.from).toBe('acx@example.org');
    expect(mail.to).toEqual(['ops@example.org', 'dba@example.org']);
    expect(mail.text).toContain(`Subject: acx-data backup (verify) failed on ${hostname()}: NOT_FOUND`);
    expect(mail.text).toContain('snapshot: full_20990101_000000');
    expect(mail.text).toContain(`hint: ${alert.error!.hint}`);

    expectNoSecret([
      result.stdout,
      result.stderr,
      request.body,
      r.slack.requests[0]!.body,
      mail.raw,
      mail.text,
    ]);
  });

  it('a database that cannot be reached: the DATABASE_URL password is in no alert, no output', async () => {
    const work = await tempDir();
    const r = await receivers();
    const result = await runCli(
      [
        'backup',
        '--postgres',
        '--backup-dir',
        join(work, 'backups'),
        '--alert-webhook',
        r.webhook.url,
        '--alert-slack',
        r.slackUrl,
        '--alert-email',
        'ops@example.org',
      ],
      envOf(work, { ACX_SMTP_URL: r.smtp.url }),
    );
    expect(result.code, result.stderr).toBe(4);
    const alert = JSON.parse(r.webhook.requests[0]!.body) as AlertDocument;
    expect(alert.error).toMatchObject({ code: 'CONNECTION', subject: 'postgres' });
    expect(alert.error!.message).toContain('postgresql://acx:***@127.0.0.1:1/none');
    expect(r.smtp.messages[0]!.from).toBe(`acx-data@${hostname()}`);
    expect(r.smtp.messages[0]!.text).toContain('error: CONNECTION [postgres]');
    expectNoSecret([
      result.stdout,
      result.stderr,
      r.webhook.requests[0]!.body,
      r.slack.requests[0]!.body,
      r.smtp.messages[0]!.raw,
    ]);
  });

  it('a receiver answering 503 twice, then 200, gets the alert once delivered (three attempts, one warning-free run)', async () => {
    const work = await tempDir();
    const r = await receivers([503, 503]);
    const backupDir = await repositoryWithOneSnapshot();
    const result = await runCli(
      [
        'backup',
        '--verify',
        'full_20990101_000000',
        '--backup-dir',
        backupDir,
        '--alert-webhook',
        r.webhook.url,
      ],
      envOf(work),
    );
    expect(result.code).toBe(5);
    expect(r.webhook.requests).toHaveLength(3);
    expect(new Set(r.webhook.requests.map((q) => q.body)).size).toBe(1);
    expect(result.stderr).not.toMatch(/warning/);
  });

  it('a receiver that is down: the exit code stays, one warning names it by host only', async () => {
    const work = await tempDir();
    const backupDir = await repositoryWithOneSnapshot();
    const args = ['backup', '--verify', 'full_20990101_000000', '--backup-dir', backupDir];
    const plain: CliResult = await runCli(args, envOf(work));
    const port = await closedPort();
    const down = await runCli(
      [...args, '--alert-slack', `http://127.0.0.1:${port}/services/T1/B2/${SLACK_TOKEN}`],
      envOf(work),
    );
    expect(down.code).toBe(plain.code);
    expect(down.stdout).toBe(plain.stdout);
    const warnings = down.stderr.split('\n').filter((line) => line.startsWith('acx-data: warning:'));
    expect(warnings).toEqual([
      `acx-data: warning: alert to Slack webhook 127.0.0.1:${port} not delivered: ECONNREFUSED (5 attempts)`,
    ]);
    expectNoSecret([down.stderr, down.stdout]);
  });
});

describe('alerts after a successful run', () => {
  it('are sent only with --alert-on always (or ACX_ALERT_ON=always)', async () => {
    const work = await tempDir();
    const r = await receivers();
    const args = ['backup', '--list', '--backup-dir', join(work, 'empty'), '--alert-webhook', r.webhook.url];
    const quiet = await runCli(args, envOf(work));
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(r.webhook.requests).toHaveLength(0);

    const always = await runCli([...args, '--alert-on', 'always'], envOf(work));
    expect(always.code, always.stderr).toBe(0);
    const fromEnv = await runCli(args, envOf(work, { ACX_ALERT_ON: 'always' }));
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(r.webhook.requests).toHaveLength(2);
    for (const request of r.webhook.requests)
      expect(JSON.parse(request.body)).toMatchObject({
        command: 'backup',
        mode: 'list',
        outcome: 'succeeded',
        exitCode: 0,
        error: null,
        host: hostname(),
      });
  });

  it('the environment names the channels for schedules; a flag wins over its variable', async () => {
    const work = await tempDir();
    const fromEnv = await startHttpReceiver();
    const fromFlag = await startHttpReceiver();
    open.push(fromEnv, fromFlag);
    const args = ['backup', '--list', '--backup-dir', join(work, 'empty'), '--alert-on', 'always'];
    await runCli(args, envOf(work, { ACX_ALERT_WEBHOOK: fromEnv.url }));
    await runCli([...args, '--alert-webhook', fromFlag.url], envOf(work, { ACX_ALERT_WEBHOOK: fromEnv.url }));
    expect(fromEnv.requests).toHaveLength(1);
    expect(fromFlag.requests).toHaveLength(1);
  });
});
