/** What the backup and restore handlers both derive from the flags. */
import { join } from 'node:path';
import type { BackupOptions, BackupTarget } from '../../../operations/backup.ts';
import type { StoreName } from '../../../progress.ts';
import type { BackupRun } from '../../commands/backup-command.ts';

/** The live stores among the targets (`json` is files, not a store). */
export function storesFor(targets: readonly BackupTarget[]): StoreName[] {
  return targets.filter((t): t is StoreName => t !== 'json');
}

/** How new snapshots are written: a backup, and the safety backup a restore with --force takes first. */
export function snapshotSettings({
  flags,
  backupDir,
}: BackupRun): Pick<BackupOptions, 'compression' | 'pgDump' | 'dataDir' | 'excludedDirs' | 'formatVersion'> {
  return {
    compression: flags.compression,
    formatVersion: flags.formatVersion === '1' ? 1 : 2,
    pgDump: flags.pgDump ? 'auto' : 'never',
    dataDir: flags.dataDir,
    // Directories under the data directory that hold no application data: backups (default and chosen) and exports.
    excludedDirs: [backupDir, join(flags.dataDir, 'backups'), join(flags.dataDir, 'exports')],
  };
}
