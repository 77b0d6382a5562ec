import { readFile, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import type { ExportRecord, FieldSpec, TabularDataset } from '../../src/model/dataset.ts';
import type { InputRecord } from '../../src/model/input.ts';
import {
  writeJsonDataset,
  writeJsonFile,
  type JsonDocumentWriter,
} from '../../src/formats/json/json-document.ts';
import { openJsonInput } from '../../src/formats/json/json-reader.ts';
import { writeVectorsFile } from '../../src/formats/vectors/vectors-format.ts';
import { FIELDS, RECORDS, awkwardDataset, largeDataset } from '../support/awkward-records.ts';
import { expectInvalidInput, failure, readAll, type ReadDataset } from '../support/input-readers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-json-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const values = (d: ReadDataset | undefined) => d?.records.map((r) => r.values);

function dataset(
  name: string,
  kind: TabularDataset['kind'],
  fields: FieldSpec[],
  records: ExportRecord[],
): TabularDataset {
  return {
    name,
    kind,
    fields,
    async *records() {
      yield* records;
    },
  };
}

const NODE_FIELDS: FieldSpec[] = [
  { name: '_element_id', type: 'text' },
  { name: '_labels', type: 'array' },
  { name: 'code', type: 'text', source: 'STRING' },
  { name: 'count', type: 'bigint', source: 'INTEGER' },
  { name: 'score', type: 'float', source: 'FLOAT' },
  { name: 'dur', type: 'text', source: 'DURATION' },
  { name: 'loc', type: 'json', source: 'POINT' },
  { name: 'at', type: 'timestamp', source: 'ZONED DATETIME' },
  { name: 'tags', type: 'array', source: 'LIST<STRING>' },
  { name: 'mixed', type: 'json', source: 'ANY' },
];
const NODES: ExportRecord[] = [
  {
    _element_id: '4:abc:0',
    _labels: ['DTC', 'Symptom'],
    code: 'P0100',
    count: 9223372036854775807n,
    score: 0.25,
    dur: 'P1DT2H',
    loc: { srid: 4326, x: 19.04, y: 47.5 },
    at: '2025-03-30T01:30:00.123456+02:00',
    tags: ['ő', '', 'a"b'],
    mixed: { big: -9223372036854775808n, list: [1, 'x'] },
  },
  {
    _element_id: '4:abc:1',
    _labels: [],
    code: '',
    count: 1n,
    score: null,
    dur: null,
    loc: null,
    at: null,
    tags: [],
    mixed: 'text',
  },
];
const REL_FIELDS: FieldSpec[] = [
  { name: '_element_id', type: 'text' },
  { name: 'start_id', type: 'text' },
  { name: 'start_label', type: 'text' },
  { name: 'start_key', type: 'text' },
  { name: 'end_id', type: 'text' },
  { name: 'end_label', type: 'text' },
  { name: 'end_key', type: 'text' },
  { name: 'weight', type: 'float', source: 'FLOAT' },
  { name: 'since', type: 'date', source: 'DATE' },
];
const RELS: ExportRecord[] = [
  {
    _element_id: '5:abc:0',
    start_id: '4:abc:0',
    start_label: 'DTC',
    start_key: 'P0100',
    end_id: '4:abc:1',
    end_label: 'Symptom',
    end_key: null,
    weight: 0.75,
    since: '2024-02-29',
  },
];
const TRANSLATION_FIELDS: FieldSpec[] = [
  { name: 'code', type: 'text' },
  { name: 'description_hu', type: 'text' },
];

/** The export's layout, as `export-formats.ts` writes `autocognitix_export.json`. */
async function exportDocument(w: JsonDocumentWriter): Promise<void> {
  w.beginObject();
  w.property('export_time', '2025-03-30T01:30:00.000Z');
  w.property('source', 'AutoCognitix');
  w.property('version', '2.0');
  w.property('filter_applied', { categories: null, manufacturer: null });
  w.property('include_pii', false);
  w.key('postgresql').beginObject();
  w.key('awkward');
  await writeJsonDataset(w, awkwardDataset(RECORDS));
  w.key('empty');
  await writeJsonDataset(w, awkwardDataset([], 'empty'));
  w.endObject();
  w.key('neo4j').beginObject();
  w.key('nodes').beginObject().key('DTC');
  await writeJsonDataset(w, dataset('neo4j_DTC', 'nodes', NODE_FIELDS, NODES));
  w.endObject();
  w.key('relationships').beginObject().key('HAS_SYMPTOM');
  await writeJsonDataset(w, dataset('neo4j_rel_HAS_SYMPTOM', 'relationships', REL_FIELDS, RELS));
  w.endObject();
  w.endObject();
  w.key('qdrant').beginObject().key('collections').beginObject();
  w.key('autocognitix').beginObject();
  w.property('config', { params: { vectors: { size: 768, distance: 'Cosine' } } });
  w.key('points').beginArray();
  w.value({ id: 9036396042225763098n, payload: { code: 'P0100', nested: { a: [1, 2] } } });
  w.value({ id: '0b7e3f52-8a6c-4c55-9f1e-2d1f3b5a9c01', payload: null });
  w.endArray();
  w.property('points_count', 2);
  w.endObject();
  w.endObject().endObject();
  w.key('translations');
  await writeJsonDataset(
    w,
    dataset('translations', 'table', TRANSLATION_FIELDS, [{ code: 'P0100', description_hu: 'Légtömeg' }]),
  );
  w.endObject();
}

/** What a typed JSON read gives back for an awkward record: JSON has no -0. */
function expectedAwkward(record: ExportRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of FIELDS) {
    const value = record[field.name];
    out[field.name] = value === undefined ? null : Object.is(value, -0) ? 0 : value;
  }
  return out;
}

