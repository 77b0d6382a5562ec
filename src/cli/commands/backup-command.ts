/**
 * `acx-data backup`: the guide's backup_data.py — back up (default), `--list`, `--verify ID`,
 * `--cleanup`, `--restore ID`, and the cloud modes `--list-cloud`, `--download ID`, `--upload-*` with
 * `--snapshot ID` (design §12.5). Declares the flags, checks them, picks the mode and hands the run to
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
import type { CloudSettings } from '../../storage/cloud-settings.ts';
import { isUrlLocation } from '../../storage/registry.ts';
import { isCheckOnly } from '../check-only.ts';
import { lockWaitOption } from '../options.ts';

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
  uploadS3?: string;
  uploadGcs?: string;
  uploadAzure?: string;
  s3Prefix: string;
  s3Region?: string;
  s3Endpoint?: string;
  s3Sse?: 'AES256' | 'aws:kms';
  s3KmsKeyId?: string;
  gcsKmsKey?: string;
  azureEncryptionScope?: string;
  listCloud?: CloudProvider;
  cloudBucket?: string;
  from?: string;
  download?: string;
  archive?: string;
  snapshot?: string;
  /** `--lock-wait`, parsed: milliseconds. */
  lockWait?: number;
  /** `--restore-test` (with `--verify`). */
  restoreTest: boolean;
}

export const CLOUD_PROVIDERS = ['s3', 'gcs', 'azure'] as const;
export type CloudProvider = (typeof CLOUD_PROVIDERS)[number];

/** A copy of the snapshot to make in the cloud (`--upload-s3/gcs/azure`). */
export interface UploadDestination {
  provider: CloudProvider;
  /** `s3://bucket/prefix`. */
  url: string;
  /** The flag that asked for it, with its value (for the resume hint). */
  flag: string;
}

export type BackupMode = 'list' | 'verify' | 'cleanup' | 'restore' | 'backup' | 'download' | 'upload';

/** One run of `acx-data backup`, its flags checked: what every mode's handler is given. */
export interface BackupRun {
  mode: BackupMode;
  flags: BackupFlags;
  global: GlobalOptions;
  /** `--backup-dir`: an absolute local path or a storage URL (s3://…). */
  backupDir: string;
  /**
   * The repository the mode reads or writes: `--from` when given (restore, verify, list, download),
   * `s3://bucket/prefix` for `--list-cloud`, else `backupDir`.
   */
  repository: string;
  /** `--s3-*`, `--gcs-*`, `--azure-*` settings for cloud locations. */
  cloud: CloudSettings;
  /** `--upload-*`, in the guide's order S3, GCS, Azure. */
  uploads: UploadDestination[];
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
  download: async () => (await import('../handlers/backup/download-handler.ts')).handleDownload,
  upload: async () => (await import('../handlers/backup/upload-handler.ts')).handleUpload,
};

const SCHEMES: Record<CloudProvider, string> = { s3: 's3', gcs: 'gs', azure: 'azure' };

/** `s3://bucket/prefix` for a provider, a bucket (or container) and `--s3-prefix`. */
export function cloudUrl(provider: CloudProvider, bucket: string, prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return `${SCHEMES[provider]}://${bucket}${trimmed === '' ? '' : `/${trimmed}`}`;
}

/** A local path made absolute; a URL (s3://, gs://, azure://, file://, memory://) kept as written. */
function locationOf(value: string): string {
  return isUrlLocation(value) ? value : resolve(value);
}

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
  if (flags.listCloud !== undefined) modes.push(['list', '--list-cloud']);
  if (flags.download !== undefined) modes.push(['download', '--download']);
  if (flags.snapshot !== undefined) modes.push(['upload', '--snapshot']);
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

function uploadsOf(flags: BackupFlags): UploadDestination[] {
  const asked: Array<[CloudProvider, string | undefined, string]> = [
    ['s3', flags.uploadS3, '--upload-s3'],
    ['gcs', flags.uploadGcs, '--upload-gcs'],
    ['azure', flags.uploadAzure, '--upload-azure'],
  ];
  return asked
    .filter((entry): entry is [CloudProvider, string, string] => entry[1] !== undefined)
    .map(([provider, bucket, flag]) => ({
      provider,
      url: cloudUrl(provider, bucket, flags.s3Prefix),
      flag: `${flag} ${bucket}`,
    }));
}

