import type { Command } from 'commander';

export interface GlobalOptions {
  format: 'text' | 'json';
  jsonEvents: boolean;
  verbose: boolean;
  quiet: boolean;
}

/** The root program's options, seen from any subcommand. */
export function globalOptions(command: Command): GlobalOptions {
  const opts = command.optsWithGlobals() as Partial<GlobalOptions>;
  return {
    format: opts.format === 'json' ? 'json' : 'text',
    jsonEvents: !!opts.jsonEvents,
    verbose: !!opts.verbose,
    quiet: !!opts.quiet,
  };
}

let resultPrinted = false;
let result: unknown;
let commandExitCode: number | undefined;

/** Whether this run has printed its result (the CLI prints no error document after one). */
export function wasResultPrinted(): boolean {
  return resultPrinted;
}

/**
 * The result document this run printed (what `--format json` prints, whatever the format), for the
 * after-run record (design §13.1); undefined when the run printed none.
 */
export function lastResult(): unknown {
  return result;
}

/**
 * A command whose exit codes are its own (`status`: the Nagios convention, 0–3) sets its exit code
 * here instead of throwing; the entry point returns it when the command ends without an error.
 */
export function setCommandExitCode(code: number): void {
  commandExitCode = code;
}

/** The exit code a command set with `setCommandExitCode` (none: 0). */
export function commandExitCodeOf(): number {
  return commandExitCode ?? 0;
}

/** Results go to stdout: a text summary, or one JSON document with `--format json`. */
export function printResult(options: GlobalOptions, value: unknown, text: string): void {
  resultPrinted = true;
  result = value;
  if (options.format === 'json')
    process.stdout.write(
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n',
    );
  else if (!options.quiet) process.stdout.write(text + '\n');
}
