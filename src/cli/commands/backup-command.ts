/**
 * `acx-data backup`: the guide's backup_data.py — back up (default), `--list`, `--verify ID`,
 * `--cleanup`, `--restore ID`. Declares the flags, checks them, picks the mode and hands the run to
 * that mode's handler (src/cli/handlers/backup/), loaded only when it runs: `--help` loads no driver.
 */
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { AcxError } from '../../errors.ts';
import type { BackupTarget } from '../../operations/backup.ts';
import type { Compression } from '../../repository/compression.ts';
import type { RetentionPolicy } from '../../repository/retention.ts';
import { BACKUP_TARGETS, COMPRESSIONS } from '../../model/snapshot.ts';
import { globalOptions, type GlobalOptions } from '../output/global-options.ts';

export interface BackupFlags {
  all: boolean;
  postgres: boolean;
  neo4j: boolean;
  qdrant: boolean;
  json: boolean;
  list: boolean;
  /** `--verify ID`: the id; `--verify --all`: true. */
  verify?: string | true;
  cleanup: boolean;
  keep?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  restore?: string;
  target?: BackupTarget[];
  dryRun: boolean;
  force: boolean;
  backupDir: string;
  dataDir: string;
  compression: Compression;
  pgDump: boolean;
  qdrantSnapshots: boolean;
  preHook?: string;
  postHook?: string;
  formatVersion: string;
  encrypt: boolean;
  incremental: boolean;
  since?: string;
}

export type BackupMode = 'list' | 'verify' | 'cleanup' | 'restore' | 'backup';

/** One run of `acx-data backup`, its flags checked: what every mode's handler is given. */
export interface BackupRun {
  mode: BackupMode;
  flags: BackupFlags;
  global: GlobalOptions;
  /** `--backup-dir`, absolute. */
  backupDir: string;
  /** The `--keep*` rules (each undefined when not given). */
  retention: RetentionPolicy;
}

/** Each mode's handler, imported when that mode runs. */
const HANDLERS: Record<BackupMode, () => Promise<(run: BackupRun) => Promise<void>>> = {
  list: async () => (await import('../handlers/backup/list-handler.ts')).handleList,
  verify: async () => (await import('../handlers/backup/verify-handler.ts')).handleVerify,
  cleanup: async () => (await import('../handlers/backup/cleanup-handler.ts')).handleCleanup,
  restore: async () => (await import('../handlers/backup/restore-handler.ts')).handleRestore,
  backup: async () => (await import('../handlers/backup/backup-handler.ts')).handleBackup,
};

/**
 * A repeatable option's parser that keeps the choices check: commander's own check is replaced by any
 * argParser, so `--target nope` would otherwise pass (and a plain backup run).
 */
function collectChoice<T extends string>(choices: readonly T[]) {
  return (value: string, previous: T[] | undefined): T[] => {
    const choice = choices.find((c) => c === value);
    if (choice === undefined) throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    return [...(previous ?? []), choice];
  };
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new AcxError('USAGE', `${name} must be a whole number ≥ 0, got "${value}"`, { subject: name });
  return n;
}

/** The mode the flags ask for; at most one of `--restore`, `--verify`, `--list`, `--cleanup`. */
function modeOf(flags: BackupFlags): BackupMode {
  const modes: Array<[BackupMode, string]> = [];
  if (flags.restore !== undefined) modes.push(['restore', '--restore']);
  if (flags.verify !== undefined) modes.push(['verify', '--verify']);
  if (flags.list) modes.push(['list', '--list']);
  if (flags.cleanup) modes.push(['cleanup', '--cleanup']);
  if (modes.length > 1) throw new AcxError('USAGE', `choose one of ${modes.map(([, f]) => f).join(', ')}`);
  const mode = modes[0]?.[0] ?? 'backup';
  if (mode === 'verify') checkVerify(flags);
  return mode;
}

/** `--verify ID` checks one snapshot, `--verify --all` every snapshot and the repository: never both. */
function checkVerify(flags: BackupFlags): void {
  if (flags.verify === true && !flags.all)
    throw new AcxError('USAGE', '--verify needs a snapshot id, or --all to check every snapshot', {
      hint: 'acx-data backup --verify full_20240201_120000, or --verify --all',
    });
  if (flags.verify !== true && flags.all)
    throw new AcxError('USAGE', `--verify ${flags.verify} --all: name one snapshot or --all, not both`, {
      hint: 'acx-data backup --verify --all checks every snapshot and the repository',
    });
}

