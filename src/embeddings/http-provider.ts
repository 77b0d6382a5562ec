/**
 * The http provider: an embedding server, in either of two dialects chosen by the endpoint —
 * OpenAI-compatible `POST …/v1/embeddings` (`{model, input: […]}` → `{data: [{embedding, index}]}`) or
 * Hugging Face text-embeddings-inference `POST …/embed` (`{inputs: […], normalize, truncate}` →
 * `[[…], …]`).
 *
 * Texts go in batches (default 32). A batch is retried with capped exponential backoff and full jitter
 * (src/retry.ts) on 429, 5xx and dropped connections, honouring Retry-After; embedding is a pure
 * function of the text, so a retried batch cannot write anything twice. One request waits at most
 * `timeoutMs`; a request that times out is not retried (a server that needs longer will need it
 * again: raise EMBEDDING_TIMEOUT_MS or lower EMBEDDING_BATCH_SIZE). The API key goes in an
 * `Authorization: Bearer` header and never into a message. What comes back is checked (count,
 * dimension) and L2-normalised, since OpenAI-style servers need not normalise.
 */
import { AcxError, redactSecrets } from '../errors.ts';
import { retry, type RetryOptions } from '../retry.ts';
import type { EmbeddingProvider } from './embedding-provider.ts';
import { batchesOf, checkDimension, l2Normalise } from './embedding-vectors.ts';

export const EMBEDDING_APIS = ['openai', 'tei'] as const;
export type EmbeddingApi = (typeof EMBEDDING_APIS)[number];

export interface HttpProviderOptions {
  /** The full endpoint URL (`…/v1/embeddings` or `…/embed`). */
  url: string;
  api: EmbeddingApi;
  /** The `model` field sent to OpenAI-style servers (HUBERT_MODEL); TEI serves one model and ignores it. */
  modelName?: string;
  /** Sent as `Authorization: Bearer …`; never printed. */
  apiKey?: string;
  dimension: number;
  /** Texts per request (default 32). */
  batchSize?: number;
  /** One request's limit (default 60 000 ms). */
  timeoutMs?: number;
  /** Backoff settings (attempts, base and cap of the delays, total budget); the defaults of src/retry.ts. */
  retry?: Pick<RetryOptions, 'attempts' | 'baseMs' | 'maxMs' | 'maxElapsedMs'>;
}

/** A failed attempt, before retrying decides: `retryable` failures are tried again, the rest end the call. */
class AttemptFailure extends Error {
  readonly error: AcxError;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;

