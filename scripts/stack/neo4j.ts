/**
 * Neo4j 5.26 Community from Maven Central (see docs/decisions/0002-neo4j-from-maven.md): the Maven
 * project in `stack/neo4j/` resolves Neo4j (and APOC core) and builds a small launcher that starts the
 * DBMS with Bolt on 127.0.0.1 and authentication on. State (store, pid, log) lives under `.stack/neo4j/`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import neo4j from 'neo4j-driver';
import type { StackContext, StackService } from './service.ts';

/**
 * One Neo4j instance of the stack: the application's (`neo4j`), and the empty one restore drills write
 * into (`neo4j-drill`, design §13.7: Community Edition holds one user database, so a drill needs its own
 * server). Both run the same Maven-built install, each with its own home (data) under its state folder.
 */
interface Neo4jInstance {
  name: string;
  port: () => string;
  heap: () => string;
  /** The environment variables that point at it. */
  env: (uri: string, user: string, password: string) => Record<string, string>;
}

const MAIN: Neo4jInstance = {
  name: 'neo4j',
  port: () => process.env.ACX_NEO4J_PORT ?? '7687',
  heap: () => process.env.ACX_NEO4J_HEAP ?? '2g',
  env: (uri, user, password) => ({ NEO4J_URI: uri, NEO4J_USER: user, NEO4J_PASSWORD: password }),
};

/** The drill's Neo4j: on ACX_DRILL_NEO4J_PORT (default the main port + 1), small heap and page cache. */
const DRILL: Neo4jInstance = {
  name: 'neo4j-drill',
  port: () => process.env.ACX_DRILL_NEO4J_PORT ?? String(Number(MAIN.port()) + 1),
  heap: () => process.env.ACX_DRILL_NEO4J_HEAP ?? '512m',
  env: (uri, user, password) => ({
    ACX_DRILL_NEO4J_URI: uri,
    ACX_DRILL_NEO4J_USER: user,
    ACX_DRILL_NEO4J_PASSWORD: password,
  }),
};

/** A service's context with the instance it runs. */
type Neo4jContext = StackContext & { instance: Neo4jInstance };

const password = (): string => process.env.ACX_NEO4J_PASSWORD ?? 'acxdata-local';
const uri = (ctx: Neo4jContext): string => `bolt://127.0.0.1:${ctx.instance.port()}`;
const USER = 'neo4j';
const READY_LINE = 'acx-neo4j ready';
const MAIN_CLASS = 'dev.acxdata.stack.Neo4jLauncher';
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;

const isRoot = (): boolean => process.getuid?.() === 0;
const projectDir = (ctx: StackContext): string => join(ctx.root, 'stack', 'neo4j');
const targetDir = (ctx: StackContext): string => join(projectDir(ctx), 'target');
const buildStamp = (ctx: StackContext): string => join(targetDir(ctx), 'acx-build.stamp');
const homeDir = (ctx: StackContext): string => join(ctx.stateDir, 'home');
const pidFile = (ctx: StackContext): string => join(ctx.stateDir, 'neo4j.pid');
const logFile = (ctx: StackContext): string => join(ctx.stateDir, 'neo4j.log');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function hasCommand(command: string): boolean {
  return !spawnSync(command, ['-version'], { stdio: 'ignore' }).error;
}

