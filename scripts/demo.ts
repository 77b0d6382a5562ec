/**
 * `npm run demo`: starts the local stack if needed, then fills it with the scale-1 demo dataset and
 * prints the per-store summary. The demo stack is the project's own (`.stack/`), so it is emptied first
 * (`--force`) without asking.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stackEnv, stackUp } from './stack/stack.ts';

const bin = fileURLToPath(new URL('../bin/acx-data.js', import.meta.url));
const scale = process.env.ACX_DEMO_SCALE ?? '1';

function step(title: string, args: string[], env: NodeJS.ProcessEnv): void {
  console.error(`\n== ${title}\n$ acx-data ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`demo: "acx-data ${args.join(' ')}" failed with exit code ${result.status ?? 'signal'}`);
    process.exit(result.status ?? 1);
  }
}

console.error('== starting the local stack (npm run stack:up)');
await stackUp();
const env = { ...process.env, ...stackEnv() };
step(`seeding demo data at scale ${scale}`, ['seed', '--scale', scale, '--seed', '1', '--force'], env);
console.error(
  '\nThe stack holds the demo data. Try it from a shell prepared with: eval "$(npm run -s stack:env)"',
);
