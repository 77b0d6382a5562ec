#!/usr/bin/env node
// acx-data's entry point (docs/decisions/0018-node-24-type-stripping-and-a-built-package.md).
// In a checkout, Node runs the TypeScript sources itself (type stripping); the published package carries
// them built to JavaScript in dist/, because Node does not strip types under node_modules. A checkout
// has src/ and always runs it, so a dist/ left by `npm pack` can never run stale code.
import { existsSync } from 'node:fs';
import module from 'node:module';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `acx-data: CONFIG: Node.js ${process.versions.node} is too old\n` +
      '  hint: acx-data needs Node.js 22.18 or newer (24 LTS recommended); inside the repository, `npm ci` installs it and `npx acx-data` uses it\n',
  );
  process.exit(2);
}

// The data commands run with a bounded V8 heap sizing (docs/decisions/0020-v8-heap-sizing-for-data-commands.md):
// V8 reads these maxima only when it starts, so the process replaces itself once with them (same pid,
// signals and exit code unchanged). Not for --version / --help, nor when the operator set either flag.
const HEAP_FLAGS = ['--max-semi-space-size=16', '--max-old-space-size=1024'];
const QUICK = new Set([undefined, '--version', '-V', '--help', '-h', 'help']);
const sized = (text) => /--max-(semi|old)-space-size/.test(text);
if (
  typeof process.execve === 'function' &&
  !QUICK.has(process.argv[2]) &&
  !sized(process.env.NODE_OPTIONS ?? '') &&
  !process.execArgv.some(sized)
) {
  process.execve(process.execPath, [
    process.execPath,
    ...HEAP_FLAGS,
    ...process.execArgv,
    ...process.argv.slice(1),
  ]);
}

// Node 22 announces node:sqlite as experimental on every run; operators cannot act on it (Node 24 is silent).
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  const text = typeof warning === 'string' ? warning : warning?.message;
  if (type === 'ExperimentalWarning' && /^SQLite /.test(text ?? '')) return;
  return emitWarning.call(process, warning, ...rest);
};

// Node keeps the compiled code (and, for src/, the type-stripped code) of each file in its compile cache
// (os.tmpdir()/node-compile-cache, keyed by content; NODE_DISABLE_COMPILE_CACHE=1 turns it off): later runs
// skip loading the TypeScript stripper and compiling, which every cron job and monitor call would repeat.
module.enableCompileCache?.();

const source = new URL('../src/cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