function ensureMaven(ctx: StackContext): void {
  if (hasCommand('mvn')) return;
  if (!isRoot()) throw new Error('Maven (mvn) is not installed; run: sudo apt-get install maven');
  ctx.log('installing maven (and a Java runtime) from Debian packages');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'maven'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

const mtime = (path: string): number => statSync(path).mtimeMs;

function needsBuild(ctx: StackContext): boolean {
  const stamp = buildStamp(ctx);
  if (!existsSync(join(targetDir(ctx), 'lib')) || !existsSync(stamp)) return true;
  const sources = [
    join(projectDir(ctx), 'pom.xml'),
    join(projectDir(ctx), 'src/main/java/dev/acxdata/stack/Neo4jLauncher.java'),
  ];
  return sources.some((source) => mtime(source) > mtime(stamp));
}

/** Resolves Neo4j from Maven Central (first time: ~170 MB into ~/.m2) and compiles the launcher. */
function build(ctx: StackContext): void {
  ensureMaven(ctx);
  ctx.log('building the Neo4j launcher with Maven (the first build downloads Neo4j into ~/.m2)');
  // Start from empty copies so that a version change leaves no stale jars on the class path.
  for (const dir of ['lib', 'plugins']) rmSync(join(targetDir(ctx), dir), { recursive: true, force: true });
  const result = spawnSync('mvn', ['-B', '-q', 'package'], {
    cwd: projectDir(ctx),
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(
      `mvn package in ${projectDir(ctx)} failed (${result.status ?? result.error?.message}):\n${output}`,
    );
  }
  writeFileSync(buildStamp(ctx), `${new Date().toISOString()}\n`);
}

function readPid(ctx: StackContext): number | undefined {
  if (!existsSync(pidFile(ctx))) return undefined;
  const pid = Number(readFileSync(pidFile(ctx), 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True when `pid` is alive and is our launcher (a recycled pid of another program does not count). */
function isLauncher(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(MAIN_CLASS);
  } catch {
    return true; // no /proc: trust the pid
  }
}

function portOpen(portNumber: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: portNumber });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function runningPid(ctx: Neo4jContext): Promise<number | undefined> {
  const pid = readPid(ctx);
  if (pid === undefined || !isLauncher(pid)) return undefined;
  return (await portOpen(Number(ctx.instance.port()))) ? pid : undefined;
}

/** Neo4j version and edition, proving the credentials with a real query. */
async function serverVersion(ctx: Neo4jContext): Promise<string> {
  const driver = neo4j.driver(uri(ctx), neo4j.auth.basic(USER, password()), {
    connectionTimeout: 5000,
    maxConnectionLifetime: 60_000,
  });
  try {
    const result = await driver.executeQuery(
      'CALL dbms.components() YIELD versions, edition RETURN versions[0] AS version, edition',
      {},
      { database: 'system' },
    );
    const record = result.records[0];
    return record
      ? `Neo4j ${String(record.get('version'))} ${String(record.get('edition'))}`
      : 'Neo4j (unknown version)';
  } finally {
    await driver.close();
  }
}

function logTail(ctx: StackContext, lines = 40): string {
  if (!existsSync(logFile(ctx))) return '(no log)';
  return readFileSync(logFile(ctx), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isLauncher(pid)) return true;
    await sleep(250);
  }
  return !isLauncher(pid);
}

async function terminate(ctx: Neo4jContext, pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) {
    ctx.log(`Neo4j (pid ${pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await waitForExit(pid, 10_000);
  }
  rmSync(pidFile(ctx), { force: true });
}

function launch(ctx: Neo4jContext): number {
  const target = targetDir(ctx);
  mkdirSync(join(homeDir(ctx), 'conf'), { recursive: true });
  // APOC reads its own settings from conf/apoc.conf: the benchmark's APOC peers import a JSON export
  // (`apoc.import.json`) and, where APOC's streamed export yields nothing, export to a file of the
  // server (bench/neo4j-apoc.ts); APOC refuses both unless file import and export are enabled.
  writeFileSync(
    join(homeDir(ctx), 'conf', 'apoc.conf'),
    'apoc.import.file.enabled=true\napoc.export.file.enabled=true\n',
  );
  const logFd = openSync(logFile(ctx), 'w');
  try {
    // Extra JVM options for this stack's Neo4j (space-separated); one naming a collector replaces G1.
    const extra = (process.env.ACX_NEO4J_JAVA_OPTS ?? '').split(/\s+/).filter(Boolean);
    const jvm = [
      `-Xmx${ctx.instance.heap()}`,
      ...(extra.some((option) => /^-XX:\+Use\w+GC$/.test(option)) ? [] : ['-XX:+UseG1GC']),
      '-XX:-OmitStackTraceInFastThrow',
      '-XX:+DisableExplicitGC',
      '-Djdk.nio.maxCachedBufferSize=1024',
      '-Dio.netty.tryReflectionSetAccessible=true',
      '-Dlog4j2.disable.jmx=true',
      // As the neo4j distribution does: lets the page cache and Netty use direct buffers efficiently.
      '--add-opens=java.base/java.nio=ALL-UNNAMED',
      '--add-opens=java.base/java.io=ALL-UNNAMED',
      '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
      ...extra,
    ];
    const classPath = `${join(target, 'classes')}:${join(target, 'lib')}/*`;
    const child = spawn('java', [...jvm, '-cp', classPath, MAIN_CLASS, homeDir(ctx), ctx.instance.port()], {
      cwd: ctx.stateDir,
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, ACX_NEO4J_PASSWORD: password(), ACX_NEO4J_PLUGINS: join(target, 'plugins') },
    });
    child.on('error', () => undefined); // a missing java shows up as an early exit below
    child.unref();
    if (child.pid === undefined) throw new Error('could not start java (is a Java 17+ runtime installed?)');
    writeFileSync(pidFile(ctx), `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(logFd);
  }
}

async function waitUntilReady(ctx: Neo4jContext, pid: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError = 'no ready line yet';
  while (Date.now() < deadline) {
    if (!isLauncher(pid)) {
      rmSync(pidFile(ctx), { force: true });
      throw new Error(`Neo4j exited during start-up; last lines of ${logFile(ctx)}:\n${logTail(ctx)}`);
    }
    if (readFileSync(logFile(ctx), 'utf8').includes(READY_LINE)) {
      try {
        await serverVersion(ctx);
        return;
      } catch (error) {
        lastError = (error as Error).message;
      }
    }
    await sleep(500);
  }
  await terminate(ctx, pid);
  throw new Error(
    `Neo4j did not become ready within ${START_TIMEOUT_MS / 1000} s (${lastError}); ` +
      `last lines of ${logFile(ctx)}:\n${logTail(ctx)}`,
  );
}

function neo4jServiceOf(instance: Neo4jInstance): StackService {
  const at = (ctx: StackContext): Neo4jContext => ({ ...ctx, instance });
  return {
    name: instance.name,

    async start(stackCtx) {
      const ctx = at(stackCtx);
      if ((await runningPid(ctx)) !== undefined) return;
      const stale = readPid(ctx);
      if (stale !== undefined && isLauncher(stale)) {
        ctx.log(`Neo4j (pid ${stale}) is alive but not accepting Bolt connections; restarting it`);
        await terminate(ctx, stale);
      }
      if (needsBuild(ctx)) build(ctx);
      if (!hasCommand('java'))
        throw new Error('java is not installed; run: sudo apt-get install openjdk-17-jre-headless');
      ctx.log(`starting Neo4j on ${uri(ctx)} (heap ${instance.heap()})`);
      const started = Date.now();
      const pid = launch(ctx);
      await waitUntilReady(ctx, pid);
      ctx.log(`Neo4j is ready after ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${pid})`);
    },

    async stop(stackCtx) {
      const ctx = at(stackCtx);
      const pid = readPid(ctx);
      if (pid !== undefined && isLauncher(pid)) await terminate(ctx, pid);
      else rmSync(pidFile(ctx), { force: true });
    },

    async status(stackCtx) {
      const ctx = at(stackCtx);
      const pid = await runningPid(ctx);
      if (pid === undefined) return { running: false, detail: 'not running' };
      try {
        return { running: true, detail: `${uri(ctx)}, ${await serverVersion(ctx)}, pid ${pid}` };
      } catch (error) {
        return {
          running: false,
          detail: `${uri(ctx)}, pid ${pid}, but no Bolt session: ${(error as Error).message}`,
        };
      }
    },

    env(stackCtx) {
      return instance.env(uri(at(stackCtx)), USER, password());
    },
  };
}

export const neo4jService = neo4jServiceOf(MAIN);
export const neo4jDrillService = neo4jServiceOf(DRILL);
