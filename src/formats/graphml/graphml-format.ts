/**
 * GraphML 1.0 export (`neo4j_graph.graphml`), streamed: nodes and edges go from the source to the
 * file as they come, with back-pressure, and nothing is held but the key table.
 *
 * - Every property key is declared with its type: integer and bigint → `long`, float → `double`,
 *   boolean → `boolean`, everything else → `string` (json and array values are compact JSON text,
 *   bytes base64, the rest as `valueText` renders them). Each key also carries the exact export type
 *   (`acx:type`, formats/dataset.ts) and the source store's type when known (`acx:source`, e.g.
 *   `DURATION`), in the `urn:acx-data:graphml` namespace, so our import restores values exactly; array
 *   keys carry APOC's `attr.list` (element type) so `apoc.import.graphml` reads them as lists. Key ids
 *   are prefixed (`n_<prop>` for node properties, `e_<prop>` for edge properties; `n<i>`/`e<i>` when
 *   the name is not an XML name token) and `attr.name` is the property name, so no property can
 *   collide with the fixed keys.
 * - Node labels: key `labels` (for node), Neo4j APOC style — every label prefixed by `:` and joined,
 *   e.g. `:DTC:Symptom`. Edge type: key `label` (for edge), as APOC writes it (the original exporter
 *   called it `type`). Both are what `apoc.import.graphml` reads. Should a property itself be
 *   called `labels` (nodes) or `label` (edges), the fixed key's `attr.name` gets a leading `_`.
 * - Node ids are the source ids (Neo4j element ids), edges carry their source id and the source and
 *   target node ids, so no id map is needed.
 * - A NULL (absent) property has no `<data>` element; an empty string has an empty one.
 * - doubles use the XML Schema forms `NaN`, `INF`, `-INF`.
 * - XML 1.0 cannot carry C0 control characters other than tab, LF and CR, nor U+FFFE/U+FFFF or
 *   unpaired surrogates, even escaped: each is replaced by U+FFFD and counted
 *   (`replacedCharacters`). CR, and tab/LF in attributes, are written as character references so
 *   they survive parsing.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { ExportValue, FieldType, GraphKey, GraphSource } from '../../model/dataset.ts';
import { jsonText, valueText } from '../text-values.ts';

export interface GraphmlOptions {
  signal?: AbortSignal;
  /** The `<graph id>` (default `G`). */
  graphId?: string;
}

export interface GraphmlResult {
  path: string;
  nodes: number;
  edges: number;
  /** Characters XML 1.0 cannot hold, replaced by U+FFFD. */
  replacedCharacters: number;
}

export type GraphmlType = 'boolean' | 'long' | 'double' | 'string';

export const GRAPHML_NAMESPACE = 'http://graphml.graphdrawing.org/xmlns';
/** Our attributes on `<key>` (`acx:type`, `acx:source`). */
export const ACX_GRAPHML_NAMESPACE = 'urn:acx-data:graphml';
const SCHEMA_LOCATION = `${GRAPHML_NAMESPACE} http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd`;
export const LABELS_KEY_ID = 'labels';
export const EDGE_LABEL_KEY_ID = 'label';

const CHECK_EVERY = 1000;
const CHUNK_CHARS = 64 * 1024;

export function graphmlType(type: FieldType): GraphmlType {
  switch (type) {
    case 'integer':
    case 'bigint':
      return 'long';
    case 'float':
      return 'double';
    case 'boolean':
      return 'boolean';
    default:
      return 'string';
  }
}

interface DeclaredKey {
  id: string;
  name: string;
  type: FieldType;
  source?: string;
  render: (value: Exclude<ExportValue, null>) => string;
}

/** Declared keys by owner and property name. */
export interface GraphmlKeyTable {
  node: Map<string, DeclaredKey>;
  edge: Map<string, DeclaredKey>;
  labelsName: string;
  edgeLabelName: string;
}