function cloudSettingsOf(flags: BackupFlags): CloudSettings {
  if (flags.s3KmsKeyId !== undefined && flags.s3Sse !== 'aws:kms')
    throw new AcxError('USAGE', '--s3-kms-key-id needs --s3-sse aws:kms', {
      hint: 'acx-data backup --all --upload-s3 BUCKET --s3-sse aws:kms --s3-kms-key-id KEY',
    });
  return {
    s3: {
      region: flags.s3Region,
      endpoint: flags.s3Endpoint,
      sse: flags.s3Sse,
      kmsKeyId: flags.s3KmsKeyId,
    },
    gcs: { kmsKeyName: flags.gcsKmsKey },
    azure: { encryptionScope: flags.azureEncryptionScope },
  };
}

/** The cloud flags' combinations (design §12.5); each refusal names the flag and shows the form. */
function checkCloudFlags(mode: BackupMode, flags: BackupFlags, uploads: UploadDestination[]): void {
  if (flags.listCloud !== undefined && flags.cloudBucket === undefined)
    throw new AcxError('USAGE', `--list-cloud ${flags.listCloud} needs --cloud-bucket`, {
      hint: `acx-data backup --list-cloud ${flags.listCloud} --cloud-bucket my-bucket --s3-prefix backups`,
    });
  if (flags.cloudBucket !== undefined && flags.listCloud === undefined)
    throw new AcxError('USAGE', '--cloud-bucket applies to --list-cloud', {
      hint: 'acx-data backup --list-cloud s3 --cloud-bucket my-bucket',
    });
  if (flags.from !== undefined && !['restore', 'verify', 'list', 'download'].includes(mode))
    throw new AcxError(
      'USAGE',
      '--from names the repository to read: use it with --restore, --verify, --list or --download',
      {
        hint: 'acx-data backup --restore full_20240201_120000 --from s3://my-bucket/backups',
      },
    );
  if (flags.from !== undefined && flags.listCloud !== undefined)
    throw new AcxError('USAGE', '--list-cloud and --from both name the repository to list: give one');
  if (mode === 'download' && flags.from === undefined)
    throw new AcxError('USAGE', `--download ${flags.download} needs --from (where the snapshot is)`, {
      hint: `acx-data backup --download ${flags.download} --from s3://my-bucket/backups`,
    });
  if (flags.archive !== undefined && mode !== 'download')
    throw new AcxError('USAGE', '--archive applies to --download', {
      hint: 'acx-data backup --download full_20240201_120000 --from s3://my-bucket/backups --archive full_20240201_120000.tar.gz',
    });
  if (mode === 'upload' && uploads.length === 0)
    throw new AcxError(
      'USAGE',
      `--snapshot ${flags.snapshot} uploads an existing snapshot: add --upload-s3, --upload-gcs or --upload-azure`,
      {
        hint: `acx-data backup --upload-s3 my-bucket --snapshot ${flags.snapshot}`,
      },
    );
  if (uploads.length > 0 && mode !== 'backup' && mode !== 'upload')
    throw new AcxError(
      'USAGE',
      `${uploads[0]!.flag.split(' ')[0]} copies a new backup (or --snapshot ID) to the cloud, not the result of --${mode}`,
    );
}

