/**
 * `acx-data backup`: the guide's backup_data.py — back up (default), `--list`, `--verify ID`,
 * `--cleanup`, `--restore ID`. Validates flags, opens what the mode needs, calls one operation and
 * prints its summary.
 */
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { AcxError } from '../../errors.ts';
import type { StoreName } from '../../progress.ts';
import { COMPRESSIONS, type Compression } from '../../repository/compression.ts';
import { Repository } from '../../repository/repository.ts';
import type { RetentionPolicy } from '../../repository/retention.ts';
import { BACKUP_TARGETS, backupStores, type BackupTarget } from '../../operations/backup.ts';
import { cleanupSnapshots } from '../../operations/cleanup.ts';
import { openStores } from '../../operations/open-stores.ts';
import { restoreSnapshot, targetsOf } from '../../operations/restore.ts';
import { verifyAndRecord } from '../../operations/verify.ts';
import { readPostgresSettings } from '../../config/env.ts';
import { createReporter } from '../output/reporters.ts';
import { onInterrupt } from '../interrupt.ts';
import { globalOptions, printResult } from '../output/global-options.ts';
import {
  formatBackup,
  formatCleanup,
  formatList,
  formatRestore,
  formatVerify,
} from '../output/backup-text.ts';

interface BackupFlags {
  all: boolean;
  postgres: boolean;
  neo4j: boolean;
  qdrant: boolean;
  json: boolean;
  list: boolean;
  verify?: string;
  cleanup: boolean;
  keep?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  restore?: string;
  target?: string[];
  dryRun: boolean;
  force: boolean;
  backupDir: string;
  dataDir: string;
  compression: Compression;
  pgDump: boolean;
  qdrantSnapshots: boolean;
  preHook?: string;
  postHook?: string;
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new AcxError('USAGE', `${name} must be a whole number ≥ 0, got "${value}"`, { subject: name });
  return n;
}

function chosenTargets(flags: BackupFlags): BackupTarget[] {
  const named = BACKUP_TARGETS.filter((t) => flags[t]);
  return flags.all || named.length === 0 ? [...BACKUP_TARGETS] : named;
}

/** Directories under the data directory that hold no application data: backups (default and chosen) and exports. */
function notDataDirs(dataDir: string, backupDir: string): string[] {
  return [backupDir, join(dataDir, 'backups'), join(dataDir, 'exports')];
}

function storesFor(targets: readonly BackupTarget[]): StoreName[] {
  return targets.filter((t): t is StoreName => t !== 'json');
}

