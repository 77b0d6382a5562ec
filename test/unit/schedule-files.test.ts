/**
 * The shipped schedule (deploy/, docs/design.md §13.8): the committed files are the generator's output
 * for the defaults; every unit passes Debian's `systemd-analyze verify`; every crontab schedule (croner)
 * and every timer's OnCalendar (`systemd-analyze calendar`) fires at the guide's times, the same ones.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cron } from 'croner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleFiles } from '../../src/cli/handlers/schedule-handler.ts';
import { formatSystemdUnits } from '../../src/schedule/schedule-systemd.ts';
import { DEPLOY_INSTALL, JOB_NAMES, type JobName } from '../../src/schedule/schedule-jobs.ts';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(REPO, 'deploy');
const BIN = join(REPO, 'bin', 'acx-data.js');

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-schedule-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const name = join(prefix, entry.name);
    if (entry.isDirectory()) names.push(...(await listFiles(join(dir, entry.name), name)));
    else names.push(name);
  }
  return names.sort();
}

/** The crontab's job lines: the five time fields of each, by the job named in the comment above it. */
function crontabSchedules(text: string): Map<JobName, string> {
  const schedules = new Map<JobName, string>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const job = /^# ([a-z-]+): /.exec(lines[i - 1] ?? '')?.[1] as JobName | undefined;
    if (job !== undefined && /^[\d*@]/.test(line))
      schedules.set(job, line.split(/\s+/).slice(0, 5).join(' '));
  });
  return schedules;
}

const BASE = new Date('2026-03-01T00:30:00Z'); // a Sunday
const ITERATIONS = 60;
const iso = (d: Date) => d.toISOString().slice(0, 16);

/** The guide's times, from BASE, as the first ITERATIONS runs of each job. */
function expectedRuns(job: JobName): string[] {
  const runs: string[] = [];
  for (let t = BASE.getTime(); runs.length < ITERATIONS; t += 3_600_000) {
    const d = new Date(Math.ceil(t / 3_600_000) * 3_600_000);
    const [hour, weekday, day] = [d.getUTCHours(), d.getUTCDay(), d.getUTCDate()];
    const fires = {
      'backup-full': hour === 2,
      'backup-incremental': hour !== 2,
      cleanup: hour === 3 && weekday === 0,
      'sync-verify': hour === 4,
      'sync-all': hour === 5 && weekday === 6,
      report: hour === 6,
      'restore-drill': hour === 7 && day === 1,
    }[job];
    if (fires && !runs.includes(iso(d))) runs.push(iso(d));
  }
  return runs;
}

describe('the shipped schedule', () => {
  it('deploy/ holds exactly the generator’s output for the documented defaults', async () => {
    const generated = scheduleFiles(DEPLOY_INSTALL, { crontab: true, systemd: true });
    expect(await listFiles(DEPLOY)).toEqual([...generated.keys()].sort());
    for (const [name, text] of generated) expect(await readFile(join(DEPLOY, name), 'utf8'), name).toBe(text);
  });

  it('every unit passes systemd-analyze verify with no warning about it', async () => {
    const dir = join(work, 'units');
    await rm(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    // The binary must exist for verify: this checkout's; root exists everywhere (nobody draws a warning).
    const units = formatSystemdUnits({ ...DEPLOY_INSTALL, bin: BIN, user: 'root' });
    for (const [name, text] of units) await writeFile(join(dir, name), text);
    const paths = [...units.keys()].map((n) => join(dir, n));
    const result = await run('systemd-analyze', ['verify', '--man=no', ...paths], {
      env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' },
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    const output = `${result.stdout}\n${result.stderr}`;
    const ours = output.split('\n').filter((line) => line.includes(dir) || /acx-data-/.test(line));
    expect(ours).toEqual([]);
    expect('code' in result ? result.code : 0, output).toBe(0);
  });

  it('verify would report a unit problem (the filter sees our files)', async () => {
    const path = join(work, 'acx-data-broken.service');
    await writeFile(path, '[Service]\nType=oneshot\nExecStart=/nonexistent/acx-data backup\nHardening=yes\n');
    const result = await run('systemd-analyze', ['verify', '--man=no', path]).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    const ours = `${result.stdout}\n${result.stderr}`
      .split('\n')
      .filter((l) => l.includes('acx-data-broken'));
    expect(ours.join('\n')).toMatch(/Unknown key 'Hardening'/);
    expect(ours.join('\n')).toMatch(/not executable/);
  });

  const crontab = () => readFile(join(DEPLOY, 'crontab'), 'utf8');
  const jobs: JobName[] = [...JOB_NAMES];

  it('the crontab has one line per job and each fires at the guide’s times (croner)', async () => {
    const schedules = crontabSchedules(await crontab());
    expect([...schedules.keys()]).toEqual(jobs);
    for (const job of jobs) {
      const cron = new Cron(schedules.get(job)!, { timezone: 'UTC', paused: true });
      const runs = cron.nextRuns(ITERATIONS, BASE).map(iso);
      expect(runs, job).toEqual(expectedRuns(job));
    }
    const incremental = new Cron(schedules.get('backup-incremental')!, { timezone: 'UTC', paused: true });
    expect(incremental.nextRuns(200, BASE).filter((d) => d.getUTCHours() === 2)).toEqual([]);
    expect(expectedRuns('cleanup').slice(0, 2)).toEqual(['2026-03-01T03:00', '2026-03-08T03:00']);
    expect(expectedRuns('sync-all')[0]).toBe('2026-03-07T05:00');
    expect(expectedRuns('restore-drill').slice(0, 2)).toEqual(['2026-03-01T07:00', '2026-04-01T07:00']);
  });

  it('every timer fires at the same times as its crontab line (systemd-analyze calendar)', async () => {
    for (const job of jobs) {
      const timer = await readFile(join(DEPLOY, 'systemd', `acx-data-${job}.timer`), 'utf8');
      const onCalendar = /^OnCalendar=(.*)$/m.exec(timer)![1]!;
      expect(timer).toMatch(/^Persistent=true$/m);
      const { stdout } = await run(
        'systemd-analyze',
        ['calendar', `--iterations=${ITERATIONS}`, '--base-time=2026-03-01 00:30:00 UTC', onCalendar],
        { env: { ...process.env, TZ: 'UTC' } },
      );
      const runs = [
        ...stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d) (\d\d:\d\d):00 UTC/g),
      ].map((m) => `${m[1]}T${m[2]}`);
      expect(runs, job).toEqual(expectedRuns(job));
    }
  });
});
