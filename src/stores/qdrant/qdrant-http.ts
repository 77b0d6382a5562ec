/**
 * The HTTP seam of the Qdrant client: one `fetch` per attempt, transient faults retried through
 * src/retry.ts where a second copy of the request cannot do harm. See docs/design.md §2 "Retries".
 *
 * A fault is retried when:
 * - the request never reached the server (connection refused, connect timeout, DNS "try again"),
 *   or the server said it did not process it (429): any call;
 * - the request may have been processed but its answer was lost (reset, dropped keep-alive socket
 *   "other side closed", EPIPE, ETIMEDOUT, no answer within the request timeout, 502/503/504):
 *   only calls whose second copy leaves the same state (`replay: 'idempotent'`).
 * 500 is not retried: Qdrant answers it for internal failures of the request itself (a full disk,
 * a broken segment, a bug), which a second copy repeats; a gateway's transient failure is 502–504.
 * A call whose body can be read once (`replay: 'never'`) is never retried. Whether a fault is retried
 * is decided before it is reported: `onRetry` is told only of a retry that follows (or that an abort
 * during its delay stops).
 */
import type { ProgressEvent } from '../../progress.ts';
import { retry } from '../../retry.ts';

/**
 * How safe it is to send a call twice: `idempotent` (a second copy leaves the same state), `once` (again
 * only when the first surely was not processed), `never` (its body can be read once: a stream that
 * cannot be opened again).
 */
export type Replay = 'idempotent' | 'once' | 'never';

/** One announced retry, for progress output. */
export interface QdrantRetryInfo {
  method: string;
  path: string;
  /** The attempt that failed (1-based); the next one is `attempt + 1`. */
  attempt: number;
  delayMs: number;
  /** Why: an error code (`UND_ERR_SOCKET`, `ECONNRESET`, …), `timeout` or `HTTP 503`. */
  reason: string;
}

/** The progress event of a retry: "retrying Qdrant GET /collections (attempt 2, in 180 ms): UND_ERR_SOCKET". */
export function qdrantRetryEvent(info: QdrantRetryInfo): ProgressEvent {
  return {
    type: 'retry',
    store: 'qdrant',
    attempt: info.attempt + 1,
    delayMs: info.delayMs,
    message: `retrying Qdrant ${info.method} ${info.path} (attempt ${info.attempt + 1}, in ${info.delayMs} ms): ${info.reason}`,
  };
}

export interface QdrantHttpOptions {
  /** Attempts per call, the first included (default 6). */
  attempts?: number;
  /** Budget of one call, attempts and delays included (default 60 s). */
  maxElapsedMs?: number;
  /** Upper bound of the first backoff delay (default 200 ms); doubles per attempt, capped at 10 s. */
  baseMs?: number;
  /** How long one attempt may wait for the answer's headers (default 5 min). */
  requestTimeoutMs?: number;
  /** Told before each backoff delay (progress output; never control flow). */
  onRetry?: (info: QdrantRetryInfo) => void;
}

export const QDRANT_HTTP_DEFAULTS = {
  attempts: 6,
  maxElapsedMs: 60_000,
  baseMs: 200,
  maxMs: 10_000,
  requestTimeoutMs: 300_000,
} as const;

export type RequestBody = NonNullable<RequestInit['body']>;

/** A request body for attempt n (asked for attempt 2 and later only when `replay` is not `never`). */
export type BodyFactory = (attempt: number) => Promise<RequestBody> | RequestBody;

export interface SendInit {
  method: string;
  headers: Record<string, string>;
  body?: BodyFactory;
  signal?: AbortSignal;
  replay: Replay;
  /** A status that, answered to a retried attempt, means an earlier attempt already did the work
   * (409 for a create, 404 for a delete): the call then succeeds. */
  doneIfRetried?: number;
  /** Reads the whole answer inside the attempt, so a response cut mid-body is retried too. */
  readBody?: boolean;
}

/** A failed attempt worth another one: a lost connection (`cause`) or a transient status (`response`). */
export class TransientFault extends Error {
  readonly reason: string;
  readonly notSent: boolean;
  override readonly cause?: unknown;
  readonly response?: Response;
  readonly retryAfterMs?: number;

  constructor(reason: string, notSent: boolean, cause?: unknown, response?: Response, retryAfterMs?: number) {
    super(`transient Qdrant fault: ${reason}`);
    this.reason = reason;
    this.notSent = notSent;
    this.cause = cause;
    this.response = response;
    this.retryAfterMs = retryAfterMs;
  }
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN']);
const LOST_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
]);
const RETRIED_STATUSES = new Set([429, 502, 503, 504]);

/** The transient error code in an error's `cause` chain (fetch wraps it in `TypeError: fetch failed`). */
export function transientCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NOT_SENT_CODES.has(code) || LOST_CODES.has(code))) return code;
    // AggregateError of a happy-eyeballs connect: every address refused.
    if (e instanceof AggregateError)
      for (const inner of e.errors) {
        const found = transientCode(inner);
        if (found) return found;
      }
  }
  return undefined;
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

