/**
 * Splits the shell command lines a schedule holds into simple commands and words (pure). Only what
 * crontab lines and ExecStart= lines use: single and double quotes, backslashes, `$(…)` kept inside its
 * word, `$NAME`/`${NAME}` replaced from the given variables (others kept as written), the operators
 * `&& || ; | &` between commands and redirections (`>> FILE`, `2>&1`), which are dropped. Why not
 * shell-quote: docs/decisions/0019-hand-written-shell-words.md.
 */
import { AcxError } from '../errors.ts';

/** One simple command: its words, quotes removed. */
export type SimpleCommand = string[];

const OPERATORS = ['&&', '||', ';', '|', '&'];

interface Cursor {
  text: string;
  at: number;
}

/** `$(…)` from `c.at` (at the `$`), nested parentheses and quotes included, returned verbatim. */
function commandSubstitution(c: Cursor): string {
  const start = c.at;
  let depth = 0;
  let quote: string | undefined;
  for (c.at += 1; c.at < c.text.length; c.at += 1) {
    const ch = c.text[c.at];
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"') c.at += 1;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth += 1;
    else if (ch === ')' && --depth === 0) {
      c.at += 1;
      return c.text.slice(start, c.at);
    }
  }
  throw new AcxError('INVALID_INPUT', 'a "$(" is never closed', { hint: 'close it with ")"' });
}

/** `$NAME`, `${NAME}` or `$(…)` at `c.at`; a lone `$` stays. */
function dollar(c: Cursor, vars: Record<string, string>): string {
  if (c.text[c.at + 1] === '(') return commandSubstitution(c);
  const m = /^\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/.exec(c.text.slice(c.at));
  if (!m) {
    c.at += 1;
    return '$';
  }
  c.at += m[0].length;
  const name = (m[1] ?? m[2])!;
  return vars[name] ?? m[0];
}

function doubleQuoted(c: Cursor, vars: Record<string, string>): string {
  let out = '';
  for (c.at += 1; c.at < c.text.length;) {
    const ch = c.text[c.at]!;
    if (ch === '"') {
      c.at += 1;
      return out;
    }
    if (ch === '\\' && '$`"\\\n'.includes(c.text[c.at + 1] ?? '')) {
      out += c.text[c.at + 1];
      c.at += 2;
    } else if (ch === '$') out += dollar(c, vars);
    else {
      out += ch;
      c.at += 1;
    }
  }
  throw new AcxError('INVALID_INPUT', 'a double quote is never closed', { hint: 'close it with "' });
}

/** One word from `c.at` (not at a blank or an operator). */
function word(c: Cursor, vars: Record<string, string>): string {
  let out = '';
  while (c.at < c.text.length) {
    const ch = c.text[c.at]!;
    if (/\s/.test(ch) || OPERATORS.some((op) => c.text.startsWith(op, c.at)) || ch === '<' || ch === '>')
      break;
    if (ch === "'") {
      const end = c.text.indexOf("'", c.at + 1);
      if (end < 0)
        throw new AcxError('INVALID_INPUT', 'a single quote is never closed', { hint: "close it with '" });
      out += c.text.slice(c.at + 1, end);
      c.at = end + 1;
    } else if (ch === '"') out += doubleQuoted(c, vars);
    else if (ch === '\\') {
      out += c.text[c.at + 1] ?? '';
      c.at += 2;
    } else if (ch === '$') out += dollar(c, vars);
    else {
      out += ch;
      c.at += 1;
    }
  }
  return out;
}

/** Skips a redirection at `c.at` (`>>`, `>`, `<`, `2>&1`, `2> FILE`) and its target. */
function redirection(c: Cursor, vars: Record<string, string>): boolean {
  const m = /^\d*(?:>>|>&|<&|>|<)/.exec(c.text.slice(c.at));
  if (!m) return false;
  c.at += m[0].length;
  while (/[ \t]/.test(c.text[c.at] ?? '')) c.at += 1;
  word(c, vars);
  return true;
}

/** The simple commands of a command line, in order. */
export function splitCommands(text: string, vars: Record<string, string> = {}): SimpleCommand[] {
  const c: Cursor = { text, at: 0 };
  const commands: SimpleCommand[] = [];
  let current: string[] = [];
  while (c.at < text.length) {
    const ch = text[c.at]!;
    if (/\s/.test(ch)) {
      c.at += 1;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, c.at));
    if (op !== undefined) {
      if (current.length > 0) commands.push(current);
      current = [];
      c.at += op.length;
      continue;
    }
    if (/\d/.test(ch) || ch === '>' || ch === '<') {
      if (redirection(c, vars)) continue;
    }
    current.push(word(c, vars));
  }
  if (current.length > 0) commands.push(current);
  return commands;
}
