/**
 * Shared helpers of the benchmarks: run a command under `/usr/bin/time -v` (wall clock, CPU, peak RSS),
 * the PostgreSQL connection as PG* variables (the password never goes into argv), the guard that keeps
 * the benchmarks off the main local stack, and machine notes for the result files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, freemem, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalisePostgresUrl, requirePostgresSettings } from '../src/config/env.ts';

export const root = resolve(fileURLToPath(import.meta.url), '../..');
export const acxBin = join(root, 'bin/acx-data.js');
const TIME = '/usr/bin/time';

export interface Measured {
  /** What was run, for the report (argv without any secret). */
  command: string;
  exitCode: number;
  /** Wall clock seconds as reported by `time -v` ("Elapsed (wall clock) time"). */
  seconds: number;
  userSeconds: number;
  systemSeconds: number;
  /** "Maximum resident set size" of the process (and of its largest waited-for child), in KiB. */
  maxRssKiB: number;
  stdout: string;
  stderrTail: string;
}

/** `h:mm:ss` or `m:ss.cc` → seconds. */
export function parseElapsed(text: string): number {
  return text
    .trim()
    .split(':')
    .reduce((total, part) => total * 60 + Number(part), 0);
}

export function parseTimeV(
  report: string,
): Pick<Measured, 'seconds' | 'userSeconds' | 'systemSeconds' | 'maxRssKiB'> {
  const field = (label: string): string => {
    const line = report.split('\n').find((l) => l.trim().startsWith(label));
    if (!line) throw new Error(`"${label}" missing from /usr/bin/time -v output:\n${report}`);
    return line.slice(line.lastIndexOf(': ') + 2).trim();
  };
  return {
    seconds: parseElapsed(field('Elapsed (wall clock) time')),
    userSeconds: Number(field('User time (seconds)')),
    systemSeconds: Number(field('System time (seconds)')),
    maxRssKiB: Number(field('Maximum resident set size (kbytes)')),
  };
}

/**
 * Runs `file args…` under `/usr/bin/time -v -o <tmp>` (so the child's own stderr stays separate), with
 * `env`, capturing stdout. Throws when the command fails unless `allowFail`.
 */
export async function measure(
  file: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; label?: string; allowFail?: boolean },
): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'acx-bench-time-'));
  const reportFile = join(dir, 'time.txt');
  const command = options.label ?? [file, ...args].join(' ');
  process.stderr.write(`  $ ${command}\n`);
  try {
    const child = spawn(TIME, ['-v', '-o', reportFile, file, ...args], {
      cwd: root,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-4000);
    });
    const exitCode = await new Promise<number>((done, fail) => {
      child.once('error', fail);
      child.once('close', (code) => done(code ?? 1));
    });
    const measured: Measured = {
      command,
      exitCode,
      ...parseTimeV(readFileSync(reportFile, 'utf8')),
      stdout: Buffer.concat(out).toString('utf8'),
      stderrTail: err.trim().split('\n').slice(-15).join('\n'),
    };
    if (exitCode !== 0 && !options.allowFail) {
      throw new Error(`"${command}" exited with ${exitCode}:\n${measured.stderrTail}`);
    }
    process.stderr.write(
      `    ${measured.seconds.toFixed(2)} s wall, peak RSS ${(measured.maxRssKiB / 1024).toFixed(0)} MiB\n`,
    );
    return measured;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `acx-data <args>` through the repository's bin (Node runs the TypeScript itself), measured. */
export function measureAcx(args: string[], env: NodeJS.ProcessEnv, allowFail = false): Promise<Measured> {
  return measure(process.execPath, [acxBin, ...args], {
    env,
    label: `acx-data ${args.join(' ')}`,
    allowFail,
  });
}

/** The PostgreSQL connection of DATABASE_URL as libpq variables, so pg_dump/pg_restore get no password in argv. */
export function libpqEnv(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; database: string } {
  const url = new URL(normalisePostgresUrl(requirePostgresSettings(env).url));
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const pg: NodeJS.ProcessEnv = {
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username),
    PGDATABASE: database,
  };
  if (url.password) pg.PGPASSWORD = decodeURIComponent(url.password);
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode) pg.PGSSLMODE = sslmode;
  return { env: { ...env, ...pg }, database };
}

/**
 * The benchmarks seed with --force and empty the stores: refuse to run against the main local stack's
 * default ports unless explicitly allowed. The stack in use is named in the report.
 */
