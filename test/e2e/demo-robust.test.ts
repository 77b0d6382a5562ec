/**
 * `npm run demo` the way it failed (issue #10): both CPUs busy, and a connection path that closes a
 * keep-alive connection as soon as it has been idle for 100 ms (a TCP proxy in front of the stack's
 * Qdrant; the double's own keep-alive timeout is fixed at 65 s). The demo must end with "identical".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const IDLE_MS = 100;

/** Forwards to `target`; closes a connection idle for `IDLE_MS` after the server's last byte. */
async function idleClosingProxy(target: URL): Promise<{ url: string; closed: () => number; server: Server }> {
  let closed = 0;
  const server = createServer((client: Socket) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    let timer: NodeJS.Timeout | undefined;
    const end = () => {
      clearTimeout(timer);
      client.destroy();
      upstream.destroy();
    };
    // Idle means "waiting for the client's next request": the timer runs only after the server
    // spoke last, never while the server is working on a request.
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      clearTimeout(timer);
      timer = setTimeout(() => {
        closed++;
        end();
      }, IDLE_MS);
    });
    client.on('data', (chunk: Buffer) => {
      clearTimeout(timer);
      upstream.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, closed: () => closed, server };
}

const busy: ChildProcess[] = [];
let proxy: Awaited<ReturnType<typeof idleClosingProxy>>;
// The demo keeps its backups for the user to look at; the test removes them.
const backupDir = mkdtempSync(join(tmpdir(), 'acx-demo-robust-'));

beforeAll(async () => {
  proxy = await idleClosingProxy(new URL(process.env.QDRANT_URL!));
  for (let i = 0; i < 2; i++) busy.push(spawn('yes', { stdio: ['ignore', 'ignore', 'ignore'] }));
});

afterAll(async () => {
  for (const child of busy) child.kill('SIGKILL');
  await new Promise((resolve) => proxy.server.close(resolve));
  rmSync(backupDir, { recursive: true, force: true });
});

it('the demo passes with both CPUs busy and idle Qdrant connections closed after 100 ms', async () => {
  const started = performance.now();
  const child = spawn(process.execPath, ['scripts/demo.ts'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ACX_DEMO_SCALE: '0.05',
      ACX_DEMO_QDRANT_URL: proxy.url,
      ACX_DEMO_BACKUP_DIR: backupDir,
    },
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`demo: exit ${code} in ${seconds} s; the proxy closed ${proxy.closed()} idle connections`);
  expect(output).not.toMatch(/\n\s+at /); // no stack trace
  expect(code, output).toBe(0);
  expect(output).toMatch(/identical: \d+ datasets/);
  expect(proxy.closed()).toBeGreaterThan(0);
});
