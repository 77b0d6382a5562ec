/**
 * The global flags of what happens after every run (docs/design.md §13.1): metrics and alerts, each
 * with its environment variable for schedules (the flag wins). Declaring them loads nothing: the
 * after-run code, nodemailer and prom-client are imported only once a run has something to deliver.
 */
import { Option, type Command } from 'commander';
import { ALERT_ON, type AfterRunSettings } from '../operations/after-run/run-record.ts';

export function addAfterRunOptions(program: Command): Command {
  return program
    .addOption(
      new Option('--metrics-file <file>', 'after the run, rewrite this Prometheus textfile').env(
        'ACX_METRICS_FILE',
      ),
    )
    .addOption(
      new Option('--metrics-push <url>', 'after the run, also PUT the metrics to this Pushgateway').env(
        'ACX_PUSHGATEWAY_URL',
      ),
    )
    .addOption(
      new Option('--alert-webhook <url>', 'after the run, POST a JSON alert to this URL').env(
        'ACX_ALERT_WEBHOOK',
      ),
    )
    .addOption(
      new Option('--alert-slack <url>', 'after the run, POST a Slack-compatible alert to this webhook').env(
        'ACX_ALERT_SLACK',
      ),
    )
    .addOption(
      new Option(
        '--alert-email <addresses>',
        'after the run, e-mail an alert to these addresses (comma-separated; via ACX_SMTP_URL from ACX_ALERT_FROM)',
      ).env('ACX_ALERT_EMAIL'),
    )
    .addOption(
      new Option('--alert-on <when>', 'alert on failure (exit code ≠ 0, the default) or always')
        .choices(ALERT_ON)
        .env('ACX_ALERT_ON'),
    );
}

interface AfterRunFlags {
  metricsFile?: string;
  metricsPush?: string;
  alertWebhook?: string;
  alertSlack?: string;
  alertEmail?: string;
  alertOn?: (typeof ALERT_ON)[number];
}

const given = (value: string | undefined) =>
  value === undefined || value.trim() === '' ? undefined : value.trim();

/** The settings of the after-run step: the program's flags (with their env fallbacks), and the SMTP environment. */
export function afterRunSettingsOf(program: Command, env: NodeJS.ProcessEnv = process.env): AfterRunSettings {
  const flags = program.opts<AfterRunFlags>();
  const emails = given(flags.alertEmail)
    ?.split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  return {
    metricsFile: given(flags.metricsFile),
    metricsPush: given(flags.metricsPush),
    alertWebhook: given(flags.alertWebhook),
    alertSlack: given(flags.alertSlack),
    alertEmail: emails,
    alertOn: flags.alertOn ?? 'failure',
    smtpUrl: given(env.ACX_SMTP_URL),
    alertFrom: given(env.ACX_ALERT_FROM),
  };
}

/** Flags whose value is a channel URL (a webhook's path may hold its secret): never shown in a record. */
const CHANNEL_FLAGS = ['--alert-webhook', '--alert-slack', '--metrics-push'];

/** The command line for the run record: channel URLs replaced by `***`. */
export function redactChannelFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const flag = CHANNEL_FLAGS.find((f) => arg === f || arg.startsWith(`${f}=`));
    if (flag === undefined) out.push(arg);
    else if (arg === flag) {
      out.push(arg);
      if (i + 1 < argv.length) {
        out.push('***');
        i++;
      }
    } else out.push(`${flag}=***`);
  }
  return out;
}
