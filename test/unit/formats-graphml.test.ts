import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportValue, GraphEdge, GraphKey, GraphNode, GraphSource } from '../../src/model/dataset.ts';
import { GRAPHML_NAMESPACE, writeGraphmlFile } from '../../src/formats/graphml/graphml-format.ts';
import { parseExactJson } from '../../src/model/exact-json.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-graphml-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KEYS: GraphKey[] = [
  { for: 'node', name: 'code', type: 'text' },
  { for: 'node', name: 'label', type: 'text' }, // the original's n_label collision
  { for: 'node', name: 'labels', type: 'text' }, // collides with the labels key's attr.name
  { for: 'node', name: 'count', type: 'integer' },
  { for: 'node', name: 'big', type: 'bigint' },
  { for: 'node', name: 'score', type: 'float' },
  { for: 'node', name: 'active', type: 'boolean' },
  { for: 'node', name: 'updated_at', type: 'timestamp' },
  { for: 'node', name: 'day', type: 'date' },
  { for: 'node', name: 'uid', type: 'uuid' },
  { for: 'node', name: 'price', type: 'numeric' },
  { for: 'node', name: 'meta', type: 'json' },
  { for: 'node', name: 'tags', type: 'array' },
  { for: 'node', name: 'raw', type: 'bytes' },
  { for: 'node', name: 'odd name/with space', type: 'text' },
  { for: 'edge', name: 'weight', type: 'float' },
  { for: 'edge', name: 'since', type: 'date' },
  { for: 'edge', name: 'note', type: 'text' },
];

const NODES: GraphNode[] = [
  {
    id: '4:2b7d3c1e-9f00-4a6b-8c1d-000000000001:0',
    labels: ['DTC', 'Symptom'],
    properties: {
      code: 'P0100',
      label: 'Levegő <tömeg> & "áramlás" \'hiba\' ]]>',
      labels: 'a property literally called labels',
      count: 42,
      big: 9036396042225763098n,
      score: 0.1,
      active: true,
      updated_at: '2025-03-30T01:30:00.123456+00:00',
      day: '2025-03-30',
      uid: '0b7e3f52-8a6c-4c55-9f1e-2d1f3b5a9c01',
      price: '12345.6700',
      meta: { leírás: 'ő ű', nested: [1, null, { x: 'y' }], big: 9036396042225763098n },
      tags: [],
      raw: Buffer.from([0, 1, 2, 255]),
      'odd name/with space': 'ok',
    },
  },
  {
    id: '4:2b7d3c1e-9f00-4a6b-8c1d-000000000001:1',
    labels: ['Vehicle'],
    properties: {
      code: '',
      label: null,
      count: -1,
      big: -9223372036854775808n,
      score: 1e-300,
      active: false,
      tags: [null, 'with "quotes"', 'a,b', 'line\nbreak'],
      meta: 'just a string',
      price: null,
    },
  },
  {
    id: '4:2b7d3c1e-9f00-4a6b-8c1d-000000000001:2',
    labels: [],
    properties: {
      code: 'tab\there\r\nCRLF  lead and trail  ',
      label: 'ctrl \u0001 emoji 🚗',
      score: Number.NaN,
      count: 9_007_199_254_740_991,
    },
  },
  {
    id: 'weird & <id> "quoted"',
    labels: ['Odd'],
    properties: { score: -Infinity, meta: [] },
  },
];

const EDGES: GraphEdge[] = [
  {
    id: '5:x:0',
    type: 'HAS_SYMPTOM',
    source: NODES[0]!.id,
    target: NODES[1]!.id,
    properties: { weight: 0.75, since: '2024-02-29', note: '<b>bold</b> & co' },
  },
  {
    id: '5:x:1',
    type: 'RELATED_TO',
    source: NODES[1]!.id,
    target: NODES[3]!.id,
    properties: { weight: null, note: '' },
  },
  { id: '5:x:2', type: 'LOOPS', source: NODES[2]!.id, target: NODES[2]!.id, properties: {} },
];

function source(nodes: GraphNode[], edges: GraphEdge[], keys = KEYS): GraphSource {
  return {
    keys,
    async *nodes() {
      yield* nodes;
    },
    async *edges() {
      yield* edges;
    },
  };
}

interface ParsedKey {
  id: string;
  for: string;
  name: string;
  type: string;
}
interface ParsedElement {
  attrs: Record<string, string>;
  data: Record<string, string>;
}
interface Parsed {
  root: Record<string, string>;
  graph: Record<string, string>;
  keys: ParsedKey[];
  nodes: ParsedElement[];
  edges: ParsedElement[];
}

