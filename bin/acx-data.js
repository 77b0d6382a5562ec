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

// The data commands run with a bounded V8 heap sizing (docs/decisions/0020-v8-heap-sizing-for-data-commands.md,
// 0021-gc-and-malloc-settings-for-data-commands.md): V8 reads these only when it starts, and glibc its malloc
// settings, so the process replaces itself once with them (same pid, signals and exit code unchanged). Not
// for --version / --help, nor when the operator set a heap size. The malloc settings the re-execution adds
// are taken out of the environment again once read, so hooks and child processes never see them.
const HEAP_FLAGS = ['--max-semi-space-size=4', '--max-old-space-size=1024', '--heap-growing-percent=150'];
const MALLOC_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '1048576' };
const ADDED_ENV = 'ACX_REEXEC_ADDED_ENV';
const QUICK = new Set([undefined, '--version', '-V', '--help', '-h', 'help']);
const sized = (text) => /--max-(semi|old)-space-size/.test(text);
if (
  typeof process.execve === 'function' &&
  !QUICK.has(process.argv[2]) &&
  !sized(process.env.NODE_OPTIONS ?? '') &&
  !process.execArgv.some(sized)
) {
  const added = Object.keys(MALLOC_ENV).filter((name) => process.env[name] === undefined);
  process.execve(
    process.execPath,
    [process.execPath, ...HEAP_FLAGS, ...process.execArgv, ...process.argv.slice(1)],
    {
      ...process.env,
      ...Object.fromEntries(added.map((name) => [name, MALLOC_ENV[name]])),
      [ADDED_ENV]: added.join(','),
    },
  );
}
for (const name of (process.env[ADDED_ENV] ?? '').split(','))
  if (name in MALLOC_ENV) delete process.env[name];
delete process.env[ADDED_ENV];

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
