/**
 * Streaming JSON: a document writer that emits objects and arrays piece by piece, so an export can put
 * millions of records inside one JSON document (`{"postgresql":{"dtc_codes":{"columns":[…],"fields":[…],
 * "data":[…],"row_count":N}}}`) without holding them, and an NDJSON writer for one dataset per file.
 *
 * Values are written with `jsonText` (compact, accents as they are, bigint as bare integers). Record
 * values follow one mapping for every JSON output: bytes become base64 strings, every other value is
 * its JSON form (timestamps, dates, uuids and numerics are strings; json and array fields are nested
 * JSON). NaN and ±Infinity have no JSON form and become `null`.
 *
 * Files are written to `<path>.partial` and renamed to `path` only once complete.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { ExportRecord, ExportValue, FieldSpec, TabularDataset } from '../../model/dataset.ts';
import { jsonText } from '../text-values.ts';

/** How often (in records) a running write looks at its abort signal. */
const SIGNAL_EVERY = 1000;
/** Text gathered before it is handed to the stream. */
const CHUNK_CHARS = 64 * 1024;

export interface JsonFileOptions {
  /** 0 (default): compact. 2: pretty, two spaces; values written with `value()` stay on one line. */
  indent?: 0 | 2;
  /** Gzip the file (the caller chooses the `.gz` name). */
  gzip?: boolean;
  signal?: AbortSignal;
}

/** Gathers text into chunks for a writable stream, and lets callers wait while the stream is full. */
class TextSink {
  private parts: string[] = [];
  private size = 0;
  private error: Error | undefined;

  private readonly stream: Writable;

  constructor(stream: Writable) {
    this.stream = stream;

    stream.on('error', (error: Error) => {
      this.error ??= error;
    });
  }

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= CHUNK_CHARS) this.flush();
  }

  private flush(): void {
    if (this.size === 0) return;
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.size = 0;
    this.stream.write(text);
  }

  /** Resolves once the stream can take more (at once when it can). */
  async drain(): Promise<void> {
    if (this.error) throw this.error;
    if (this.stream.writableNeedDrain) await once(this.stream, 'drain');
  }

  async end(): Promise<void> {
    if (this.error) throw this.error;
    this.flush();
    this.stream.end();
  }
}

interface Container {
  kind: 'object' | 'array';
  count: number;
  keyPending: boolean;
}

/**
 * Writes one JSON document incrementally. Calls must form a valid document (a misuse throws):
 * `beginObject()`, `key()`/`value()` pairs (or `property()`), nested `begin…`/`end…`, `endObject()`.
 * Writing is buffered; `await drain()` regularly (e.g. after each record) to honour back-pressure.
 */
export class JsonDocumentWriter {
  private readonly stack: Container[] = [];
  private rootWritten = false;
  private readonly indent: string;

  private readonly sink: { write(text: string): void; drain(): Promise<void> };

  constructor(sink: { write(text: string): void; drain(): Promise<void> }, options: { indent?: 0 | 2 } = {}) {
    this.sink = sink;

    this.indent = options.indent ? ' '.repeat(options.indent) : '';
  }

  private newline(depth: number): string {
    return this.indent === '' ? '' : '\n' + this.indent.repeat(depth);
  }

  /** Writes what must precede a value at the current position. */
  private beforeValue(): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      if (this.rootWritten) throw new Error('JSON document already has its root value');
      this.rootWritten = true;
      return;
    }
    if (top.kind === 'object') {
      if (!top.keyPending) throw new Error('JSON object value written without a key');
      top.keyPending = false;
      return;
    }
    this.sink.write((top.count > 0 ? ',' : '') + this.newline(this.stack.length));
    top.count++;
  }

  beginObject(): this {
    this.beforeValue();
    this.sink.write('{');
    this.stack.push({ kind: 'object', count: 0, keyPending: false });
    return this;
  }

  endObject(): this {
    return this.end('object', '}');
  }

  beginArray(): this {
    this.beforeValue();
    this.sink.write('[');
    this.stack.push({ kind: 'array', count: 0, keyPending: false });
    return this;
  }

  endArray(): this {
    return this.end('array', ']');
  }

  private end(kind: Container['kind'], bracket: string): this {
    const top = this.stack[this.stack.length - 1];
    if (!top || top.kind !== kind || top.keyPending) throw new Error(`JSON ${kind} closed out of order`);
    this.stack.pop();
    this.sink.write((top.count > 0 ? this.newline(this.stack.length) : '') + bracket);
    return this;
  }

  key(name: string): this {
    const top = this.stack[this.stack.length - 1];
    if (!top || top.kind !== 'object' || top.keyPending) throw new Error(`JSON key ${name} out of place`);
    this.sink.write(
      (top.count > 0 ? ',' : '') +
        this.newline(this.stack.length) +
        JSON.stringify(name) +
        (this.indent ? ': ' : ':'),
    );
    top.count++;
    top.keyPending = true;
    return this;
  }

  /** A whole value, compact on one line (`undefined` is written as `null`). */
  value(value: unknown): this {
    this.beforeValue();
    this.sink.write(value === undefined ? 'null' : (jsonText(value) ?? 'null'));
    return this;
  }

  property(name: string, value: unknown): this {
    return this.key(name).value(value);
  }

  /** Waits while the file is behind (back-pressure). */
  drain(): Promise<void> {
    return this.sink.drain();
  }

  /** True once the root value is complete. */
  get complete(): boolean {
    return this.rootWritten && this.stack.length === 0;
  }
}

