// Preload for `node --import ./test/support/report-process.mjs` (test/unit/cli-reexec.test.ts): when
// ACX_REPORT_PROCESS names a file, the process writes to it when it exits what it ran with: its pid and
// the pid the command started with (the first process sets ACX_REPORT_FIRST_PID, which a re-execution
// inherits), its execArgv, the malloc settings of the environment it started with (/proc/self/environ,
// what glibc read) and those of process.env at exit (what hooks and children inherit).
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.ACX_REPORT_PROCESS;
const NAMES = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'ACX_REEXEC_ADDED_ENV'];
if (file) {
  process.env.ACX_REPORT_FIRST_PID ??= String(process.pid);
  const started = readFileSync('/proc/self/environ', 'utf8').split('\0');
  const startEnv = Object.fromEntries(
    started.map((entry) => entry.split(/=(.*)/s, 2)).filter(([name]) => NAMES.includes(name)),
  );
  process.on('exit', () => {
    writeFileSync(
      file,
      JSON.stringify({
        pid: process.pid,
        firstPid: Number(process.env.ACX_REPORT_FIRST_PID),
        execArgv: process.execArgv,
        startEnv,
        env: Object.fromEntries(NAMES.map((name) => [name, process.env[name]])),
      }),
    );
  });
}
