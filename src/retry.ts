/**
 * Retrying an async operation with capped exponential backoff and full jitter (the AWS architecture
 * blog's "full jitter": each delay is uniform in [0, min(maxMs, baseMs · 2^(n-1)))). Neutral on purpose:
 * storage decorators use it today, HTTP clients (Qdrant) can reuse it.
 */

export interface RetryOptions {
  /** Total attempts including the first one (default 5). 1 means "never retry". */
  attempts?: number;
  /** Backoff base: the upper bound of the first delay (default 100 ms). */
  baseMs?: number;
  /** Cap of one computed delay (default 10 s). A longer retry-after hint is still honoured. */
  maxMs?: number;
  /** Budget for the whole call, attempts and delays included (default 60 s): no retry starts after it. */
  maxElapsedMs?: number;
  /** Aborting stops at once: a pending delay rejects promptly with `signal.reason`. */
  signal?: AbortSignal;
  /** Which errors are worth another attempt (default: none). */
  isRetryable?: (error: unknown) => boolean;
  /** A server's hint (Retry-After) in ms: the delay is at least this long. */
  retryAfterMs?: (error: unknown) => number | undefined;
  /** Called before each delay: for progress reporting, never for control flow. */
  onRetry?: (event: RetryEvent) => void;
  /** Injectable for tests: waits `ms`, rejects with `signal.reason` when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injectable for tests: uniform in [0, 1). */
  random?: () => number;
  /** Injectable for tests: milliseconds since some fixed point. */
  now?: () => number;
}

export interface RetryEvent {
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export const RETRY_DEFAULTS = { attempts: 5, baseMs: 100, maxMs: 10_000, maxElapsedMs: 60_000 } as const;

/** Resolves after `ms`; an abort rejects at once with the signal's reason and clears the timer. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The delay before attempt `failedAttempt + 1`, before any retry-after hint. */
export function backoffDelay(failedAttempt: number, baseMs: number, maxMs: number, random: () => number) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (failedAttempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Calls `fn(attempt)` until it resolves, the error is not retryable, the attempts or the time budget
 * run out, or the signal aborts. Rejects with the last error of `fn` unchanged (or `signal.reason`
 * when aborted during a delay), so callers see the same error types as without retrying.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? RETRY_DEFAULTS.attempts;
  const baseMs = options.baseMs ?? RETRY_DEFAULTS.baseMs;
  const maxMs = options.maxMs ?? RETRY_DEFAULTS.maxMs;
  const maxElapsedMs = options.maxElapsedMs ?? RETRY_DEFAULTS.maxElapsedMs;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be ≥ 1: ${attempts}`);
  const { signal } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const wait = options.sleep ?? sleep;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted || attempt >= attempts || !(options.isRetryable?.(error) ?? false)) throw error;
      const hint = options.retryAfterMs?.(error);
      const jittered = backoffDelay(attempt, baseMs, maxMs, random);
      const delayMs = hint !== undefined && hint > jittered ? hint : jittered;
      if (now() - started + delayMs > maxElapsedMs) throw error;
      options.onRetry?.({ attempt, delayMs, error });
      await wait(delayMs, signal);
    }
  }
}
