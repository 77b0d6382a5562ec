/**
 * Builds the published package's JavaScript: src/*.ts → dist/*.js with tsc, plus the non-TypeScript files
 * src/ reads at run time (the PostgreSQL schema). Run by `npm pack` (prepack); a checkout never needs it,
 * since Node runs the sources there (docs/decisions/0018-node-24-type-stripping-and-a-built-package.md).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const built = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (built.status !== 0) {
  console.error('build: tsc failed (see above); dist/ is incomplete and was removed');
  rmSync(dist, { recursive: true, force: true });
  process.exit(1);
}

let assets = 0;
for (const entry of readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(dist, relative(join(root, 'src'), from)));
  assets += 1;
}
console.log(
  `build: dist/ written (${assets} asset${assets === 1 ? '' : 's'} copied) from ${relative(process.cwd(), root) || '.'}`,
);
