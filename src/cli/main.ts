/** The CLI entry point: the only place that prints errors and chooses the exit code. */
import { CommanderError, type Command } from 'commander';
import { AcxError, EXIT_CODES, exitCodeOf, redactSecrets } from '../errors.ts';
import { loadDotEnv } from '../config/env.ts';
import { errorDocument } from './output/error-document.ts';
import { commandExitCodeOf, lastResult, wasResultPrinted } from './output/global-options.ts';
import { buildProgram } from './program.ts';
import { afterRunSettingsOf } from './after-run-options.ts';
import { runRecordOf, watchAction, type ActionSeen } from './run-tracking.ts';
import { hasAfterRunWork } from '../operations/after-run/run-record.ts';

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

/** `--help`, `--version`: nothing ran, nothing to record. */
const isHelpOrVersion = (error: unknown) =>
  error instanceof CommanderError &&
  ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);

/**
 * After the command, whatever its outcome (design §13.1): metrics and alerts, when any is configured.
 * Each failed delivery is one warning line; the exit code stays the run's.
 */
async function afterTheRun(
  program: Command,
  run: { seen: ActionSeen | undefined; argv: string[]; startedAt: Date; exitCode: number; error: unknown },
): Promise<void> {
  if (isHelpOrVersion(run.error) || (run.seen === undefined && run.exitCode === 0)) return;
  let warnings: string[];
  try {
    const settings = afterRunSettingsOf(program);
    if (!hasAfterRunWork(settings)) return;
    const { afterRun } = await import('../operations/after-run/after-run.ts');
    warnings = await afterRun(runRecordOf({ ...run, result: lastResult() }), settings);
  } catch (error) {
    warnings = [`after the run: ${error instanceof Error ? error.message : String(error)}`];
  }
  for (const warning of warnings) process.stderr.write(`acx-data: warning: ${redactSecrets(warning)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const startedAt = new Date();
  loadDotEnv();
  const program = buildProgram();
  const seen = watchAction(program);
  let exitCode: number;
  let failure: unknown;
  try {
    await program.parseAsync(argv);
    exitCode = commandExitCodeOf();
  } catch (error) {
    failure = error;
    exitCode = report(error, program.opts<{ format?: string }>().format === 'json');
  }
  await afterTheRun(program, { seen: seen(), argv: argv.slice(2), startedAt, exitCode, error: failure });
  return exitCode;
}

process.exitCode = await main(process.argv);