function checkFlags(flags: BackupFlags, global: GlobalOptions): BackupRun {
  const mode = modeOf(flags);
  if (flags.since !== undefined && !flags.incremental)
    throw new AcxError('USAGE', '--since needs --incremental (it picks the snapshot the new one builds on)', {
      hint: 'acx-data backup --all --incremental --since 2024-01-01',
    });
  if ((flags.incremental || flags.encrypt) && mode !== 'backup')
    throw new AcxError(
      'USAGE',
      `${flags.incremental ? '--incremental' : '--encrypt'} applies to a new backup, not to --${mode}`,
    );
  if (flags.formatVersion === '1' && (flags.incremental || flags.encrypt))
    throw new AcxError(
      'USAGE',
      `${flags.incremental ? '--incremental' : '--encrypt'} needs format 2 (drop --format-version 1)`,
    );
  return {
    mode,
    flags,
    global,
    backupDir: resolve(flags.backupDir),
    retention: {
      keep: count('--keep', flags.keep),
      daily: count('--keep-daily', flags.keepDaily),
      weekly: count('--keep-weekly', flags.keepWeekly),
      monthly: count('--keep-monthly', flags.keepMonthly),
    },
  };
}

const EXAMPLES = `
Examples (as in the operators' guide):
  acx-data backup --all                       full backup of all databases and the JSON data files
  acx-data backup --postgres                  PostgreSQL only
  acx-data backup --all --incremental         hourly: only what changed since the newest snapshot is read
  acx-data backup --all --incremental --since 2024-01-01
  acx-data backup --list
  acx-data backup --verify full_20240201_120000
  acx-data backup --verify --all              every snapshot, pack and index file of the repository
  acx-data backup --cleanup --keep 5
  acx-data backup --cleanup --keep-daily 7 --keep-weekly 4 --keep-monthly 12
  acx-data backup --restore full_20240201_120000
  acx-data backup --restore full_20240201_120000 --target postgres
  acx-data backup --restore full_20240201_120000 --dry-run`;

export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description(
      'back up, list, verify, clean up and restore snapshots of PostgreSQL, Neo4j, Qdrant and the JSON data files',
    )
    .option(
      '--all',
      'back up everything (the default when no store is named); with --verify: every snapshot and the repository',
      false,
    )
    .option('--postgres', 'back up PostgreSQL', false)
    .option('--neo4j', 'back up Neo4j', false)
    .option('--qdrant', 'back up Qdrant', false)
    .option(
      '--json',
      "back up the application's JSON data files under --data-dir (not machine output: see --format json)",
      false,
    )
    .option('--list', 'list the snapshots', false)
    .option(
      '--verify [id]',
      're-hash and decode every file of a snapshot (with --all: of every snapshot, and every pack and index of the repository); exits 6 if anything is wrong',
    )
    .option('--cleanup', 'delete old snapshots by the --keep rules (default --keep 5)', false)
    .option('--keep <n>', 'with --cleanup: keep the N newest snapshots')
    .option('--keep-daily <n>', 'with --cleanup: keep the newest snapshot of each of the last N days')
    .option('--keep-weekly <n>', 'with --cleanup: keep the newest snapshot of each of the last N weeks')
    .option('--keep-monthly <n>', 'with --cleanup: keep the newest snapshot of each of the last N months')
    .option('--restore <id>', 'restore a snapshot (an id, or a path relative to --backup-dir)')
    .addOption(
      new Option('--target <store>', 'with --restore: only this store (repeatable)')
        .choices(BACKUP_TARGETS)
        .argParser(collectChoice(BACKUP_TARGETS)),
    )
    .option('--dry-run', 'with --restore or --cleanup: print what would happen and change nothing', false)
    .option(
      '--force',
      'with --restore: replace stores that hold data (a safety backup of them is taken first)',
      false,
    )
    .option('--backup-dir <dir>', 'where snapshots are kept', join('data', 'backups'))
    .option('--data-dir <dir>', "the application's data directory (for --json)", 'data')
    .option(
      '--incremental',
      'build on the newest snapshot: stores that can tell what is unchanged are not read again (design §11.8)',
      false,
    )
    .option(
      '--since <date>',
      'with --incremental: build on the newest verified snapshot taken at or before this date or ISO time',
    )
    .option(
      '--encrypt',
      'create the repository encrypted (key from ACX_REPOSITORY_PASSWORD, …_PASSWORD_FILE or ACX_REPOSITORY_KEY_FILE)',
      false,
    )
    .addOption(
      new Option(
        '--format-version <n>',
        'repository format of new snapshots (1: readable by releases before 2)',
      )
        .choices(['1', '2'])
        .default('2'),
    )
    .addOption(
      new Option('--compression <kind>', 'compression of new snapshots')
        .choices(COMPRESSIONS)
        .default('zstd'),
    )
    .option('--no-pg-dump', 'use the built-in PostgreSQL schema dump even when pg_dump is installed')
    .option(
      '--qdrant-snapshots',
      "also store Qdrant's own collection snapshots (and restore from them)",
      false,
    )
    .option('--pre-hook <cmd>', 'run this shell command before the stores are read (e.g. to stop writers)')
    .option(
      '--post-hook <cmd>',
      'run this shell command after the stores are read, even if the backup failed',
    )
    .addHelpText('after', EXAMPLES)
    .action(async (flags: BackupFlags, command: Command) => {
      const run = checkFlags(flags, globalOptions(command));
      const handle = await HANDLERS[run.mode]();
      await handle(run);
    });
}
