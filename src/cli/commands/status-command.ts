/**
 * `acx-data status`: a check for monitors (docs/design.md §13.4) with the Nagios/Icinga plugin exit
 * codes instead of the catalog's — this command's own, documented in its --help. Declares and parses
 * the flags; the work is src/cli/handlers/status-handler.ts, loaded only when it runs.
 */
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import ms from 'ms';
import { globalOptions, type GlobalOptions } from '../output/global-options.ts';
import { isUrlLocation } from '../../storage/registry.ts';
import { isCheckOnly } from '../check-only.ts';

/** One run of `acx-data status`, its flags checked. */
export interface StatusRun {
  global: GlobalOptions;
  /** An absolute local path or a storage URL (s3://…). */
  backupDir: string;
  maxAgeMs: number;
  maxSizeBytes?: number;
  syncReport?: string;
}

/** `26h`, `2d`, `90m` (the `ms` package); a bare number is refused (seconds? milliseconds?). */
export function parseMaxAge(value: string): number {
  const trimmed = value.trim();
  const parsed = /^\d+(\.\d+)?$/.test(trimmed) ? undefined : ms(trimmed as ms.StringValue);
  if (parsed === undefined || !Number.isFinite(parsed) || parsed <= 0)
    throw new InvalidArgumentError(`"${value}" is not a duration with a unit, e.g. 26h, 2d or 90m.`);
  return parsed;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** `500GiB`, `10GB`, `1.5TiB`, `123456` (bytes): decimal (kB…TB) and binary (KiB…TiB) units. */
export function parseSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = SIZE_UNITS[(m?.[2] || 'b').toLowerCase()];
  if (!m || unit === undefined)
    throw new InvalidArgumentError(`"${value}" is not a size, e.g. 500GiB, 10GB or 1.5TiB.`);
  return Math.round(Number(m[1]) * unit);
}

const HELP = `
One line on stdout, then Nagios performance data after "|":
  ACX-DATA CRITICAL - latest backup full_20260101_020000 is 30h old (max 26h) | age=108000s;;93600;0 …

Checks: the newest complete snapshot older than --max-age, or none (CRITICAL); its last verification or
restore drill failed (CRITICAL); the repository larger than --max-size (WARNING); the newest sync report
inconsistent or older than --max-age (WARNING). Reads the repository and the report, never a database.

Exit codes of this command (the Nagios/Icinga plugin convention, not the table of acx-data --help):
  0    OK
  1    WARNING
  2    CRITICAL
  3    UNKNOWN (the repository or the sync report could not be read)

Examples:
  acx-data status --max-age 26h
  acx-data status --backup-dir /var/backups/acx --max-age 26h --max-size 500GiB --sync-report /var/log/acx-data/sync
  acx-data status --backup-dir s3://my-bucket/repository --max-age 2d --format json`;

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('check the backups for a monitor (Nagios/Icinga exit codes 0-3 and one line)')
    .option(
      '--backup-dir <dir>',
      'the repository: a folder, or s3://bucket/prefix, gs://bucket/prefix, azure://container/prefix',
      join('data', 'backups'),
    )
    .requiredOption(
      '--max-age <duration>',
      'newest backup (and sync report) at most this old: 26h, 2d',
      parseMaxAge,
    )
    .option('--max-size <size>', 'warn when the repository stores more than this: 500GiB, 10GB', parseSize)
    .option('--sync-report <file|dir>', 'a sync --verify --report file, or a folder: its newest *.json')
    .addHelpText('after', HELP)
    .action(
      async (
        flags: { backupDir: string; maxAge: number; maxSize?: number; syncReport?: string },
        command: Command,
      ) => {
        const run: StatusRun = {
          global: globalOptions(command),
          backupDir: isUrlLocation(flags.backupDir) ? flags.backupDir : resolve(flags.backupDir),
          maxAgeMs: flags.maxAge,
          ...(flags.maxSize !== undefined ? { maxSizeBytes: flags.maxSize } : {}),
          ...(flags.syncReport !== undefined ? { syncReport: resolve(flags.syncReport) } : {}),
        };
        if (isCheckOnly(command)) return;
        const { handleStatus } = await import('../handlers/status-handler.ts');
        await handleStatus(run);
      },
    );
}
