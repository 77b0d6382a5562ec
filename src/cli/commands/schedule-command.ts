/**
 * `acx-data schedule`: writes the guide's complete schedule for an install as a crontab and/or systemd
 * units (docs/design.md §13.8), or checks with the real CLI parser every acx-data command line that
 * schedule files run (`--check FILE…`). Declares and checks the flags; the work is
 * src/cli/handlers/schedule-handler.ts, loaded only when it runs.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { AcxError } from '../../errors.ts';
import {
  DEFAULT_INSTALL,
  type ScheduleInstall,
  type ScheduleUpload,
  type UploadProvider,
} from '../../schedule/schedule-jobs.ts';
import { globalOptions, type GlobalOptions } from '../output/global-options.ts';
import { isCheckOnly } from '../check-only.ts';

interface ScheduleFlags {
  crontab: boolean;
  systemd: boolean;
  check?: string[];
  out?: string;
  force: boolean;
  bin: string;
  user: string;
  group?: string;
  workDir: string;
  backupDir: string;
  envFile: string;
  logDir: string;
  reportDir: string;
  stateDir: string;
  metricsDir: string | false;
  uploadS3?: string;
  uploadGcs?: string;
  uploadAzure?: string;
  s3Prefix?: string;
  lockWait: string;
  mailto?: string;
}

/** One run of `acx-data schedule`, its flags checked. */
export type ScheduleRun =
  | {
      mode: 'write';
      global: GlobalOptions;
      install: ScheduleInstall;
      out: string;
      crontab: boolean;
      systemd: boolean;
      force: boolean;
    }
  | { mode: 'check'; global: GlobalOptions; files: string[] };

const EXAMPLES = `
Writes, into --out: crontab (for crontab -u USER FILE), systemd/acx-data-<job>.service and .timer,
and acx-data.env.example (the variables the jobs read; never a value). The jobs are the guide's:
  daily full backup at 02:00 (with --upload-*), hourly incremental at 00, 01, 03–23,
  weekly cleanup on Sunday at 03:00, daily sync --verify --report at 04:00, weekly sync --all --force
  on Saturday at 05:00; each with --lock-wait and, with --metrics-dir, --metrics-file.

Examples:
  acx-data schedule --systemd --out ./schedule --upload-s3 my-backup-bucket
  acx-data schedule --crontab --out ./schedule --user backup --bin /opt/node/bin/acx-data --no-metrics-dir
  acx-data schedule --check /etc/systemd/system/acx-data-*.service
  crontab -l -u acx-data > current && acx-data schedule --check current`;

function uploadsOf(flags: ScheduleFlags): ScheduleUpload[] {
  const asked: Array<[UploadProvider, string | undefined]> = [
    ['s3', flags.uploadS3],
    ['gcs', flags.uploadGcs],
    ['azure', flags.uploadAzure],
  ];
  return asked
    .filter((a): a is [UploadProvider, string] => a[1] !== undefined)
    .map(([provider, bucket]) => ({ provider, bucket }));
}

export function checkScheduleFlags(flags: ScheduleFlags, global: GlobalOptions): ScheduleRun {
  if (flags.check !== undefined) {
    if (flags.crontab || flags.systemd || flags.out !== undefined)
      throw new AcxError('USAGE', '--check reads schedule files: it takes no --crontab, --systemd or --out', {
        hint: 'acx-data schedule --check deploy/crontab deploy/systemd/*.service',
      });
    return { mode: 'check', global, files: flags.check };
  }
  if (!flags.crontab && !flags.systemd)
    throw new AcxError('USAGE', 'choose what to write: --crontab, --systemd (or both), or --check FILE…', {
      hint: 'acx-data schedule --systemd --out ./schedule',
    });
  if (flags.out === undefined)
    throw new AcxError('USAGE', '--out DIR is needed: the folder the schedule files are written into', {
      hint: 'acx-data schedule --systemd --out ./schedule',
    });
  const uploads = uploadsOf(flags);
  if (flags.s3Prefix !== undefined && uploads.length === 0)
    throw new AcxError('USAGE', '--s3-prefix applies to --upload-s3, --upload-gcs or --upload-azure');
  const install: ScheduleInstall = {
    bin: flags.bin,
    user: flags.user,
    group: flags.group,
    workDir: flags.workDir,
    backupDir: flags.backupDir,
    envFile: flags.envFile,
    logDir: flags.logDir,
    reportDir: flags.reportDir,
    stateDir: flags.stateDir,
    metricsDir: flags.metricsDir === false ? undefined : flags.metricsDir,
    uploads,
    uploadPrefix: flags.s3Prefix,
    lockWait: flags.lockWait,
    mailto: flags.mailto,
  };
  return {
    mode: 'write',
    global,
    install,
    out: resolve(flags.out),
    crontab: flags.crontab,
    systemd: flags.systemd,
    force: flags.force,
  };
}

export function registerScheduleCommand(program: Command): void {
  const d = DEFAULT_INSTALL;
  program
    .command('schedule')
    .description('write the backup schedule as a crontab or systemd timers, or check schedule files')
    .option('--crontab', 'write a crontab', false)
    .option('--systemd', 'write systemd service and timer units', false)
    .option(
      '--check <file...>',
      'check every acx-data command in these crontabs or unit files with the real CLI',
    )
    .option('--out <dir>', 'the folder to write into (created when missing)')
    .option('--force', 'replace files that differ from the ones generated', false)
    .option('--bin <path>', 'the acx-data executable', d.bin)
    .option('--user <name>', 'the system user the jobs run as', d.user)
    .option('--group <name>', 'its group (default: the user name)')
    .option('--work-dir <dir>', 'the jobs’ working directory (./.env and ./data are read there)', d.workDir)
    .option('--backup-dir <dir>', 'the repository: a folder or s3://, gs://, azure:// URL', d.backupDir)
    .option('--env-file <file>', 'the environment file with the credentials', d.envFile)
    .option('--log-dir <dir>', 'the crontab jobs’ log files', d.logDir)
    .option('--report-dir <dir>', 'where sync --verify writes verify-YYYYMMDD.json', d.reportDir)
    .option('--state-dir <dir>', 'ACX_STATE_DIR of the jobs', d.stateDir)
    .option('--metrics-dir <dir>', 'node_exporter textfile folder for acx_data_<job>.prom', d.metricsDir)
    .option('--no-metrics-dir', 'write no metrics files')
    .option('--upload-s3 <bucket>', 'copy each daily full backup to this S3 bucket')
    .option('--upload-gcs <bucket>', 'copy each daily full backup to this Google Cloud Storage bucket')
    .option('--upload-azure <container>', 'copy each daily full backup to this Azure Blob container')
    .option('--s3-prefix <prefix>', 'key prefix in the bucket (acx-data’s default: backups)')
    .option('--lock-wait <duration>', 'how long a job waits for another run’s lock', d.lockWait)
    .addOption(new Option('--mailto <address>', 'the crontab’s MAILTO'))
    .addHelpText('after', EXAMPLES)
    .action(async (flags: ScheduleFlags, command: Command) => {
      const run = checkScheduleFlags(flags, globalOptions(command));
      if (isCheckOnly(command)) return;
      const { handleSchedule } = await import('../handlers/schedule-handler.ts');
      await handleSchedule(run);
    });
}
