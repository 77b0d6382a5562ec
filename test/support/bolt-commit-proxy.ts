/**
 * A TCP proxy between the tool and Neo4j that loses the answers of chosen COMMITs: the client's COMMIT
 * reaches the server, which commits, but the connection is destroyed as soon as the server answers,
 * without relaying the answer. The client then sees a lost connection for a transaction that did
 * commit, which is what a managed transaction's retry must survive without writing twice.
 *
 * It reads the client→server Bolt stream (Bolt 5, as neo4j-driver 6 negotiates with Neo4j 5): the
 * 20-byte handshake (magic 60 60 B0 17 and four version proposals), then, when the server answers
 * with the handshake manifest (00 00 01 FF, Bolt ≥ 5.7 servers), the client's 4-byte choice and its
 * capability varint; after that, messages as chunks (a 2-byte length, that many bytes, a 0-length
 * chunk ending the message). A message is a PackStream structure: marker B0–BF, then its signature;
 * COMMIT is `B0 12` (so a COMMIT is framed `00 02 B0 12 00 00`), RUN is `B? 10`, BEGIN `B? 11`,
 * ROLLBACK `B0 13`.
 *
 * COMMITs are counted, in the order they are sent over all connections, among the transactions that
 * ran a query whose text holds `matching` (every transaction when it is not given); those whose count
 * is in `dropAnswers` lose their answer.
 */
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

export interface CommitDropPlan {
  /** 1-based positions, among the matching COMMITs, whose answers are lost. */
  dropAnswers: readonly number[];
  /** Only transactions that ran a query containing this text are counted. */
  matching?: string;
}

export interface CommitDropProxy {
  readonly host: string;
  readonly port: number;
  /** Matching COMMITs seen so far, and the answers lost. */
  readonly counts: { commits: number; dropped: number };
  arm(plan: CommitDropPlan): void;
  disarm(): void;
  close(): Promise<void>;
}

const MAGIC = Buffer.from([0x60, 0x60, 0xb0, 0x17]);
const MANIFEST = Buffer.from([0x00, 0x00, 0x01, 0xff]);
const SIGNATURE = { run: 0x10, begin: 0x11, commit: 0x12, rollback: 0x13 } as const;

export async function startCommitDropProxy(target: { host: string; port: number }): Promise<CommitDropProxy> {
  const counts = { commits: 0, dropped: 0 };
  let plan: CommitDropPlan | undefined;
  const open = new Set<Socket>();

  const server = createServer((client) => {
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => undefined);
    }
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);

    let serverBytes = Buffer.alloc(0);
    /** Server→client: relayed, except after a COMMIT whose answer is to be lost. */
    let loseNextAnswer = false;
    upstream.on('data', (chunk: Buffer) => {
      if (serverBytes.length < 4) serverBytes = Buffer.concat([serverBytes, chunk]).subarray(0, 4);
      if (loseNextAnswer) {
        end();
        return;
      }
      client.write(chunk);
    });

    const reader = new BoltClientReader(() => serverBytes);
    let matched = false;
    client.on('data', (chunk: Buffer) => {
      for (const piece of reader.push(chunk)) {
        upstream.write(piece.bytes);
        const message = piece.message;
        if (!message || !plan) continue;
        const signature = message[1];
        if (signature === SIGNATURE.begin) matched = false;
        if (signature === SIGNATURE.run && (plan.matching === undefined || message.includes(plan.matching)))
          matched = true;
        if (signature === SIGNATURE.rollback) matched = false;
        if (signature === SIGNATURE.commit && matched) {
          matched = false;
          counts.commits++;
          if (plan.dropAnswers.includes(counts.commits)) {
            counts.dropped++;
            loseNextAnswer = true;
          }
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    counts,
    arm(next) {
      plan = next;
      counts.commits = 0;
      counts.dropped = 0;
    },
    disarm() {
      plan = undefined;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Splits the client's bytes into pieces to forward: the handshake bytes, then each message's bytes
 * with the message itself (its chunks joined). A message is forwarded only once complete, so the proxy
 * knows a COMMIT has gone out in full before it watches for the answer.
 */
class BoltClientReader {
  private pending = Buffer.alloc(0);
  private state: 'handshake' | 'choice' | 'messages' = 'handshake';
  private message: Buffer[] = [];
  private messageStart = 0;

  private readonly serverFirstBytes: () => Buffer;

  constructor(serverFirstBytes: () => Buffer) {
    this.serverFirstBytes = serverFirstBytes;
  }

  *push(chunk: Buffer): Generator<{ bytes: Buffer; message?: Buffer }> {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (this.state === 'handshake') {
        if (this.pending.length < 20) return;
        if (!this.pending.subarray(0, 4).equals(MAGIC)) throw new Error('not a Bolt client');
        yield this.take(20);
        this.state = 'choice';
        continue;
      }
      if (this.state === 'choice') {
        // The server's first four bytes say whether the client sends a choice (manifest) or not.
        const answer = this.serverFirstBytes();
        if (answer.length < 4) {
          if (this.pending.length === 0) return;
          // The client speaks only after the server answered; bytes now mean the answer was read.
          return;
        }
        if (!answer.equals(MANIFEST)) {
          this.state = 'messages';
          continue;
        }
        // Version (4 bytes), then the capabilities as a varint (high bit: more bytes follow).
        let end = 4;
        while (end < this.pending.length && (this.pending[end]! & 0x80) !== 0) end++;
        if (end >= this.pending.length) return;
        yield this.take(end + 1);
        this.state = 'messages';
        continue;
      }
      const piece = this.nextMessage();
      if (!piece) return;
      yield piece;
    }
  }

  private take(n: number): { bytes: Buffer } {
    const bytes = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return { bytes };
  }

  /** One whole message (all its chunks up to the empty one), or undefined until it has arrived. */
  private nextMessage(): { bytes: Buffer; message: Buffer } | undefined {
    let offset = this.messageStart;
    for (;;) {
      if (this.pending.length < offset + 2) return undefined;
      const size = this.pending.readUInt16BE(offset);
      if (this.pending.length < offset + 2 + size) return undefined;
      if (size === 0) {
        const bytes = this.pending.subarray(0, offset + 2);
        this.pending = this.pending.subarray(offset + 2);
        const message = Buffer.concat(this.message);
        this.message = [];
        this.messageStart = 0;
        // A NOOP (an empty chunk alone) is a keep-alive, not a message.
        return { bytes, message };
      }
      this.message.push(this.pending.subarray(offset + 2, offset + 2 + size));
      offset += 2 + size;
      this.messageStart = offset;
    }
  }
}
