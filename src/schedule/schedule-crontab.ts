/**
 * The schedule as a user crontab (`crontab -u USER FILE`): SHELL, PATH, ACX_STATE_DIR and an optional
 * MAILTO, then one line per job. Each line changes to the working directory, loads the environment file
 * into the job's environment (`set -a; . FILE; set +a`: the file stays the one place credentials live,
 * readable by root and the job's group only) and appends the job's output to its log, as the guide does.
 */
import { posix } from 'node:path';
import { scheduleJobs, type ScheduleInstall, type ScheduleJob } from './schedule-jobs.ts';

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** A word as `sh` reads it back unchanged: bare when safe, else single-quoted. */
export function shellQuote(word: string): string {
  if (SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `PREFIX$(…)SUFFIX` as one shell word: double-quoted so the command substitution runs. */
function datedWord(word: string): string {
  const at = word.indexOf('$(');
  const end = word.indexOf(')', at);
  const escape = (text: string) => text.replace(/["\\$`]/g, '\\$&');
  return `"${escape(word.slice(0, at))}${word.slice(at, end + 1)}${escape(word.slice(end + 1))}"`;
}

/** The job's command line for `sh`, the binary first. */
export function shellCommand(install: ScheduleInstall, job: ScheduleJob): string {
  const words = [install.bin, ...job.args].map((word, i) =>
    i - 1 === job.dated ? datedWord(word) : shellQuote(word),
  );
  return words.join(' ');
}

/** PATH with the binary's folder first: `acx-data` starts with `#!/usr/bin/env node`. */
export function searchPath(install: ScheduleInstall, base: string[]): string {
  const dir = posix.dirname(install.bin);
  return (base.includes(dir) ? base : [dir, ...base]).join(':');
}

/** The crontab text. `%` is cron's newline: every one in a command is written `\%`. */
export function formatCrontab(install: ScheduleInstall): string {
  const env = `set -a && . ${shellQuote(install.envFile)} && set +a`;
  const lines = [
    '# acx-data: the operators’ guide’s complete schedule (docs/operations.md, "Schedules").',
    '# Written by `acx-data schedule --crontab`; check it with `acx-data schedule --check FILE`.',
    `# Install for the user the jobs run as: crontab -u ${install.user} FILE`,
    `# Credentials are read from ${install.envFile} at each run; none is written here.`,
    '',
    'SHELL=/bin/sh',
    `PATH=${searchPath(install, ['/usr/local/bin', '/usr/bin', '/bin'])}`,
    `ACX_STATE_DIR=${install.stateDir}`,
    ...(install.mailto === undefined ? [] : [`MAILTO=${install.mailto}`]),
  ];
  for (const job of scheduleJobs(install)) {
    const log = shellQuote(posix.join(install.logDir, job.log));
    const command = `cd ${shellQuote(install.workDir)} && ${env} && ${shellCommand(install, job)} >> ${log} 2>&1`;
    lines.push('', `# ${job.name}: ${job.description}`, `${job.cron} ${command.replace(/%/g, '\\%')}`);
  }
  return lines.join('\n') + '\n';
}
