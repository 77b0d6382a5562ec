/**
 * The http provider against a real local server the test starts (node:http): both dialects, batching
 * as the server saw it, retries on 429 (Retry-After) and 503, a hang ending at the timeout, and a 401
 * whose error does not carry the key.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  HttpEmbeddingProvider,
  retryAfterMs,
  type HttpProviderOptions,
} from '../../src/embeddings/http-provider.ts';
import { acxErrorOf } from '../support/acx-error.ts';

interface Received {
  path: string;
  authorization: string | undefined;
  body: { model?: string; input?: string[]; inputs?: string[]; normalize?: boolean; truncate?: boolean };
  at: number;
}

type Handler = (request: Received, response: ServerResponse) => void;

let server: Server;
let base = '';
let received: Received[] = [];
let handler: Handler = () => undefined;

/** A deterministic, unnormalised vector for a text: [length + 1, first char code, 2, 2, …]. */
function rawVector(text: string, dimension: number): number[] {
  const vector = new Array<number>(dimension).fill(2);
  vector[0] = text.length + 1;
  vector[1] = text.charCodeAt(0) || 0;
  return vector;
}

function normalised(text: string, dimension: number): number[] {
  const raw = rawVector(text, dimension);
  const norm = Math.hypot(...raw);
  return raw.map((x) => Math.fround(x / norm));
}

function answer(request: Received, response: ServerResponse, dimension = 8): void {
  const texts = request.body.input ?? request.body.inputs ?? [];
  const vectors = texts.map((t) => rawVector(t, dimension));
  const body = request.path.endsWith('/embed')
    ? vectors
    : {
        object: 'list',
        data: vectors.map((embedding, index) => ({ object: 'embedding', embedding, index })).reverse(),
      };
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    req.on('end', () => {
      const request = {
        path: req.url ?? '',
        authorization: req.headers.authorization,
        body: JSON.parse(data),
        at: Date.now(),
      };
      received.push(request);
      handler(request, res);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  received = [];
  handler = answer;
});

afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((done) => server.close(() => done()));
});

function provider(options: Partial<HttpProviderOptions> = {}): HttpEmbeddingProvider {
  return new HttpEmbeddingProvider({
    url: `${base}/v1/embeddings`,
    api: 'openai',
    modelName: 'SZTAKI-HLT/hubert-base-cc',
    dimension: 8,
    retry: { baseMs: 10, maxMs: 50 },
    ...options,
  });
}