const NAME_TOKEN = /^[A-Za-z0-9_.-]+$/;

export function buildKeyTable(keys: readonly GraphKey[]): GraphmlKeyTable {
  const table: GraphmlKeyTable = { node: new Map(), edge: new Map(), labelsName: '', edgeLabelName: '' };
  for (const key of keys) {
    const owner = table[key.for];
    const existing = owner.get(key.name);
    if (existing) {
      if (existing.type !== key.type) {
        throw new Error(`GraphML: ${key.for} key "${key.name}" declared as ${existing.type} and ${key.type}`);
      }
      if (existing.source !== key.source) delete existing.source; // sources disagree: none is right
      continue;
    }
    const prefix = key.for === 'node' ? 'n' : 'e';
    const id = NAME_TOKEN.test(key.name) ? `${prefix}_${key.name}` : `${prefix}${owner.size}`;
    const declared: DeclaredKey = { id, name: key.name, type: key.type, render: renderer(key.type) };
    if (key.source !== undefined) declared.source = key.source;
    owner.set(key.name, declared);
  }
  table.labelsName = freeName('labels', table.node);
  table.edgeLabelName = freeName('label', table.edge);
  return table;
}

/** APOC's `attr.list` for an array key: the element type, from the Neo4j list type when known. */
export function graphmlListType(source: string | undefined): GraphmlType {
  switch (source) {
    case 'LIST<INTEGER>':
      return 'long';
    case 'LIST<FLOAT>':
      return 'double';
    case 'LIST<BOOLEAN>':
      return 'boolean';
    default:
      return 'string';
  }
}

function freeName(wanted: string, taken: Map<string, unknown>): string {
  let name = wanted;
  while (taken.has(name)) name = `_${name}`;
  return name;
}

function renderDouble(value: Exclude<ExportValue, null>): string {
  if (typeof value !== 'number') return valueText(value);
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'INF';
  if (value === -Infinity) return '-INF';
  return String(value);
}

function renderer(type: FieldType): DeclaredKey['render'] {
  switch (type) {
    case 'float':
      return renderDouble;
    case 'json':
    case 'array':
      return (value) => jsonText(value); // also a JSON string scalar, which valueText would leave bare
    default:
      return valueText;
  }
}

