/**
 * A Bolt handshake of our own before the driver's: the driver times out the TCP connect but not the
 * handshake, and a connection it is still creating is not ended by `driver.close()`, so a service that
 * accepts and never answers (or an HTTP server) kept the process alive after the error. The probe sends
 * Bolt's preamble, waits for the four bytes of the version answer within a deadline, and always ends
 * its socket.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

/** Bolt's magic preamble, then four version proposals (5.8–5.0, 4.4, 3, none). */
const HANDSHAKE = Buffer.from([
  0x60, 0x60, 0xb0, 0x17, 0x00, 0x08, 0x08, 0x05, 0x00, 0x00, 0x04, 0x04, 0x00, 0x00, 0x00, 0x03, 0, 0, 0, 0,
]);

export const BOLT_DEFAULT_PORT = 7687;

/** Resolves when the server at `uri` answers a Bolt handshake; rejects with a readable Error otherwise. */
export function probeBolt(uri: string, timeoutMs: number): Promise<void> {
  const url = new URL(uri);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? BOLT_DEFAULT_PORT : Number(url.port);
  const secure = /\+s(sc)?:$/.test(url.protocol);
  const socket: Socket = secure
    ? connectTls({ host, port, servername: host, rejectUnauthorized: !url.protocol.endsWith('+ssc:') })
    : connectTcp({ host, port });
  return new Promise<void>((resolve, reject) => {
    let answer = Buffer.alloc(0);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new Error(`no Bolt answer within ${timeoutMs / 1000} s (is it a Neo4j server?)`)),
      timeoutMs,
    );
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(HANDSHAKE));
    socket.on('data', (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length < 4) return;
      if (answer[0] === 0 && answer[1] === 0) finish();
      else finish(new Error(`the server did not answer as Bolt does ${describeAnswer(answer)}`));
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error('the server closed the connection during the Bolt handshake')));
  });
}

function describeAnswer(answer: Buffer): string {
  return answer.subarray(0, 4).toString('latin1') === 'HTTP'
    ? '(it answered as an HTTP server: NEO4J_URI takes the Bolt port, 7687 by default)'
    : `(it answered 0x${answer.subarray(0, 4).toString('hex')})`;
}
