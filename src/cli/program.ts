/**
 * Every command and global flag of `acx-data`, in one place. The command files only declare and check
 * flags; each action imports its handler (src/cli/handlers/) when it runs, so building the program, and
 * `--help` or `--version`, load no database driver, format library or compressor
 * (test/unit/cli-startup.test.ts).
 */
import { Command, Option } from 'commander';
import { ERROR_CATALOG, EXIT_CODES } from '../errors.ts';
import { registerSeedCommand } from './commands/seed-command.ts';
import { registerBackupCommand } from './commands/backup-command.ts';
import { registerExportCommand } from './commands/export-command.ts';
import { registerImportCommand } from './commands/import-command.ts';
import { registerSyncCommand } from './commands/sync-command.ts';
import { registerKeyCommand } from './commands/key-command.ts';
import { registerScheduleCommand } from './commands/schedule-command.ts';
import { registerStatusCommand } from './commands/status-command.ts';
import { registerReportCommand } from './commands/report-command.ts';
import { addAfterRunOptions } from './after-run-options.ts';

import { TOOL } from '../operations/tool.ts';

export const TOOL_VERSION = TOOL.version;

export function exitCodeHelp(): string {
  const byExit = new Map<number, string[]>();
  for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
    const exit = EXIT_CODES[entry.exit];
    byExit.set(exit, [...(byExit.get(exit) ?? []), `${code} (${entry.summary})`]);
  }
  const lines = ['', 'Exit codes:', '  0    success'];
  for (const [exit, codes] of [...byExit.entries()].sort((a, b) => a[0] - b[0])) {
    lines.push(`  ${String(exit).padEnd(4)} ${codes.join('; ')}`);
  }
  return lines.join('\n');
}

export function buildProgram(): Command {
  const program = new Command('acx-data')
    .description('Backup, export, import and sync for AutoCognitix: PostgreSQL + Neo4j + Qdrant.')
    .version(TOOL_VERSION, '-V, --version')
    .addOption(
      new Option('--format <format>', 'result output on stdout').choices(['text', 'json']).default('text'),
    )
    .option('--json-events', 'progress as JSON lines on stderr (see docs/json-output.md)', false)
    .option('-v, --verbose', 'more detail; plain progress lines instead of bars', false)
    .option('-q, --quiet', 'no progress and no text summary', false)
    .showHelpAfterError()
    .addHelpText(
      'after',
      `\nConnections come from DATABASE_URL, NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, QDRANT_URL + QDRANT_API_KEY\n(or QDRANT_HOST + QDRANT_PORT), also read from ./.env.${exitCodeHelp()}`,
    );
  addAfterRunOptions(program);
  program.exitOverride();
  program.configureOutput({ outputError: () => undefined });
  registerBackupCommand(program);
  registerExportCommand(program);
  registerImportCommand(program);
  registerSyncCommand(program);
  registerSeedCommand(program);
  registerKeyCommand(program);
  registerScheduleCommand(program);
  registerStatusCommand(program);
  registerReportCommand(program);
  for (const command of program.commands)
    command.exitOverride().configureOutput({ outputError: () => undefined });
  return program;
}
