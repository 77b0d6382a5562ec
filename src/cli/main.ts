/** The CLI entry point: the only place that prints errors and chooses the exit code. */
import { CommanderError } from 'commander';
import { AcxError, EXIT_CODES, exitCodeOf, redactSecrets } from '../errors.ts';
import { loadDotEnv } from '../config/env.ts';
import { buildProgram } from './program.ts';

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    )
      return 0;
    process.stderr.write(`acx-data: ${error.message.replace(/^error: /, '')}\n(see acx-data --help)\n`);
    return EXIT_CODES.usage;
  }
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

// Output piped into a reader that stops early (`acx-data --help | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

async function main(argv: string[]): Promise<number> {
  loadDotEnv();
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    return report(error);
  }
}

process.exitCode = await main(process.argv);
