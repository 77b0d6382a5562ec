/**
 * The slice of Qdrant's REST API the toolkit uses, over `fetch`. Point ids keep their 64-bit precision
 * (see qdrant-json.ts). Errors become AcxError with the collection named and the API key never shown.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { AcxError, redactSecrets } from '../../errors.ts';
import type { QdrantSettings } from '../../config/env.ts';
import {
  NotSentAgain,
  sendWithRetry,
  TransientFault,
  type BodyFactory,
  type QdrantHttpOptions,
  type Replay,
  type RequestBody,
  type SendInit,
} from './qdrant-http.ts';
import { joinToBuffer, parseQdrantJson, stringifyQdrantJson } from './qdrant-json.ts';
import { parseScrollPage } from './qdrant-scroll-page.ts';

export type { QdrantHttpOptions, QdrantRetryInfo } from './qdrant-http.ts';

export type PointId = number | bigint | string;

export interface QdrantPoint {
  id: PointId;
  vector?: unknown;
  payload?: Record<string, unknown> | null;
  /**
   * The payload as the server wrote it, when the page was read from its bytes: the backup stores this
   * text, so a number keeps its form (`1.0` stays `1.0`, design §7.2) where parsing and writing it again
   * would give `1`.
   */
  payloadJson?: string;
}

export interface ScrollPage {
  points: QdrantPoint[];
  next_page_offset: PointId | null;
}

export interface QdrantAlias {
  alias_name: string;
  collection_name: string;
}

/** `POST /collections/aliases` actions. */
export type AliasAction =
  | { create_alias: { collection_name: string; alias_name: string } }
  | { delete_alias: { alias_name: string } }
  | { rename_alias: { old_alias_name: string; new_alias_name: string } };

/** A server-side collection snapshot (`SnapshotDescription`). */
export interface SnapshotDescription {
  name: string;
  creation_time?: string | null;
  size: number;
  checksum?: string | null;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** A JSON body already serialised (sent as is, instead of `body`). */
  rawBody?: string;
  signal?: AbortSignal;
  /** The object the request is about, named in errors. */
  subject?: string;
  /** Overrides the safety `replayOf(method, path)` derives (see qdrant-http.ts). */
  replay?: Replay;
  /** A status that, answered to a retried attempt, means an earlier attempt did the work. */
  doneIfRetried?: number;
}

const NOT_QDRANT_HINT = 'is QDRANT_URL a Qdrant server? (check QDRANT_URL or QDRANT_HOST/QDRANT_PORT)';

/**
 * Whether a call can be sent twice with the same effect: reads (GET, scroll, count, retrieve by id),
 * upserts and deletes of points by id, collection settings (PATCH sets absolute values) and payload
 * indexes (creating an existing one with the same schema succeeds). Everything else — alias actions,
 * snapshot creation — is sent once, retried only when it certainly never reached the server.
 */
export function replayOf(method: string, path: string): Replay {
  if (method === 'GET' || method === 'HEAD') return 'idempotent';
  if (/\/points\/(scroll|count|search|query|delete)$/.test(path) || /\/points$/.test(path))
    return method === 'POST' || method === 'PUT' ? 'idempotent' : 'once';
  if (/^\/collections\/[^/]+\/index$/.test(path) && method === 'PUT') return 'idempotent';
  if (/^\/collections\/[^/]+$/.test(path) && method === 'PATCH') return 'idempotent';
  return 'once';
}

export class QdrantClient {
  readonly url: string;
  private readonly apiKey: string | undefined;
  private readonly http: QdrantHttpOptions;

  /** `http` bounds the retries of transient faults and reports them (`onRetry`). */
  constructor(settings: QdrantSettings, http: QdrantHttpOptions = {}) {
    this.url = settings.url;
    this.apiKey = settings.apiKey;
    this.http = http;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.sendJson(method, path, options);
    return this.result<T>(response, method, path, options.subject);
  }

