/**
 * An HTTP proxy between an S3 client and an S3 server that plays what S3 does under load, reproducibly
 * (a seeded mulberry32 draws, per request in arrival order): it answers `503 SlowDown` with S3's XML
 * error body, or drops the client's connection — either mid-request (after the first bytes of the
 * body arrived, or at once for a request without one) or mid-response (after the server handled the
 * request: the answer is lost, partly sent or not at all) — and else forwards the request untouched.
 *
 * Requests and answers stream through (an 8 MiB part is never held whole) and keep their original
 * Host header, so SigV4 signatures made for the proxy's address stay valid at the server.
 */
import { request as httpRequest, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from './random.ts';

export interface S3FaultProxyOptions {
  /** The S3 server's URL: http://127.0.0.1:7070. */
  upstream: string;
  /** Probability that a request is answered 503 SlowDown (default 0). */
  slowDownRate?: number;
  /** Probability that a request's connection is dropped, mid-request or mid-response (default 0). */
  dropRate?: number;
  /** Every request waits this long before it is answered or forwarded: a slow server (default 0). */
  delayMs?: number;
  /** The PRNG seed (default 1). */
  seed?: number;
}

export interface S3FaultStats {
  forwarded: number;
  slowDown: number;
  dropped: number;
}

export interface S3FaultProxy {
  /** The proxy's URL, to use as the client's S3 endpoint. */
  readonly url: string;
  stats(): S3FaultStats;
  close(): Promise<void>;
}

const SLOW_DOWN_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>' +
  '<RequestId>S3FAULTPROXY</RequestId><HostId>s3-fault-proxy</HostId></Error>';

function hasBody(request: IncomingMessage): boolean {
  const length = Number(request.headers['content-length'] ?? 0);
  return length > 0 || request.headers['transfer-encoding'] !== undefined;
}

export async function startS3FaultProxy(options: S3FaultProxyOptions): Promise<S3FaultProxy> {
  const upstream = new URL(options.upstream);
  const slowDownRate = options.slowDownRate ?? 0;
  const dropRate = options.dropRate ?? 0;
  const random = seededRandom(options.seed ?? 1);
  const counts: S3FaultStats = { forwarded: 0, slowDown: 0, dropped: 0 };
  const sockets = new Set<Socket>();

  const slowDown = (request: IncomingMessage, response: ServerResponse) => {
    counts.slowDown++;
    // The body is read (and dropped) first, so the client is not cut off while it still sends.
    request.resume();
    request.once('end', () => {
      response.writeHead(503, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(SLOW_DOWN_BODY),
        'x-amz-request-id': 'S3FAULTPROXY',
      });
      response.end(SLOW_DOWN_BODY);
    });
  };

  const dropMidRequest = (request: IncomingMessage) => {
    counts.dropped++;
    if (!hasBody(request)) {
      request.socket.destroy();
      return;
    }
    request.once('data', () => request.socket.destroy());
    request.once('end', () => request.socket.destroy());
    request.resume(); // paused during a delay: a 'data' listener alone does not restart it
  };

  /** Forwards; with `dropAnswer`, the server handles the request and the client loses the answer. */
  const forward = (request: IncomingMessage, response: ServerResponse, dropAnswer: boolean) => {
    const toServer = httpRequest({
      host: upstream.hostname,
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers: request.headers, // Host included: the signature covers it
    });
    toServer.on('error', () => request.socket.destroy());
    toServer.on('response', (answer) => {
      if (dropAnswer) {
        counts.dropped++;
        // Some of the answer, then the connection dies: after the headers and a part of the body.
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.once('data', (chunk: Buffer) => {
          response.write(chunk.subarray(0, Math.floor(chunk.length / 2)));
          answer.destroy();
          setImmediate(() => request.socket.destroy());
        });
        answer.once('end', () => request.socket.destroy());
        return;
      }
      counts.forwarded++;
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
      answer.on('error', () => request.socket.destroy());
    });
    request.pipe(toServer);
  };

  const handle = (request: IncomingMessage, response: ServerResponse, fault: number, kind: number) => {
    if (fault < slowDownRate) slowDown(request, response);
    else if (fault < slowDownRate + dropRate && kind < 0.5) dropMidRequest(request);
    else forward(request, response, fault < slowDownRate + dropRate);
  };
  const server = createServer((request, response) => {
    // Drawn at arrival, so the seed fixes each request's fate whatever the delay.
    const [fault, kind] = [random(), random()];
    if (!options.delayMs) handle(request, response, fault, kind);
    else {
      request.pause();
      setTimeout(() => handle(request, response, fault, kind), options.delayMs);
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
