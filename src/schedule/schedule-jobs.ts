/**
 * The guide's complete schedule ("Scheduled Backups (Cron)", ../shared/seed/BACKUP.md) as acx-data jobs,
 * for one install (docs/design.md §13.8). Pure: the crontab and the systemd units are both written from
 * this one table (schedule-crontab.ts, schedule-systemd.ts), so their commands and times cannot differ.
 */
import { posix } from 'node:path';
import ms from 'ms';
import { AcxError } from '../errors.ts';

export const UPLOAD_PROVIDERS = ['s3', 'gcs', 'azure'] as const;
export type UploadProvider = (typeof UPLOAD_PROVIDERS)[number];

/** A cloud copy of each daily full backup (`backup --upload-s3|gcs|azure BUCKET`). */
export interface ScheduleUpload {
  provider: UploadProvider;
  bucket: string;
}

/** Where and as whom acx-data runs. Paths are absolute; `backupDir` may be a storage URL. */
export interface ScheduleInstall {
  /** The `acx-data` executable. Its folder is put first on PATH (the bin runs `/usr/bin/env node`). */
  bin: string;
  user: string;
  /** Default: `user`. */
  group?: string;
  /** The jobs' working directory: acx-data reads `./.env` and the application's `./data` there. */
  workDir: string;
  /** `--backup-dir`: a folder or `s3://…`, `gs://…`, `azure://…`. */
  backupDir: string;
  /** The environment file holding every credential (never read here: no value reaches a generated file). */
  envFile: string;
  /** The crontab's job logs (systemd units log to the journal). */
  logDir: string;
  /** Where the daily `sync --verify` writes `verify-YYYYMMDD.json`. */
  reportDir: string;
  /** `ACX_STATE_DIR`: run journals, the sync lock, the repository index cache. */
  stateDir: string;
  /** node_exporter's textfile folder: each job writes `acx_data_<job>.prom` there. */
  metricsDir?: string;
  uploads: ScheduleUpload[];
  /** `--s3-prefix` of the uploads (acx-data's default: `backups`). */
  uploadPrefix?: string;
  /** `--lock-wait`: how long a job waits for another run's lock (design §13.6). */
  lockWait: string;
  /** The crontab's MAILTO (cron mails what a job prints outside its log). */
  mailto?: string;
}

export const JOB_NAMES = [
  'backup-full',
  'backup-incremental',
  'cleanup',
  'sync-verify',
  'sync-all',
  'report',
  'restore-drill',
] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** One scheduled job: when it runs, in both notations, and the acx-data command it runs. */
export interface ScheduleJob {
  name: JobName;
  description: string;
  /** The five cron fields (local time). */
  cron: string;
  /** systemd's OnCalendar= for the same times (local time). */
  onCalendar: string;
  /** The arguments after the binary. A `$(…)` in one is for the shell (see `dated`). */
  args: string[];
  /** The argument index holding `$(date +%Y%m%d)`: the job needs a shell to run. */
  dated?: number;
  /** The crontab's log file name in `logDir` (the guide's names). */
  log: string;
}

/** The retention rule of the weekly cleanup: the guide's `--keep 30` and its best practice (7/4/12). */
export const CLEANUP_RETENTION = [
  '--keep',
  '30',
  '--keep-daily',
  '7',
  '--keep-weekly',
  '4',
  '--keep-monthly',
  '12',
];

/** Defaults of `acx-data schedule` (README, docs/operations.md "Schedules"). */
export const DEFAULT_INSTALL: ScheduleInstall = {
  bin: '/usr/local/bin/acx-data',
  user: 'acx-data',
  workDir: '/var/lib/acx-data',
  backupDir: '/var/lib/acx-data/backups',
  envFile: '/etc/acx-data/acx-data.env',
  logDir: '/var/log/acx-data',
  reportDir: '/var/lib/acx-data/reports',
  stateDir: '/var/lib/acx-data/state',
  metricsDir: '/var/lib/prometheus/node-exporter',
  uploads: [],
  lockWait: '2h',
};

/** What `deploy/` holds: the defaults with the guide's S3 upload of the daily full backup. */
export const DEPLOY_INSTALL: ScheduleInstall = {
  ...DEFAULT_INSTALL,
  uploads: [{ provider: 's3', bucket: 'autocognitix-backups' }],
};

const FLAG_OF: Record<UploadProvider, string> = {
  s3: '--upload-s3',
  gcs: '--upload-gcs',
  azure: '--upload-azure',
};

/** `--metrics-file DIR/acx_data_<job>.prom`, when a metrics folder is given. */
function metricsArgs(install: ScheduleInstall, job: JobName): string[] {
  if (install.metricsDir === undefined) return [];
  return ['--metrics-file', posix.join(install.metricsDir, `acx_data_${job.replace(/-/g, '_')}.prom`)];
}

function uploadArgs(install: ScheduleInstall): string[] {
  const args = install.uploads.flatMap((u) => [FLAG_OF[u.provider], u.bucket]);
  if (args.length > 0 && install.uploadPrefix !== undefined) args.push('--s3-prefix', install.uploadPrefix);
  return args;
}

/**
 * The five jobs of the guide's "Complete Cron Example", in its order, then two of its best practices:
 * the HTML report refreshed daily after the consistency check ("Review consistency reports regularly")
 * and a monthly restore drill ("Test restore procedures monthly").
 */