export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description(
      'back up, list, verify, clean up and restore snapshots of PostgreSQL, Neo4j, Qdrant and the JSON data files',
    )
    .option('--all', 'back up everything (the default when no store is named)', false)
    .option('--postgres', 'back up PostgreSQL', false)
    .option('--neo4j', 'back up Neo4j', false)
    .option('--qdrant', 'back up Qdrant', false)
    .option(
      '--json',
      "back up the application's JSON data files under --data-dir (not machine output: see --format json)",
      false,
    )
    .option('--list', 'list the snapshots', false)
    .option('--verify <id>', 're-hash and decode every file of a snapshot; exits 6 if anything is wrong')
    .option('--cleanup', 'delete old snapshots by the --keep rules (default --keep 5)', false)
    .option('--keep <n>', 'with --cleanup: keep the N newest snapshots')
    .option('--keep-daily <n>', 'with --cleanup: keep the newest snapshot of each of the last N days')
    .option('--keep-weekly <n>', 'with --cleanup: keep the newest snapshot of each of the last N weeks')
    .option('--keep-monthly <n>', 'with --cleanup: keep the newest snapshot of each of the last N months')
    .option('--restore <id>', 'restore a snapshot (an id, or a path relative to --backup-dir)')
    .addOption(
      new Option('--target <store>', 'with --restore: only this store (repeatable)')
        .choices(BACKUP_TARGETS)
        .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    )
    .option('--dry-run', 'with --restore or --cleanup: print what would happen and change nothing', false)
    .option(
      '--force',
      'with --restore: replace stores that hold data (a safety backup of them is taken first)',
      false,
    )
    .option('--backup-dir <dir>', 'where snapshots are kept', join('data', 'backups'))
    .option('--data-dir <dir>', "the application's data directory (for --json)", 'data')
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
    .addHelpText(
      'after',
      `
Examples (as in the operators' guide):
  acx-data backup --all                       full backup of all databases and the JSON data files
  acx-data backup --postgres                  PostgreSQL only
  acx-data backup --list
  acx-data backup --verify full_20240201_120000
  acx-data backup --cleanup --keep 5
  acx-data backup --cleanup --keep-daily 7 --keep-weekly 4 --keep-monthly 12
  acx-data backup --restore full_20240201_120000
  acx-data backup --restore full_20240201_120000 --target postgres
  acx-data backup --restore full_20240201_120000 --dry-run`,
    )
    .action(async (flags: BackupFlags, command: Command) => {
      const global = globalOptions(command);
      const modes = [
        flags.restore !== undefined && '--restore',
        flags.verify !== undefined && '--verify',
        flags.list && '--list',
        flags.cleanup && '--cleanup',
      ].filter(Boolean);
      if (modes.length > 1) throw new AcxError('USAGE', `choose one of ${modes.join(', ')}`);
      const retention: RetentionPolicy = {
        keep: count('--keep', flags.keep),
        daily: count('--keep-daily', flags.keepDaily),
        weekly: count('--keep-weekly', flags.keepWeekly),
        monthly: count('--keep-monthly', flags.keepMonthly),
      };
      const backupDir = resolve(flags.backupDir);
      const reporter = createReporter(global);
      const interrupt = onInterrupt();
      try {
        if (flags.list) {
          // A backup directory that does not exist yet simply holds no snapshots.
          const repository = await Repository.open(backupDir, { create: false }).catch(() => undefined);
          const listing = repository
            ? await repository.list()
            : { snapshots: [], incomplete: [], damaged: [] };
          printResult(
            global,
            listing,
            formatList(listing.snapshots, listing.incomplete, listing.damaged, backupDir),
          );
        } else if (flags.verify !== undefined) {
          const repository = await Repository.open(backupDir, { create: false });
          const summary = await verifyAndRecord(repository, await repository.open(flags.verify), reporter);
          reporter.close();
          printResult(global, summary, formatVerify(summary));
          if (!summary.ok)
            throw new AcxError(
              'INTEGRITY',
              `snapshot ${summary.id} failed verification (${summary.problems.length} problems)`,
              { subject: summary.id },
            );
        } else if (flags.cleanup) {
          const repository = await Repository.open(backupDir, { create: false });
          const summary = await cleanupSnapshots(repository, retention, flags.dryRun, reporter);
          printResult(global, summary, formatCleanup(summary));
        } else if (flags.restore !== undefined) {
          const repository = await Repository.open(backupDir, { create: false });
          const snapshot = await repository.open(flags.restore);
          const targets = (flags.target as BackupTarget[] | undefined) ?? targetsOf(snapshot);
          const stores = await openStores(process.env, storesFor(targets));
          try {
            const summary = await restoreSnapshot({
              repository,
              snapshot,
              targets,
              stores,
              dryRun: flags.dryRun,
              force: flags.force,
              qdrantSnapshots: flags.qdrantSnapshots,
              dataDir: flags.dataDir,
              reporter,
              signal: interrupt.signal,
              safetyBackup: {
                compression: flags.compression,
                postgresUrl: readPostgresSettings()?.url,
                pgDump: flags.pgDump ? 'auto' : 'never',
                qdrantSnapshots: false,
                dataDir: flags.dataDir,
                excludedDirs: notDataDirs(flags.dataDir, backupDir),
                lock: true,
              },
            });
            reporter.close();
            printResult(global, summary, formatRestore(summary));
          } catch (error) {
            throw interrupt.explain(
              error,
              'each store is either fully restored or as it was before its restore',
            );
          } finally {
            await stores.close();
          }
        } else {
          const targets = chosenTargets(flags);
          const stores = await openStores(process.env, storesFor(targets));
          try {
            const repository = await Repository.open(backupDir, { create: true });
            const summary = await backupStores({
              targets,
              stores,
              repository,
              compression: flags.compression,
              postgresUrl: readPostgresSettings()?.url,
              pgDump: flags.pgDump ? 'auto' : 'never',
              qdrantSnapshots: flags.qdrantSnapshots,
              dataDir: flags.dataDir,
              excludedDirs: notDataDirs(flags.dataDir, backupDir),
              preHook: flags.preHook,
              postHook: flags.postHook,
              reporter,
              signal: interrupt.signal,
            });
            reporter.close();
            printResult(global, summary, formatBackup(summary));
          } catch (error) {
            throw interrupt.explain(error, 'no snapshot was written');
          } finally {
            await stores.close();
          }
        }
      } finally {
        reporter.close();
        interrupt.dispose();
      }
    });
}
