/**
 * Finds every acx-data invocation in a crontab or a systemd unit (pure), so `acx-data schedule --check`
 * can hand each one to the real CLI parser. Cron: variable lines are applied, `\%` is `%` and an
 * unescaped `%` (cron's newline: the rest of the line would become standard input) is reported. systemd:
 * the `Exec*=` lines of [Service], with `%%` and `$$` undone. Both: a `sh -c '…'` script is searched too.
 */
import { posix } from 'node:path';
import { AcxError } from '../errors.ts';
import { splitCommands } from './shell-words.ts';

export type ScheduleFileKind = 'crontab' | 'systemd';

/** One acx-data command line found at `line` (1-based), or why that line could not be read. */
export interface Invocation {
  line: number;
  /** The arguments after the binary (absent when `error` is set). */
  args?: string[];
  error?: string;
}

/** A unit file by its name; anything else is read as a crontab. */
export function kindOfFile(path: string): ScheduleFileKind {
  return /\.(service|timer|socket|path)$/.test(path) ? 'systemd' : 'crontab';
}

const BINARIES = new Set(['acx-data', 'acx-data.js']);
const SHELLS = new Set(['sh', 'bash', 'dash']);
const WRAPPERS = new Set(['exec', 'env', 'nohup', 'nice', 'ionice']);

/** The acx-data argument lists in a shell command line (recursing into `sh -c SCRIPT`). */
export function invocationsIn(command: string, vars: Record<string, string> = {}): string[][] {
  const found: string[][] = [];
  for (const simple of splitCommands(command, vars)) {
    let words = simple;
    while (words.length > 0 && (/^[A-Za-z_]\w*=/.test(words[0]!) || WRAPPERS.has(words[0]!)))
      words = words.slice(1);
    const [first = '', second, third] = words;
    const name = posix.basename(first);
    if (BINARIES.has(name)) found.push(words.slice(1));
    else if (name === 'node' && second !== undefined && BINARIES.has(posix.basename(second)))
      found.push(words.slice(2));
    else if (SHELLS.has(name) && second === '-c' && third !== undefined)
      found.push(...invocationsIn(third, vars));
  }
  return found;
}

function tryLine(line: number, read: () => string[][]): Invocation[] {
  try {
    return read().map((args) => ({ line, args }));
  } catch (error) {
    return [{ line, error: error instanceof Error ? error.message : String(error) }];
  }
}

/** The command of a cron line, `\%` undone; an unescaped `%` is refused. */
function cronCommand(command: string): string {
  const bare = command.search(/(?<!\\)%/);
  if (bare >= 0)
    throw new AcxError(
      'INVALID_INPUT',
      'an unescaped % ends the command (cron sends the rest to its standard input)',
      {
        hint: 'write \\% in a crontab, e.g. $(date +\\%Y\\%m\\%d)',
      },
    );
  return command.replace(/\\%/g, '%');
}

const CRON_VARIABLE = /^([A-Za-z_]\w*)\s*=\s*(.*)$/;

function crontabInvocations(text: string): Invocation[] {
  const vars: Record<string, string> = {};
  const found: Invocation[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const variable = CRON_VARIABLE.exec(line);
    if (variable) {
      vars[variable[1]!] = variable[2]!.replace(/^(["'])(.*)\1$/, '$2');
      return;
    }
    const fields = line.split(/\s+/);
    const command = line.startsWith('@') ? line.slice(fields[0]!.length) : line.replace(/^(\S+\s+){5}/, '');
    if (command === line)
      return void found.push({ line: i + 1, error: 'not a cron line (five time fields, then the command)' });
    found.push(...tryLine(i + 1, () => invocationsIn(cronCommand(command.trim()), vars)));
  });
  return found;
}

/** `%%` and `$$` of an Exec line undone (`$$` kept away from the shell splitter's variables first). */
function unitCommand(value: string): string {
  return value.replace(/^[-@:+!]+/, '').replace(/%%/g, '%');
}

function systemdInvocations(text: string): Invocation[] {
  const found: Invocation[] = [];
  const lines = text.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i += 1) {
    const start = i;
    let line = lines[i]!.trim();
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i]!.trim();
    if (line.startsWith('[')) section = line;
    const exec = /^(Exec\w*)\s*=\s*(.*)$/.exec(line);
    if (section !== '[Service]' || !exec) continue;
    const dollar = '\u0000';
    const command = unitCommand(exec[2]!).replace(/\$\$/g, dollar);
    found.push(
      ...tryLine(start + 1, () =>
        // A `sh -c` script is split again once its `$` are back.
        invocationsIn(command).map((args) => args.map((a) => a.replaceAll(dollar, '$'))),
      ),
    );
  }
  return found;
}

/** Every acx-data invocation of a schedule file, with its line number. */
export function scheduleInvocations(text: string, kind: ScheduleFileKind): Invocation[] {
  return kind === 'crontab' ? crontabInvocations(text) : systemdInvocations(text);
}
