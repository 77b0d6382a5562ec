import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import type { ExportValue, GraphEdge, GraphKey, GraphNode } from '../../src/model/dataset.ts';
import { writeGraphmlFile } from '../../src/formats/graphml/graphml-format.ts';
import { openGraphmlInput } from '../../src/formats/graphml/graphml-reader.ts';
import { expectInvalidInput, failure, readAll } from '../support/input-readers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-graphml-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KEYS: GraphKey[] = [
  { for: 'node', name: 'code', type: 'text', source: 'STRING' },
  { for: 'node', name: 'label', type: 'text' }, // the original's n_label collision
  { for: 'node', name: 'labels', type: 'text' }, // collides with the labels key's attr.name
  { for: 'node', name: 'count', type: 'integer' },
  { for: 'node', name: 'big', type: 'bigint', source: 'INTEGER' },
  { for: 'node', name: 'score', type: 'float', source: 'FLOAT' },
  { for: 'node', name: 'active', type: 'boolean' },
  { for: 'node', name: 'updated_at', type: 'timestamp', source: 'ZONED DATETIME' },
  { for: 'node', name: 'day', type: 'date' },
  { for: 'node', name: 'dur', type: 'text', source: 'DURATION' },
  { for: 'node', name: 'uid', type: 'uuid' },
  { for: 'node', name: 'price', type: 'numeric' },
  { for: 'node', name: 'meta', type: 'json', source: 'MAP' },
  { for: 'node', name: 'loc', type: 'json', source: 'POINT' },
  { for: 'node', name: 'tags', type: 'array', source: 'LIST<STRING>' },
  { for: 'node', name: 'nums', type: 'array', source: 'LIST<INTEGER>' },
  { for: 'node', name: 'raw', type: 'bytes' },
  { for: 'node', name: 'odd name/with space', type: 'text' },
  { for: 'edge', name: 'weight', type: 'float' },
  { for: 'edge', name: 'since', type: 'date' },
  { for: 'edge', name: 'note', type: 'text' },
  { for: 'edge', name: 'label', type: 'text' }, // collides with the edge type key's attr.name
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
      dur: 'P1Y2M3DT4H',
      uid: '0b7e3f52-8a6c-4c55-9f1e-2d1f3b5a9c01',
      price: '12345.6700',
      meta: { leírás: 'ő ű', nested: [1, null, { x: 'y' }], big: 9036396042225763098n },
      loc: { srid: 4326, x: 19.04, y: 47.5 },
      tags: [],
      nums: [1, -2, 9007199254740991],
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
      tags: [null, 'with "quotes"', 'a,b', 'line\nbreak', ''],
      meta: 'just a string',
      price: null,
      raw: Buffer.alloc(0),
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
    id: 'weird & <id> "quoted"\ttab',
    labels: ['Odd'],
    properties: { score: -Infinity, meta: [], big: 0n },
  },
  { id: 'inf', labels: ['Odd'], properties: { score: Infinity } },
];

