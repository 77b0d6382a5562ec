/**
 * Closed sets that flags accept, declared here because the modules that own them load database drivers
 * and compressors, which declaring the flags (and `--help`) must not. Each list is held to its owner:
 * the compiler refuses a value the owner lacks, or an owner's value missing here, and
 * test/unit/cli-choices.test.ts holds the two lists equal, order included.
 */
import type { BackupTarget } from '../operations/backup.ts';
import type { Compression } from '../repository/compression.ts';

/** `backup --target`: operations/backup.ts BACKUP_TARGETS. */
export const BACKUP_TARGET_CHOICES = [
  'postgres',
  'neo4j',
  'qdrant',
  'json',
] as const satisfies readonly BackupTarget[];

/** `backup --compression`: repository/compression.ts COMPRESSIONS. */
export const COMPRESSION_CHOICES = ['zstd', 'gzip'] as const satisfies readonly Compression[];

// An owner's value missing above makes one of these assignments fail to compile.
const _everyTarget: ReadonlyArray<(typeof BACKUP_TARGET_CHOICES)[number]> = [] as BackupTarget[];
const _everyCompression: ReadonlyArray<(typeof COMPRESSION_CHOICES)[number]> = [] as Compression[];