async function writeTextFile(
  path: string,
  options: { gzip?: boolean; signal?: AbortSignal },
  write: (sink: TextSink) => Promise<void>,
): Promise<void> {
  options.signal?.throwIfAborted();
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  const file = createWriteStream(partial, { flush: true });
  const gzip = options.gzip ? createGzip() : undefined;
  const head: Writable = gzip ?? file;
  const done = gzip ? pipeline(gzip, file) : finished(file);
  // Errors surface through `done` (and the sink); keep an early one from being unhandled.
  done.catch(() => undefined);
  try {
    const sink = new TextSink(head);
    await write(sink);
    options.signal?.throwIfAborted();
    await sink.end();
    await done;
    await rename(partial, path);
  } catch (error) {
    head.destroy();
    file.destroy();
    await done.catch(() => undefined);
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * Writes one JSON document to `path` (through `<path>.partial`). `build` writes the document's root
 * value with the writer it gets.
 */
export async function writeJsonFile(
  path: string,
  build: (writer: JsonDocumentWriter) => Promise<void>,
  options: JsonFileOptions = {},
): Promise<void> {
  await writeTextFile(path, options, async (sink) => {
    const writer = new JsonDocumentWriter(sink, { indent: options.indent ?? 0 });
    await build(writer);
    if (!writer.complete) throw new Error(`JSON document ${path} left incomplete`);
    sink.write('\n');
  });
}

/** One record as the plain object JSON outputs write: keys in field order, bytes as base64. */
export function jsonRecord(fields: readonly FieldSpec[], record: ExportRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const value: ExportValue | undefined = record[field.name];
    out[field.name] = value === undefined ? null : Buffer.isBuffer(value) ? value.toString('base64') : value;
  }
  return out;
}

/**
 * Writes one dataset, at the writer's current position, as
 * `{"columns":[names…],"fields":[{"name","type","source"?}…],"data":[{record}…],"row_count":N}` — in
 * that key order: `fields` gives each column's type (formats/dataset.ts) so an import can restore the
 * values exactly; `row_count` comes last because it is known only once the records have streamed.
 * Records are objects keyed by field name.
 */
export async function writeJsonDataset(
  writer: JsonDocumentWriter,
  dataset: TabularDataset,
  options: { signal?: AbortSignal } = {},
): Promise<{ records: number }> {
  const { signal } = options;
  let records = 0;
  writer.beginObject();
  writer.property(
    'columns',
    dataset.fields.map((field) => field.name),
  );
  writer.property(
    'fields',
    dataset.fields.map((field) =>
      field.source === undefined
        ? { name: field.name, type: field.type }
        : { name: field.name, type: field.type, source: field.source },
    ),
  );
  writer.key('data').beginArray();
  for await (const record of dataset.records()) {
    if (records % SIGNAL_EVERY === 0) signal?.throwIfAborted();
    writer.value(jsonRecord(dataset.fields, record));
    records++;
    await writer.drain();
  }
  writer.endArray();
  writer.property('row_count', records);
  writer.endObject();
  return { records };
}

/** Writes one dataset as NDJSON: one compact JSON record per line (LF), no header. */
export async function writeNdjsonFile(
  path: string,
  dataset: TabularDataset,
  options: { gzip?: boolean; signal?: AbortSignal } = {},
): Promise<{ records: number }> {
  const { signal } = options;
  let records = 0;
  await writeTextFile(path, options, async (sink) => {
    for await (const record of dataset.records()) {
      if (records % SIGNAL_EVERY === 0) signal?.throwIfAborted();
      sink.write(jsonText(jsonRecord(dataset.fields, record)) + '\n');
      records++;
      await sink.drain();
    }
  });
  return { records };
}