  constructor(error: AcxError, retryable: boolean, retryAfterMs?: number) {
    super(error.message);
    this.error = error;
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The URL as it may be shown: no userinfo, no query (either may hold a key). */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export class HttpEmbeddingProvider implements EmbeddingProvider {
  readonly model: string;
  readonly dimension: number;
  private readonly url: URL;
  private readonly shown: string;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private closed = false;

  private readonly options: HttpProviderOptions;

  constructor(options: HttpProviderOptions) {
    this.options = options;

    this.url = new URL(options.url);
    this.shown = displayUrl(this.url);
    this.model = `http:${options.modelName ?? this.url.host}`;
    this.dimension = options.dimension;
    this.batchSize = options.batchSize ?? 32;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.closed) throw new AcxError('INTERNAL', `the embedding provider ${this.model} is closed`);
    const vectors: Float32Array[] = [];
    for (const batch of batchesOf(texts, this.batchSize))
      vectors.push(...(await this.embedBatch(batch, signal)));
    return vectors;
  }

  async close(): Promise<void> {
    this.closed = true; // fetch keeps no connection of ours open
  }

  private async embedBatch(batch: string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    try {
      const raw = await retry(() => this.post(batch, signal), {
        ...this.options.retry,
        signal,
        isRetryable: (e) => e instanceof AttemptFailure && e.retryable,
        retryAfterMs: (e) => (e instanceof AttemptFailure ? e.retryAfterMs : undefined),
      });
      return raw.map((vector) => {
        checkDimension(vector, this.dimension, this.model);
        return l2Normalise(vector, this.model);
      });
    } catch (error) {
      if (signal?.aborted) {
        throw new AcxError('INTERRUPTED', 'embedding interrupted', {
          subject: this.model,
          cause: signal.reason,
        });
      }
      throw error instanceof AttemptFailure ? error.error : error;
    }
  }

  /** One request: the batch's vectors in order, or an AttemptFailure. */
  private async post(batch: string[], signal: AbortSignal | undefined): Promise<number[][]> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: this.headers(),
        body: JSON.stringify(this.requestBody(batch)),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      throw this.requestFailure(error, timeout.aborted);
    }
    if (!response.ok) throw await this.statusFailure(response);
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      if (signal?.aborted || timeout.aborted) throw this.requestFailure(error, timeout.aborted);
      throw new AttemptFailure(this.answerError('is not JSON', error), false);
    }
    return this.vectorsOf(body, batch.length);
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    return headers;
  }

  private requestBody(batch: string[]): unknown {
    if (this.options.api === 'tei') return { inputs: batch, normalize: true, truncate: true };
    return { model: this.options.modelName, input: batch };
  }

  private requestFailure(error: unknown, timedOut: boolean): AttemptFailure {
    if (timedOut) {
      const message = `the embedding server ${this.shown} did not answer within ${this.timeoutMs} ms`;
      const hint = 'raise EMBEDDING_TIMEOUT_MS, lower EMBEDDING_BATCH_SIZE, or check the server';
      return new AttemptFailure(
        new AcxError('CONNECTION', message, { subject: this.model, hint, cause: error }),
        false,
      );
    }
    const code = errorCode(error);
    const message = `the embedding server ${this.shown} could not be reached${code ? ` (${code})` : ''}`;
    const hint = 'check EMBEDDING_URL and that the server is running';
    return new AttemptFailure(
      new AcxError('CONNECTION', message, { subject: this.model, hint, cause: error }),
      true,
    );
  }

  private async statusFailure(response: Response): Promise<AttemptFailure> {
    const status = response.status;
    const detail = this.scrub(await response.text().catch(() => ''));
    const message = `the embedding server ${this.shown} answered HTTP ${status}${detail ? `: ${detail}` : ''}`;
    if (status === 401 || status === 403) {
      const hint = this.options.apiKey
        ? 'the server refused EMBEDDING_API_KEY: check the key and its permissions'
        : 'the server wants a key: set EMBEDDING_API_KEY (sent as a Bearer token)';
      return new AttemptFailure(new AcxError('CONNECTION', message, { subject: this.model, hint }), false);
    }
    if (status === 429 || status >= 500) {
      const hint = 'the server is overloaded or failing; lower EMBEDDING_BATCH_SIZE or try again later';
      const error = new AcxError('CONNECTION', message, { subject: this.model, hint });
      return new AttemptFailure(error, true, retryAfterMs(response.headers.get('retry-after')));
    }
    const hint =
      status === 404
        ? 'check EMBEDDING_URL: the full endpoint, …/v1/embeddings (OpenAI-style) or …/embed (TEI)'
        : status === 413
          ? 'lower EMBEDDING_BATCH_SIZE'
          : 'check EMBEDDING_URL, EMBEDDING_API and HUBERT_MODEL against the server';
    return new AttemptFailure(new AcxError('STORE', message, { subject: this.model, hint }), false);
  }

  /** A server's words, shortened, with anything key-like (and the key itself) removed. */
  private scrub(text: string): string {
    let clean = redactSecrets(text.replace(/\s+/g, ' ').trim());
    if (this.options.apiKey) clean = clean.split(this.options.apiKey).join('***');
    return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
  }

  private vectorsOf(body: unknown, count: number): number[][] {
    const vectors = this.options.api === 'tei' ? body : openAiVectors(body);
    if (!Array.isArray(vectors) || vectors.length !== count) {
      throw new AttemptFailure(this.answerError(`does not hold ${count} vectors`), false);
    }
    for (const vector of vectors) {
      if (!Array.isArray(vector) || !vector.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw new AttemptFailure(
          this.answerError('holds a vector that is not a list of finite numbers'),
          false,
        );
      }
    }
    return vectors as number[][];
  }

  private answerError(what: string, cause?: unknown): AcxError {
    return new AcxError('STORE', `the answer of the embedding server ${this.shown} ${what}`, {
      subject: this.model,
      hint: `check that EMBEDDING_URL is a ${this.options.api === 'tei' ? 'TEI /embed' : 'OpenAI-style /v1/embeddings'} endpoint (or set EMBEDDING_API)`,
      cause,
    });
  }
}

/** `{data: [{embedding, index}]}` → the embeddings in index order; anything else → undefined. */
function openAiVectors(body: unknown): unknown[] | undefined {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return undefined;
  const items = data as { embedding?: unknown; index?: unknown }[];
  const byIndex = [...items].sort((a, b) => Number(a?.index ?? 0) - Number(b?.index ?? 0));
  return byIndex.map((item) => item?.embedding);
}

/** Retry-After as seconds or an HTTP date, in ms; absent or unreadable → undefined. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}
