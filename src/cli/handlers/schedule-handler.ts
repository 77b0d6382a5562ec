/**
 * `acx-data schedule`: writes the generated schedule files (all checked before any is written, each
 * written atomically, an existing different file replaced only with --force) and prints how to install
 * them; or, with `--check`, parses every acx-data command line of schedule files with the real CLI.
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { AcxError } from '../../errors.ts';
import { fileError, writeFileAtomically } from '../../files.ts';
import { formatCrontab } from '../../schedule/schedule-crontab.ts';
import { formatEnvExample } from '../../schedule/schedule-env.ts';
import { kindOfFile, scheduleInvocations } from '../../schedule/schedule-invocations.ts';
import type { ScheduleInstall } from '../../schedule/schedule-jobs.ts';
import { foldersToCreate, formatSystemdUnits, timerNames } from '../../schedule/schedule-systemd.ts';
import { markCheckOnly } from '../check-only.ts';
import type { ScheduleRun } from '../commands/schedule-command.ts';
import { printResult } from '../output/global-options.ts';
import { buildProgram } from '../program.ts';

type WriteRun = Extract<ScheduleRun, { mode: 'write' }>;
type CheckRun = Extract<ScheduleRun, { mode: 'check' }>;

export async function handleSchedule(run: ScheduleRun): Promise<void> {
  if (run.mode === 'check') return checkFiles(run);
  return writeSchedule(run);
}

/** Relative path → content of every file the run writes. */
export function scheduleFiles(
  install: ScheduleInstall,
  kinds: { crontab: boolean; systemd: boolean },
): Map<string, string> {
  const files = new Map<string, string>();
  if (kinds.crontab) files.set('crontab', formatCrontab(install));
  if (kinds.systemd)
    for (const [name, text] of formatSystemdUnits(install)) files.set(join('systemd', name), text);
  files.set('acx-data.env.example', formatEnvExample(install));
  return files;
}

async function currentText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw fileError(error, { path, doing: 'read', code: code === 'EISDIR' ? 'USAGE' : 'STORAGE' });
  }
}

/** The commands that install what was written, for the printed summary. */
function installCommands(run: WriteRun): string[] {
  const { install, out } = run;
  const group = install.group ?? install.user;
  const commands = [
    `sudo useradd --system --home-dir ${install.workDir} --shell /usr/sbin/nologin ${install.user}`,
    `sudo install -d -m 0750 -o ${install.user} -g ${group} ${foldersToCreate(install).join(' ')}`,
    `sudo install -D -m 0640 -o root -g ${group} ${join(out, 'acx-data.env.example')} ${install.envFile}   # then fill it in`,
  ];
  if (run.systemd)
    commands.push(
      `sudo cp ${join(out, 'systemd')}/acx-data-*.service ${join(out, 'systemd')}/acx-data-*.timer /etc/systemd/system/`,
      'sudo systemctl daemon-reload',
      `sudo systemctl enable --now ${timerNames(install).join(' ')}`,
      "systemctl list-timers 'acx-data-*'",
    );
  if (run.crontab) commands.push(`sudo crontab -u ${install.user} ${join(out, 'crontab')}`);
  return commands;
}

/** A path relative to the working directory when it is inside it, else absolute. */
function shortPath(path: string): string {
  const short = relative(process.cwd(), path);
  return short === '' || short.startsWith('..') ? path : short;
}

async function writeSchedule(run: WriteRun): Promise<void> {
  const files = scheduleFiles(run.install, run);
  const plan: Array<{ path: string; text: string; status: 'written' | 'unchanged' | 'replaced' }> = [];
  for (const [name, text] of files) {
    const path = join(run.out, name);
    const current = await currentText(path);
    if (current !== undefined && current !== text && !run.force)
      throw new AcxError('NOT_EMPTY', `${path} exists and differs from the schedule generated`, {
        subject: path,
        hint: 'add --force to replace it, or choose another --out (nothing was written)',
      });
    plan.push({
      path,
      text,
      status: current === undefined ? 'written' : current === text ? 'unchanged' : 'replaced',
    });
  }
  for (const file of plan)
    if (file.status !== 'unchanged')
      await writeFileAtomically(file.path, file.text, { doing: 'write', createFolder: true });
  const result = {
    out: run.out,
    files: plan.map(({ path, status }) => ({ path, status })),
    install: installCommands(run),
  };
  const text = [
    ...plan.map((f) => `${f.status.padEnd(9)} ${shortPath(f.path)}`),
    '',
    'To install:',
    ...result.install.map((c) => `  ${c}`),
    '',
    `Check the files: acx-data schedule --check ${run.crontab ? join(run.out, 'crontab') : ''}${run.systemd ? ` ${join(run.out, 'systemd')}/*.service` : ''}`,
  ].join('\n');
  printResult(run.global, result, text);
}

/** A program that parses and checks a command line without running it, and prints nothing. */
function checkingProgram(): Command {
  const program = markCheckOnly(buildProgram());
  const silence = (command: Command): void => {
    command.configureOutput({
      writeOut: () => undefined,
      writeErr: () => undefined,
      outputError: () => undefined,
    });
    command.commands.forEach(silence);
  };
  silence(program);
  return program;
}

/** Why the real CLI refuses `args`, or undefined when it accepts them. */
export async function refusalOf(args: string[]): Promise<string | undefined> {
  try {
    await checkingProgram().parseAsync(args, { from: 'user' });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
        return 'prints help or the version: runs nothing';
      return error.message.replace(/^error: /, '');
    }
    if (error instanceof AcxError)
      return `${error.code}: ${error.message}${error.hint ? ` (hint: ${error.hint})` : ''}`;
    throw error;
  }
}

export interface CheckedLine {
  file: string;
  line: number;
  command?: string;
  error?: string;
}

/** Every acx-data invocation of the files, each with the CLI's refusal if any. */
export async function checkScheduleFiles(files: string[]): Promise<CheckedLine[]> {
  const results: CheckedLine[] = [];
  for (const file of files) {
    const text = await currentText(file);
    if (text === undefined)
      throw new AcxError('NOT_FOUND', `${file} does not exist`, {
        subject: file,
        hint: 'name a crontab or a .service file',
      });
    const found = scheduleInvocations(text, kindOfFile(file));
    if (found.length === 0 && !file.endsWith('.timer'))
      results.push({ file, line: 0, error: 'no acx-data command found' });
    for (const invocation of found) {
      const command = invocation.args && ['acx-data', ...invocation.args].join(' ');
      const error = invocation.error ?? (await refusalOf(invocation.args ?? []));
      results.push({ file, line: invocation.line, command, ...(error === undefined ? {} : { error }) });
    }
  }
  return results;
}

async function checkFiles(run: CheckRun): Promise<void> {
  const lines = await checkScheduleFiles(run.files);
  const bad = lines.filter((l) => l.error !== undefined);
  const text = lines
    .map(
      (l) =>
        `${l.error === undefined ? 'ok ' : 'BAD'} ${l.file}${l.line > 0 ? `:${l.line}` : ''}: ${l.command ?? ''}${l.error ? `\n    ${l.error}` : ''}`,
    )
    .join('\n');
  printResult(run.global, { outcome: bad.length === 0 ? 'complete' : 'failed', commands: lines }, text);
  if (bad.length > 0) {
    const first = bad[0]!;
    throw new AcxError(
      'INVALID_INPUT',
      `${bad.length} of ${lines.length} acx-data commands are invalid; first: ${first.file}:${first.line}: ${first.error}`,
      { subject: `${first.file}:${first.line}`, hint: 'fix each line marked BAD above, then check again' },
    );
  }
}