/** An independent, strict (well-formedness and namespaces) streaming parse. */
function parseGraphml(text: string): Parsed {
  const parser = new SaxesParser({ xmlns: true });
  const parsed: Parsed = { root: {}, graph: {}, keys: [], nodes: [], edges: [] };
  let current: ParsedElement | undefined;
  let dataKey: string | undefined;
  let dataText = '';
  const attrsOf = (tag: SaxesTagNS): Record<string, string> =>
    Object.fromEntries(Object.values(tag.attributes).map((a) => [a.name, a.value]));
  parser.on('opentag', (tag) => {
    if (tag.uri !== GRAPHML_NAMESPACE) throw new Error(`element ${tag.name} outside the GraphML namespace`);
    const attrs = attrsOf(tag);
    switch (tag.local) {
      case 'graphml':
        parsed.root = attrs;
        break;
      case 'key':
        parsed.keys.push({
          id: attrs.id!,
          for: attrs.for!,
          name: attrs['attr.name']!,
          type: attrs['attr.type']!,
        });
        break;
      case 'graph':
        parsed.graph = attrs;
        break;
      case 'node':
      case 'edge':
        current = { attrs, data: {} };
        (tag.local === 'node' ? parsed.nodes : parsed.edges).push(current);
        break;
      case 'data':
        dataKey = attrs.key;
        dataText = '';
        break;
      default:
        throw new Error(`unexpected element ${tag.local}`);
    }
  });
  parser.on('text', (t) => {
    if (dataKey !== undefined) dataText += t;
  });
  parser.on('closetag', (tag) => {
    if (tag.local === 'data') {
      if (current!.data[dataKey!] !== undefined) throw new Error(`duplicate <data key="${dataKey}">`);
      current!.data[dataKey!] = dataText;
      dataKey = undefined;
    }
  });
  parser.on('error', (error) => {
    throw error;
  });
  parser.write(text).close();
  return parsed;
}

/** The data text read back as the value its declared `attr.type` says. */
function typedValue(type: string, text: string): unknown {
  switch (type) {
    case 'long':
      return BigInt(text);
    case 'double':
      return text === 'INF' ? Infinity : text === '-INF' ? -Infinity : Number(text);
    case 'boolean':
      expect(['true', 'false']).toContain(text);
      return text === 'true';
    default:
      return text;
  }
}

/** The source value as the documented mapping says it must read back. */
function expectedValue(fieldType: string, value: Exclude<ExportValue, null>): unknown {
  switch (fieldType) {
    case 'integer':
    case 'bigint':
      return BigInt(value as number | bigint);
    case 'float':
    case 'boolean':
      return value;
    case 'json':
    case 'array':
      return { json: value };
    case 'bytes':
      return (value as Buffer).toString('base64');
    default:
      // Characters XML 1.0 cannot hold become U+FFFD.
      // eslint-disable-next-line no-control-regex
      return (value as string).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '\ufffd');
  }
}

function checkData(
  parsed: Parsed,
  owner: 'node' | 'edge',
  properties: Record<string, ExportValue>,
  data: Record<string, string>,
  fixedKey: string,
): void {
  const byId = new Map(parsed.keys.filter((k) => k.for === owner).map((k) => [k.id, k]));
  const seen = Object.keys(data).filter((k) => k !== fixedKey);
  const present = Object.entries(properties).filter(([, v]) => v !== null && v !== undefined);
  expect(seen.length).toBe(present.length); // NULL properties have no <data>
  for (const [name, value] of present) {
    const declared = KEYS.find((k) => k.for === owner && k.name === name)!;
    const key = [...byId.values()].find((k) => k.name === name);
    expect(key, name).toBeDefined();
    const text = data[key!.id];
    expect(text, name).toBeDefined();
    const actual = typedValue(key!.type, text!);
    const expected = expectedValue(declared.type, value!);
    if (expected !== null && typeof expected === 'object' && 'json' in expected) {
      expect(parseExactJson(actual as string), name).toEqual(expected.json);
    } else {
      expect(actual, name).toStrictEqual(expected);
    }
  }
}

