/**
 * Connect timeouts (issue #10): DATABASE_URL or NEO4J_URI pointing at a live service that is not the
 * database — an HTTP server, or a TCP server that accepts and never answers — ends the CLI with
 * CONNECTION (exit 4) and one line within the connect timeout plus a margin, instead of hanging (pg
 * waited forever for the startup answer; the Neo4j driver printed its error after 60 s and kept the
 * process alive).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';

/** The stores' connect timeout (15 s) plus CLI start-up on a busy machine (≈ 12 s with four at once). */
const WITHIN_MS = 45_000;

let http: HttpServer;
let silent: Server;
const held: Socket[] = [];
let work: string;
const port = (server: HttpServer | Server) => (server.address() as AddressInfo).port;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-connect-timeout-'));
  http = createHttpServer((_req, res) =>
    res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>nope</h1>'),
  );
  silent = createServer((socket) => {
    held.push(socket);
    socket.on('error', () => undefined);
  });
  await Promise.all(
    [http, silent].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()))),
  );
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  http.closeAllConnections();
  await Promise.all([http, silent].map((s) => new Promise((resolve) => s.close(resolve))));
  await rm(work, { recursive: true, force: true });
});

const cases = [
  {
    store: 'postgres',
    variable: 'DATABASE_URL',
    url: (p: number) => `postgresql://acx:secret@127.0.0.1:${p}/acx`,
  },
  { store: 'neo4j', variable: 'NEO4J_URI', url: (p: number) => `bolt://127.0.0.1:${p}` },
] as const;

describe.concurrent('a store URL pointing at a service that is not the store', () => {
  for (const { store, variable, url } of cases) {
    for (const kind of ['an HTTP server', 'a TCP server that never answers'] as const) {
      it(`${variable} at ${kind}: CONNECTION within the connect timeout`, async () => {
        const p = kind === 'an HTTP server' ? port(http) : port(silent);
        const started = performance.now();
        const result = await runCli(['backup', `--${store}`, '--backup-dir', join(work, `${store}-${p}`)], {
          ...process.env,
          [variable]: url(p),
        });
        const elapsed = performance.now() - started;
        console.log(`${variable} at ${kind}: exit ${result.code} after ${(elapsed / 1000).toFixed(1)} s`);
        expect(result.code, result.stderr).toBe(4);
        expect(elapsed).toBeLessThan(WITHIN_MS);
        expect(result.stderr).not.toMatch(/\n\s+at |INTERNAL|secret/);
        expect(result.stderr).toMatch(new RegExp(`${store === 'postgres' ? 'PostgreSQL' : 'Neo4j'}`));
        expect(result.stderr).toMatch(new RegExp(variable));
      }, 120_000);
    }
  }
});
