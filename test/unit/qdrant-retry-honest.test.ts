/**
 * The `retry` progress event is a promise: "retrying Qdrant … (attempt 2, …)" is reported only when a
 * second attempt really follows. A call that cannot be sent again (a streamed body without `reopen`, a
 * call a second copy could apply twice) or whose attempts or time budget are spent reports no retry,
 * and fails with one line naming the call and a hint. A local HTTP server stands in for the network.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import { QdrantClient, type QdrantRetryInfo } from '../../src/stores/qdrant/qdrant-client.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A server answering request n (0-based) with `answer`; `seen` counts the requests that arrived whole. */
async function server(
  answer: (n: number, req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      answer(seen.length - 1, req, res);
    });
  });
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen };
}

const busy = (res: ServerResponse, headers: Record<string, string> = {}) => {
  res.writeHead(503, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ status: { error: 'busy' }, time: 0 }));
};
const drop = (req: IncomingMessage) => req.socket.destroy();

function client(url: string, retries: QdrantRetryInfo[], extra: object = {}) {
  return new QdrantClient(
    { url, apiKey: undefined },
    { baseMs: 5, maxElapsedMs: 10_000, onRetry: (info) => retries.push(info), ...extra },
  );
}

async function failure(promise: Promise<unknown>): Promise<AcxError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AcxError);
  return error as AcxError;
}

const upload = (c: QdrantClient) => {
  const bytes = Buffer.from('snapshot bytes');
  return c.uploadSnapshot('c', { stream: Readable.from([bytes]), bytes: bytes.length });
};

describe('a retry is reported only when it follows', () => {
  it('a snapshot upload without reopen answered 503: no retry reported, one request, the call named', async () => {
    const s = await server((_n, _req, res) => busy(res));
    const retries: QdrantRetryInfo[] = [];
    const error = await failure(upload(client(s.url, retries)));
    expect(retries).toEqual([]);
    expect(s.seen).toEqual(['POST /collections/c/snapshots/upload?wait=true&priority=snapshot']);
    expect(error.message).toContain('POST /collections/c/snapshots/upload');
    expect(error.message).not.toContain('\n');
  });

  it('a snapshot upload without reopen whose connection is lost: no retry reported, CONNECTION naming the call, with a hint', async () => {
    const s = await server((_n, req) => drop(req));
    const retries: QdrantRetryInfo[] = [];
    const error = await failure(upload(client(s.url, retries)));
    expect(retries).toEqual([]);
    expect(s.seen).toHaveLength(1);
    expect(error.code).toBe('CONNECTION');
    expect(error.message).toMatch(/^Qdrant POST \/collections\/c\/snapshots\/upload: .*lost.*not sent again/);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toMatch(/run the command again/);
  });

  it('a call sent once whose answer is lost: no retry reported, CONNECTION naming the call, with a hint', async () => {
    const s = await server((_n, req) => drop(req));
    const retries: QdrantRetryInfo[] = [];
    const error = await failure(
      client(s.url, retries).updateAliases([{ delete_alias: { alias_name: 'x' } }]),
    );
    expect(retries).toEqual([]);
    expect(s.seen).toHaveLength(1);
    expect(error.code).toBe('CONNECTION');
    expect(error.message).toMatch(/^Qdrant POST \/collections\/aliases: .*lost.*not sent again/);
    expect(error.hint).toMatch(/run the command again/);
  });

  it('the last attempt is not announced: 3 attempts, 2 retries reported', async () => {
    const s = await server((_n, _req, res) => busy(res));
    const retries: QdrantRetryInfo[] = [];
    const error = await failure(client(s.url, retries, { attempts: 3 }).listCollections());
    expect(error.message).toBe('Qdrant GET /collections failed (503): busy');
    expect(s.seen).toHaveLength(3);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('a Retry-After past the time budget is not announced', async () => {
    const s = await server((_n, _req, res) => busy(res, { 'retry-after': '30' }));
    const retries: QdrantRetryInfo[] = [];
    const error = await failure(client(s.url, retries, { maxElapsedMs: 2_000 }).listCollections());
    expect(error.code).toBe('STORE');
    expect(retries).toEqual([]);
    expect(s.seen).toHaveLength(1);
  });
});