class RequestTimeout extends Error {}

/**
 * Sends `init` to `url`, retrying transient faults as the module comment says. Resolves with the
 * answer (a transient status that exhausted the retries included, so callers read it as usual);
 * rejects with `NotSentAgain` when a connection was lost after sending a call that may not be sent
 * again, with the last `TransientFault` of a lost connection otherwise, the signal's reason when
 * aborted, or fetch's own error for anything else.
 */
export async function sendWithRetry(
  url: URL | string,
  init: SendInit,
  options: QdrantHttpOptions,
): Promise<Response> {
  const path = new URL(url).pathname;
  const timeoutMs = options.requestTimeoutMs ?? QDRANT_HTTP_DEFAULTS.requestTimeoutMs;
  const attempt = async (n: number): Promise<Response> => {
    const body = init.body ? await init.body(n) : undefined;
    const response = await fetchOnce(url, { ...init, body }, timeoutMs);
    if (n > 1 && response.status === init.doneIfRetried) {
      await response.body?.cancel();
      return new Response('{"result":true,"status":"ok"}', { status: 200 });
    }
    if (!RETRIED_STATUSES.has(response.status) && !init.readBody) return response;
    // Bytes, not text: a 2.5 MB scroll page decoded here, encoded again by `new Response` and decoded
    // once more by the caller cost a fifth of a backup's CPU.
    const bytes = await readBytes(response);
    if (!RETRIED_STATUSES.has(response.status))
      return new Response(bytes, { status: response.status, headers: response.headers });
    const copy = new Response(bytes, { status: response.status, headers: response.headers });
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    throw new TransientFault(`HTTP ${response.status}`, response.status === 429, undefined, copy, retryAfter);
  };
  try {
    return await retry(attempt, {
      attempts: options.attempts ?? QDRANT_HTTP_DEFAULTS.attempts,
      maxElapsedMs: options.maxElapsedMs ?? QDRANT_HTTP_DEFAULTS.maxElapsedMs,
      baseMs: options.baseMs ?? QDRANT_HTTP_DEFAULTS.baseMs,
      maxMs: QDRANT_HTTP_DEFAULTS.maxMs,
      signal: init.signal,
      isRetryable: (error) => error instanceof TransientFault && isReplayable(init.replay, error),
      retryAfterMs: (error) => (error instanceof TransientFault ? error.retryAfterMs : undefined),
      onRetry: ({ attempt: n, delayMs, error }) =>
        options.onRetry?.({
          method: init.method,
          path,
          attempt: n,
          delayMs,
          reason: error instanceof TransientFault ? error.reason : String(error),
        }),
    });
  } catch (error) {
    if (error instanceof TransientFault && error.response) return error.response;
    if (error instanceof TransientFault && !error.notSent && !isReplayable(init.replay, error))
      throw new NotSentAgain(init.method, path, init.replay, error);
    throw error;
  }
}

/** Whether a call of this kind may be sent again after this fault (module comment). */
function isReplayable(replay: Replay, fault: TransientFault): boolean {
  return replay === 'idempotent' || (replay === 'once' && fault.notSent);
}

/**
 * A lost connection on a call that may not be sent again: the request may have been applied, and a
 * second copy could apply it twice (`once`) or has no body to send (`never`).
 */
export class NotSentAgain extends Error {
  readonly method: string;
  readonly path: string;
  readonly replay: Replay;
  readonly fault: TransientFault;

  constructor(method: string, path: string, replay: Replay, fault: TransientFault) {
    super(`Qdrant ${method} ${path}: ${fault.reason}, not sent again`, { cause: fault });
    this.method = method;
    this.path = path;
    this.replay = replay;
    this.fault = fault;
  }
}

/** One attempt, bounded by the request timeout until the answer's headers arrive. */
async function fetchOnce(
  url: URL | string,
  init: Omit<SendInit, 'body'> & { body?: RequestBody },
  timeoutMs: number,
): Promise<Response> {
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(new RequestTimeout()), timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timer.signal]) : timer.signal;
  try {
    return await fetch(url, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      signal,
      ...(isStream(init.body) ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (cause) {
    if (init.signal?.aborted) throw cause;
    if (timer.signal.aborted)
      throw new TransientFault(`timeout (no answer within ${timeoutMs} ms)`, false, cause);
    const code = transientCode(cause);
    if (code) throw new TransientFault(code, NOT_SENT_CODES.has(code), cause);
    throw cause;
  } finally {
    clearTimeout(timeout);
  }
}

/** The answer's bytes; a connection lost mid-body is a transient fault. */
async function readBytes(response: Response): Promise<Uint8Array> {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (cause) {
    const code = transientCode(cause);
    if (code) throw new TransientFault(`${code} (answer cut)`, false, cause);
    throw cause;
  }
}

function isStream(body: RequestBody | undefined): boolean {
  return (
    typeof body === 'object' && body !== null && typeof (body as ReadableStream).getReader === 'function'
  );
}
