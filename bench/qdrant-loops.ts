/**
 * The peers of `backup --qdrant` and of its restore, each run as a process of its own (so that
 * bench/run.ts times it under /usr/bin/time like acx-data):
 *
 *   npx node bench/qdrant-loops.ts scroll <dir> [--page 256]
 *   npx node bench/qdrant-loops.ts upsert <dir> [--page 256] [--in-flight 2]
 *   npx node bench/qdrant-loops.ts snapshot-download <dir>
 *   npx node bench/qdrant-loops.ts snapshot-upload <dir>
 *
 * `scroll` is the bare loop: every collection scrolled with vectors and payload at the page size of
 * `backup --qdrant` (QDRANT_PAGE_SIZE, which is also the restore's upsert batch), each page kept as the text the server sent (only `next_page_offset` is read, from
 * the end of the page) and written to `<dir>/<collection>.pages`, one page per line, beside the
 * collection's description (`<collection>.json`). `upsert` sends those pages back as they are, one
 * request per page (`wait=true`, as many in flight as acx-data's restore), into collections recreated
 * from the descriptions. `snapshot-download` asks the server for its own snapshot of each collection
 * (`POST /collections/C/snapshots`) and downloads the file; `snapshot-upload` recovers each collection
 * from that file (`POST /collections/C/snapshots/upload`). Connection: QDRANT_URL (+ QDRANT_API_KEY), so
 * the same loops run against the test double and a real Qdrant. Prints one JSON summary on stdout.
 */
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { requireQdrantSettings } from '../src/config/env.ts';
import { QdrantClient } from '../src/stores/qdrant/qdrant-client.ts';
import { QDRANT_PAGE_SIZE } from '../src/stores/qdrant/qdrant-backup.ts';
import {
  QDRANT_UPSERTS_IN_FLIGHT,
  createCollectionBody,
  fieldSchemaOf,
} from '../src/stores/qdrant/qdrant-restore.ts';
import { option } from './lib.ts';

export const QDRANT_LOOP_COMMANDS = ['scroll', 'upsert', 'snapshot-download', 'snapshot-upload'] as const;
export type QdrantLoopCommand = (typeof QDRANT_LOOP_COMMANDS)[number];

export interface LoopSummary {
  collections: number;
  /** Pages scrolled or upserted (snapshot commands: 0). */
  pages: number;
  /** Bytes received (scroll, snapshot download) or sent (upsert, snapshot upload). */
  bytes: number;
}

interface Connection {
  url: string;
  headers: Record<string, string>;
}

function connection(env: NodeJS.ProcessEnv): Connection {
  const settings = requireQdrantSettings(env);
  return { url: settings.url, headers: settings.apiKey ? { 'api-key': settings.apiKey } : {} };
}