export function scheduleJobs(install: ScheduleInstall): ScheduleJob[] {
  checkInstall(install);
  const repo = ['--backup-dir', install.backupDir];
  const wait = ['--lock-wait', install.lockWait];
  const report = posix.join(install.reportDir, 'verify-$(date +%Y%m%d).json');
  return [
    {
      name: 'backup-full',
      description: `daily full backup${install.uploads.length > 0 ? ' with cloud upload' : ''}`,
      cron: '0 2 * * *',
      onCalendar: '*-*-* 02:00:00',
      args: [
        'backup',
        '--all',
        ...repo,
        ...uploadArgs(install),
        ...wait,
        ...metricsArgs(install, 'backup-full'),
      ],
      log: 'backup.log',
    },
    {
      name: 'backup-incremental',
      description: 'hourly incremental backup (not at 02:00, the full backup’s hour)',
      cron: '0 0,1,3-23 * * *',
      onCalendar: '*-*-* 00,01,03..23:00:00',
      args: [
        'backup',
        '--all',
        '--incremental',
        ...repo,
        ...wait,
        ...metricsArgs(install, 'backup-incremental'),
      ],
      log: 'backup-incr.log',
    },
    {
      name: 'cleanup',
      description: 'weekly cleanup (the 30 newest, and 7 daily, 4 weekly, 12 monthly snapshots are kept)',
      cron: '0 3 * * 0',
      onCalendar: 'Sun *-*-* 03:00:00',
      args: [
        'backup',
        '--cleanup',
        ...CLEANUP_RETENTION,
        ...repo,
        ...wait,
        ...metricsArgs(install, 'cleanup'),
      ],
      log: 'cleanup.log',
    },
    {
      name: 'sync-verify',
      description: 'daily consistency check of the three stores, with a dated report',
      cron: '0 4 * * *',
      onCalendar: '*-*-* 04:00:00',
      // A sync that only reads takes no lock, so it has no --lock-wait (the CLI refuses one).
      args: ['sync', '--verify', '--report', report, ...metricsArgs(install, 'sync-verify')],
      dated: 3,
      log: 'verify.log',
    },
    {
      name: 'sync-all',
      description: 'weekly full sync (records whose content differs are rewritten)',
      cron: '0 5 * * 6',
      onCalendar: 'Sat *-*-* 05:00:00',
      args: ['sync', '--all', '--force', ...wait, ...metricsArgs(install, 'sync-all')],
      log: 'sync.log',
    },
    {
      name: 'report',
      description: 'daily HTML report of the backups and the latest consistency report',
      cron: '0 6 * * *',
      onCalendar: '*-*-* 06:00:00',
      // Reads only: no lock, so no --lock-wait.
      args: [
        'report',
        '--html',
        posix.join(install.reportDir, 'index.html'),
        ...repo,
        '--sync-report',
        install.reportDir,
        ...metricsArgs(install, 'report'),
      ],
      log: 'report.log',
    },
    {
      name: 'restore-drill',
      description: 'monthly restore drill: every snapshot verified, the newest restored into scratch targets',
      cron: '0 7 1 * *',
      onCalendar: '*-*-01 07:00:00',
      args: [
        'backup',
        '--verify',
        '--all',
        '--restore-test',
        ...repo,
        ...metricsArgs(install, 'restore-drill'),
      ],
      log: 'drill.log',
    },
  ];
}

const NAME = /^[a-z_][a-z0-9_-]{0,31}$/i;
const URL_LOCATION = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Refuses what a generated file could not hold safely: relative paths, control characters, bad names. */
function checkInstall(install: ScheduleInstall): void {
  const paths: Array<[string, string | undefined]> = [
    ['--bin', install.bin],
    ['--work-dir', install.workDir],
    ['--env-file', install.envFile],
    ['--log-dir', install.logDir],
    ['--report-dir', install.reportDir],
    ['--state-dir', install.stateDir],
    ['--metrics-dir', install.metricsDir],
    ['--backup-dir', URL_LOCATION.test(install.backupDir) ? undefined : install.backupDir],
  ];
  for (const [flag, path] of paths) {
    if (path === undefined) continue;
    if (!posix.isAbsolute(path))
      throw new AcxError('USAGE', `${flag} ${path} is not an absolute path`, {
        subject: flag,
        hint: `cron and systemd run jobs from another directory: give ${flag} as an absolute path`,
      });
  }
  for (const [flag, value] of [
    ...paths,
    ['--backup-dir', install.backupDir],
    ['--lock-wait', install.lockWait],
  ]) {
    // eslint-disable-next-line no-control-regex
    if (value !== undefined && /[\x00-\x1f\x7f]/.test(value))
      throw new AcxError('USAGE', `${flag} holds a control character (a newline?)`, { subject: flag });
  }
  for (const [flag, name] of [
    ['--user', install.user],
    ['--group', install.group ?? install.user],
  ] as const) {
    if (!NAME.test(name))
      throw new AcxError('USAGE', `${flag} "${name}" is not a user or group name`, {
        subject: flag,
        hint: 'a system account such as acx-data (useradd --system acx-data)',
      });
  }
  if (typeof ms(install.lockWait as ms.StringValue) !== 'number')
    throw new AcxError('USAGE', `--lock-wait "${install.lockWait}" is not a duration`, {
      subject: '--lock-wait',
      hint: 'for example 2h, 30m or 90s',
    });
}
