/**
 * Splits the database projects into CI's two database lanes (`vitest run --shard=I/2`, each lane on its own
 * local stack) by how long each file took, not by vitest's default of equal file counts: the files range from
 * under a second to more than three minutes. `file-durations.json` holds the seconds each file took in a CI
 * run (refresh it with `node scripts/test-durations.ts REPORT.json` from a run's JSON report); a file not in it
 * counts as DEFAULT_SECONDS. Longest first, each file goes to the lane with the least work so far, so both
 * lanes end near the same time and the assignment is the same on every run.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const DEFAULT_SECONDS = 20;

const durations: Record<string, number> = JSON.parse(
  readFileSync(new URL('./file-durations.json', import.meta.url), 'utf8'),
) as Record<string, number>;

export class BalancedSequencer extends BaseSequencer {
  override async shard(files: TestSpecification[]): Promise<TestSpecification[]> {
    const shard = this.ctx.config.shard;
    if (shard === undefined) return files;
    const root = this.ctx.config.root;
    const weighed = files
      .map((spec) => {
        const key = relative(root, spec.moduleId).split('\\').join('/');
        return { spec, key, seconds: durations[key] ?? DEFAULT_SECONDS };
      })
      .sort((a, b) => b.seconds - a.seconds || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const loads = new Array<number>(shard.count).fill(0);
    const mine: TestSpecification[] = [];
    for (const file of weighed) {
      const lane = loads.indexOf(Math.min(...loads));
      loads[lane] = (loads[lane] ?? 0) + file.seconds;
      if (lane === shard.index - 1) mine.push(file.spec);
    }
    return mine;
  }
}