  /** A JSON request whose successful answer is returned as its bytes (errors as `request` throws them). */
  async requestBytes(method: string, path: string, options: RequestOptions = {}): Promise<Uint8Array> {
    const response = await this.sendJson(method, path, options);
    if (!response.ok) return this.result<never>(response, method, path, options.subject);
    return new Uint8Array(await response.arrayBuffer());
  }

  private sendJson(method: string, path: string, options: RequestOptions): Promise<Response> {
    const url = new URL(this.url + path);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {};
    if (this.apiKey) headers['api-key'] = this.apiKey;
    const body =
      options.rawBody ?? (options.body === undefined ? undefined : stringifyQdrantJson(options.body));
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.send(url, {
      method,
      headers,
      signal: options.signal,
      body: body === undefined ? undefined : () => body,
      replay: options.replay ?? replayOf(method, path),
      doneIfRetried: options.doneIfRetried,
      readBody: true,
    });
  }

  /**
   * The one place every call goes through: transient faults retried where safe (qdrant-http.ts),
   * connection failures (and aborts) turned into AcxError.
   */
  private async send(url: URL | string, init: SendInit): Promise<Response> {
    try {
      return await sendWithRetry(url, init, this.http);
    } catch (error) {
      if (init.signal?.aborted) {
        throw new AcxError('INTERRUPTED', 'interrupted while talking to Qdrant', {
          subject: 'qdrant',
          cause: error,
        });
      }
      if (error instanceof NotSentAgain) throw notSentAgain(error);
      const cause = error instanceof TransientFault ? (error.cause ?? error) : error;
      const timedOut = error instanceof TransientFault && error.reason.startsWith('timeout');
      throw new AcxError(
        'CONNECTION',
        timedOut
          ? `Qdrant at ${redactSecrets(this.url)} did not answer: ${error.reason}`
          : `cannot reach Qdrant at ${redactSecrets(this.url)}`,
        {
          subject: 'qdrant',
          cause,
          hint: 'check QDRANT_URL (or QDRANT_HOST/QDRANT_PORT) and that Qdrant is running',
        },
      );
    }
  }

  /** Reads a JSON answer: its `result`, or an AcxError naming the subject. */
  private async result<T>(response: Response, method: string, path: string, subject?: string): Promise<T> {
    const text = await response.text();
    const parsed = text === '' ? undefined : safeParse(text);
    const answer = isObject(parsed) ? (parsed as { result?: T; status?: unknown }) : undefined;
    if (!response.ok) {
      const status = answer?.status as { error?: string } | string | undefined;
      const detail = typeof status === 'object' && status?.error ? status.error : text.slice(0, 300);
      const denied = response.status === 401 || response.status === 403;
      // An answer without Qdrant's JSON envelope comes from something else (a web server, a proxy).
      const foreign = !denied && answer === undefined;
      throw new AcxError(
        denied || foreign ? 'CONNECTION' : 'STORE',
        `Qdrant ${method} ${path} failed (${response.status}): ${redactSecrets(detail)}`,
        {
          subject: subject ?? 'qdrant',
          hint: denied ? 'check QDRANT_API_KEY' : foreign ? NOT_QDRANT_HINT : undefined,
        },
      );
    }
    if (answer === undefined) throw this.notQdrant(method, path, response.status, text);
    return answer.result as T;
  }

  private notQdrant(method: string, path: string, status: number, text: string): AcxError {
    const sample = text.trim() === '' ? 'an empty body' : JSON.stringify(text.trim().slice(0, 80));
    return new AcxError(
      'CONNECTION',
      `${redactSecrets(this.url)} answered ${method} ${path} (${status}) with ${redactSecrets(sample)}, not Qdrant's JSON`,
      { subject: 'qdrant', hint: NOT_QDRANT_HINT },
    );
  }