describe('http embedding provider', () => {
  it('OpenAI-style: sends {model, input}, orders by index, normalises, names the model', async () => {
    handler = answer;
    const p = provider();
    const vectors = await p.embed(['motor', 'érzékelő hiba']);
    expect(received.map((r) => [r.path, r.body])).toEqual([
      ['/v1/embeddings', { model: 'SZTAKI-HLT/hubert-base-cc', input: ['motor', 'érzékelő hiba'] }],
    ]);
    expect(vectors.map((v) => Array.from(v))).toEqual([
      normalised('motor', 8),
      normalised('érzékelő hiba', 8),
    ]);
    expect(p.model).toBe('http:SZTAKI-HLT/hubert-base-cc');
  });

  it('TEI: sends {inputs, normalize, truncate} to /embed and reads a list of vectors', async () => {
    handler = answer;
    const vectors = await provider({ url: `${base}/embed`, api: 'tei', modelName: undefined }).embed([
      'P0300',
      '',
    ]);
    expect(received.map((r) => [r.path, r.body])).toEqual([
      ['/embed', { inputs: ['P0300', ''], normalize: true, truncate: true }],
    ]);
    expect(vectors.map((v) => Array.from(v))).toEqual([normalised('P0300', 8), normalised('', 8)]);
  });

  it('splits 70 texts into requests of the batch size, in order', async () => {
    handler = answer;
    const texts = Array.from({ length: 70 }, (_, i) => `kód ${i}`);
    const vectors = await provider({ batchSize: 32 }).embed(texts);
    expect(received.map((r) => r.body.input)).toEqual([
      texts.slice(0, 32),
      texts.slice(32, 64),
      texts.slice(64),
    ]);
    expect(vectors.map((v) => Array.from(v))).toEqual(texts.map((t) => normalised(t, 8)));
  });

  it('waits out a 429 with Retry-After, then succeeds', async () => {
    handler = (request, response) => {
      if (received.length === 1) response.writeHead(429, { 'retry-after': '1' }).end('slow down');
      else answer(request, response);
    };
    const vectors = await provider().embed(['motor']);
    expect(received).toHaveLength(2);
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(950);
    expect(Array.from(vectors[0]!)).toEqual(normalised('motor', 8));
  });

  it('retries a 503 twice, then succeeds with the same batch', async () => {
    handler = (request, response) => {
      if (received.length <= 2) response.writeHead(503).end('warming up');
      else answer(request, response);
    };
    const vectors = await provider().embed(['a', 'b']);
    expect(received.map((r) => r.body.input)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect(vectors).toHaveLength(2);
  });

  it('gives up after the attempts with CONNECTION naming the status', async () => {
    handler = (_request, response) => response.writeHead(500).end('boom');
    const error = await acxErrorOf(provider({ retry: { attempts: 3, baseMs: 1, maxMs: 5 } }).embed(['a']));
    expect(received).toHaveLength(3);
    expect(error.code).toBe('CONNECTION');
    expect(error.message).toContain('HTTP 500');
  });

  it('a server that hangs ends at the timeout with CONNECTION, without retrying', async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    const error = await acxErrorOf(provider({ timeoutMs: 300 }).embed(['a']));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.code).toBe('CONNECTION');
    expect(error.message).toContain('did not answer within 300 ms');
    expect(error.hint).toContain('EMBEDDING_TIMEOUT_MS');
    expect(received).toHaveLength(1);
  });

  it('401: CONNECTION with a hint, and neither the message nor the hint holds the key', async () => {
    const key = 'sk-test-9f8e7d6c5b4a';
    handler = (request, response) =>
      response.writeHead(401).end(`invalid api key ${request.authorization?.replace('Bearer ', '')}`);
    const error = await acxErrorOf(provider({ apiKey: key }).embed(['a']));
    expect(received.map((r) => r.authorization)).toEqual([`Bearer ${key}`]);
    expect(error.code).toBe('CONNECTION');
    expect(error.message).toContain('HTTP 401');
    expect(error.hint).toContain('EMBEDDING_API_KEY');
    expect(`${error.message} ${error.hint} ${error.stack}`).not.toContain(key);
  });

  it('a refused connection is retried, then CONNECTION naming the URL without credentials', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const error = await acxErrorOf(
      provider({ url: `http://127.0.0.1:${port}/embed?key=abc`, api: 'tei' }).embed(['a']),
    );
    expect(error.code).toBe('CONNECTION');
    expect(error.message).toContain(`http://127.0.0.1:${port}/embed`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).not.toContain('abc');
  });

  it('a wrong dimension is CONFIG; a wrong count or shape is STORE', async () => {
    handler = (request, response) => answer(request, response, 4);
    const wrong = await acxErrorOf(provider().embed(['a']));
    expect(wrong.code).toBe('CONFIG');
    expect(wrong.message).toContain('EMBEDDING_DIMENSION is 8');

    handler = (_request, response) => response.writeHead(200).end(JSON.stringify([[1, 2]]));
    const count = await acxErrorOf(provider({ url: `${base}/embed`, api: 'tei' }).embed(['a', 'b']));
    expect([count.code, count.message]).toEqual([
      'STORE',
      expect.stringContaining('does not hold 2 vectors'),
    ]);

    handler = (_request, response) => response.writeHead(404).end('no route');
    const missing = await acxErrorOf(provider().embed(['a']));
    expect([missing.code, missing.hint]).toEqual(['STORE', expect.stringContaining('EMBEDDING_URL')]);
  });

  it('an abort during a request ends with INTERRUPTED', async () => {
    handler = () => undefined;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await acxErrorOf(provider().embed(['a'], controller.signal));
    expect(error.code).toBe('INTERRUPTED');
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
