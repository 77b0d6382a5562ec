/**
 * A Qdrant test double: an HTTP server speaking the part of Qdrant's REST API the toolkit uses. Test
 * code only — the product never imports it. Every request is checked against Qdrant's OpenAPI document
 * before it is served and every response before it is sent; a request that breaks the document is
 * refused the way Qdrant refuses bad input, a response that breaks it is replaced by a 500 and recorded
 * in the violations list (`GET /__double/violations`, cleared by `DELETE`).
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseExactJson } from '../../src/model/exact-json.ts';
import { parseQdrantJson } from '../../src/stores/qdrant/qdrant-json.ts';
import { writeJson } from './float32-json.ts';
import { OpenApiValidator, type MatchedOperation } from './openapi-validator.ts';
import {
  readCollectionFile,
  receiveMultipartFile,
  loadStorage,
  saveStorage,
  sha256File,
  SnapshotStore,
} from './snapshots.ts';
import {
  QdrantError,
  Storage,
  idKey,
  type Collection,
  type CollectionConfigInput,
  type PreparedPoint,
  type WithPayload,
  type WithVector,
} from './storage.ts';

export const DOUBLE_VERSION = '1.13.0-double';

export interface QdrantDoubleOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** When set, every API request must carry it in `api-key` (or `Authorization: Bearer`). */
  apiKey?: string;
  /** Snapshots (and persisted collections) live here; default: a fresh folder under the OS temp dir. */
  dataDir?: string;
  openapiPath?: string;
  /** Keep collections across restarts: load from `dataDir` on start, save there on close. */
  persist?: boolean;
  /** Test hook: rewrites the JSON body of a response before it is validated (to prove validation works). */
  corruptResponse?: (operationId: string, body: unknown) => unknown;
}

export interface Violation {
  kind: 'request' | 'response';
  method: string;
  path: string;
  operationId: string;
  message: string;
  at: string;
}

export interface QdrantDouble {
  url: string;
  port: number;
  storage: Storage;
  close(): Promise<void>;
  violations(): Violation[];
}

interface Context {
  matched: MatchedOperation;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  req: IncomingMessage;
}

type Reply =
  | { status?: number; result: unknown }
  | { status: 202; accepted: true }
  | { status?: number; file: string; size: number }
  | { status?: number; text: string };

type Handler = (c: Context) => Promise<Reply> | Reply;

const ok = (result: unknown): Reply => ({ result });
const bad = (message: string): QdrantError => new QdrantError(400, `Wrong input: ${message}`);

function flag(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const v = query.get(name);
  return v === null ? fallback : v === 'true';
}

function pathId(raw: string): number | bigint | string {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : BigInt(raw);
  }
  return raw;
}

