/**
 * Sending a run's alert (docs/design.md §13.2) to every configured channel: a generic JSON webhook,
 * a Slack-compatible webhook and e-mail through SMTP (nodemailer, loaded only when e-mail is asked
 * for). Each failed channel gives one warning naming it by host; the others are still tried.
 */
import { redactSecrets } from '../../errors.ts';
import { alertDocument, slackBody, type AlertDocument } from './alert-message.ts';
import { DeliveryError, deliverHttp, networkReason, withRetries } from './deliver.ts';
import { hostOf, type AfterRunSettings, type RunRecord } from './run-record.ts';
import type { RetryOptions } from '../../retry.ts';

/** Whether this run is alerted: a failure always, a success with `--alert-on always`. */
export function isAlerted(record: RunRecord, settings: AfterRunSettings): boolean {
  return settings.alertOn === 'always' || record.exitCode !== 0;
}

const SMTP_TRANSIENT = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET']);

/** One e-mail attempt; an SMTP 4xx answer or a lost connection is worth another. */
async function sendMail(smtpUrl: string, from: string, to: string[], alert: AlertDocument): Promise<void> {
  const nodemailer = await import('nodemailer');
  const transport = nodemailer.createTransport(smtpUrl, {
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  } as never);
  try {
    await transport.sendMail({ from, to, subject: alert.title, text: alert.text });
  } catch (error) {
    const { code, responseCode } = error as { code?: string; responseCode?: number };
    const reason = responseCode !== undefined ? `SMTP ${responseCode}` : (code ?? networkReason(error));
    const transient =
      (responseCode !== undefined && responseCode >= 400 && responseCode < 500) ||
      (responseCode === undefined && code !== undefined && SMTP_TRANSIENT.has(code));
    throw new DeliveryError(reason, transient);
  } finally {
    transport.close();
  }
}

interface Channel {
  /** How the warning names it: `webhook 127.0.0.1:8080`. */
  name: string;
  send: () => Promise<unknown>;
}

function channelsOf(alert: AlertDocument, settings: AfterRunSettings, host: string, retry?: RetryOptions) {
  const channels: Channel[] = [];
  const json = (url: string, body: unknown) => () =>
    deliverHttp(url, { method: 'POST', body: JSON.stringify(body), contentType: 'application/json' }, retry);
  if (settings.alertWebhook !== undefined)
    channels.push({
      name: `webhook ${hostOf(settings.alertWebhook)}`,
      send: json(settings.alertWebhook, alert),
    });
  if (settings.alertSlack !== undefined)
    channels.push({
      name: `Slack webhook ${hostOf(settings.alertSlack)}`,
      send: json(settings.alertSlack, slackBody(alert)),
    });
  const to = settings.alertEmail ?? [];
  if (to.length > 0) {
    const { smtpUrl } = settings;
    channels.push({
      name: smtpUrl === undefined ? 'e-mail' : `e-mail via ${hostOf(smtpUrl)}`,
      send: async () => {
        if (smtpUrl === undefined)
          throw new DeliveryError('ACX_SMTP_URL is not set (smtp://user:password@host:port)', false);
        const from = settings.alertFrom ?? `acx-data@${host}`;
        return withRetries(() => sendMail(smtpUrl, from, to, alert), retry);
      },
    });
  }
  return channels;
}

/** Sends the run's alert to every channel, all at once; resolves with one warning per failed channel. */
export async function sendAlerts(
  record: RunRecord,
  settings: AfterRunSettings,
  host: string,
  retry?: RetryOptions,
): Promise<string[]> {
  const alert = alertDocument(record, host);
  const channels = channelsOf(alert, settings, host, retry);
  const outcomes = await Promise.allSettled(channels.map((c) => c.send()));
  return outcomes.flatMap((outcome, i) =>
    outcome.status === 'fulfilled'
      ? []
      : [
          redactSecrets(
            `alert to ${channels[i]!.name} not delivered: ${outcome.reason instanceof DeliveryError ? outcome.reason.message : networkReason(outcome.reason)}`,
          ),
        ],
  );
}
