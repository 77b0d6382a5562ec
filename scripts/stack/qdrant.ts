/**
 * Qdrant for the local stack. No Qdrant server can be installed here, so by default this runs the
 * OpenAPI-checked Qdrant double (test/qdrant-double/, ADR 0003) as a detached Node process on
 * 127.0.0.1:6333 with its state under `.stack/qdrant/`. When QDRANT_URL names another server, that real
 * Qdrant is used instead: start/stop leave it alone and status only probes it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPidFile, type StackContext, type StackService } from './service.ts';

const port = (): string => process.env.ACX_QDRANT_PORT ?? '6333';
const localUrl = (): string => `http://127.0.0.1:${port()}`;

/** The user's QDRANT_URL when it points at something other than the local double. */
function externalUrl(): string | undefined {
  const url = process.env.QDRANT_URL?.trim();
  if (!url) return undefined;
  try {
    const u = new URL(url);
    const local = (u.hostname === '127.0.0.1' || u.hostname === 'localhost') && (u.port || '80') === port();
    return local ? undefined : url.replace(/\/+$/, '');
  } catch {
    return url;
  }
}

const pidFile = (ctx: StackContext): string => join(ctx.stateDir, 'qdrant.pid');

const readPid = (ctx: StackContext): number | undefined => readPidFile(pidFile(ctx));

/** `GET /` of a Qdrant (or the double): its version, or undefined when it does not answer. */
async function probe(url: string): Promise<string | undefined> {
  const apiKey = process.env.QDRANT_API_KEY?.trim();
  try {
    const response = await fetch(`${url}/`, {
      headers: apiKey ? { 'api-key': apiKey } : {},
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) return undefined;
    const info = (await response.json()) as { version?: string };
    return info.version ?? 'unknown';
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const qdrantService: StackService = {
  name: 'qdrant',

  async start(ctx) {
    const external = externalUrl();
    if (external) {
      ctx.log(`QDRANT_URL=${external}: using that Qdrant, not starting the double`);
      return;
    }
    if (await probe(localUrl())) return;
    const dataDir = join(ctx.stateDir, 'data');
    mkdirSync(dataDir, { recursive: true });
    ctx.log(`starting the Qdrant double on ${localUrl()}`);
    const log = openSync(join(ctx.stateDir, 'qdrant.log'), 'a');
    const child = spawn(
      process.execPath,
      [
        '--max-old-space-size=8192',
        join(ctx.root, 'test/qdrant-double/main.ts'),
        '--port',
        port(),
        '--data-dir',
        dataDir,
      ],
      { cwd: ctx.root, detached: true, stdio: ['ignore', log, log], env: { ...process.env } },
    );
    closeSync(log);
    if (child.pid === undefined) throw new Error('could not start the Qdrant double');
    writeFileSync(pidFile(ctx), `${child.pid}\n`);
    child.unref();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (await probe(localUrl())) return;
      if (readPid(ctx) === undefined) break;
      await sleep(250);
    }
    throw new Error(
      `the Qdrant double did not answer on ${localUrl()} within 30 s; see ${join(ctx.stateDir, 'qdrant.log')}`,
    );
  },

  async stop(ctx) {
    if (externalUrl()) {
      ctx.log(`QDRANT_URL=${externalUrl()}: leaving that Qdrant running`);
      return;
    }
    const pid = readPid(ctx);
    if (pid === undefined) {
      rmSync(pidFile(ctx), { force: true });
      return;
    }
    process.kill(pid, 'SIGTERM');
    // The double saves its collections before exiting; large ones take a while.
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline && readPid(ctx) !== undefined) await sleep(200);
    if (readPid(ctx) !== undefined) {
      ctx.log(`the Qdrant double (pid ${pid}) ignored SIGTERM; killing it`);
      process.kill(pid, 'SIGKILL');
    }
    rmSync(pidFile(ctx), { force: true });
  },

  async status(ctx) {
    const external = externalUrl();
    if (external) {
      const version = await probe(external);
      return version
        ? { running: true, detail: `${external}, Qdrant ${version} (QDRANT_URL)` }
        : { running: false, detail: `${external} (QDRANT_URL) does not answer` };
    }
    const version = await probe(localUrl());
    const pid = readPid(ctx);
    if (!version)
      return { running: false, detail: pid ? `pid ${pid} does not answer on ${localUrl()}` : 'not running' };
    return { running: true, detail: `${localUrl()}, Qdrant double (${version}), pid ${pid ?? 'unknown'}` };
  },

  env(): Record<string, string> {
    return externalUrl() ? {} : { QDRANT_URL: localUrl() };
  },
};
