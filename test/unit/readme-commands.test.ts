/**
 * Every `acx-data` command the README shows (and docs/operations.md, its operations manual) is a valid
 * invocation of the real CLI: each is parsed and its flags are checked by the program itself in
 * check-only mode (src/cli/check-only.ts), so a renamed flag or a removed mode cannot leave the docs
 * behind. Lines are read from the `sh`/`bash` code blocks, joined at trailing backslashes. A command
 * refused only because an example's input file does not exist here (NOT_FOUND naming the flag) counts
 * as valid: its flags were parsed and checked up to that point.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { refusalOf } from '../../src/cli/handlers/schedule-handler.ts';
import { invocationsIn } from '../../src/schedule/schedule-invocations.ts';

/** The files, and how many commands each holds at least (a parser that finds none cannot pass). */
const DOCS: Array<[string, number]> = [
  ['README.md', 60],
  ['docs/operations.md', 3],
];

/** The acx-data argument lists of a Markdown file's shell blocks, with the line each starts on. */
async function documentedCommands(file: string): Promise<Array<{ line: number; args: string[] }>> {
  const text = await readFile(new URL(`../../${file}`, import.meta.url), 'utf8');
  const found: Array<{ line: number; args: string[] }> = [];
  const lines = text.split('\n');
  let inShell = false;
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```(\w*)/.exec(lines[i]!);
    if (fence) {
      inShell = !inShell && ['sh', 'bash', 'shell'].includes(fence[1]!);
      continue;
    }
    if (!inShell) continue;
    const start = i;
    let command = lines[i]!;
    while (command.endsWith('\\') && i + 1 < lines.length) command = command.slice(0, -1) + lines[++i]!;
    if (!command.includes('acx-data')) continue;
    // A trailing comment (` # …`) is prose: its apostrophes are not quotes.
    command = command.replace(/\s#\s.*$/, '');
    for (const args of invocationsIn(command)) found.push({ line: start + 1, args });
  }
  return found;
}

describe('the documented commands', () => {
  it.each(DOCS)('every acx-data command in %s is accepted by the real CLI', async (file, least) => {
    const commands = await documentedCommands(file);
    expect(commands.length).toBeGreaterThanOrEqual(least);
    const refused: string[] = [];
    for (const { line, args } of commands) {
      const refusal = await refusalOf(args);
      // `--help` runs nothing but is a valid command; example paths do not exist on this machine.
      if (refusal === undefined || /^prints help|^NOT_FOUND: --\w+ /.test(refusal)) continue;
      refused.push(`${file}:${line}: acx-data ${args.join(' ')}\n  ${refusal}`);
    }
    expect(refused).toEqual([]);
  });

  it('finds a broken command (the check can fail)', async () => {
    expect(await refusalOf(['backup', '--cleanup', '--kep', '30'])).toMatch(/--kep/);
    expect(await refusalOf(['backup', '--cleanup', '--keep', '30'])).toBeUndefined();
  });
});
