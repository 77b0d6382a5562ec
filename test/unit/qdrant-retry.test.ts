/**
 * QdrantClient against a tiny local HTTP server that misbehaves by script (test code standing in for
 * a network and a proxy, not for Qdrant's logic): dropped sockets, 503 with Retry-After, 429, idle
 * keep-alive connections closed under a blocked event loop, 4xx, and servers that are not Qdrant.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { QdrantClient, type QdrantRetryInfo } from '../../src/stores/qdrant/qdrant-client.ts';
import { parseRetryAfter, qdrantRetryEvent } from '../../src/stores/qdrant/qdrant-http.ts';
import { acxErrorOf } from '../support/acx-error.ts';

interface Seen {
  method: string;
  path: string;
  body: string;
}

/** Answers request n (0-based) with `script(n, req, res, body)`; records every request it saw. */
type Script = (n: number, req: IncomingMessage, res: ServerResponse, body: string) => void;

interface Misbehaving {
  url: string;
  seen: Seen[];
  server: Server;
  sockets: Set<Socket>;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function misbehaving(script: Script): Promise<Misbehaving> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', path: req.url ?? '', body });
      script(seen.length - 1, req, res, body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, server, sockets };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const ok = (res: ServerResponse, result: unknown) => json(res, 200, { result, status: 'ok', time: 0 });
const qdrantError = (res: ServerResponse, status: number, error: string, headers?: Record<string, string>) =>
  json(res, status, { status: { error }, time: 0 }, headers);
const drop = (req: IncomingMessage) => req.socket.destroy();
const COLLECTIONS = { collections: [{ name: 'b' }, { name: 'a' }] };

function client(url: string, retries: QdrantRetryInfo[] = [], extra: object = {}) {
  return new QdrantClient(
    { url, apiKey: undefined },
    { baseMs: 10, maxElapsedMs: 10_000, onRetry: (info) => retries.push(info), ...extra },
  );
}

describe('QdrantClient retries transient faults of safe calls', () => {
  it('a socket closed without an answer on the first two requests: the read succeeds on the third', async () => {
    const s = await misbehaving((n, req, res) => (n < 2 ? drop(req) : ok(res, COLLECTIONS)));
    const retries: QdrantRetryInfo[] = [];
    expect(await client(s.url, retries).listCollections()).toEqual(['a', 'b']);
    expect(s.seen).toHaveLength(3);
    expect(retries.map((r) => [r.method, r.path, r.attempt])).toEqual([
      ['GET', '/collections', 1],
      ['GET', '/collections', 2],
    ]);
    expect(retries[0]!.reason).toMatch(/UND_ERR_SOCKET|ECONNRESET|EPIPE/);
    expect(qdrantRetryEvent(retries[1]!)).toMatchObject({ type: 'retry', store: 'qdrant', attempt: 3 });
    expect(qdrantRetryEvent(retries[0]!)).toHaveProperty(
      'message',
      expect.stringMatching(/^retrying Qdrant GET \/collections \(attempt 2, in \d+ ms\): \w+/),
    );
  });

  it('503 with Retry-After: 1 is waited for (≥ 1 s) and then succeeds', async () => {
    const s = await misbehaving((n, _req, res) =>
      n === 0 ? qdrantError(res, 503, 'busy', { 'retry-after': '1' }) : ok(res, { count: 7 }),
    );
    const retries: QdrantRetryInfo[] = [];
    const started = performance.now();
    expect(await client(s.url, retries).count('c')).toBe(7);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(s.seen).toHaveLength(2);
    expect(retries).toEqual([
      { method: 'POST', path: '/collections/c/points/count', attempt: 1, delayMs: 1000, reason: 'HTTP 503' },
    ]);
  });

  it('429 is retried even for a call that is sent once (the server did not process it)', async () => {
    const s = await misbehaving((n, _req, res) =>
      n < 2 ? qdrantError(res, 429, 'slow down') : ok(res, true),
    );
    await client(s.url).updateAliases([{ delete_alias: { alias_name: 'x' } }]);
    expect(s.seen.map((r) => r.path)).toEqual(Array(3).fill('/collections/aliases'));
  });

  it('an idle keep-alive connection the server closes as the next request arrives', async () => {
    // The failure: the server closes a keep-alive connection idle for longer than its
    // timeout (50 ms here) just as the client, whose event loop was blocked (the demo's spawnSync),
    // sends its next request on it. The close crosses the request: the socket ends without an answer.
    const idleSince = new WeakMap<Socket, number>();
    const s = await misbehaving((_n, req, res) => {
      const idle = idleSince.get(req.socket);
      if (idle !== undefined && performance.now() - idle > 50) return drop(req);
      ok(res, COLLECTIONS);
      idleSince.set(req.socket, performance.now());
    });
    const retries: QdrantRetryInfo[] = [];
    const c = client(s.url, retries);
    expect(await c.listCollections()).toEqual(['a', 'b']);
    await new Promise((resolve) => setTimeout(resolve, 10)); // the connection goes back to the pool
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // the blocked event loop
    expect(await c.listCollections()).toEqual(['a', 'b']);
    expect(s.seen).toHaveLength(3);
    expect(retries).toHaveLength(1);
    expect(retries[0]!.reason).toMatch(/UND_ERR_SOCKET|ECONNRESET|EPIPE/);
  });

  it('a create whose answer was lost, answered 409 on the retry, counts as done', async () => {
    const s = await misbehaving((n, req, res) =>
      n === 0 ? drop(req) : qdrantError(res, 409, 'Wrong input: Collection `c` already exists!'),
    );
    await client(s.url).createCollection('c', { vectors: { size: 4, distance: 'Cosine' } });
    expect(s.seen.map((r) => r.method)).toEqual(['PUT', 'PUT']);
  });

  it('a create answered 409 on its first attempt still fails (the collection was there before)', async () => {
    const s = await misbehaving((_n, _req, res) => qdrantError(res, 409, 'Wrong input: already exists!'));
    const error = await acxErrorOf(client(s.url).createCollection('c', {}));
    expect(error.code).toBe('STORE');
    expect(s.seen).toHaveLength(1);
  });

  it('upsertJson replays the whole streamed body on the retry', async () => {
    const s = await misbehaving((n, req, res) => (n === 0 ? drop(req) : ok(res, { status: 'completed' })));
    await client(s.url).upsertJson('c', ['{"id":1,"vector":[1]}', '{"id":2,"vector":[2]}']);
    expect(s.seen).toHaveLength(2);
    const expected = '{"points":[{"id":1,"vector":[1]},{"id":2,"vector":[2]}]}';
    expect(s.seen.map((r) => r.body)).toEqual([expected, expected]);
  });

  it('an answer cut in the middle of its body is retried', async () => {
    const s = await misbehaving((n, req, res) => {
      if (n > 0) return ok(res, COLLECTIONS);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"result":{"collections":[');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const retries: QdrantRetryInfo[] = [];
    expect(await client(s.url, retries).listCollections()).toEqual(['a', 'b']);
    expect(s.seen).toHaveLength(2);
    expect(retries[0]!.reason).toMatch(/answer cut/);
  });

  it('a request with no answer within the request timeout is retried', async () => {
    const s = await misbehaving((n, _req, res) => (n === 0 ? undefined : ok(res, COLLECTIONS)));
    const retries: QdrantRetryInfo[] = [];
    expect(await client(s.url, retries, { requestTimeoutMs: 200 }).listCollections()).toEqual(['a', 'b']);
    expect(s.seen).toHaveLength(2);
    expect(retries[0]!.reason).toMatch(/^timeout/);
  });

  it('gives up after the attempts with the same error as without retries', async () => {
    const s = await misbehaving((_n, _req, res) => qdrantError(res, 503, 'overloaded'));
    const error = await acxErrorOf(client(s.url, [], { attempts: 3 }).listCollections());
    expect(error.code).toBe('STORE');
    expect(error.message).toBe('Qdrant GET /collections failed (503): overloaded');
    expect(s.seen).toHaveLength(3);
  });
});

describe('QdrantClient does not retry what is unsafe or final', () => {
  it('400 fails at once with the usual STORE error', async () => {
    const s = await misbehaving((_n, _req, res) => qdrantError(res, 400, 'Bad request: wrong vector size'));
    const error = await acxErrorOf(client(s.url).upsert('c', [{ id: 1, vector: [1] }]));
    expect(error.code).toBe('STORE');
    expect(error.subject).toBe('c');
    expect(error.message).toBe(
      'Qdrant PUT /collections/c/points failed (400): Bad request: wrong vector size',
    );
    expect(s.seen).toHaveLength(1);
  });

  it('500 is not retried (a failure of the request itself)', async () => {
    const s = await misbehaving((_n, _req, res) => qdrantError(res, 500, 'Service internal error: disk'));
    expect((await acxErrorOf(client(s.url).listCollections())).code).toBe('STORE');
    expect(s.seen).toHaveLength(1);
  });

  it('alias actions and snapshot creation are sent once when the answer is lost', async () => {
    const s = await misbehaving((_n, req) => drop(req));
    const c = client(s.url);
    const alias = await acxErrorOf(c.updateAliases([{ delete_alias: { alias_name: 'x' } }]));
    expect(alias.code).toBe('CONNECTION');
    expect(alias.message).toMatch(/^Qdrant POST \/collections\/aliases: the connection was lost/);
    expect((await acxErrorOf(c.createSnapshot('c'))).code).toBe('CONNECTION');
    expect(s.seen.map((r) => r.path)).toEqual(['/collections/aliases', '/collections/c/snapshots?wait=true']);
  });

  it('a snapshot upload from a stream is not sent twice without a way to reopen it', async () => {
    const s = await misbehaving((_n, req) => drop(req));
    const bytes = Buffer.from('snapshot bytes');
    const error = await acxErrorOf(
      client(s.url).uploadSnapshot('c', { stream: Readable.from([bytes]), bytes: bytes.length }),
    );
    expect(error.code).toBe('CONNECTION');
    expect(s.seen).toHaveLength(1);
  });

  it('a snapshot upload with reopen is retried with the whole file again', async () => {
    const s = await misbehaving((n, req, res) => (n === 0 ? drop(req) : ok(res, true)));
    const bytes = Buffer.from('snapshot bytes');
    await client(s.url).uploadSnapshot('c', {
      stream: Readable.from([bytes]),
      bytes: bytes.length,
      reopen: () => Readable.from([bytes]),
    });
    expect(s.seen).toHaveLength(2);
    expect(s.seen[1]!.body).toContain('snapshot bytes');
    expect(s.seen[1]!.body).toBe(s.seen[0]!.body);
  });

  it('an abort during the backoff rejects at once with INTERRUPTED, never retried', async () => {
    const s = await misbehaving((_n, _req, res) => qdrantError(res, 503, 'busy', { 'retry-after': '5' }));
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 100);
    const error = await acxErrorOf(client(s.url).scroll('c', { limit: 1 }, controller.signal));
    expect(error.code).toBe('INTERRUPTED');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(s.seen).toHaveLength(1);
  });
});

describe('a retry is reported only when one follows', () => {
  // The 'retry' event promises a second attempt: a call that cannot be sent again (a streamed body
  // without reopen, a call a second copy could apply twice) or whose attempts or budget are spent
  // reports none, and fails with one line naming the call.
  const upload = (c: QdrantClient) => {
    const bytes = Buffer.from('snapshot bytes');
    return c.uploadSnapshot('c', { stream: Readable.from([bytes]), bytes: bytes.length });
  };

  it('a snapshot upload without reopen answered 503: no retry reported, one request, the call named', async () => {
    const s = await misbehaving((_n, _req, res) => qdrantError(res, 503, 'busy'));
    const retries: QdrantRetryInfo[] = [];
    const error = await acxErrorOf(upload(client(s.url, retries)));
    expect(retries).toEqual([]);
    expect(s.seen.map((r) => r.path)).toEqual([
      '/collections/c/snapshots/upload?wait=true&priority=snapshot',
    ]);
    expect(error.message).toBe('Qdrant POST /collections/c/snapshots/upload failed (503): busy');
  });

  it('a snapshot upload without reopen whose connection is lost: no retry reported, CONNECTION naming the call', async () => {
    const s = await misbehaving((_n, req) => drop(req));
    const retries: QdrantRetryInfo[] = [];
    const error = await acxErrorOf(upload(client(s.url, retries)));
    expect(retries).toEqual([]);
    expect(s.seen).toHaveLength(1);
    expect(error.code).toBe('CONNECTION');
    expect(error.message).toMatch(/^Qdrant POST \/collections\/c\/snapshots\/upload: .*lost.*not sent again/);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toMatch(/run the command again/);
  });

  it('a call sent once whose answer is lost: no retry reported, CONNECTION naming the call', async () => {
    const s = await misbehaving((_n, req) => drop(req));
    const retries: QdrantRetryInfo[] = [];
    const error = await acxErrorOf(
      client(s.url, retries).updateAliases([{ delete_alias: { alias_name: 'x' } }]),
    );
    expect(retries).toEqual([]);
    expect(s.seen).toHaveLength(1);
    expect(error.code).toBe('CONNECTION');
    expect(error.message).toMatch(/^Qdrant POST \/collections\/aliases: .*lost.*not sent again/);
    expect(error.hint).toMatch(/run the command again/);
  });

  it('the last attempt is not announced: 3 attempts, 2 retries reported', async () => {
    const s = await misbehaving((_n, _req, res) => qdrantError(res, 503, 'busy'));
    const retries: QdrantRetryInfo[] = [];
    await acxErrorOf(client(s.url, retries, { attempts: 3 }).listCollections());
    expect(s.seen).toHaveLength(3);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('a Retry-After past the time budget is not announced', async () => {
    const s = await misbehaving((_n, _req, res) => qdrantError(res, 503, 'busy', { 'retry-after': '30' }));
    const retries: QdrantRetryInfo[] = [];
    const error = await acxErrorOf(client(s.url, retries, { maxElapsedMs: 2_000 }).listCollections());
    expect(error.code).toBe('STORE');
    expect(retries).toEqual([]);
    expect(s.seen).toHaveLength(1);
  });
});

describe('a server that is not Qdrant', () => {
  const NOT_QDRANT = /is QDRANT_URL a Qdrant server/;

  it('an HTML page: CONNECTION with a hint, not a SyntaxError', async () => {
    const s = await misbehaving((_n, _req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><html><body>It works!</body></html>');
    });
    for (const call of [client(s.url).version(), client(s.url).listCollections()]) {
      const error = await acxErrorOf(call);
      expect(error.code).toBe('CONNECTION');
      expect(error.hint).toMatch(NOT_QDRANT);
    }
  });

  it('an empty 404: CONNECTION with a hint', async () => {
    const s = await misbehaving((_n, _req, res) => {
      res.writeHead(404);
      res.end();
    });
    for (const call of [client(s.url).version(), client(s.url).collectionExists('c')]) {
      const error = await acxErrorOf(call);
      expect(error.code).toBe('CONNECTION');
      expect(error.hint).toMatch(NOT_QDRANT);
    }
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