describe('graphml export', () => {
  it('writes valid GraphML whose keys, nodes, edges and values read back equal', async () => {
    const path = join(dir, 'graph.graphml');
    const result = await writeGraphmlFile(path, source(NODES, EDGES));
    expect(result).toEqual({ path, nodes: NODES.length, edges: EDGES.length, replacedCharacters: 1 });
    expect(existsSync(`${path}.partial`)).toBe(false);

    const text = await readFile(path, 'utf8');
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    const parsed = parseGraphml(text);
    expect(parsed.root).toMatchObject({
      xmlns: GRAPHML_NAMESPACE,
      'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'xsi:schemaLocation': `${GRAPHML_NAMESPACE} http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd`,
    });
    expect(parsed.graph).toEqual({ id: 'G', edgedefault: 'directed' });

    // Every key declared once, ids unique, typed.
    const ids = parsed.keys.map((k) => `${k.for}:${k.id}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(parsed.keys).toContainEqual({ id: 'labels', for: 'node', name: '_labels', type: 'string' });
    expect(parsed.keys).toContainEqual({ id: 'label', for: 'edge', name: 'label', type: 'string' });
    expect(parsed.keys).toContainEqual({ id: 'n_label', for: 'node', name: 'label', type: 'string' });
    expect(parsed.keys).toContainEqual({ id: 'n_count', for: 'node', name: 'count', type: 'long' });
    expect(parsed.keys).toContainEqual({ id: 'n_big', for: 'node', name: 'big', type: 'long' });
    expect(parsed.keys).toContainEqual({ id: 'n_score', for: 'node', name: 'score', type: 'double' });
    expect(parsed.keys).toContainEqual({ id: 'n_active', for: 'node', name: 'active', type: 'boolean' });
    expect(parsed.keys).toContainEqual({ id: 'e_weight', for: 'edge', name: 'weight', type: 'double' });
    const odd = parsed.keys.find((k) => k.name === 'odd name/with space');
    expect(odd?.id).toMatch(/^n\d+$/);
    for (const key of KEYS) {
      expect(parsed.keys.filter((k) => k.for === key.for && k.name === key.name)).toHaveLength(1);
    }

    expect(parsed.nodes).toHaveLength(NODES.length);
    NODES.forEach((node, i) => {
      const back = parsed.nodes[i]!;
      expect(back.attrs).toEqual({ id: node.id });
      if (node.labels.length > 0) expect(back.data.labels).toBe(node.labels.map((l) => `:${l}`).join(''));
      else expect(back.data.labels).toBeUndefined();
      checkData(parsed, 'node', node.properties, back.data, 'labels');
    });
    expect(parsed.edges).toHaveLength(EDGES.length);
    EDGES.forEach((edge, i) => {
      const back = parsed.edges[i]!;
      expect(back.attrs).toEqual({ id: edge.id, source: edge.source, target: edge.target });
      expect(back.data.label).toBe(edge.type);
      checkData(parsed, 'edge', edge.properties, back.data, 'label');
    });
    // Spot checks on the awkward ones.
    expect(parsed.nodes[1]!.data.n_code).toBe(''); // '' is present and empty, NULL is absent
    expect(parsed.nodes[1]!.data.n_label).toBeUndefined();
    expect(parsed.nodes[2]!.data.n_code).toBe('tab\there\r\nCRLF  lead and trail  ');
    expect(parsed.nodes[2]!.data.n_label).toBe('ctrl \ufffd emoji 🚗');
    expect(parsed.nodes[1]!.data.n_big).toBe('-9223372036854775808');
    expect(parsed.nodes[1]!.data.n_meta).toBe('"just a string"');
    expect(parsed.nodes[3]!.data.n_score).toBe('-INF');
    expect(parsed.nodes[2]!.data.n_score).toBe('NaN');
  });

  it('refuses a property without a declared key and leaves no file', async () => {
    const path = join(dir, 'undeclared.graphml');
    const nodes: GraphNode[] = [{ id: 'a', labels: ['X'], properties: { surprise: 1 } }];
    await expect(writeGraphmlFile(path, source(nodes, []))).rejects.toThrow(/surprise/);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.partial`)).toBe(false);
  });

  it('streams a larger graph and stops on abort without leaving files', async () => {
    const keys: GraphKey[] = [
      { for: 'node', name: 'i', type: 'integer' },
      { for: 'edge', name: 'w', type: 'float' },
    ];
    const count = 20_000;
    const big: GraphSource = {
      keys,
      async *nodes() {
        for (let i = 0; i < count; i++) yield { id: `n${i}`, labels: ['N'], properties: { i } };
      },
      async *edges() {
        for (let i = 1; i < count; i++) {
          yield { id: `e${i}`, type: 'NEXT', source: `n${i - 1}`, target: `n${i}`, properties: { w: i / 3 } };
        }
      },
    };
    const path = join(dir, 'big.graphml');
    const result = await writeGraphmlFile(path, big);
    expect(result.nodes).toBe(count);
    expect(result.edges).toBe(count - 1);
    const parsed = parseGraphml(await readFile(path, 'utf8'));
    expect(parsed.nodes).toHaveLength(count);
    expect(parsed.edges[count - 2]!.data.e_w).toBe(String((count - 1) / 3));

    const controller = new AbortController();
    const aborting: GraphSource = {
      ...big,
      async *nodes() {
        for await (const node of big.nodes()) {
          if (node.id === 'n5000') controller.abort();
          yield node;
        }
      },
    };
    const abortedPath = join(dir, 'aborted.graphml');
    await expect(writeGraphmlFile(abortedPath, aborting, { signal: controller.signal })).rejects.toThrow(
      /abort/i,
    );
    expect((await readdir(dir)).filter((f) => f.startsWith('aborted'))).toEqual([]);
  });
});
