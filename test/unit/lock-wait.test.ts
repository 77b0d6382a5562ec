/**
 * `--lock-wait` (design §13.6) on the lock itself: a live holder is waited for and the lock taken once it
 * is released; a wait that runs out is LOCKED naming the holder; an abort ends the wait with INTERRUPTED;
 * without a wait a live holder is LOCKED at once, with a hint that names --lock-wait.
 */
import { describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import { Repository } from '../../src/repository/repository.ts';
import type { LockHolder } from '../../src/repository/lock.ts';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import { exists } from '../../src/storage/storage-helpers.ts';
import { parseLockWait } from '../../src/cli/options.ts';

function repositories(name: string): [Repository, Repository, MemoryStorage] {
  const storage = new MemoryStorage(name);
  return [Repository.onStorage(storage), Repository.onStorage(storage), storage];
}

describe('waiting for the repository lock', () => {
  it('without a wait, a live holder (this process) is LOCKED at once, naming it and --lock-wait', async () => {
    const [first, second] = repositories('lock-wait-none');
    const held = await first.lock('backup');
    const started = Date.now();
    const error = (await second.lock('cleanup').catch((e: unknown) => e)) as AcxError;
    expect(Date.now() - started).toBeLessThan(200);
    expect(error).toMatchObject({ code: 'LOCKED' });
    expect(error.message).toMatch(new RegExp(`is locked by "backup" \\(pid ${process.pid} on `));
    expect(error.hint).toContain('--lock-wait');
    await held.release();
  });

  it('waits while the holder runs and takes the lock once it is released', async () => {
    const [first, second, storage] = repositories('lock-wait-ok');
    const held = await first.lock('backup');
    const seen: LockHolder[] = [];
    second.waitForLock({ ms: 10_000, onWait: (holder) => seen.push(holder) });
    const started = Date.now();
    setTimeout(() => void held.release(), 700);
    const lock = await second.lock('backup --incremental');
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ pid: process.pid, command: 'backup' });
    await lock.release();
    expect(await exists(storage, '.acx-lock')).toBe(false);
  });

  it('a wait that runs out is LOCKED, naming the holder and how long it waited', async () => {
    const [first, second] = repositories('lock-wait-timeout');
    const held = await first.lock('backup');
    second.waitForLock({ ms: 600 });
    const started = Date.now();
    const error = (await second.lock('cleanup').catch((e: unknown) => e)) as AcxError;
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(error).toMatchObject({ code: 'LOCKED' });
    expect(error.message).toMatch(
      /is still locked by "backup" \(pid \d+ .*\) after waiting (6\d\d ms|0\.\d s)$/,
    );
    expect(error.hint).toMatch(/longer --lock-wait/);
    await held.release();
  });

  it('an abort ends the wait with INTERRUPTED and leaves the holder its lock', async () => {
    const [first, second, storage] = repositories('lock-wait-abort');
    const held = await first.lock('backup');
    const controller = new AbortController();
    second.waitForLock({ ms: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    const error = (await second.lock('cleanup').catch((e: unknown) => e)) as AcxError;
    expect(error).toBeInstanceOf(AcxError);
    expect(error.code).toBe('INTERRUPTED');
    expect(await exists(storage, '.acx-lock')).toBe(true);
    await held.release();
  });
});

describe('--lock-wait DURATION', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['500ms', 500],
  ])('reads %s', (text, ms) => expect(parseLockWait(text)).toBe(ms));

  it.each(['90', 'soon', '-5m', ''])('refuses %j', (text) =>
    expect(() => parseLockWait(text)).toThrow(/duration/),
  );
});
