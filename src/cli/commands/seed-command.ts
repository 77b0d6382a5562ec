/**
 * `acx-data seed`: fills the stores with the deterministic demo dataset. Declares the flags and checks
 * them; the seeding is src/cli/handlers/seed-handler.ts, loaded only when it runs.
 */
import type { Command } from 'commander';
import { AcxError } from '../../errors.ts';
import type { LabelScheme } from '../../model/labels.ts';
import { globalOptions, type GlobalOptions } from '../output/global-options.ts';
import { labelSchemeOption } from '../options.ts';
import { isCheckOnly } from '../check-only.ts';

export interface SeedFlags {
  scale: string;
  seed: string;
  force: boolean;
  schemaOnly: boolean;
  labelScheme: LabelScheme;
  batchSize: string;
}

/** One run of `acx-data seed`, its numbers checked. */
export interface SeedRun {
  flags: SeedFlags;
  global: GlobalOptions;
  scale: number;
  seed: number;
  batchSize: number;
}

function parsePositive(name: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new AcxError(
      'USAGE',
      `${name} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`,
      { subject: name },
    );
  }
  return n;
}

export function registerSeedCommand(program: Command): void {
  program
    .command('seed')
    .description('fill PostgreSQL, Neo4j and Qdrant with a deterministic AutoCognitix demo dataset')
    .option(
      '--scale <n>',
      'dataset size; 1 ≈ production (7 000 DTC codes, 27 000 graph nodes, 35 000 vectors)',
      '1',
    )
    .option('--seed <n>', 'random seed: the same seed gives the same data', '1')
    .option('--force', 'empty non-empty databases first (deletes their data)', false)
    .option(
      '--schema-only',
      "create only the application's empty schema (tables, constraints, the collection), e.g. before an import",
      false,
    )
    .addOption(labelSchemeOption())
    .option('--batch-size <n>', 'records per write batch (Neo4j)', '2000')
    .action(async (flags: SeedFlags, command: Command) => {
      const run: SeedRun = {
        flags,
        global: globalOptions(command),
        scale: parsePositive('--scale', flags.scale, false),
        seed: parsePositive('--seed', flags.seed, true),
        batchSize: parsePositive('--batch-size', flags.batchSize, true),
      };
      if (isCheckOnly(command)) return;
      const { handleSeed } = await import('../handlers/seed-handler.ts');
      await handleSeed(run);
    });
}