  /** Server title and version from `GET /`. */
  async version(): Promise<string> {
    const response = await this.rawGet('/');
    const text = await response.text();
    const info = safeParse(text);
    if (!response.ok || !isObject(info) || typeof (info as { version?: unknown }).version !== 'string')
      throw this.notQdrant('GET', '/', response.status, text);
    return (info as { version: string }).version;
  }

  async listCollections(): Promise<string[]> {
    const result = await this.request<{ collections: { name: string }[] }>('GET', '/collections');
    return result.collections.map((c) => c.name).sort();
  }

  async collectionExists(name: string): Promise<boolean> {
    const result = await this.request<{ exists: boolean }>('GET', `/collections/${enc(name)}/exists`, {
      subject: name,
    });
    return result.exists;
  }

  getCollection(name: string): Promise<Record<string, unknown>> {
    return this.request('GET', `/collections/${enc(name)}`, { subject: name });
  }

  /**
   * Retried: a retried attempt answered 409 "already exists" means an earlier attempt, whose answer
   * was lost, created it (callers create only what they found missing).
   */
  async createCollection(name: string, config: unknown): Promise<void> {
    await this.request('PUT', `/collections/${enc(name)}`, {
      body: config,
      subject: name,
      replay: 'idempotent',
      doneIfRetried: 409,
    });
  }

  /** Retried: a retried attempt answered 404 means an earlier attempt deleted it. */
  async deleteCollection(name: string): Promise<void> {
    await this.request('DELETE', `/collections/${enc(name)}`, {
      subject: name,
      replay: 'idempotent',
      doneIfRetried: 404,
    });
  }

  async createPayloadIndex(name: string, fieldName: string, fieldSchema: unknown): Promise<void> {
    await this.request('PUT', `/collections/${enc(name)}/index`, {
      query: { wait: true },
      body: { field_name: fieldName, field_schema: fieldSchema },
      subject: name,
    });
  }

  /** `PATCH /collections/{name}` (an `UpdateCollection` body). */
  async updateCollection(name: string, diff: unknown): Promise<void> {
    await this.request('PATCH', `/collections/${enc(name)}`, { body: diff, subject: name });
  }

  /** Every alias of the server, or of one collection. */
  async listAliases(collection?: string): Promise<QdrantAlias[]> {
    const path = collection === undefined ? '/aliases' : `/collections/${enc(collection)}/aliases`;
    const result = await this.request<{ aliases: QdrantAlias[] }>('GET', path, { subject: collection });
    return result.aliases;
  }

  /** Applies alias actions atomically (all or none). */
  async updateAliases(actions: AliasAction[], subject?: string): Promise<void> {
    await this.request('POST', '/collections/aliases', { body: { actions }, subject });
  }

  /** Creates a server-side snapshot of a collection and waits for it. */
  createSnapshot(name: string, signal?: AbortSignal): Promise<SnapshotDescription> {
    return this.request('POST', `/collections/${enc(name)}/snapshots`, {
      query: { wait: true },
      subject: name,
      signal,
    });
  }

  listSnapshots(name: string): Promise<SnapshotDescription[]> {
    return this.request('GET', `/collections/${enc(name)}/snapshots`, { subject: name });
  }

  async deleteSnapshot(name: string, snapshot: string): Promise<void> {
    await this.request('DELETE', `/collections/${enc(name)}/snapshots/${enc(snapshot)}`, {
      query: { wait: true },
      subject: name,
      replay: 'idempotent',
      doneIfRetried: 404,
    });
  }

  /** The bytes of a server-side snapshot, as a stream (never held in memory). */
  async downloadSnapshot(name: string, snapshot: string, signal?: AbortSignal): Promise<Readable> {
    const path = `/collections/${enc(name)}/snapshots/${enc(snapshot)}`;
    const response = await this.send(this.url + path, {
      method: 'GET',
      headers: this.authHeaders(),
      signal,
      replay: 'idempotent',
    });
    if (!response.ok || !response.body) return this.result<never>(response, 'GET', path, name);
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  }