function checkFlags(flags: BackupFlags, global: GlobalOptions): BackupRun {
  const mode = modeOf(flags);
  const uploads = uploadsOf(flags);
  if (flags.restoreTest && mode !== 'verify')
    throw new AcxError('USAGE', '--restore-test applies to --verify', {
      hint: 'acx-data backup --verify full_20240201_120000 --restore-test',
    });
  if (flags.lockWait !== undefined && (mode === 'list' || mode === 'verify'))
    throw new AcxError('USAGE', `--lock-wait applies to runs that write the repository, not to --${mode}`, {
      hint: 'acx-data backup --all --incremental --lock-wait 2h',
    });
  checkCloudFlags(mode, flags, uploads);
  const cloud = cloudSettingsOf(flags);
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
  const backupDir = locationOf(flags.backupDir);
  let repository = backupDir;
  if (flags.listCloud !== undefined)
    repository = cloudUrl(flags.listCloud, flags.cloudBucket!, flags.s3Prefix);
  else if (flags.from !== undefined) repository = locationOf(flags.from);
  return {
    mode,
    flags,
    global,
    backupDir,
    repository,
    cloud,
    uploads,
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
  acx-data backup --verify full_20240201_120000 --restore-test   (restore drill into scratch databases)
  acx-data backup --all --incremental --lock-wait 2h   (waits while the daily full holds the lock)
  acx-data backup --cleanup --keep 5
  acx-data backup --cleanup --keep-daily 7 --keep-weekly 4 --keep-monthly 12
  acx-data backup --restore full_20240201_120000
  acx-data backup --restore full_20240201_120000 --target postgres
  acx-data backup --restore full_20240201_120000 --dry-run

Cloud (credentials only from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_DEFAULT_REGION,
GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_CONNECTION_STRING):
  acx-data backup --all --upload-s3 my-backup-bucket
  acx-data backup --all --upload-s3 my-bucket --s3-prefix autocognitix/backups --s3-region eu-central-1
  acx-data backup --all --upload-s3 my-bucket --s3-endpoint https://nyc3.digitaloceanspaces.com
  acx-data backup --all --upload-gcs my-gcs-bucket
  acx-data backup --all --upload-azure my-container
  acx-data backup --upload-s3 my-bucket --snapshot full_20240201_120000   (again, after a failed upload)
  acx-data backup --list-cloud s3 --cloud-bucket my-bucket --s3-prefix backups
  acx-data backup --download full_20240201_120000 --from s3://my-bucket/backups
  acx-data backup --download full_20240201_120000 --from s3://my-bucket/backups --archive full_20240201_120000.tar.gz
  acx-data backup --restore full_20240201_120000 --from s3://my-bucket/backups
  acx-data backup --all --backup-dir s3://my-bucket/repository   (the repository itself in the bucket)

Exit code 8 (LOCKED): another run holds the repository lock (named in the message); with
--lock-wait DURATION the run waits for it first and exits 8 only if it is still held then.`;

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
    .option(
      '--backup-dir <dir>',
      'where snapshots are kept: a folder, or s3://bucket/prefix, gs://bucket/prefix, azure://container/prefix',
      join('data', 'backups'),
    )
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
    .option(
      '--upload-s3 <bucket>',
      'after the backup, copy the snapshot to this S3 bucket (under --s3-prefix)',
    )
    .option(
      '--upload-gcs <bucket>',
      'after the backup, copy the snapshot to this Google Cloud Storage bucket',
    )
    .option(
      '--upload-azure <container>',
      'after the backup, copy the snapshot to this Azure Blob container (created if missing)',
    )
    .option(
      '--s3-prefix <prefix>',
      'key prefix in the bucket, for every provider and --list-cloud',
      'backups',
    )
    .option('--s3-region <region>', 'S3 region (default: AWS_REGION or AWS_DEFAULT_REGION)')
    .option('--s3-endpoint <url>', 'S3-compatible endpoint (MinIO, DigitalOcean Spaces)')
    .addOption(
      new Option('--s3-sse <kind>', 'S3 server-side encryption of every object written').choices([
        'AES256',
        'aws:kms',
      ]),
    )
    .option('--s3-kms-key-id <id>', 'with --s3-sse aws:kms: the KMS key (default: the account key)')
    .option('--gcs-kms-key <name>', 'Google Cloud KMS key for every object written (customer-managed)')
    .option('--azure-encryption-scope <scope>', 'Azure encryption scope for every blob written')
    .addOption(
      new Option('--list-cloud <provider>', 'list the snapshots in a bucket (with --cloud-bucket)').choices(
        CLOUD_PROVIDERS,
      ),
    )
    .option('--cloud-bucket <bucket>', 'with --list-cloud: the bucket or container')
    .option(
      '--from <location>',
      'with --restore, --verify, --list, --download: the repository to read (s3://bucket/prefix, a folder…)',
    )
    .option('--download <id>', 'copy a snapshot from --from into --backup-dir (only what is missing)')
    .option(
      '--archive <file>',
      'with --download: write the snapshot as one .tar.gz instead ("-": standard output)',
    )
    .option('--snapshot <id>', 'with --upload-*: upload this existing snapshot instead of taking a new one')
    .addOption(lockWaitOption())
    .option(
      '--restore-test',
      'with --verify: also restore the snapshot into scratch targets (a new acx_drill_* database, Qdrant collections <name>__drill_*, the empty Neo4j at ACX_DRILL_NEO4J_URI) and compare it with its manifest, then remove them; with --verify --all: the newest snapshot only',
      false,
    )
    .addHelpText('after', EXAMPLES)
    .action(async (flags: BackupFlags, command: Command) => {
      const run = checkFlags(flags, globalOptions(command));
      if (isCheckOnly(command)) return;
      const handle = await HANDLERS[run.mode]();
      await handle(run);
    });
}
