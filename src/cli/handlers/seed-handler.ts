/** `acx-data seed`: seeds all three stores, prints the inventory, and fails when the stores disagree. */
import { AcxError } from '../../errors.ts';
import { labelMap } from '../../model/labels.ts';
import { openAllStores } from '../../operations/open-stores.ts';
import { seedStores } from '../../operations/seed.ts';
import type { SeedRun } from '../commands/seed-command.ts';
import { printResult } from '../output/global-options.ts';
import { createReporter } from '../output/reporters.ts';
import { openRunStores } from './run-stores.ts';
import { formatSeed } from '../output/seed-text.ts';

export async function handleSeed({ flags, global, scale, seed, batchSize }: SeedRun): Promise<void> {
  const reporter = createReporter(global);
  const stores = await openRunStores(reporter, (options) => openAllStores(process.env, options));
  try {
    const summary = await seedStores(stores, {
      scale,
      seed,
      force: flags.force,
      schemaOnly: flags.schemaOnly,
      labels: labelMap(flags.labelScheme),
      batchSize,
      reporter,
    });
    reporter.close();
    printResult(global, summary, formatSeed(summary));
    if (summary.inventory.agreement.some((a) => !a.agrees))
      throw new AcxError('INCOMPLETE', 'the stores disagree after seeding (see the table above)');
  } finally {
    reporter.close();
    await stores.close();
  }
}