// Characters XML 1.0 forbids outright (replaced), and those that need a character reference.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|\p{Cs}/gu;
// eslint-disable-next-line no-control-regex
const TEXT_SPECIAL = /[&<>\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/;
// eslint-disable-next-line no-control-regex
const ATTR_SPECIAL = /[&<>"\t\n\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/;

const TEXT_REFS: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };
const ATTR_REFS: Record<string, string> = {
  ...TEXT_REFS,
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
};

class XmlEscaper {
  replaced = 0;

  text(value: string): string {
    return TEXT_SPECIAL.test(value) ? this.escape(value, /[&<>\r]/g, TEXT_REFS) : value;
  }

  attr(value: string): string {
    return ATTR_SPECIAL.test(value) ? this.escape(value, /[&<>"\t\n\r]/g, ATTR_REFS) : value;
  }

  private escape(value: string, special: RegExp, refs: Record<string, string>): string {
    const clean = value.replace(FORBIDDEN, () => {
      this.replaced++;
      return '\ufffd';
    });
    return clean.replace(special, (c) => refs[c] ?? c);
  }
}

/** Buffered writes to a file stream that wait for it to drain. */
class ChunkedFile {
  private buffer = '';
  private error: Error | undefined;

  private readonly stream: WriteStream;

  constructor(stream: WriteStream) {
    this.stream = stream;

    stream.on('error', (error) => {
      this.error = error;
    });
  }

  async write(text: string): Promise<void> {
    this.buffer += text;
    if (this.buffer.length >= CHUNK_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.error) throw this.error;
    if (this.buffer === '') return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        this.stream.off('drain', onDrain);
        this.stream.off('error', done);
        this.stream.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(this.error ?? new Error('file closed while writing'));
      this.stream.once('drain', onDrain);
      this.stream.once('error', done);
      this.stream.once('close', onClose);
    });
  }

  async end(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
    if (this.error) throw this.error;
  }

  async destroy(): Promise<void> {
    if (this.stream.closed) return;
    await new Promise<void>((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.destroy();
    });
  }
}

async function openFile(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  return stream;
}

/** Writes `graph` to `path` (through `<path>.partial`, renamed on success). */
export async function writeGraphmlFile(
  path: string,
  graph: GraphSource,
  options: GraphmlOptions = {},
): Promise<GraphmlResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const keys = buildKeyTable(graph.keys);
  const partial = `${path}.partial`;
  const file = new ChunkedFile(await openFile(partial));
  const xml = new XmlEscaper();
  let nodes = 0;
  let edges = 0;
  try {
    await file.write(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<graphml xmlns="${GRAPHML_NAMESPACE}" xmlns:acx="${ACX_GRAPHML_NAMESPACE}"` +
        ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="${SCHEMA_LOCATION}">\n`,
    );
    const keyLine = (id: string, owner: string, name: string, key?: DeclaredKey): string => {
      let line = `  <key id="${xml.attr(id)}" for="${owner}" attr.name="${xml.attr(name)}"`;
      line += ` attr.type="${key ? graphmlType(key.type) : 'string'}"`;
      if (key?.type === 'array') line += ` attr.list="${graphmlListType(key.source)}"`;
      if (key) line += ` acx:type="${key.type}"`;
      if (key?.source !== undefined) line += ` acx:source="${xml.attr(key.source)}"`;
      return `${line}/>\n`;
    };
    await file.write(keyLine(LABELS_KEY_ID, 'node', keys.labelsName));
    for (const key of keys.node.values()) await file.write(keyLine(key.id, 'node', key.name, key));
    await file.write(keyLine(EDGE_LABEL_KEY_ID, 'edge', keys.edgeLabelName));
    for (const key of keys.edge.values()) await file.write(keyLine(key.id, 'edge', key.name, key));
    await file.write(`  <graph id="${xml.attr(options.graphId ?? 'G')}" edgedefault="directed">\n`);

    const dataOf = (
      owner: Map<string, DeclaredKey>,
      kind: string,
      properties: Record<string, ExportValue>,
    ): string => {
      let out = '';
      for (const name in properties) {
        const value = properties[name];
        if (value === null || value === undefined) continue;
        const key = owner.get(name);
        if (!key) throw new Error(`GraphML: ${kind} property "${name}" has no declared key`);
        out += `<data key="${key.id}">${xml.text(key.render(value))}</data>`;
      }
      return out;
    };

    for await (const node of graph.nodes()) {
      let line = `    <node id="${xml.attr(node.id)}">`;
      if (node.labels.length > 0) {
        line += `<data key="${LABELS_KEY_ID}">${xml.text(node.labels.map((l) => `:${l}`).join(''))}</data>`;
      }
      await file.write(`${line}${dataOf(keys.node, 'node', node.properties)}</node>\n`);
      if (++nodes % CHECK_EVERY === 0) signal?.throwIfAborted();
    }
    for await (const edge of graph.edges()) {
      const line =
        `    <edge id="${xml.attr(edge.id)}" source="${xml.attr(edge.source)}" target="${xml.attr(edge.target)}">` +
        `<data key="${EDGE_LABEL_KEY_ID}">${xml.text(edge.type)}</data>`;
      await file.write(`${line}${dataOf(keys.edge, 'edge', edge.properties)}</edge>\n`);
      if (++edges % CHECK_EVERY === 0) signal?.throwIfAborted();
    }
    await file.write('  </graph>\n</graphml>\n');
    signal?.throwIfAborted();
    await file.end();
    await rename(partial, path);
  } catch (error) {
    await file.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  return { path, nodes, edges, replacedCharacters: xml.replaced };
}
