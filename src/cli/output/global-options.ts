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

/** Whether this run has printed its result (the CLI prints no error document after one). */
export function wasResultPrinted(): boolean {
  return resultPrinted;
}

/** Results go to stdout: a text summary, or one JSON document with `--format json`. */
export function printResult(options: GlobalOptions, value: unknown, text: string): void {
  resultPrinted = true;
  if (options.format === 'json')
    process.stdout.write(
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n',
    );
  else if (!options.quiet) process.stdout.write(text + '\n');
}