function asObject(body: unknown): Record<string, unknown> {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

function unsupported(body: Record<string, unknown>, ...names: string[]): void {
  for (const name of names) {
    if (body[name] !== undefined && body[name] !== null)
      throw bad(`\`${name}\` is not supported by the Qdrant double`);
  }
}

export async function startQdrantDouble(options: QdrantDoubleOptions = {}): Promise<QdrantDouble> {
  const validator = new OpenApiValidator(options.openapiPath);
  const storage = new Storage();
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? join(tmpdir(), `qdrant-double-${process.pid}-${Date.now()}`);
  await mkdir(dataDir, { recursive: true });
  if (options.persist) await loadStorage(storage, dataDir);
  const snapshots = new SnapshotStore(dataDir);
  const violations: Violation[] = [];
  const faults: (string | null)[] = [];

  const updateResult = (collection: Collection, query: URLSearchParams): Reply =>
    ok({
      operation_id: collection.nextOperationId(),
      status: flag(query, 'wait', false) ? 'completed' : 'acknowledged',
    });

  /** Ids or filter of a points selector, as internal keys. */
  const selected = (collection: Collection, body: Record<string, unknown>): string[] => {
    if (Array.isArray(body.points)) return (body.points as unknown[]).map(idKey);
    if (body.filter) return [...collection.matching(body.filter)];
    throw bad('either `points` or `filter` is required');
  };

  const recover = async (name: string, file: string, checksum: string | null): Promise<void> => {
    if (checksum) {
      const actual = await sha256File(file);
      if (actual !== checksum.toLowerCase())
        throw bad(`Snapshot checksum mismatch: expected ${checksum}, got ${actual}`);
    }
    const collection = await readCollectionFile(file, name);
    storage.replace(collection);
  };

  const handlers: Record<string, Handler> = {
    root: () => ok({ title: 'qdrant - vector search engine', version: DOUBLE_VERSION }),
    healthz: () => ({ text: 'healthz check passed' }),
    livez: () => ({ text: 'healthz check passed' }),
    readyz: () => ({ text: 'all shards are ready' }),
    cluster_status: () => ok({ status: 'disabled' }),

    get_collections: () =>
      ok({ collections: [...storage.collections.keys()].sort().map((name) => ({ name })) }),
    collection_exists: ({ params }) => ok({ exists: storage.exists(params.collection_name!) }),
    get_collection: ({ params }) => {
      const c = storage.get(params.collection_name!);
      return ok({
        status: 'green',
        optimizer_status: 'ok',
        indexed_vectors_count: 0,
        points_count: c.size,
        segments_count: 1,
        config: c.config,
        payload_schema: c.payloadSchema(),
      });
    },
    create_collection: ({ params, body }) => {
      const input = asObject(body) as CollectionConfigInput;
      unsupported(input, 'sharding_method', 'init_from');
      storage.create(params.collection_name!, input);
      return ok(true);
    },
    update_collection: ({ params, body }) => {
      storage.get(params.collection_name!).update(asObject(body));
      return ok(true);
    },
    delete_collection: ({ params }) => ok(storage.delete(params.collection_name!)),
    update_aliases: ({ body }) => {
      storage.applyAliasActions(asObject(body).actions as Record<string, Record<string, string>>[]);
      return ok(true);
    },
    get_collections_aliases: () =>
      ok({
        aliases: [...storage.aliases].map(([alias_name, collection_name]) => ({
          alias_name,
          collection_name,
        })),
      }),
    get_collection_aliases: ({ params }) => {
      const name = storage.get(params.collection_name!).name;
      return ok({
        aliases: [...storage.aliases]
          .filter(([, target]) => target === name)
          .map(([alias_name, collection_name]) => ({ alias_name, collection_name })),
      });
    },
    create_field_index: ({ params, body, query }) => {
      const c = storage.get(params.collection_name!);
      const { field_name: field, field_schema: schema } = asObject(body) as {
        field_name: string;
        field_schema?: unknown;
      };
      if (schema === undefined || schema === null)
        throw bad('`field_schema` is required by the Qdrant double');
      c.payloadIndexes.set(field, schema);
      return updateResult(c, query);
    },
    delete_field_index: ({ params, query }) => {
      const c = storage.get(params.collection_name!);
      c.payloadIndexes.delete(params.field_name!);
      return updateResult(c, query);
    },

    upsert_points: ({ params, body, query }) => {
      const c = storage.get(params.collection_name!);
      const b = asObject(body);
      unsupported(b, 'shard_key', 'update_filter', 'update_mode');
      const prepared: PreparedPoint[] = [];
      if (Array.isArray(b.points)) {
        for (const p of b.points as Record<string, unknown>[])
          prepared.push(c.prepare(p.id, p.vector, p.payload));
      } else {
        const batch = asObject(b.batch);
        const ids = batch.ids as unknown[];
        const payloads = (batch.payloads as unknown[] | null | undefined) ?? null;
        if (payloads && payloads.length !== ids.length) throw bad('number of ids and payloads must be equal');
        const vectors = batch.vectors;
        const vectorOf: (i: number) => unknown = Array.isArray(vectors)
          ? (i) => vectors[i]
          : (i) =>
              Object.fromEntries(
                Object.entries(asObject(vectors)).map(([name, list]) => [name, (list as unknown[])[i]]),
              );
        if (Array.isArray(vectors) && vectors.length !== ids.length)
          throw bad('number of ids and vectors must be equal');
        if (!Array.isArray(vectors)) {
          for (const [name, list] of Object.entries(asObject(vectors))) {
            if ((list as unknown[]).length !== ids.length)
              throw bad(`number of ids and vectors \`${name}\` must be equal`);
          }
        }
        ids.forEach((id, i) => prepared.push(c.prepare(id, vectorOf(i), payloads?.[i] ?? null)));
      }
      c.write(prepared);
      return updateResult(c, query);
    },
    scroll_points: ({ params, body }) => {
      const c = storage.get(params.collection_name!);
      const b = asObject(body);
      unsupported(b, 'order_by', 'shard_key');
      const limit = (b.limit as number | null | undefined) ?? 10;
      const withPayload = (b.with_payload ?? true) as WithPayload;
      const withVector = (b.with_vector ?? false) as WithVector;
      const from = b.offset === undefined || b.offset === null ? undefined : idKey(b.offset);
      const points: Record<string, unknown>[] = [];
      let next: string | null = null;
      for (const key of c.matching(b.filter, from)) {
        if (points.length === limit) {
          next = key;
          break;
        }
        points.push(c.record(key, withPayload, withVector));
      }
      return ok({ points, next_page_offset: next === null ? null : c.record(next, false, false).id });
    },
    count_points: ({ params, body }) => {
      const c = storage.get(params.collection_name!);
      unsupported(asObject(body), 'shard_key');
      return ok({ count: c.count(asObject(body).filter) });
    },
    get_points: ({ params, body }) => {
      const c = storage.get(params.collection_name!);
      const b = asObject(body);
      unsupported(b, 'shard_key');
      const seen = new Set<string>();
      const out: Record<string, unknown>[] = [];
      for (const id of b.ids as unknown[]) {
        const key = idKey(id);
        if (seen.has(key) || !c.has(key)) continue;
        seen.add(key);
        out.push(
          c.record(key, (b.with_payload ?? true) as WithPayload, (b.with_vector ?? false) as WithVector),
        );
      }
      return ok(out);
    },
    get_point: ({ params }) => {
      const c = storage.get(params.collection_name!);
      const key = idKey(pathId(params.id!));
      if (!c.has(key)) throw new QdrantError(404, `Not found: No point with id ${params.id} found`);
      return ok(c.record(key, true, true));
    },
    delete_points: ({ params, body, query }) => {
      const c = storage.get(params.collection_name!);
      const b = asObject(body);
      unsupported(b, 'shard_key');
      c.deleteKeys(selected(c, b));
      return updateResult(c, query);
    },
    set_payload: ({ params, body, query }) => {
      const c = storage.get(params.collection_name!);
      const b = asObject(body);
      unsupported(b, 'shard_key');
      c.setPayload(
        selected(c, b),
        b.payload as Record<string, unknown>,
        'merge',
        b.key as string | null | undefined,
      );
      return updateResult(c, query);
    },
    overwrite_payload: ({ params, body, query }) => {
      const c = storage.get(params.collection_name!);
      const b = asObject(body);
      unsupported(b, 'shard_key', 'key');
      c.setPayload(selected(c, b), b.payload as Record<string, unknown>, 'overwrite');
      return updateResult(c, query);
    },
    delete_payload: ({ params, body, query }) => {
      const c = storage.get(params.collection_name!);
      const b = asObject(body);
      unsupported(b, 'shard_key');
      c.deletePayloadKeys(selected(c, b), b.keys as string[]);
      return updateResult(c, query);
    },
    clear_payload: ({ params, body, query }) => {
      const c = storage.get(params.collection_name!);
      const b = asObject(body);
      unsupported(b, 'shard_key');
      c.deletePayloadKeys(selected(c, b), 'all');
      return updateResult(c, query);
    },

    create_snapshot: async ({ params, query }) => {
      const description = await snapshots.create(storage.get(params.collection_name!));
      return flag(query, 'wait', true) ? ok(description) : { status: 202, accepted: true };
    },
    list_snapshots: async ({ params }) => {
      const name = storage.get(params.collection_name!).name;
      return ok(await snapshots.list(name));
    },
    get_snapshot: async ({ params }) => {
      const name = storage.get(params.collection_name!).name;
      const file = await snapshots.file(name, params.snapshot_name!);
      return { file, size: (await stat(file)).size };
    },
    delete_snapshot: async ({ params, query }) => {
      const name = storage.get(params.collection_name!).name;
      await snapshots.delete(name, params.snapshot_name!);
      return flag(query, 'wait', true) ? ok(true) : { status: 202, accepted: true };
    },
    recover_from_uploaded_snapshot: async ({ params, query, req }) => {
      const file = await snapshots.tempFile('.upload');
      try {
        const found = await receiveMultipartFile(req, req.headers['content-type'] ?? '', 'snapshot', file);
        if (!found) throw bad('the multipart body has no `snapshot` file part');
        await recover(params.collection_name!, file, query.get('checksum'));
      } finally {
        await rm(file, { force: true });
      }
      return flag(query, 'wait', true) ? ok(true) : { status: 202, accepted: true };
    },
    recover_from_snapshot: async ({ params, body, query }) => {
      const b = asObject(body) as { location: string; checksum?: string | null; api_key?: string | null };
      const { file, temporary } = await snapshots.fetchLocation(b.location, b.api_key);
      try {
        await recover(params.collection_name!, file, b.checksum ?? null);
      } finally {
        if (temporary) await rm(file, { force: true });
      }
      return flag(query, 'wait', true) ? ok(true) : { status: 202, accepted: true };
    },
  };

  // ------------------------------------------------------------------------------------------ HTTP

  const record = (
    kind: Violation['kind'],
    req: IncomingMessage,
    matched: MatchedOperation,
    message: string,
  ): void => {
    violations.push({
      kind,
      method: req.method ?? '',
      path: req.url ?? '',
      operationId: matched.operation.operationId,
      message,
      at: new Date().toISOString(),
    });
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
    const bytes = writeJson(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length });
    res.end(bytes);
  };

  const errorBody = (message: string, started: number): unknown => ({
    status: { error: message },
    time: (performance.now() - started) / 1000,
  });

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://double');
    const method = (req.method ?? 'GET').toUpperCase();

    if (url.pathname === '/__double/violations') {
      if (method === 'DELETE') violations.length = 0;
      sendJson(res, 200, { violations });
      return;
    }
    if (url.pathname === '/__double/fault' && method === 'POST') {
      const body = asObject(parseQdrantJson((await readBody(req)).toString('utf8') || '{}'));
      faults.push(typeof body.operationId === 'string' ? body.operationId : null);
      sendJson(res, 200, { armed: faults.length });
      return;
    }

    if (options.apiKey) {
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const given = (req.headers['api-key'] as string | undefined) ?? bearer;
      if (given === undefined) {
        sendJson(res, 401, errorBody('Must provide an API key or an Authorization bearer token', started));
        return;
      }
      if (given !== options.apiKey) {
        sendJson(res, 403, errorBody('Invalid API key or JWT', started));
        return;
      }
    }

    const found = validator.match(method, url.pathname);
    if (!('operation' in found)) {
      await readBody(req);
      const message =
        found.allowed.length > 0
          ? `Method ${method} is not allowed for ${url.pathname} (documented: ${found.allowed.join(', ')})`
          : `Not found: no route ${method} ${url.pathname} (unknown to Qdrant's OpenAPI document)`;
      sendJson(res, found.allowed.length > 0 ? 405 : 404, errorBody(message, started));
      return;
    }
    const matched = found;
    const operationId = matched.operation.operationId;
    const contentType = req.headers['content-type'];
    const multipart = (contentType ?? '').toLowerCase().startsWith('multipart/form-data');

    let body: unknown;
    let hasBody = false;
    if (!multipart) {
      const raw = await readBody(req);
      hasBody = raw.length > 0;
      if (hasBody && (contentType ?? 'application/json').includes('json')) {
        try {
          body = parseExactJson(raw);
        } catch (error) {
          sendJson(res, 400, errorBody(`Format error in JSON body: ${(error as Error).message}`, started));
          return;
        }
      }
    } else hasBody = true;

    const problem = validator.validateRequest(matched, {
      method,
      pathname: url.pathname,
      query: url.searchParams,
      contentType,
      body,
      hasBody,
    });
    if (problem) {
      record('request', req, matched, problem.message);
      if (multipart) req.resume();
      const prefix = problem.status === 422 ? 'Validation error' : 'Format error';
      sendJson(res, problem.status, errorBody(`${prefix} in request: ${problem.message}`, started));
      return;
    }

    const handler = handlers[operationId];
    let status: number;
    let payload: unknown;
    let reply: Reply | undefined;
    try {
      if (!handler)
        throw new QdrantError(501, `Not implemented: the Qdrant double does not serve ${operationId}`);
      reply = await handler({ matched, params: matched.params, query: url.searchParams, body, req });
      status = reply.status ?? 200;
    } catch (error) {
      if (multipart && !req.readableEnded) req.resume();
      const known = error instanceof QdrantError;
      status = known ? error.status : 500;
      payload = errorBody(
        known ? error.message : `Service internal error: ${(error as Error).stack ?? String(error)}`,
        started,
      );
      reply = undefined;
    }

    if (reply && 'file' in reply) {
      const problemText = validator.validateResponse(matched, status, 'application/octet-stream', undefined);
      if (problemText) {
        record('response', req, matched, problemText);
        sendJson(res, 500, errorBody(`Qdrant double: ${problemText}`, started));
        return;
      }
      res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': reply.size });
      await pipeline(createReadStream(reply.file), res);
      return;
    }
    if (reply && 'text' in reply) {
      const problemText = validator.validateResponse(matched, status, 'text/plain', reply.text);
      if (problemText) {
        record('response', req, matched, problemText);
        sendJson(res, 500, errorBody(`Qdrant double: ${problemText}`, started));
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(reply.text);
      return;
    }
    if (reply) {
      const time = (performance.now() - started) / 1000;
      payload =
        'accepted' in reply
          ? { status: 'accepted', time }
          : operationId === 'root'
            ? reply.result
            : { result: reply.result, status: 'ok', time };
    }
    const faultAt = faults.findIndex((f) => f === null || f === operationId);
    if (faultAt >= 0) {
      faults.splice(faultAt, 1);
      payload = { corrupted_by: '/__double/fault', status: 42, time: 'not a number' };
    }
    if (options.corruptResponse) payload = options.corruptResponse(operationId, payload);
    const problemText = validator.validateResponse(matched, status, 'application/json', payload);
    if (problemText) {
      record('response', req, matched, problemText);
      sendJson(res, 500, errorBody(`Qdrant double: ${problemText}`, started));
      return;
    }
    sendJson(res, status, payload);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, errorBody(`Service internal error: ${String(error)}`, performance.now()));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    storage,
    violations: () => [...violations],
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (options.persist) await saveStorage(storage, dataDir);
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