/** Line (1-based) of the first line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  expect(at, needle).toBeGreaterThanOrEqual(0);
  return text.slice(0, at).split('\n').length;
}

describe('JSON export reader', () => {
  for (const variant of [
    { name: 'pretty', file: 'export.json', indent: 2 as const, gzip: false },
    { name: 'compact', file: 'export-compact.json', indent: 0 as const, gzip: false },
    { name: 'gzip', file: 'export.json.gz', indent: 2 as const, gzip: true },
  ]) {
    it(`reads back what the export writes, value for value (${variant.name})`, async () => {
      const path = join(dir, variant.file);
      await writeJsonFile(path, exportDocument, { indent: variant.indent, gzip: variant.gzip });
      const source = await openJsonInput(path);
      expect(source.format).toBe('json');
      expect(source.file).toBe(path);
      const read = await readAll(source);

      expect(read.map((d) => [d.dataset.name, d.dataset.target])).toEqual([
        ['awkward', { store: 'postgres', table: 'awkward' }],
        ['empty', { store: 'postgres', table: 'empty' }],
        ['neo4j_DTC', { store: 'neo4j', kind: 'nodes', label: 'DTC' }],
        ['neo4j_rel_HAS_SYMPTOM', { store: 'neo4j', kind: 'relationships', type: 'HAS_SYMPTOM' }],
      ]);
      for (const d of read) expect(d.dataset.file).toBe(path);

      const [awkward, empty, nodes, rels] = read;
      expect(awkward!.dataset.fields).toEqual(FIELDS);
      expect(values(awkward)).toStrictEqual(RECORDS.map(expectedAwkward));
      expect(awkward!.records.every((r) => r.problems === undefined)).toBe(true);
      // spot checks on the traps
      const first = awkward!.records[0]!.values;
      expect(first.big).toBe(9036396042225763098n);
      expect(first.blob).toEqual(Buffer.from([0, 1, 2, 254, 255]));
      expect((first.doc as { nested: { big: unknown } }).nested.big).toBe(9036396042225763098n);
      expect(awkward!.records[1]!.values.label).toBe(''); // '' is not NULL
      expect(awkward!.records[2]!.values.label).toBeNull();
      expect(awkward!.records[3]!.values.n).toBe(-9007199254740991);

      expect(empty!.dataset.fields).toEqual(FIELDS);
      expect(empty!.records).toEqual([]);

      expect(nodes!.dataset.fields).toEqual(NODE_FIELDS);
      expect(values(nodes)).toStrictEqual(NODES);
      expect(rels!.dataset.fields).toEqual(REL_FIELDS);
      expect(values(rels)).toStrictEqual(RELS);

      expect(source.notices).toEqual([
        'qdrant collection "autocognitix": payloads only, no vectors: import qdrant_vectors.json.gz with --vectors',
        'translations: derived from the DTC codes, not imported',
      ]);

      if (!variant.gzip) {
        const text = await readFile(path, 'utf8');
        if (variant.indent === 2) {
          // every record reports the line its `{` is on
          expect(awkward!.records.map((r) => r.line)).toEqual(
            RECORDS.map((r) => lineOf(text, `{"id":"${r.id as string}"`)),
          );
          expect(nodes!.records[1]!.line).toBe(lineOf(text, '{"_element_id":"4:abc:1"'));
        } else {
          expect(awkward!.records.every((r) => r.line === 1)).toBe(true);
        }
      }
    });
  }

  it("reads the original tool's layout: record arrays, one relationship array, no fields", async () => {
    const path = join(dir, 'original.json');
    const doc = `{
  "export_time": "2025-01-01T10:00:00",
  "source": "AutoCognitix",
  "version": "2.0",
  "filter_applied": {"categories": null, "manufacturer": null, "translated_only": false, "untranslated_only": false},
  "postgresql": {
    "dtc_codes": {
      "row_count": 2,
      "columns": ["id", "code", "symptoms", "big"],
      "data": [
        {"id": 1, "code": "P0100", "symptoms": ["a", "b"], "big": 9036396042225763098},
        {"id": 2, "code": "", "symptoms": [], "big": null}
      ]
    }
  },
  "neo4j": {
    "nodes": {
      "DTCNode": [
        {"code": "P0100", "description_hu": "Légtömeg ő", "_element_id": "4:x:1"}
      ]
    },
    "relationships": [
      {"start_label": "DTCNode", "start_id": "4:x:1", "start_props": {"code": "P0100"}, "type": "HAS_SYMPTOM",
       "properties": {"weight": 0.5}, "end_label": "Symptom", "end_id": "4:x:2", "end_props": {"name": "noise"}}
    ]
  },
  "qdrant": {"collections": {"autocognitix": {"points_count": 1, "vector_size": 768, "distance": "Cosine",
    "points": [{"id": 1, "payload": {"a": 1}}]}}},
  "translations": {"P0100": "Légtömeg"}
}
`;
    await writeFile(path, doc);
    const source = await openJsonInput(path);
    const read = await readAll(source);
    expect(read.map((d) => [d.dataset.name, d.dataset.target])).toEqual([
      ['dtc_codes', { store: 'postgres', table: 'dtc_codes' }],
      ['neo4j_DTCNode', { store: 'neo4j', kind: 'nodes', label: 'DTCNode' }],
      ['neo4j_relationships', { store: 'neo4j', kind: 'relationships', type: null }],
    ]);
    const [table, nodes, rels] = read;
    expect(table!.dataset.fields).toEqual([
      { name: 'id' },
      { name: 'code' },
      { name: 'symptoms' },
      { name: 'big' },
    ]);
    expect(values(table)).toStrictEqual([
      { id: 1, code: 'P0100', symptoms: ['a', 'b'], big: 9036396042225763098n },
      { id: 2, code: '', symptoms: [], big: null },
    ]);
    expect(table!.records.map((r) => r.line)).toEqual([lineOf(doc, '{"id": 1'), lineOf(doc, '{"id": 2')]);
    expect(nodes!.dataset.fields.map((f) => f.name)).toEqual([
      'code',
      'description_hu',
      '_element_id',
      '_labels',
    ]);
    expect(values(nodes)).toStrictEqual([
      { code: 'P0100', description_hu: 'Légtömeg ő', _element_id: '4:x:1', _labels: ['DTCNode'] },
    ]);
    expect(rels!.dataset.fields.map((f) => f.name)).toEqual([
      '_type',
      'start_id',
      'start_label',
      'start_key',
      'end_id',
      'end_label',
      'end_key',
    ]);
    expect(values(rels)).toStrictEqual([
      {
        weight: 0.5,
        _type: 'HAS_SYMPTOM',
        start_id: '4:x:1',
        start_label: 'DTCNode',
        start_key: 'P0100',
        end_id: '4:x:2',
        end_label: 'Symptom',
        end_key: null,
      },
    ]);
    expect(source.notices).toHaveLength(2);
  });

  it('reads data that comes before columns, and keeps values that do not convert as problems', async () => {
    const path = join(dir, 'odd-order.json');
    await writeFile(
      path,
      JSON.stringify({
        postgresql: {
          late: {
            data: [
              { a: 1, b: 'x' },
              { a: 2, b: null, c: true },
            ],
            columns: ['a', 'b'],
            row_count: 2,
          },
          typed: {
            fields: [
              { name: 'n', type: 'integer' },
              { name: 'big', type: 'bigint' },
              { name: 'blob', type: 'bytes' },
              { name: 'ok', type: 'boolean' },
              { name: 'x', type: 'float' },
              { name: 'what', type: 'no-such-type' },
            ],
            data: [
              { n: 1.5, big: 'abc', blob: 'not base64!', ok: 'maybe', x: 'Infinity', what: [1] },
              { n: '7', big: '12', blob: '', ok: 'true', x: null, what: null },
            ],
          },
          nodata: { columns: ['a'], row_count: 0 },
        },
      }),
    );
    const read = await readAll(await openJsonInput(path));
    const [late, typed, nodata] = read;
    expect(late!.dataset.fields).toEqual([{ name: 'a' }, { name: 'b' }]);
    expect(values(late)).toStrictEqual([
      { a: 1, b: 'x' },
      { a: 2, b: null, c: true },
    ]);
    expect(typed!.dataset.fields.map((f) => f.type)).toEqual([
      'integer',
      'bigint',
      'bytes',
      'boolean',
      'float',
      undefined,
    ]);
    expect(typed!.records[0]).toStrictEqual({
      line: 1,
      values: { n: 1.5, big: 'abc', blob: 'not base64!', ok: 'maybe', x: Infinity, what: [1] },
      problems: [
        { field: 'n', reason: 'expected an integer within ±2^53' },
        { field: 'big', reason: 'expected an integer' },
        { field: 'blob', reason: 'expected base64 text' },
        { field: 'ok', reason: 'expected true or false' },
      ],
    });
    expect(typed!.records[1]).toStrictEqual({
      line: 1,
      values: { n: 7, big: 12n, blob: Buffer.alloc(0), ok: true, x: null, what: null },
    });
    expect(nodata!.dataset.fields).toEqual([{ name: 'a' }]);
    expect(nodata!.records).toEqual([]);
  });

  it('passes over the records of a dataset the consumer does not read', async () => {
    const path = join(dir, 'export.json');
    await writeJsonFile(path, exportDocument, { indent: 2 });
    const source = await openJsonInput(path);
    const seen: string[] = [];
    let nodes: InputRecord[] = [];
    for await (const d of source.datasets()) {
      seen.push(d.name);
      if (d.name === 'neo4j_DTC') for await (const r of d.records()) nodes.push(r);
      if (d.name === 'awkward') {
        // read one record, then leave the rest
        for await (const _ of d.records()) break;
      }
    }
    expect(seen).toEqual(['awkward', 'empty', 'neo4j_DTC', 'neo4j_rel_HAS_SYMPTOM']);
    expect(nodes.map((r) => r.values)).toStrictEqual(NODES);
    nodes = [];
    expect(() => source.datasets()).toThrow(/once/);
  });

  it('reads a 200k-record export without holding it', async () => {
    const path = join(dir, 'large.json');
    const rows = 200_000;
    await writeJsonFile(
      path,
      async (w) => {
        w.beginObject().key('postgresql').beginObject().key('large');
        await writeJsonDataset(w, largeDataset(rows));
        w.endObject().endObject();
      },
      { indent: 2 },
    );
    const size = (await stat(path)).size;
    // What the reader retains, not garbage waiting for collection: a full GC before each sample.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let peakHeap = heapBefore;
    let count = 0;
    let last: InputRecord | undefined;
    let sampling = 0;
    const started = performance.now();
    for await (const d of (await openJsonInput(path)).datasets()) {
      for await (const record of d.records()) {
        if (count % 20_000 === 10_000) {
          const t = performance.now();
          gc();
          peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
          sampling += performance.now() - t;
        }
        count++;
        last = record;
      }
    }
    const seconds = (performance.now() - started - sampling) / 1000;
    const growth = peakHeap - heapBefore;
    console.log(
      `JSON read: ${rows} records (${(size / 2 ** 20).toFixed(1)} MiB) in ${seconds.toFixed(2)} s ` +
        `(${Math.round(rows / seconds)} records/s), retained heap +${(growth / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(count).toBe(rows);
    expect(last!.values).toStrictEqual({
      id: rows - 1,
      code: `P${String(rows - 1).padStart(6, '0')}`,
      at: '2025-03-30T01:30:00.123456+00:00',
      score: (rows - 1) / 7,
      ok: false,
      doc: { i: rows - 1, note: 'ő "x", y' },
    });
    expect(growth).toBeLessThan(Math.min(8 * 2 ** 20, size / 10));
  }, 30_000);
});

describe('JSON export reader on broken input', () => {
  const good = `{
  "postgresql": {
    "t": {
      "columns": ["a", "b"],
      "data": [
        {"a": 1, "b": "x"},
        {"a": 2, "b": "y"}
      ],
      "row_count": 2
    }
  }
}
`;
  const cases: Array<{
    name: string;
    file: string;
    content: string | Buffer;
    line?: number;
    message: RegExp;
  }> = [
    {
      name: 'truncated in the middle of a record',
      file: 'truncated.json',
      content: good.slice(0, good.indexOf('"y"')),
      line: 7,
      message: /ends inside the object starting here.*truncated/,
    },
    {
      name: 'truncated between records',
      file: 'truncated-between.json',
      content: good.slice(0, good.indexOf('{"a": 2')),
      message: /truncated/,
    },
    {
      name: 'trailing garbage',
      file: 'trailing.json',
      content: `${good}garbage`,
      line: 13,
      message: /after the end/,
    },
    {
      name: 'not JSON',
      file: 'notjson.json',
      content: 'hello world\n',
      line: 1,
      message: /expected a JSON object/,
    },
    { name: 'empty', file: 'empty.json', content: '', line: 1, message: /empty/ },
    { name: 'a BOM', file: 'bom.json', content: `\ufeff${good}`, line: 1, message: /byte order mark/ },
    {
      name: 'a CSV file',
      file: 'export.csv',
      content: 'code,description_en\nP0100,"Mass air flow"\n',
      line: 1,
      message: /expected a JSON object.*code,desc/,
    },
    {
      name: 'a PostgreSQL backup',
      file: 'postgres_backup.json',
      content: '{"backup_time": "2025-01-01", "tables": {"t": []}}',
      line: 1,
      message: /backup file/,
    },
    {
      name: 'a Neo4j backup',
      file: 'neo4j_backup.json',
      content: '{\n"database": "neo4j",\n"nodes": {"DTC": []}, "relationships": []}',
      line: 3,
      message: /backup file/,
    },
    {
      name: 'an array root',
      file: 'array.json',
      content: '[{"a": 1}]',
      line: 1,
      message: /is an array, not an object/,
    },
    {
      name: 'a string root',
      file: 'string.json',
      content: '"just text"',
      line: 1,
      message: /expected a JSON object/,
    },
    {
      name: 'data that is not an array',
      file: 'data-object.json',
      content: '{"postgresql": {"t": {"columns": [],\n "data": {"a": 1}}}}',
      line: 2,
      message: /"data" is not an array/,
    },
    {
      name: 'a record that is not an object',
      file: 'record-array.json',
      content: '{"postgresql": {"t": {"data": [\n{"a": 1},\n[1, 2]\n]}}}',
      line: 3,
      message: /a record is an array, not an object/,
    },
    {
      name: 'a record that is null',
      file: 'record-null.json',
      content: '{"postgresql": {"t": {"data": [\n{"a": 1},\nnull]}}}',
      line: 3,
      message: /a record is null/,
    },
    {
      name: 'invalid JSON inside a record',
      file: 'bad-record.json',
      content: '{"postgresql": {"t": {"data": [\n{"a": 1},\n{"a":\n tru}]}}}',
      line: 3, // the record's line: V8 gives no position for this one
      message: /invalid JSON/,
    },
    {
      name: 'invalid JSON on a later line of a record',
      file: 'bad-record-position.json',
      content: '{"postgresql": {"t": {"data": [\n{"a": 1,\n}]}}}',
      line: 3,
      message: /invalid JSON \(Expected double-quoted property name/,
    },
    {
      name: 'mismatched brackets',
      file: 'brackets.json',
      content: '{"postgresql": {"t": {"data": [\n{"a": [1, 2}\n]}}}',
      line: 2,
      message: /mismatched brackets/,
    },
    {
      name: 'a trailing comma',
      file: 'comma.json',
      content: '{"postgresql": {"t": {"columns": ["a"],\n}}}',
      line: 2,
      message: /expected a key/,
    },
    {
      name: 'an unterminated string',
      file: 'string-open.json',
      content: '{"postgresql": {"t": {"data": [\n{"a": "open\n}]}}}',
      line: 2,
      message: /line break inside a string/,
    },
    {
      name: 'no export section',
      file: 'history.json',
      content: '{"export_time": "x", "total": 1}',
      line: 1,
      message: /not an export/,
    },
    {
      name: 'diagnosis history',
      file: 'diagnosis_history.json',
      content: '{"export_time": "x", "sessions": []}',
      line: 1,
      message: /diagnosis_history/,
    },
    {
      name: 'binary garbage',
      file: 'binary.json',
      content: Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x81]),
      message: /not UTF-8/,
    },
    {
      name: 'a truncated gzip file',
      file: 'truncated.json.gz',
      content: gzipSync(Buffer.from(good)).subarray(0, 40),
      message: /not a complete gzip file/,
    },
    {
      name: 'garbage named .gz',
      file: 'garbage.json.gz',
      content: Buffer.from('this is not gzip at all'),
      message: /not a complete gzip file/,
    },
    {
      name: 'a neo4j section that is not an object',
      file: 'neo4j-array.json',
      content: '{"neo4j": [1]}',
      line: 1,
      message: /an object for "neo4j"/,
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const path = join(dir, c.file);
      await writeFile(path, c.content);
      expectInvalidInput(await failure(() => openJsonInput(path)), path, c.message, c.line);
    });
  }

  it('refuses the export cut at any point, never anything but INVALID_INPUT', async () => {
    const full = join(dir, 'whole.json');
    await writeJsonFile(full, exportDocument, { indent: 2 });
    const text = await readFile(full);
    const end = text.lastIndexOf('}'); // cut anywhere before the closing brace
    const path = join(dir, 'cut.json');
    let cuts = 0;
    for (let cut = 0; cut < end; cut += 7) {
      await writeFile(path, text.subarray(0, cut));
      const error = await failure(() => openJsonInput(path), `cut at ${cut}`);
      expect(error, `cut at ${cut}`).toBeInstanceOf(AcxError);
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toContain(path);
      cuts++;
    }
    expect(cuts).toBeGreaterThan(100);
  }, 60_000); // hundreds of reads: seconds alone, more on a busy machine

  it('refuses a vectors file', async () => {
    const path = join(dir, 'qdrant_vectors.json.gz');
    await writeVectorsFile(path, []);
    const error = await failure(() => openJsonInput(path));
    expect(error).toBeInstanceOf(AcxError);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(/vectors file/);
    expect(error.hint).toMatch(/--vectors/);
  });

  it('reports a missing file as NOT_FOUND', async () => {
    const path = join(dir, 'missing.json');
    const error = await failure(() => openJsonInput(path));
    expect(error).toBeInstanceOf(AcxError);
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain(path);
  });

  it('refuses a directory', async () => {
    const error = await failure(() => openJsonInput(dir));
    expect(error).toBeInstanceOf(AcxError);
    expect(error.code).toBe('INVALID_INPUT');
  });
});
