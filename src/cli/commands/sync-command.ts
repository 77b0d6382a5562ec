/**
 * `acx-data sync`: the guide's data_sync.py — the same direction flags, `--dry-run`, `--force`,
 * `--batch-size`, `--verify [--report FILE]` — plus `--prune` (docs/design.md §10). Declares the flags
 * and checks them; the sync itself is src/cli/handlers/sync-handler.ts, loaded only when it runs.
 */
import type { Command } from 'commander';
import { AcxError } from '../../errors.ts';
import type { LabelScheme } from '../../model/labels.ts';
import type { SyncDirection } from '../../operations/sync/sync.ts';
import { globalOptions, type GlobalOptions } from '../output/global-options.ts';
import { labelSchemeOption, lockWaitOption } from '../options.ts';
import { isCheckOnly } from '../check-only.ts';

export interface SyncFlags {
  all: boolean;
  postgresNeo4j: boolean;
  postgresQdrant: boolean;
  neo4jPostgres: boolean;
  translations: boolean;
  dryRun: boolean;
  force: boolean;
  prune: boolean;
  batchSize: string;
  verify: boolean;
  report?: string;
  dataDir: string;
  labelScheme: LabelScheme;
  /** `--lock-wait`, parsed: milliseconds. */
  lockWait?: number;
}

/** One run of `acx-data sync`, its flags checked. */
export interface SyncRun {
  flags: SyncFlags;
  global: GlobalOptions;
  directions: SyncDirection[];
  batchSize: number;
}

const DIRECTION_FLAGS: [keyof SyncFlags, SyncDirection][] = [
  ['postgresNeo4j', 'postgres-neo4j'],
  ['postgresQdrant', 'postgres-qdrant'],
  ['neo4jPostgres', 'neo4j-postgres'],
  ['translations', 'translations'],
];

export function checkSyncFlags(flags: SyncFlags, global: GlobalOptions): SyncRun {
  const directions = DIRECTION_FLAGS.filter(([flag]) => flags.all || flags[flag]).map(([, d]) => d);
  if (flags.report !== undefined && !flags.verify)
    throw new AcxError('USAGE', '--report writes the --verify report: add --verify');
  if (directions.length === 0 && !flags.verify)
    throw new AcxError(
      'USAGE',
      'name what to sync: --all, --postgres-neo4j, --postgres-qdrant, --neo4j-postgres, --translations, or check with --verify',
    );
  if (directions.length === 0 && (flags.dryRun || flags.force || flags.prune))
    throw new AcxError(
      'USAGE',
      '--dry-run, --force and --prune apply to a sync direction: name one (e.g. --all)',
    );
  if (flags.lockWait !== undefined && (directions.length === 0 || flags.dryRun))
    throw new AcxError(
      'USAGE',
      '--lock-wait applies to a sync that writes (a direction without --dry-run): only those take the sync lock',
      { hint: 'acx-data sync --all --force --lock-wait 2h' },
    );
  const batchSize = Number(flags.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    throw new AcxError(
      'USAGE',
      `--batch-size must be a whole number from 1 to 10000, got ${flags.batchSize}`,
    );
  return { flags, global, directions, batchSize };
}

export function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description('bring Neo4j and Qdrant in step with PostgreSQL (and back), and verify the three agree')
    .option(
      '--all',
      'every direction, in this order: --neo4j-postgres, --translations, --postgres-neo4j, --postgres-qdrant',
      false,
    )
    .option('--postgres-neo4j', 'PostgreSQL dtc_codes → Neo4j DTC nodes and RELATED_TO relationships', false)
    .option(
      '--postgres-qdrant',
      'PostgreSQL dtc_codes → Qdrant points of autocognitix, with embeddings',
      false,
    )
    .option(
      '--neo4j-postgres',
      'Neo4j DTC nodes → dtc_codes rows PostgreSQL lacks (PostgreSQL wins otherwise)',
      false,
    )
    .option(
      '--translations',
      'translation cache → description_hu in all three stores (re-embeds those points)',
      false,
    )
    .option('--dry-run', 'compare and count what would be written; write nothing', false)
    .option(
      '--force',
      'also rewrite records whose synced content differs (default: create missing only)',
      false,
    )
    .option('--prune', 'delete records only the target holds (with --dry-run: list them)', false)
    .option('--batch-size <n>', 'codes read, compared and written together, in every direction', '100')
    .option('--verify', 'compare the three stores field by field; exit 10 when they differ', false)
    .option('--report <file>', 'write the --verify report as JSON (complete, sorted lists)')
    .option('--data-dir <dir>', "the application's data directory (dtc_codes/translation_cache.json)", 'data')
    .addOption(labelSchemeOption())
    .addOption(lockWaitOption())
    .addHelpText(
      'after',
      `
PostgreSQL is the source of truth. Without --force only missing records are created; with --force
records whose content differs are rewritten too; equal records are never written, so a second run
writes nothing. Records only in the target are reported, never deleted without --prune.
PostgreSQL → Qdrant needs an embedding provider (EMBEDDING_PROVIDER=local|http; README, "Embeddings").
A sync that writes holds sync.lock in the state directory (ACX_STATE_DIR): a second one exits 8 (LOCKED)
naming the holder, or with --lock-wait DURATION waits for it first.

Examples (as in the operators' guide):
  acx-data sync --all
  acx-data sync --postgres-neo4j
  acx-data sync --postgres-qdrant
  acx-data sync --neo4j-postgres
  acx-data sync --translations
  acx-data sync --all --dry-run
  acx-data sync --all --force
  acx-data sync --all --batch-size 500
  acx-data sync --verify
  acx-data sync --verify --report /path/to/report.json
  acx-data sync --postgres-neo4j --postgres-qdrant --force
  acx-data sync --all --force --lock-wait 2h   (the weekly run: waits for a manual sync to end)`,
    )
    .action(async (flags: SyncFlags, command: Command) => {
      const run = checkSyncFlags(flags, globalOptions(command));
      if (isCheckOnly(command)) return;
      const { handleSync } = await import('../handlers/sync-handler.ts');
      await handleSync(run);
    });
}