export function guardStack(env: NodeJS.ProcessEnv, allowDefaultStack: boolean): string {
  if (!env.DATABASE_URL) {
    throw new Error(
      'DATABASE_URL is not set: start a benchmark stack and eval its env first (see bench/README.md)',
    );
  }
  const pgPort = new URL(normalisePostgresUrl(env.DATABASE_URL)).port || '5432';
  const neo4jPort = new URL(env.NEO4J_URI ?? 'bolt://localhost:7687').port || '7687';
  const qdrant = env.QDRANT_URL ?? `http://${env.QDRANT_HOST ?? 'localhost'}:${env.QDRANT_PORT ?? '6333'}`;
  const qdrantPort = new URL(qdrant).port || '80';
  const onDefault = pgPort === '5432' || neo4jPort === '7687' || qdrantPort === '6333';
  if (onDefault && !allowDefaultStack) {
    throw new Error(
      `the stores are on a default port (PostgreSQL ${pgPort}, Neo4j ${neo4jPort}, Qdrant ${qdrantPort}); ` +
        'the benchmark overwrites them. Use a separate stack (bench/README.md) or pass --allow-default-stack',
    );
  }
  return `PostgreSQL :${pgPort}, Neo4j :${neo4jPort}, Qdrant ${qdrant}`;
}

/** The stack's state directory, as scripts/stack/stack.ts chooses it. */
export function stackDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.ACX_STACK_DIR?.trim() || join(root, '.stack'));
}

/** Resident set size of a pid in KiB (`ps -o rss=`), or undefined when it is not running. */
export function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const result = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  const value = Number(result.stdout.trim());
  return result.status === 0 && value > 0 ? value : undefined;
}

export function pidFromFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function firstLine(file: string, args: string[]): string {
  const result = spawnSync(file, args, { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n')[0] ?? '(unknown)';
}

export interface MachineNotes {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiBAtStart: number;
  loadAverageAtStart: string;
  /** Set just before the report is written. */
  loadAverageAtEnd?: string;
  node: string;
  pgDump: string;
  pgRestore: string;
  java: string;
  stack: string;
}

/** The 1, 5 and 15 minute load averages. */
export const loadAverage = (): string =>
  readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

export function machineNotes(stack: string): MachineNotes {
  const load = loadAverage();
  return {
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    freeMemoryGiBAtStart: Math.round(freemem() / 2 ** 30),
    loadAverageAtStart: load,
    node: process.version,
    pgDump: firstLine('pg_dump', ['--version']),
    pgRestore: firstLine('pg_restore', ['--version']),
    java: firstLine('java', ['-version']),
    stack,
  };
}

export function machineNotesMarkdown(notes: MachineNotes): string {
  return [
    `- Date: ${notes.date}`,
    `- Machine: ${notes.cpus} cores (${notes.cpuModel}), ${notes.memoryGiB} GiB RAM ` +
      `(${notes.freeMemoryGiBAtStart} GiB free at start), load average at start ${notes.loadAverageAtStart}` +
      (notes.loadAverageAtEnd ? `, at end ${notes.loadAverageAtEnd}. ` : '. ') +
      'The cores are shared with other work, so absolute timings are noisy; the ratios between tools ' +
      'measured in the same run are the meaningful figures.',
    `- Tools: Node ${notes.node}; ${notes.pgDump}; ${notes.pgRestore}; ${notes.java} (Neo4j).`,
    `- Stack: local, on this machine (${notes.stack}): PostgreSQL 15 (fsync off), Neo4j 5.26 Community ` +
      '(embedded launcher, 2 GB heap, 512 MB page cache), and **the Qdrant test double** ' +
      '(test/qdrant-double/, a Node process), not a real Qdrant: Qdrant figures measure acx-data ' +
      "against the double's REST API, not Qdrant's own speed.",
  ].join('\n');
}

/** Formats written result files with the repository's Prettier, so that `npm run format:check` stays green. */
export function prettierWrite(paths: string[]): void {
  const prettier = join(root, 'node_modules/prettier/bin/prettier.cjs');
  const result = spawnSync(process.execPath, [prettier, '--log-level', 'warn', '--write', ...paths], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0) console.error(`prettier could not format ${paths.join(', ')}: ${result.stderr}`);
}

export const today = (): string => new Date().toISOString().slice(0, 10);
export const mib = (kib: number | undefined): string => (kib === undefined ? '–' : (kib / 1024).toFixed(0));
export const secs = (s: number | undefined): string => (s === undefined ? '–' : s.toFixed(s < 10 ? 2 : 1));
export const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? '–' : (a / b).toFixed(2);

export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `--name value` from argv. */
export function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i === -1) return undefined;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

/**
 * A private Qdrant test double (test/qdrant-double/) on `port`, in memory, once it says it is ready.
 * `nodeArgs` go before the script (e.g. `--cpu-prof`).
 */
export async function startQdrantDouble(
  port: number,
  dataDir: string,
  nodeArgs: string[] = [],
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      join(root, 'test/qdrant-double/main.ts'),
      '--port',
      String(port),
      '--data-dir',
      dataDir,
      '--no-persist',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.once('exit', (code) => reject(new Error(`the double exited with ${code} before it was ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes('qdrant-double ready')) resolve();
    });
  });
  return child;
}