const EDGES: GraphEdge[] = [
  {
    id: '5:x:0',
    type: 'HAS_SYMPTOM',
    source: NODES[0]!.id,
    target: NODES[1]!.id,
    properties: { weight: 0.75, since: '2024-02-29', note: '<b>bold</b> & co', label: 'a label property' },
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

/** The properties as the reader returns them: NULL absent, characters XML cannot hold as U+FFFD. */
// eslint-disable-next-line no-control-regex
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

function expectedProperties(properties: Record<string, ExportValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(properties)) {
    if (value === null || value === undefined) continue;
    out[name] = typeof value === 'string' ? value.replace(XML_FORBIDDEN, '\ufffd') : value;
  }
  return out;
}

describe('GraphML reader', () => {
  it('reads back what the export writes: labels, types, ids, every value exactly', async () => {
    const path = join(dir, 'neo4j_graph.graphml');
    await writeGraphmlFile(path, {
      keys: KEYS,
      async *nodes() {
        yield* NODES;
      },
      async *edges() {
        yield* EDGES;
      },
    });
    const source = await openGraphmlInput(path);
    expect(source.format).toBe('graphml');
    const read = await readAll(source);
    expect(read.map((d) => [d.dataset.name, d.dataset.target, d.dataset.file])).toEqual([
      ['graph nodes', { store: 'neo4j', kind: 'nodes', label: null }, path],
      ['graph edges', { store: 'neo4j', kind: 'relationships', type: null }, path],
    ]);
    const [nodes, edges] = read;
    const declared = (owner: 'node' | 'edge') =>
      KEYS.filter((k) => k.for === owner).map((k) => ({
        name: k.name,
        type: k.type,
        ...(k.source === undefined ? {} : { source: k.source }),
      }));
    expect(nodes!.dataset.fields).toEqual([
      { name: '_element_id', type: 'text' },
      { name: '_labels', type: 'array' },
      ...declared('node'),
    ]);
    expect(edges!.dataset.fields).toEqual([
      { name: '_element_id', type: 'text' },
      { name: '_type', type: 'text' },
      { name: 'start_id', type: 'text' },
      { name: 'end_id', type: 'text' },
      ...declared('edge'),
    ]);

    expect(nodes!.records.map((r) => r.values)).toStrictEqual(
      NODES.map((n) => ({ _element_id: n.id, _labels: [...n.labels], ...expectedProperties(n.properties) })),
    );
    expect(edges!.records.map((r) => r.values)).toStrictEqual(
      EDGES.map((e) => ({
        _element_id: e.id,
        _type: e.type,
        start_id: e.source,
        end_id: e.target,
        ...expectedProperties(e.properties),
      })),
    );
    expect([...nodes!.records, ...edges!.records].every((r) => r.problems === undefined)).toBe(true);
    // a few of the traps, spelled out
    const first = nodes!.records[0]!.values;
    expect(first.big).toBe(9036396042225763098n);
    expect(first.count).toBe(42);
    expect(first.raw).toEqual(Buffer.from([0, 1, 2, 255]));
    expect((first.meta as { big: unknown }).big).toBe(9036396042225763098n);
    expect(nodes!.records[1]!.values.code).toBe('');
    expect(nodes!.records[1]!.values).not.toHaveProperty('label');
    expect(nodes!.records[2]!.values.score).toBeNaN();
    expect(nodes!.records[3]!.values.score).toBe(-Infinity);
    expect(nodes!.records[4]!.values.score).toBe(Infinity);

    // each record reports the line its element starts on (one element per line in our files)
    const lines = (await readFile(path, 'utf8')).split('\n');
    for (const r of [...nodes!.records, ...edges!.records]) {
      expect(lines[r.line - 1]).toMatch(/^\s*<(node|edge) /);
    }
    expect(nodes!.records[0]!.line).toBeLessThan(edges!.records[0]!.line);
  });

  it('yields every node before any edge, also when the file lists edges first', async () => {
    const path = join(dir, 'edges-first.graphml');
    await writeFile(
      path,
      `<?xml version="1.0"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="w" for="edge" attr.name="weight" attr.type="double"/>
  <key id="name" for="node" attr.name="name" attr.type="string"/>
  <graph edgedefault="directed">
    <edge source="b" target="a"><data key="w">2.5</data></edge>
    <node id="a"><data key="name">A</data></node>
    <edge id="e2" source="a" target="b"/>
    <node id="b"/>
  </graph>
</graphml>
`,
    );
    const [nodes, edges] = await readAll(await openGraphmlInput(path));
    expect(nodes!.records).toStrictEqual([
      { line: 7, values: { _element_id: 'a', _labels: [], name: 'A' } },
      { line: 9, values: { _element_id: 'b', _labels: [] } },
    ]);
    expect(edges!.records).toStrictEqual([
      { line: 6, values: { _element_id: null, _type: null, start_id: 'b', end_id: 'a', weight: 2.5 } },
      { line: 8, values: { _element_id: 'e2', _type: null, start_id: 'a', end_id: 'b' } },
    ]);
    // string keys without acx:type are undeclared: the import converts them
    expect(nodes!.dataset.fields).toEqual([
      { name: '_element_id', type: 'text' },
      { name: '_labels', type: 'array' },
      { name: 'name' },
    ]);
  });

  it("reads APOC's GraphML: labels key, attr.list arrays, long/int/boolean types, defaults, CDATA", async () => {
    const path = join(dir, 'apoc.graphml');
    await writeFile(
      path,
      `<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<key id="labels" for="node" attr.name="labels" attr.type="string"/>
<key id="name" for="node" attr.name="name" attr.type="string"/>
<key id="age" for="node" attr.name="age" attr.type="long"/>
<key id="rank" for="node" attr.name="rank" attr.type="int"><default>7</default></key>
<key id="vip" for="node" attr.name="vip" attr.type="boolean"><default>false</default></key>
<key id="tags" for="node" attr.name="tags" attr.type="string" attr.list="string"/>
<key id="scores" for="node" attr.name="scores" attr.type="long" attr.list="long"/>
<key id="label" for="edge" attr.name="label" attr.type="string"/>
<key id="since" for="edge" attr.name="since" attr.type="long"/>
<graph id="G" edgedefault="directed">
<node id="n0" labels=":Person:Driver"><data key="labels">:Person:Driver</data><data key="name"><![CDATA[Kovács <Éva> & co]]></data><data key="age">9223372036854775807</data><data key="tags">["a","ő"]</data><data key="scores">[1,9036396042225763098]</data><data key="vip">true</data></node>
<node id="n1" labels=":Car"><data key="labels">:Car</data><data key="name">&lt;Škoda&gt; &amp; &#x1F697;</data><data key="rank">1</data></node>
<edge id="e0" source="n0" target="n1" label="DRIVES"><data key="label">DRIVES</data><data key="since">2020</data></edge>
</graph>
</graphml>
`,
    );
    const [nodes, edges] = await readAll(await openGraphmlInput(path));
    expect(nodes!.dataset.fields).toEqual([
      { name: '_element_id', type: 'text' },
      { name: '_labels', type: 'array' },
      { name: 'name' },
      { name: 'age', type: 'bigint' },
      { name: 'rank', type: 'integer' },
      { name: 'vip', type: 'boolean' },
      { name: 'tags', type: 'array' },
      { name: 'scores', type: 'array' },
    ]);
    expect(nodes!.records.map((r) => r.values)).toStrictEqual([
      {
        _element_id: 'n0',
        _labels: ['Person', 'Driver'],
        name: 'Kovács <Éva> & co',
        age: 9223372036854775807n,
        tags: ['a', 'ő'],
        scores: [1, 9036396042225763098n],
        vip: true,
        rank: 7,
      },
      { _element_id: 'n1', _labels: ['Car'], name: '<Škoda> & 🚗', rank: 1, vip: false },
    ]);
    expect(edges!.records.map((r) => r.values)).toStrictEqual([
      { _element_id: 'e0', _type: 'DRIVES', start_id: 'n0', end_id: 'n1', since: 2020n },
    ]);
  });

  it("reads the original tool's GraphML: one label in n_label, type in e_type, all strings", async () => {
    const path = join(dir, 'original.graphml');
    await writeFile(
      path,
      `<?xml version="1.0" ?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">
  <key id="n_code" for="node" attr.name="code" attr.type="string"/>
  <key id="n_symptoms" for="node" attr.name="symptoms" attr.type="string"/>
  <key id="n_label" for="node" attr.name="label" attr.type="string"/>
  <key id="e_type" for="edge" attr.name="type" attr.type="string"/>
  <graph id="G" edgedefault="directed">
    <node id="n0">
      <data key="n_label">DTCNode</data>
      <data key="n_code">P0100</data>
      <data key="n_symptoms">["zaj", "rángatás"]</data>
    </node>
    <node id="n1">
      <data key="n_label">Symptom</data>
      <data key="n_code"/>
    </node>
    <edge id="e0" source="n0" target="n1">
      <data key="e_type">HAS_SYMPTOM</data>
    </edge>
  </graph>
</graphml>
`,
    );
    const [nodes, edges] = await readAll(await openGraphmlInput(path));
    expect(nodes!.dataset.fields.map((f) => f.name)).toEqual(['_element_id', '_labels', 'code', 'symptoms']);
    expect(nodes!.records).toStrictEqual([
      {
        line: 8,
        values: { _element_id: 'n0', _labels: ['DTCNode'], code: 'P0100', symptoms: '["zaj", "rángatás"]' },
      },
      { line: 13, values: { _element_id: 'n1', _labels: ['Symptom'], code: '' } },
    ]);
    expect(edges!.records).toStrictEqual([
      { line: 17, values: { _element_id: 'e0', _type: 'HAS_SYMPTOM', start_id: 'n0', end_id: 'n1' } },
    ]);
  });

  it('keeps a value that does not parse as its type as a record problem', async () => {
    const path = join(dir, 'bad-values.graphml');
    await writeFile(
      path,
      `<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:acx="urn:acx-data:graphml">
<key id="i" for="node" attr.name="i" attr.type="long" acx:type="integer"/>
<key id="d" for="node" attr.name="d" attr.type="double"/>
<key id="b" for="node" attr.name="b" attr.type="boolean"/>
<key id="j" for="node" attr.name="j" attr.type="string" acx:type="json"/>
<key id="a" for="node" attr.name="a" attr.type="string" attr.list="long"/>
<graph>
<node id="x"><data key="i">12345678901234567890</data><data key="d">1,5</data><data key="b">yes</data><data key="j">{nope</data><data key="a">{"not":"a list"}</data></node>
<node id="y"><data key="i"> 12 </data><data key="d">-1.5e3</data><data key="b">0</data><data key="j">null</data><data key="a">[]</data></node>
</graph>
</graphml>`,
    );
    const [nodes] = await readAll(await openGraphmlInput(path));
    expect(nodes!.records[0]).toStrictEqual({
      line: 8,
      values: {
        _element_id: 'x',
        _labels: [],
        i: '12345678901234567890',
        d: '1,5',
        b: 'yes',
        j: '{nope',
        a: '{"not":"a list"}',
      },
      problems: [
        { field: 'i', reason: '"12345678901234567890": not an integer within ±2^53' },
        { field: 'd', reason: '"1,5": not a number' },
        { field: 'b', reason: '"yes": not true or false' },
        { field: 'j', reason: '"{nope": not valid JSON' },
        { field: 'a', reason: '"{\\"not\\":\\"a list\\"}": not a JSON array' },
      ],
    });
    expect(nodes!.records[1]).toStrictEqual({
      line: 9,
      values: { _element_id: 'y', _labels: [], i: 12, d: -1500, b: false, j: null, a: [] },
    });
  });
});

describe('GraphML reader on broken input', () => {
  const head = `<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="n_code" for="node" attr.name="code" attr.type="string"/>
  <graph id="G" edgedefault="directed">
`;
  const good = `${head}    <node id="a"><data key="n_code">P1</data></node>
    <node id="b"/>
    <edge source="a" target="b"/>
  </graph>
</graphml>
`;
  const cases: Array<{
    name: string;
    file: string;
    content: string | Buffer;
    line?: number;
    message: RegExp;
  }> = [
    {
      name: 'invalid XML (mismatched tags)',
      file: 'mismatched.graphml',
      content: `${head}    <node id="a"><data key="n_code">P1</node>\n  </graph>\n</graphml>\n`,
      line: 5,
      message: /invalid XML/,
    },
    {
      name: 'an unclosed element (a truncated file)',
      file: 'truncated.graphml',
      content: good.slice(0, good.indexOf('<node id="b"/>')),
      message: /invalid XML/,
    },
    {
      name: 'a file cut inside a tag',
      file: 'cut.graphml',
      content: good.slice(0, good.indexOf('target=') + 4),
      message: /invalid XML/,
    },
    {
      name: 'a wrong root element',
      file: 'svg.graphml',
      content: '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><g/></svg>\n',
      line: 2,
      message: /root element is <svg>, not <graphml>/,
    },
    {
      name: 'graphml in a foreign namespace',
      file: 'foreign.graphml',
      content: '<graphml xmlns="urn:other"><graph/></graphml>',
      line: 1,
      message: /not <graphml>/,
    },
    {
      name: 'an undeclared key',
      file: 'undeclared.graphml',
      content: `${head}    <node id="a">\n      <data key="n_nope">x</data></node>\n  </graph>\n</graphml>\n`,
      line: 6,
      message: /<data key="n_nope">: no <key> declares "n_nope"/,
    },
    {
      name: 'an edge without a target',
      file: 'no-target.graphml',
      content: `${head}    <node id="a"/>\n    <edge id="e" source="a"/>\n  </graph>\n</graphml>\n`,
      line: 6,
      message: /an <edge> without a target/,
    },
    {
      name: 'an edge without a source',
      file: 'no-source.graphml',
      content: `${head}    <edge target="a"/>\n  </graph>\n</graphml>\n`,
      line: 5,
      message: /an <edge> without a source/,
    },
    {
      name: 'a node without an id',
      file: 'no-id.graphml',
      content: `${head}    <node/>\n  </graph>\n</graphml>\n`,
      line: 5,
      message: /a <node> without an id/,
    },
    { name: 'an empty file', file: 'empty.graphml', content: '', message: /invalid XML|empty/ },
    {
      name: 'a JSON file',
      file: 'export.json',
      content: '{"postgresql": {}}\n',
      message: /invalid XML: .*is this an XML file/,
    },
    {
      name: 'text after the root element',
      file: 'after.graphml',
      content: `${good}trailing text\n`,
      message: /invalid XML/,
    },
    {
      name: 'an unbound namespace prefix',
      file: 'prefix.graphml',
      content: '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph><y:node/></graph></graphml>',
      line: 1,
      message: /invalid XML/,
    },
    {
      name: 'binary garbage',
      file: 'binary.graphml',
      content: Buffer.from([0x3c, 0xff, 0xfe, 0x00, 0x9f]),
      message: /not UTF-8/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const path = join(dir, c.file);
      await writeFile(path, c.content);
      expectInvalidInput(await failure(() => openGraphmlInput(path)), path, c.message, c.line);
    });
  }

  it('refuses our export cut at any point, never anything but INVALID_INPUT', async () => {
    const full = join(dir, 'whole.graphml');
    await writeGraphmlFile(full, {
      keys: KEYS,
      async *nodes() {
        yield* NODES;
      },
      async *edges() {
        yield* EDGES;
      },
    });
    const text = await readFile(full);
    const end = text.lastIndexOf('</graphml>') + '</graphml'.length; // every cut before the last '>'
    const path = join(dir, 'cut.graphml');
    let cuts = 0;
    for (let cut = 0; cut < end; cut += 7) {
      await writeFile(path, text.subarray(0, cut));
      const error = await failure(() => openGraphmlInput(path), `cut at ${cut}`);
      expect(error, `cut at ${cut}`).toBeInstanceOf(AcxError);
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toContain(path);
      cuts++;
    }
    expect(cuts).toBeGreaterThan(100);
  }, 60_000); // hundreds of reads: seconds alone, more on a busy machine

  it('reports a missing file as NOT_FOUND', async () => {
    const path = join(dir, 'missing.graphml');
    const error = await failure(() => openGraphmlInput(path));
    expect(error).toBeInstanceOf(AcxError);
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain(path);
  });
});
