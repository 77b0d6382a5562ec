/**
 * A transient fault is retried and said: a Qdrant that answers 503 (`Retry-After: 0`) to the first
 * requests of a backup makes the CLI emit `retry` events (`--json-events`) and "retrying Qdrant …"
 * lines, and the backup still completes. The Qdrant is a private double behind a small proxy that
 * plays the fault; the shared stack is not touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startQdrantDouble, type QdrantDouble } from '../qdrant-double/server.ts';
import { runCli } from '../support/cli.ts';

let qdrant: QdrantDouble;
let proxy: Server;
let proxyUrl: string;
let work: string;
/** How many of the next requests the proxy answers with 503 instead of forwarding. */
let failNext = 0;
let refused = 0;

beforeAll(async () => {
  qdrant = await startQdrantDouble();
  work = await mkdtemp(join(tmpdir(), 'acx-retry-'));
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        refused++;
        res.writeHead(503, { 'retry-after': '0', 'content-type': 'text/plain' }).end('busy');
        return;
      }
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const headers = { ...req.headers } as Record<string, string>;
      delete headers.host;
      fetch(qdrant.url + (req.url ?? '/'), { method: req.method, headers, body })
        .then(async (answer) => {
          res.writeHead(answer.status, Object.fromEntries(answer.headers));
          res.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await qdrant?.close();
  await rm(work, { recursive: true, force: true });
});

const backup = (...extra: string[]) =>
  runCli(['backup', '--qdrant', '--backup-dir', join(work, 'repo'), ...extra], {
    ...process.env,
    QDRANT_URL: proxyUrl,
    QDRANT_API_KEY: '',
  });

describe('retries of transient faults', () => {
  it('are events under --json-events, and the run completes', async () => {
    failNext = 2;
    refused = 0;
    const result = await backup('--json-events');
    expect(result.stderr).not.toMatch(/INTERNAL/);
    expect(result.code).toBe(0);
    expect(refused).toBe(2);
    const retries = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { type: string; store?: string; attempt?: number; message?: string })
      .filter((event) => event.type === 'retry');
    expect(retries).toHaveLength(2);
    expect(retries.map((e) => e.store)).toEqual(['qdrant', 'qdrant']);
    expect(retries.map((e) => e.attempt)).toEqual([2, 3]);
    expect(retries[0]?.message).toMatch(/^retrying Qdrant GET \/\S* \(attempt 2, in \d+ ms\): HTTP 503/);
  });

  it('are plain lines on stderr with --verbose', async () => {
    failNext = 1;
    const result = await backup('--verbose');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/\[qdrant\] retrying Qdrant GET \S+ \(attempt 2, in \d+ ms\): HTTP 503/);
  });
});