  /**
   * Recovers a collection from a snapshot file by streaming it as `multipart/form-data`
   * (`POST /collections/{name}/snapshots/upload`); the collection is created if missing. `checksum`
   * (SHA-256, hex) makes the server refuse a damaged file. Recovering the same file twice leaves the
   * same collection, but a stream can be sent once: the upload is retried only when `file.reopen`
   * gives a fresh copy of the bytes (otherwise it is sent once: a lost connection or a 5xx fails it).
   */
  async uploadSnapshot(
    name: string,
    file: { stream: Readable; bytes: number; reopen?: () => Readable | Promise<Readable> },
    options: { checksum?: string; priority?: 'snapshot' | 'replica' | 'no_sync'; signal?: AbortSignal } = {},
  ): Promise<void> {
    const path = `/collections/${enc(name)}/snapshots/upload`;
    const url = new URL(this.url + path);
    url.searchParams.set('wait', 'true');
    url.searchParams.set('priority', options.priority ?? 'snapshot');
    if (options.checksum) url.searchParams.set('checksum', options.checksum);
    const boundary = `acx-data-${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
    const head = Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="snapshot"; filename="${enc(name)}.snapshot"\r\n` +
        'content-type: application/octet-stream\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    async function* parts(stream: Readable): AsyncGenerator<Buffer> {
      yield head;
      for await (const chunk of stream) yield chunk as Buffer;
      yield tail;
    }
    let stream = file.stream;
    const body: BodyFactory = async (attempt) => {
      if (attempt > 1 && file.reopen) {
        stream.destroy();
        stream = await file.reopen();
      }
      return webStream(parts(stream));
    };
    try {
      const response = await this.send(url, {
        method: 'POST',
        headers: {
          ...this.authHeaders(),
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(head.length + file.bytes + tail.length),
        },
        body,
        replay: file.reopen ? 'idempotent' : 'never',
        readBody: true,
        signal: options.signal,
      });
      await this.result(response, 'POST', path, name);
    } finally {
      stream.destroy();
    }
  }

  /**
   * Upserts points given as JSON texts (each a `PointStruct`), as one batch, waiting until applied.
   * Retried: an upsert by id leaves the same points however often it is applied.
   */
  async upsertJson(name: string, points: string[], signal?: AbortSignal): Promise<void> {
    // One Buffer (outside V8's heap), written point by point: a multi-megabyte body *string* per batch
    // would land in V8's large-object space and make the heap (and RSS) grow with the length of the
    // run, and streaming the pieces through a web stream cost more CPU than encoding them.
    const path = `/collections/${enc(name)}/points`;
    const url = new URL(`${this.url}${path}?wait=true`);
    const body = joinToBuffer(points, ',', '{"points":[', ']}');
    const response = await this.send(url, {
      method: 'PUT',
      headers: { ...this.authHeaders(), 'content-type': 'application/json' },
      // Each attempt sends the same bytes.
      body: () => body,
      replay: 'idempotent',
      readBody: true,
      signal,
    });
    await this.result(response, 'PUT', path, name);
  }

  async upsert(name: string, points: QdrantPoint[], signal?: AbortSignal): Promise<void> {
    await this.request('PUT', `/collections/${enc(name)}/points`, {
      query: { wait: true },
      body: { points },
      subject: name,
      signal,
    });
  }

  /** Deletes points by id and waits until they are gone (a write by id: safe to send again). */
  async deletePoints(name: string, ids: PointId[], signal?: AbortSignal): Promise<void> {
    await this.request('POST', `/collections/${enc(name)}/points/delete`, {
      query: { wait: true },
      body: { points: ids },
      subject: name,
      signal,
    });
  }

  scroll(name: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<ScrollPage> {
    return this.request('POST', `/collections/${enc(name)}/points/scroll`, { body, subject: name, signal });
  }

  /**
   * `scroll` whose points' vectors are read as Float64Arrays (qdrant-scroll-page.ts), for
   * `encodeVectors`: the same page, without an array of boxed numbers per vector.
   */
  async scrollTyped(name: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<ScrollPage> {
    const path = `/collections/${enc(name)}/points/scroll`;
    const bytes = await this.requestBytes('POST', path, { body, subject: name, signal });
    const page = parseScrollPage(bytes);
    if (page) return page;
    // Not a scroll answer in Qdrant's envelope: read it the general way, which names what is wrong.
    const text = new TextDecoder().decode(bytes);
    const parsed = safeParse(text);
    if (!isObject(parsed)) throw this.notQdrant('POST', path, 200, text);
    return (parsed as { result: ScrollPage }).result;
  }

  /**
   * Every point of a collection, page by page (ordered by id). One page in memory at a time, or two
   * with `prefetch` (the next page is requested as soon as the current one is in, and arrives while
   * the caller works on it). `typedVectors`: vectors as Float64Arrays (`scrollTyped`).
   */
  async *scrollAll(
    name: string,
    options: {
      pageSize?: number;
      withVector?: boolean;
      filter?: unknown;
      signal?: AbortSignal;
      prefetch?: boolean;
      typedVectors?: boolean;
    } = {},
  ): AsyncGenerator<QdrantPoint[]> {
    const fetchPage = (offset: PointId | null): Promise<ScrollPage> => {
      const body = {
        limit: options.pageSize ?? 256,
        with_payload: true,
        with_vector: options.withVector ?? true,
        ...(offset === null ? {} : { offset }),
        ...(options.filter ? { filter: options.filter } : {}),
      };
      return options.typedVectors
        ? this.scrollTyped(name, body, options.signal)
        : this.scroll(name, body, options.signal);
    };
    let pending: Promise<ScrollPage> | undefined = fetchPage(null);
    try {
      while (pending) {
        const page: ScrollPage = await pending;
        pending = undefined;
        const offset = page.next_page_offset;
        const more = offset !== null && offset !== undefined;
        if (more && options.prefetch) {
          pending = fetchPage(offset);
          // Awaited on the next turn; a caller that stops early must not leave it unhandled.
          pending.catch(() => undefined);
        }
        if (page.points.length > 0) yield page.points;
        if (more && !pending) pending = fetchPage(offset);
      }
    } finally {
      // A caller that stopped early: the page asked for in advance is dropped (its error too).
      await pending?.catch(() => undefined);
    }
  }

  async count(name: string, filter?: unknown): Promise<number> {
    const result = await this.request<{ count: number }>('POST', `/collections/${enc(name)}/points/count`, {
      body: { exact: true, ...(filter ? { filter } : {}) },
      subject: name,
    });
    return result.count;
  }

  private authHeaders(): Record<string, string> {
    return this.apiKey ? { 'api-key': this.apiKey } : {};
  }

  private rawGet(path: string): Promise<Response> {
    return this.send(this.url + path, {
      method: 'GET',
      headers: this.authHeaders(),
      replay: 'idempotent',
      readBody: true,
    });
  }
}

const enc = encodeURIComponent;

/** A call lost after it was sent that may not be sent again, as one line naming the call. */
function notSentAgain(error: NotSentAgain): AcxError {
  const why =
    error.replay === 'never'
      ? 'its body is a stream that cannot be read a second time'
      : 'a second copy could apply it twice';
  return new AcxError(
    'CONNECTION',
    `Qdrant ${error.method} ${error.path}: the connection was lost after the request was sent ` +
      `(${error.fault.reason}), and it is not sent again: ${why}`,
    {
      subject: 'qdrant',
      cause: error.fault.cause ?? error.fault,
      hint:
        'the request may or may not have been applied; run the command again (a proxy or load balancer ' +
        'that drops connections makes this happen)',
    },
  );
}

function webStream(source: AsyncGenerator<Buffer>): RequestBody {
  return Readable.toWeb(Readable.from(source)) as unknown as RequestBody;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeParse(text: string): unknown {
  try {
    return parseQdrantJson(text);
  } catch {
    return undefined;
  }
}
