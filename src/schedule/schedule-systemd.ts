/**
 * The schedule as systemd units: per job `acx-data-<job>.service` (a hardened oneshot run as the install's
 * user, credentials from `EnvironmentFile=`, output to the journal) and `acx-data-<job>.timer`
 * (`Persistent=true`: a run missed while the machine was off happens at the next boot; `--lock-wait`
 * queues the runs that then start together). Pure: returns file names and texts.
 */
import { posix } from 'node:path';
import { searchPath, shellCommand } from './schedule-crontab.ts';
import { scheduleJobs, type ScheduleInstall, type ScheduleJob } from './schedule-jobs.ts';

/** systemd's own PATH for services (used when the binary's folder is already on it). */
const SYSTEMD_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** Folders systemd creates and hands to the user (StateDirectory=, LogsDirectory=): the tool's own only. */
const OWN = { state: '/var/lib/acx-data', logs: '/var/log/acx-data' } as const;

/**
 * A word of an ExecStart= line: `%` and `$` doubled (specifiers and variables are systemd's), and
 * double-quoted with C escapes when it holds anything but safe characters.
 */
export function systemdWord(word: string): string {
  const literal = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@%+=:,./$-]+$/.test(literal)) return literal;
  return `"${literal.replace(/[\\"]/g, '\\$&')}"`;
}

/** A path in a setting that takes one path: only `%` is special there. */
const settingPath = (path: string): string => path.replace(/%/g, '%%');

const isUnder = (path: string, root: string): boolean => path === root || path.startsWith(`${root}/`);

/** The writable folders: the tool's own are created by systemd, any other must exist (`-`: optional). */
function writablePaths(install: ScheduleInstall): string[] {
  const local = /^[a-z][a-z0-9+.-]*:\/\//i.test(install.backupDir) ? [] : [install.backupDir];
  const required = [...local, install.reportDir, install.stateDir, install.logDir];
  const lines: string[] = [];
  if (required.some((p) => isUnder(p, OWN.state)) || isUnder(install.workDir, OWN.state))
    lines.push('StateDirectory=acx-data', 'StateDirectoryMode=0750');
  if (required.some((p) => isUnder(p, OWN.logs)))
    lines.push('LogsDirectory=acx-data', 'LogsDirectoryMode=0750');
  const others = [...new Set(required.filter((p) => !isUnder(p, OWN.state) && !isUnder(p, OWN.logs)))];
  for (const path of others) lines.push(`ReadWritePaths=${settingPath(path)}`);
  // Metrics are best effort (design §13.1): a missing textfile folder must not stop the backup.
  if (install.metricsDir !== undefined) lines.push(`ReadWritePaths=-${settingPath(install.metricsDir)}`);
  return lines;
}

function execStart(install: ScheduleInstall, job: ScheduleJob): string {
  // systemd runs no shell: the dated report name needs one (`exec` hands it the signals).
  if (job.dated !== undefined) return `/bin/sh -c ${systemdWord(`exec ${shellCommand(install, job)}`)}`;
  return [install.bin, ...job.args].map(systemdWord).join(' ');
}

const HARDENING = [
  'NoNewPrivileges=yes',
  'ProtectSystem=strict',
  'PrivateTmp=yes',
  'PrivateDevices=yes',
  'ProtectKernelTunables=yes',
  'ProtectKernelModules=yes',
  'ProtectKernelLogs=yes',
  'ProtectControlGroups=yes',
  'ProtectClock=yes',
  'ProtectHostname=yes',
  'ProtectProc=invisible',
  'RestrictSUIDSGID=yes',
  'RestrictRealtime=yes',
  'RestrictNamespaces=yes',
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
  'LockPersonality=yes',
  '# Node.js compiles JavaScript to machine code at run time: its pages must become executable.',
  'MemoryDenyWriteExecute=no',
  'SystemCallArchitectures=native',
  'SystemCallFilter=@system-service',
  'SystemCallErrorNumber=EPERM',
  'CapabilityBoundingSet=',
  'AmbientCapabilities=',
  '# Files stay private through their 0750 folders; node_exporter must read the metrics files.',
  'UMask=0022',
];

function serviceUnit(install: ScheduleInstall, job: ScheduleJob): string {
  const inHome = [install.workDir, install.envFile, install.bin].some((p) =>
    ['/home', '/root', '/run/user'].some((root) => isUnder(p, root)),
  );
  const path = searchPath(install, SYSTEMD_PATH);
  return [
    '[Unit]',
    `Description=acx-data ${job.name}: ${job.description}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `User=${install.user}`,
    `Group=${install.group ?? install.user}`,
    `WorkingDirectory=${settingPath(install.workDir)}`,
    `EnvironmentFile=${settingPath(install.envFile)}`,
    `Environment=${systemdWord(`ACX_STATE_DIR=${install.stateDir}`)}`,
    ...(path === SYSTEMD_PATH.join(':') ? [] : [`Environment=${systemdWord(`PATH=${path}`)}`]),
    `ExecStart=${execStart(install, job)}`,
    'StandardOutput=journal',
    'StandardError=journal',
    `SyslogIdentifier=acx-data-${job.name}`,
    'Nice=10',
    'IOSchedulingClass=best-effort',
    'IOSchedulingPriority=7',
    ...HARDENING,
    `ProtectHome=${inHome ? 'read-only' : 'yes'}`,
    ...writablePaths(install),
  ].join('\n');
}

function timerUnit(job: ScheduleJob): string {
  return [
    '[Unit]',
    `Description=acx-data ${job.name}: ${job.description}`,
    '',
    '[Timer]',
    `OnCalendar=${job.onCalendar}`,
    'Persistent=true',
    `Unit=acx-data-${job.name}.service`,
    '',
    '[Install]',
    'WantedBy=timers.target',
  ].join('\n');
}

/** `acx-data-<job>.service` and `.timer` for every job: file name → text. */
export function formatSystemdUnits(install: ScheduleInstall): Map<string, string> {
  const files = new Map<string, string>();
  for (const job of scheduleJobs(install)) {
    files.set(`acx-data-${job.name}.service`, serviceUnit(install, job) + '\n');
    files.set(`acx-data-${job.name}.timer`, timerUnit(job) + '\n');
  }
  return files;
}

/** The timers to enable, in the schedule's order. */
export function timerNames(install: ScheduleInstall): string[] {
  return scheduleJobs(install).map((job) => `acx-data-${job.name}.timer`);
}

/** The folders the jobs work in, for `install -d -o USER` (cron creates none; systemd only the tool's own). */
export function foldersToCreate(install: ScheduleInstall): string[] {
  const local = /^[a-z][a-z0-9+.-]*:\/\//i.test(install.backupDir) ? [] : [install.backupDir];
  return [install.workDir, ...local, install.reportDir, install.stateDir, install.logDir]
    .filter((p, i, all) => all.indexOf(p) === i)
    .map((p) => posix.normalize(p));
}
