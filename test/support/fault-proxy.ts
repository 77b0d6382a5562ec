/**
 * A TCP proxy that plays the faults of a real network between the tool and a service, at random but
 * reproducibly: a seeded PRNG (mulberry32) draws, per accepted connection in order, whether it is reset
 * at once, and whether and after how many bytes of the server's answer it is cut. Idle connections
 * (the server spoke last and nothing moved for `idleCloseMs`) are closed, as load balancers and
 * keep-alive timeouts do. Counters say what was injected; `describe()` names the seed so a failing
 * run can be replayed (`ACX_FAULT_SEED`).
 *
 * Faults apply from `arm()` on; `disarm()` makes the proxy a plain forwarder again (the "next run
 * without faults").
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { seededRandom } from './random.ts';

export interface FaultPlan {
  /** Close a connection once it has been idle this long after the server's last byte (0: never). */
  idleCloseMs?: number;
  /** Probability that a new connection is reset (RST) before anything is forwarded. */
  resetRate?: number;
  /** Probability that a connection is cut after some bytes of the server's answer. */
  cutRate?: number;
  /** The cut happens after a uniform number of server→client bytes in [min, max). */
  cutAfterBytes?: readonly [number, number];
  /**
   * Cut any connection once the client has sent this many bytes on it (an upload dropped mid-body),
   * while the fault budget lasts.
   */
  cutRequestAfterBytes?: number;
  /** Stop injecting resets and cuts after this many since arm() (idle closes are not counted). */
  maxFaults?: number;
}

export interface FaultCounts {
  connections: number;
  resets: number;
  cuts: number;
  idleCloses: number;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  readonly seed: number;
  readonly counts: FaultCounts;
  /** Starts injecting the plan's faults (the PRNG goes on: a campaign's steps draw one sequence). */
  arm(plan: FaultPlan): void;
  /** Forwards faithfully from now on; open connections stay as they are. */
  disarm(): void;
  /** Ends every open connection (a server restart as the client sees it). */
  dropAll(): void;
  /** "seed 42: 17 connections, 2 resets, 3 cuts, 5 idle closes", for failure messages and logs. */
  describe(): string;
  close(): Promise<void>;
}

/** The seed of a campaign: `ACX_FAULT_SEED` when set (to replay a failure), else `fallback`. */
export function faultSeed(fallback: number): number {
  const fromEnv = Number(process.env.ACX_FAULT_SEED);
  return Number.isInteger(fromEnv) && process.env.ACX_FAULT_SEED !== '' ? fromEnv : fallback;
}

export async function startFaultProxy(
  target: { host: string; port: number },
  seed: number,
): Promise<FaultProxy> {
  const counts: FaultCounts = { connections: 0, resets: 0, cuts: 0, idleCloses: 0 };
  let plan: FaultPlan | undefined;
  const random = seededRandom(seed);
  const open = new Set<Socket>();
  /** Resets and cuts before the current arm(): the plan's budget counts from there. */
  let spentBefore = 0;
  const budgetLeft = () =>
    plan !== undefined && counts.resets + counts.cuts - spentBefore < (plan.maxFaults ?? Infinity);

  const server: Server = createServer((client: Socket) => {
    counts.connections++;
    open.add(client);
    client.on('close', () => open.delete(client));
    // Draw every number for this connection now, in acceptance order, so the seed fixes the plan.
    const draws = [random(), random(), random()] as const;
    if (plan && budgetLeft() && draws[0] < (plan.resetRate ?? 0)) {
      counts.resets++;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    let cutAt = Infinity;
    if (plan && budgetLeft() && draws[1] < (plan.cutRate ?? 0)) {
      const [min, max] = plan.cutAfterBytes ?? [0, 65_536];
      cutAt = min + Math.floor(draws[2] * (max - min));
    }
    const idleCloseMs = plan?.idleCloseMs ?? 0;
    const cutRequestAt = plan?.cutRequestAfterBytes ?? Infinity;
    forward(
      client,
      target,
      { cutAt, cutRequestAt, idleCloseMs },
      {
        onCut: () => counts.cuts++,
        mayCutRequest: () => {
          if (!budgetLeft()) return false;
          counts.cuts++;
          return true;
        },
        onIdleClose: () => counts.idleCloses++,
        track: (socket) => {
          open.add(socket);
          socket.on('close', () => open.delete(socket));
        },
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    seed,
    counts,
    arm(next) {
      plan = next;
      spentBefore = counts.resets + counts.cuts;
    },
    disarm() {
      plan = undefined;
    },
    dropAll() {
      for (const socket of open) socket.destroy();
    },
    describe() {
      return `fault seed ${seed}: ${counts.connections} connections, ${counts.resets} resets, ${counts.cuts} cuts, ${counts.idleCloses} idle closes`;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface ForwardHooks {
  onCut(): void;
  /** Asked when a request passes `cutRequestAt`: true (and counted) when it is to be cut. */
  mayCutRequest(): boolean;
  onIdleClose(): void;
  track(socket: Socket): void;
}

/**
 * Pipes both ways; cuts after `cutAt` server bytes or `cutRequestAt` client bytes; closes after
 * `idleCloseMs` idle after the server spoke.
 */
function forward(
  client: Socket,
  target: { host: string; port: number },
  limits: { cutAt: number; cutRequestAt: number; idleCloseMs: number },
  hooks: ForwardHooks,
): void {
  const { cutAt, cutRequestAt, idleCloseMs } = limits;
  let received = 0;
  const upstream = createConnection(target);
  hooks.track(upstream);
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    client.destroy();
    upstream.destroy();
  };
  upstream.on('data', (chunk: Buffer) => {
    if (sent + chunk.length > cutAt) {
      // The client gets the bytes before the cut, then the connection ends in the middle of the answer.
      ended = true;
      clearTimeout(timer);
      hooks.onCut();
      upstream.destroy();
      client.end(chunk.subarray(0, Math.max(0, cutAt - sent)));
      return;
    }
    sent += chunk.length;
    client.write(chunk);
    clearTimeout(timer);
    if (idleCloseMs > 0) {
      timer = setTimeout(() => {
        hooks.onIdleClose();
        end();
      }, idleCloseMs);
    }
  });
  client.on('data', (chunk: Buffer) => {
    clearTimeout(timer);
    received += chunk.length;
    if (received > cutRequestAt && hooks.mayCutRequest()) {
      upstream.write(chunk.subarray(0, chunk.length - (received - cutRequestAt)));
      end();
      return;
    }
    upstream.write(chunk);
  });
  for (const socket of [client, upstream]) {
    socket.on('error', end);
    socket.on('close', end);
  }
}