async function call(c: Connection, method: string, path: string, body?: string): Promise<string> {
  const response = await fetch(c.url + path, {
    method,
    headers: body === undefined ? c.headers : { ...c.headers, 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`Qdrant ${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return text;
}

const enc = encodeURIComponent;

async function collections(c: Connection): Promise<string[]> {
  const answer = JSON.parse(await call(c, 'GET', '/collections')) as {
    result: { collections: { name: string }[] };
  };
  return answer.result.collections.map((x) => x.name).sort();
}

/** The bare scroll loop of one collection: pages as text, `next_page_offset` read from the page's end. */
async function scrollCollection(
  c: Connection,
  name: string,
  dir: string,
  page: number,
): Promise<LoopSummary> {
  writeFileSync(join(dir, `${name}.json`), await call(c, 'GET', `/collections/${enc(name)}`));
  const out = createWriteStream(join(dir, `${name}.pages`));
  let pages = 0;
  let bytes = 0;
  let offset: string | null = null;
  do {
    const body = `{"limit":${page},"with_payload":true,"with_vector":true${offset === null ? '' : `,"offset":${offset}`}}`;
    const text = await call(c, 'POST', `/collections/${enc(name)}/points/scroll`, body);
    bytes += Buffer.byteLength(text);
    const at = text.lastIndexOf('"next_page_offset":');
    const next = /^"next_page_offset":(null|\d+|"[^"]*")\}/.exec(text.slice(at));
    const start = text.indexOf('"points":');
    if (start === -1 || next === null)
      throw new Error(`${name}: unexpected scroll page ${text.slice(0, 200)}`);
    const points = text.slice(start + '"points":'.length, at - 1);
    if (points !== '[]') {
      pages++;
      if (!out.write(`${points}\n`)) await once(out, 'drain');
    }
    offset = next[1] === 'null' ? null : next[1]!;
  } while (offset !== null);
  out.end();
  await once(out, 'finish');
  return { collections: 1, pages, bytes };
}

/** Recreates a collection from its description, then sends its pages back as they came, `inFlight` at a time. */
async function upsertCollection(
  c: Connection,
  name: string,
  dir: string,
  inFlight: number,
): Promise<LoopSummary> {
  const info = (
    JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { result: Record<string, unknown> }
  ).result;
  await call(
    c,
    'PUT',
    `/collections/${enc(name)}`,
    JSON.stringify(createCollectionBody(info.config as Record<string, unknown>)),
  );
  for (const [field, index] of Object.entries((info.payload_schema ?? {}) as Record<string, unknown>)) {
    const schema = fieldSchemaOf(index as { data_type: string; params?: unknown });
    await call(
      c,
      'PUT',
      `/collections/${enc(name)}/index?wait=true`,
      JSON.stringify({ field_name: field, field_schema: schema }),
    );
  }
  const pending = new Set<Promise<void>>();
  let pages = 0;
  let bytes = 0;
  const lines = createInterface({ input: createReadStream(join(dir, `${name}.pages`)), crlfDelay: Infinity });
  for await (const points of lines) {
    if (points === '') continue;
    const body = `{"points":${points}}`;
    bytes += Buffer.byteLength(body);
    pages++;
    const request: Promise<void> = call(c, 'PUT', `/collections/${enc(name)}/points?wait=true`, body).then(
      () => {
        pending.delete(request);
      },
    );
    pending.add(request);
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  return { collections: 1, pages, bytes };
}

/** The server's own snapshot of a collection, created and downloaded to `<dir>/<collection>.snapshot`, then deleted on the server. */
async function downloadSnapshot(client: QdrantClient, name: string, dir: string): Promise<LoopSummary> {
  const snapshot = await client.createSnapshot(name);
  const file = join(dir, `${name}.snapshot`);
  await pipeline(await client.downloadSnapshot(name, snapshot.name), createWriteStream(file));
  await client.deleteSnapshot(name, snapshot.name);
  return { collections: 1, pages: 0, bytes: statSync(file).size };
}

async function uploadSnapshot(client: QdrantClient, name: string, dir: string): Promise<LoopSummary> {
  const file = join(dir, `${name}.snapshot`);
  const bytes = statSync(file).size;
  await client.uploadSnapshot(name, {
    stream: createReadStream(file),
    bytes,
    reopen: () => createReadStream(file),
  });
  return { collections: 1, pages: 0, bytes };
}

/** Collections named by the files of `dir` with `suffix` (what an earlier scroll or download wrote). */
const collectionsIn = (dir: string, suffix: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .map((f) => f.slice(0, -suffix.length))
    .sort();

export async function runQdrantLoop(
  command: QdrantLoopCommand,
  dir: string,
  options: { env: NodeJS.ProcessEnv; page?: number; inFlight?: number },
): Promise<LoopSummary> {
  const c = connection(options.env);
  const client = new QdrantClient(requireQdrantSettings(options.env));
  const page = options.page ?? QDRANT_PAGE_SIZE;
  const perCollection: Record<
    QdrantLoopCommand,
    { names: () => Promise<string[]>; run: (name: string) => Promise<LoopSummary> }
  > = {
    scroll: { names: () => collections(c), run: (n) => scrollCollection(c, n, dir, page) },
    upsert: {
      names: async () => collectionsIn(dir, '.pages'),
      run: (n) => upsertCollection(c, n, dir, options.inFlight ?? QDRANT_UPSERTS_IN_FLIGHT),
    },
    'snapshot-download': { names: () => collections(c), run: (n) => downloadSnapshot(client, n, dir) },
    'snapshot-upload': {
      names: async () => collectionsIn(dir, '.snapshot'),
      run: (n) => uploadSnapshot(client, n, dir),
    },
  };
  const total: LoopSummary = { collections: 0, pages: 0, bytes: 0 };
  const { names, run } = perCollection[command];
  for (const name of await names()) {
    const one = await run(name);
    total.collections += one.collections;
    total.pages += one.pages;
    total.bytes += one.bytes;
  }
  return total;
}

if (import.meta.main) {
  const [command, dir] = process.argv.slice(2);
  const argv = process.argv.slice(4);
  if (!QDRANT_LOOP_COMMANDS.includes(command as QdrantLoopCommand) || !dir) {
    console.error(
      `usage: node bench/qdrant-loops.ts ${QDRANT_LOOP_COMMANDS.join('|')} <dir> [--page N] [--in-flight N]`,
    );
    process.exitCode = 2;
  } else {
    const page = option(argv, '--page');
    const inFlight = option(argv, '--in-flight');
    const summary = await runQdrantLoop(command as QdrantLoopCommand, dir, {
      env: process.env,
      page: page === undefined ? undefined : Number(page),
      inFlight: inFlight === undefined ? undefined : Number(inFlight),
    });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  }
}
