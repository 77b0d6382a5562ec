/** The CLI entry point: the only place that prints errors and chooses the exit code. */
import { CommanderError } from 'commander';
import { AcxError, EXIT_CODES, exitCodeOf, redactSecrets } from '../errors.ts';
import { loadDotEnv } from '../config/env.ts';
import { errorDocument } from './output/error-document.ts';
import { wasResultPrinted } from './output/global-options.ts';
import { buildProgram } from './program.ts';

/** The one-line message (and hint) on stderr; returns the exit code. */
function reportOnStderr(error: unknown): number {
  if (error instanceof AcxError) {
    const subject = error.subject ? ` [${error.subject}]` : '';
    process.stderr.write(`acx-data: ${error.code}${subject}: ${redactSecrets(error.message)}\n`);
    if (error.hint) process.stderr.write(`  hint: ${error.hint}\n`);
    if (process.env.ACX_DEBUG && error.cause)
      process.stderr.write(`  cause: ${redactSecrets(String(error.cause))}\n`);
    return error.exitCode;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`acx-data: INTERNAL: ${redactSecrets(text)}\n`);
  return exitCodeOf(error);
}

const printDocument = (error: unknown) =>
  process.stdout.write(JSON.stringify(errorDocument(error), null, 2) + '\n');

/**
 * Reports the error that ended a run. Under `--format json` a run that printed no result yet also
 * prints `{"outcome": "failed", "error": …}` on stdout, so stdout always carries one document.
 */
function report(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    )
      return 0;
    const message = error.message.replace(/^error: /, '');
    process.stderr.write(`acx-data: ${message}\n(see acx-data --help)\n`);
    if (json) printDocument(new AcxError('USAGE', message, { hint: 'see acx-data --help' }));
    return EXIT_CODES.usage;
  }
  const exitCode = reportOnStderr(error);
  if (json && !wasResultPrinted()) printDocument(error);
  return exitCode;
}

// Output piped into a reader that stops early (`acx-data --help | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

async function main(argv: string[]): Promise<number> {
  loadDotEnv();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    return report(error, program.opts<{ format?: string }>().format === 'json');
  }
}

process.exitCode = await main(process.argv);
