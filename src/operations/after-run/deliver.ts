/**
 * Delivering what a run produced to another host (alerts, a Pushgateway), with the project's retry
 * (src/retry.ts): network errors, 429 and 5xx are tried again with backoff — a duplicate alert is
 * better than none (docs/design.md §13.2). A delivery that fails after its retries becomes a warning
 * naming the channel by host only: a webhook's path may hold its secret.
 */
import { retry, type RetryOptions } from '../../retry.ts';

/** The retry budget of one delivery (tests shorten it). */
export const DELIVERY_RETRY: RetryOptions = { attempts: 5, baseMs: 200, maxMs: 5_000, maxElapsedMs: 30_000 };
const REQUEST_TIMEOUT_MS = 15_000;

/** A failed attempt: its short, secret-free reason, and whether another attempt may help. */
export class DeliveryError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(reason: string, retryable: boolean, retryAfterMs?: number) {
    super(reason);
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The errno-like code of a network failure (fetch hides it in `cause`), never a URL. */
export function networkReason(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out';
    e = e.cause;
  }
  return 'network error';
}

function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** One HTTP request; resolves on 2xx, else throws a DeliveryError (retryable: network, 429, 5xx). */
async function send(url: string, init: { method: string; body: string; contentType: string }): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method,
      headers: { 'content-type': init.contentType },
      body: init.body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (error) {
    throw new DeliveryError(networkReason(error), true);
  }
  await response.arrayBuffer().catch(() => undefined);
  if (response.ok) return;
  const transient = response.status === 429 || response.status >= 500;
  throw new DeliveryError(
    `HTTP ${response.status}`,
    transient,
    retryAfter(response.headers.get('retry-after')),
  );
}

/** The number of attempts a delivery made, for the warning. */
export interface Delivered {
  attempts: number;
}

/** Runs `attempt` with the delivery retry; rejects with a DeliveryError whose message says how often it tried. */
export async function withRetries(
  attempt: () => Promise<void>,
  options: RetryOptions = DELIVERY_RETRY,
): Promise<Delivered> {
  let attempts = 0;
  try {
    await retry(
      async () => {
        attempts++;
        await attempt();
      },
      {
        ...options,
        isRetryable: (error) => error instanceof DeliveryError && error.retryable,
        retryAfterMs: (error) => (error instanceof DeliveryError ? error.retryAfterMs : undefined),
      },
    );
    return { attempts };
  } catch (error) {
    const reason = error instanceof DeliveryError ? error.message : networkReason(error);
    throw new DeliveryError(`${reason} (${attempts} attempt${attempts === 1 ? '' : 's'})`, false);
  }
}

/** POSTs or PUTs `body` to `url`, retried. */
export function deliverHttp(
  url: string,
  init: { method: 'POST' | 'PUT'; body: string; contentType: string },
  options?: RetryOptions,
): Promise<Delivered> {
  return withRetries(() => send(url, init), options);
}
