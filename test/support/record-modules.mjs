// Preload for `node --import ./test/support/record-modules.mjs`: when ACX_RECORD_MODULES names a file,
// every module the process loads is appended to it, one per line: each ES module URL as the loader
// resolves it (recorded by record-modules-hooks.mjs on the loader thread) and, when the process exits,
// every CommonJS file in require.cache (packages such as pg are CommonJS, also when imported).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import process from 'node:process';

const file = process.env.ACX_RECORD_MODULES;
if (file) {
  register('./record-modules-hooks.mjs', import.meta.url, { data: { file } });
  process.on('exit', () => {
    const cjs = Object.keys(createRequire(import.meta.url).cache);
    appendFileSync(file, cjs.map((path) => `${path}\n`).join(''));
  });
}
