import type { Command } from 'commander';
import { AcxError } from '../../errors.ts';
import { labelMap, type LabelScheme } from '../../model/labels.ts';
import { openAllStores } from '../../operations/open-stores.ts';
import { seedStores, type SeedSummary } from '../../operations/seed.ts';
import { createReporter } from '../output/reporters.ts';
import { globalOptions, printResult } from '../output/global-options.ts';
import { labelSchemeOption } from '../options.ts';

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

function formatSummary(summary: SeedSummary): string {
  const lines = [
    `Seeded scale ${summary.scale} with seed ${summary.seed}.`,
    '',
    'PostgreSQL rows per table:',
  ];
  for (const [table, n] of Object.entries(summary.inventory.postgres))
    lines.push(`  ${table.padEnd(24)} ${n}`);
  lines.push('', 'Neo4j nodes per label:');
  for (const [label, n] of Object.entries(summary.inventory.neo4j.labels))
    lines.push(`  ${label.padEnd(24)} ${n}`);
  lines.push('', 'Neo4j relationships per type:');
  for (const [type, n] of Object.entries(summary.inventory.neo4j.types))
    lines.push(`  ${type.padEnd(24)} ${n}`);
  lines.push('', 'Qdrant points per collection:');
  for (const [name, n] of Object.entries(summary.inventory.qdrant.collections))
    lines.push(`  ${name.padEnd(24)} ${n}`);
  for (const [type, n] of Object.entries(summary.inventory.qdrant.types))
    lines.push(`    type=${type.padEnd(19)} ${n}`);
  lines.push('', 'Across stores:            postgres    neo4j   qdrant');
  for (const a of summary.inventory.agreement) {
    const cell = (n: number | undefined) => (n === undefined ? '-' : String(n)).padStart(8);
    lines.push(
      `  ${a.entity.padEnd(22)} ${cell(a.postgres)} ${cell(a.neo4j)} ${cell(a.qdrant)}   ${a.agrees ? 'agree' : 'DISAGREE'}`,
    );
  }
  const s = summary.seconds;
  lines.push(
    '',
    `Time: postgres ${s.postgres.toFixed(1)} s, neo4j ${s.neo4j.toFixed(1)} s, qdrant ${s.qdrant.toFixed(1)} s (in parallel)`,
  );
  return lines.join('\n');
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
    .addOption(labelSchemeOption())
    .option('--batch-size <n>', 'records per write batch (Neo4j)', '2000')
    .action(
      async (
        opts: { scale: string; seed: string; force: boolean; labelScheme: LabelScheme; batchSize: string },
        command: Command,
      ) => {
        const global = globalOptions(command);
        const scale = parsePositive('--scale', opts.scale, false);
        const seed = parsePositive('--seed', opts.seed, true);
        const batchSize = parsePositive('--batch-size', opts.batchSize, true);
        const stores = await openAllStores();
        const reporter = createReporter(global);
        try {
          const summary = await seedStores(stores, {
            scale,
            seed,
            force: opts.force,
            labels: labelMap(opts.labelScheme),
            batchSize,
            reporter,
          });
          reporter.close();
          printResult(global, summary, formatSummary(summary));
          if (summary.inventory.agreement.some((a) => !a.agrees)) {
            throw new AcxError('INCOMPLETE', 'the stores disagree after seeding (see the table above)');
          }
        } finally {
          reporter.close();
          await stores.close();
        }
      },
    );
}
