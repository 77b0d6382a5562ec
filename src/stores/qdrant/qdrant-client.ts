/**
 * The slice of Qdrant's REST API the toolkit uses, over `fetch`. Point ids keep their 64-bit precision
 * (see qdrant-json.ts). Errors become AcxError with the collection named and the API key never shown.
 */
import { AcxError, redactSecrets } from '../../errors.ts';
import type { QdrantSettings } from '../../config/env.ts';
import { parseQdrantJson, stringifyQdrantJson } from './qdrant-json.ts';

export type PointId = number | bigint | string;

export interface QdrantPoint {
  id: PointId;
  vector?: unknown;
  payload?: Record<string, unknown> | null;
}

export interface ScrollPage {
  points: QdrantPoint[];
  next_page_offset: PointId | null;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  /** The object the request is about, named in errors. */
  subject?: string;
}

export class QdrantClient {
  readonly url: string;
  private readonly apiKey: string | undefined;

  constructor(settings: QdrantSettings) {
    this.url = settings.url;
    this.apiKey = settings.apiKey;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.url + path);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {};
    if (this.apiKey) headers['api-key'] = this.apiKey;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        signal: options.signal,
        body: options.body === undefined ? undefined : stringifyQdrantJson(options.body),
      });
    } catch (cause) {
      throw new AcxError('CONNECTION', `cannot reach Qdrant at ${redactSecrets(this.url)}`, {
        subject: 'qdrant',
        cause,
        hint: 'check QDRANT_URL (or QDRANT_HOST/QDRANT_PORT) and that Qdrant is running',
      });
    }
    const text = await response.text();
    const parsed =
      text === '' ? undefined : (safeParse(text) as { result?: T; status?: unknown } | undefined);
    if (!response.ok) {
      const status = parsed?.status as { error?: string } | string | undefined;
      const detail = typeof status === 'object' && status?.error ? status.error : text.slice(0, 300);
      const code = response.status === 401 || response.status === 403 ? 'CONNECTION' : 'STORE';
      throw new AcxError(
        code,
        `Qdrant ${method} ${path} failed (${response.status}): ${redactSecrets(detail)}`,
        {
          subject: options.subject ?? 'qdrant',
          hint: response.status === 401 || response.status === 403 ? 'check QDRANT_API_KEY' : undefined,
        },
      );
    }
    return parsed?.result as T;
  }

  /** Server title and version from `GET /`. */
  async version(): Promise<string> {
    const response = await this.rawGet('/');
    const info = parseQdrantJson(await response.text()) as { version?: string };
    return info.version ?? 'unknown';
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

  async createCollection(name: string, config: unknown): Promise<void> {
    await this.request('PUT', `/collections/${enc(name)}`, { body: config, subject: name });
  }

  async deleteCollection(name: string): Promise<void> {
    await this.request('DELETE', `/collections/${enc(name)}`, { subject: name });
  }

  async createPayloadIndex(name: string, fieldName: string, fieldSchema: unknown): Promise<void> {
    await this.request('PUT', `/collections/${enc(name)}/index`, {
      query: { wait: true },
      body: { field_name: fieldName, field_schema: fieldSchema },
      subject: name,
    });
  }

  async upsert(name: string, points: QdrantPoint[], signal?: AbortSignal): Promise<void> {
    await this.request('PUT', `/collections/${enc(name)}/points`, {
      query: { wait: true },
      body: { points },
      subject: name,
      signal,
    });
  }

  scroll(name: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<ScrollPage> {
    return this.request('POST', `/collections/${enc(name)}/points/scroll`, { body, subject: name, signal });
  }

  /** Every point of a collection, page by page (ordered by id), never more than one page in memory. */
  async *scrollAll(
    name: string,
    options: { pageSize?: number; withVector?: boolean; filter?: unknown; signal?: AbortSignal } = {},
  ): AsyncGenerator<QdrantPoint[]> {
    let offset: PointId | null = null;
    do {
      const page: ScrollPage = await this.scroll(
        name,
        {
          limit: options.pageSize ?? 256,
          with_payload: true,
          with_vector: options.withVector ?? true,
          ...(offset === null ? {} : { offset }),
          ...(options.filter ? { filter: options.filter } : {}),
        },
        options.signal,
      );
      if (page.points.length > 0) yield page.points;
      offset = page.next_page_offset;
    } while (offset !== null && offset !== undefined);
  }

  async count(name: string, filter?: unknown): Promise<number> {
    const result = await this.request<{ count: number }>('POST', `/collections/${enc(name)}/points/count`, {
      body: { exact: true, ...(filter ? { filter } : {}) },
      subject: name,
    });
    return result.count;
  }

  private async rawGet(path: string): Promise<Response> {
    try {
      return await fetch(this.url + path, { headers: this.apiKey ? { 'api-key': this.apiKey } : {} });
    } catch (cause) {
      throw new AcxError('CONNECTION', `cannot reach Qdrant at ${redactSecrets(this.url)}`, {
        subject: 'qdrant',
        cause,
      });
    }
  }
}

const enc = encodeURIComponent;

function safeParse(text: string): unknown {
  try {
    return parseQdrantJson(text);
  } catch {
    return undefined;
  }
}
