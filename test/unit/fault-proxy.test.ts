/**
 * The fault proxy of the fault-injection tests (test/support/fault-proxy.ts) is reproducible: the same
 * seed and the same sequence of connections give the same resets and cuts, at the same byte; disarmed,
 * it forwards faithfully; idle connections are closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { startFaultProxy, type FaultPlan } from '../support/fault-proxy.ts';

const ANSWER = Buffer.alloc(10_000, 'x');
let server: Server;
let target: { host: string; port: number };

beforeAll(async () => {
  // Answers every byte it receives with 10 000 bytes (a "response").
  server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('data', () => socket.write(ANSWER));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target = { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** One request on a new connection: how many bytes came back and how it ended. */
function request(port: number): Promise<{ bytes: number; ended: 'reset' | 'closed' | 'complete' }> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let bytes = 0;
    socket.on('connect', () => socket.write('?'));
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes >= ANSWER.length) {
        socket.destroy();
        resolve({ bytes, ended: 'complete' });
      }
    });
    socket.on('error', () => resolve({ bytes, ended: 'reset' }));
    socket.on('close', () => resolve({ bytes, ended: bytes === 0 ? 'reset' : 'closed' }));
  });
}

async function campaign(seed: number, plan: FaultPlan) {
  const proxy = await startFaultProxy(target, seed);
  proxy.arm(plan);
  const outcomes = [];
  for (let i = 0; i < 30; i++) outcomes.push(await request(proxy.port));
  const counts = { ...proxy.counts };
  await proxy.close();
  return { outcomes, counts };
}

describe('fault proxy', () => {
  const plan: FaultPlan = { resetRate: 0.2, cutRate: 0.3, cutAfterBytes: [100, 5_000] };

  it('injects the same faults for the same seed', async () => {
    const first = await campaign(7, plan);
    const second = await campaign(7, plan);
    expect(second).toEqual(first);
    expect(first.counts.resets).toBeGreaterThan(0);
    expect(first.counts.cuts).toBeGreaterThan(0);
    const cut = first.outcomes.filter((o) => o.ended === 'closed');
    expect(cut).toHaveLength(first.counts.cuts);
    for (const o of cut) expect(o.bytes).toBeGreaterThanOrEqual(100);
    const other = await campaign(8, plan);
    expect(other.outcomes).not.toEqual(first.outcomes);
  });

  it('forwards faithfully when disarmed, and stops at maxFaults', async () => {
    const proxy = await startFaultProxy(target, 1);
    for (let i = 0; i < 5; i++) expect((await request(proxy.port)).ended).toBe('complete');
    proxy.arm({ resetRate: 1, maxFaults: 2 });
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await request(proxy.port)).ended);
    expect(outcomes).toEqual(['reset', 'reset', 'complete', 'complete']);
    proxy.arm({ resetRate: 1, maxFaults: 1 }); // a new plan, a new budget
    expect((await request(proxy.port)).ended).toBe('reset');
    expect((await request(proxy.port)).ended).toBe('complete');
    expect(proxy.describe()).toBe('fault seed 1: 11 connections, 3 resets, 0 cuts, 0 idle closes');
    await proxy.close();
  });

  it('closes a connection idle after the answer', async () => {
    const proxy = await startFaultProxy(target, 1);
    proxy.arm({ idleCloseMs: 50 });
    const socket = createConnection({ host: '127.0.0.1', port: proxy.port });
    socket.on('connect', () => socket.write('?'));
    socket.resume();
    await new Promise((resolve) => socket.on('close', resolve));
    expect(proxy.counts.idleCloses).toBe(1);
    await proxy.close();
  });
});
