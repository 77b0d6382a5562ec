/**
 * A small seeded fuzz of the import readers (issue #10): valid small inputs of every format, mutated
 * the ways a hostile or damaged file is (bit flips, cut, bytes dropped or repeated, NUL, BOM, huge
 * numbers, lone surrogates, deep nesting), each read whole. A mutated input may still read (then every
 * record is an object, and a value no store can hold carries a record problem), but a failure is always
 * an `AcxError` an operator can act on — INVALID_INPUT
 * (or INTEGRITY) naming the input — never INTERNAL, a bare Error, or a crash. Readers only: no database.
 * A failing case prints its seed and mutation; `FUZZ_ROUNDS=500` runs more.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import { openCsvInput } from '../../src/formats/csv/csv-reader.ts';
import { openGraphmlInput } from '../../src/formats/graphml/graphml-reader.ts';
import { openJsonInput } from '../../src/formats/json/json-reader.ts';
import { openSqliteInput } from '../../src/formats/sqlite/sqlite-reader.ts';
import { openVectorsInput } from '../../src/formats/vectors/vectors-reader.ts';
import type { InputSource } from '../../src/model/input.ts';
import { valueProblem } from '../../src/model/value-checks.ts';
import { readAll } from '../support/input-readers.ts';
import { seededRandom as prng } from '../support/random.ts';

const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 50);
const SEED = 0x5eed_acdc;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-fuzz-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Mutation = (bytes: Buffer, random: () => number) => Buffer;
const at = (bytes: Buffer, random: () => number) => Math.floor(random() * Math.max(1, bytes.length));
const splice = (bytes: Buffer, i: number, drop: number, insert: string | Buffer) =>
  Buffer.concat([bytes.subarray(0, i), Buffer.from(insert), bytes.subarray(i + drop)]);

const MUTATIONS: Record<string, Mutation> = {
  'flip bits': (b, r) => {
    const out = Buffer.from(b);
    for (let k = 0; k < 1 + Math.floor(r() * 8); k++) out[at(out, r)]! ^= 1 << Math.floor(r() * 8);
    return out;
  },
  cut: (b, r) => b.subarray(0, at(b, r)),
  'drop bytes': (b, r) => splice(b, at(b, r), 1 + Math.floor(r() * 16), ''),
  'repeat bytes': (b, r) => {
    const i = at(b, r);
    return splice(b, i, 0, b.subarray(i, i + 1 + Math.floor(r() * 64)));
  },
  NUL: (b, r) => splice(b, at(b, r), 0, '\u0000'),
  BOM: (b, r) => (r() < 0.5 ? splice(b, 0, 0, '\ufeff') : splice(b, at(b, r), 0, '\ufeff')),
  'invalid UTF-8': (b, r) => splice(b, at(b, r), 0, Buffer.from([0xc3, 0x28, 0xff])),
  'huge number': (b, r) => {
    const digits = r() < 0.5 ? '9'.repeat(400) : `1e${'9'.repeat(20)}`;
    return replaceDigits(b, r, r() < 0.5 ? `-${digits}` : digits);
  },
  'lone surrogate': (b, r) => replaceQuoted(b, r, '\\ud800'),
  'deep nesting': (b, r) => splice(b, at(b, r), 0, '['.repeat(5000) + ']'.repeat(5000)),
  'XML deep nesting': (b, r) => splice(b, at(b, r), 0, '<x>'.repeat(5000) + '</x>'.repeat(5000)),
  'random bytes': (b, r) => {
    const noise = Buffer.alloc(1 + Math.floor(r() * 32));
    for (let k = 0; k < noise.length; k++) noise[k] = Math.floor(r() * 256);
    return splice(b, at(b, r), Math.floor(r() * 8), noise);
  },
};

/** Replaces a run of digits (a number) with `text`, or inserts it when there is none. */
function replaceDigits(b: Buffer, r: () => number, text: string): Buffer {
  const runs = [...b.toString('latin1').matchAll(/\d+/g)];
  const run = runs[Math.floor(r() * runs.length)];
  return run ? splice(b, run.index, run[0].length, text) : splice(b, at(b, r), 0, text);
}

/** Puts `text` inside a quoted string (just after a `"`), or anywhere when there is none. */
function replaceQuoted(b: Buffer, r: () => number, text: string): Buffer {
  const quotes = [...b.toString('latin1').matchAll(/"/g)];
  const quote = quotes[Math.floor(r() * quotes.length)];
  return quote ? splice(b, quote.index + 1, 0, text) : splice(b, at(b, r), 0, text);
}

const JSON_EXPORT = `{
  "export_time": "2025-03-30T01:30:00Z",
  "postgresql": {
    "vehicle_models": {
      "columns": ["id", "name", "year_start", "body_types", "meta"],
      "fields": [{"name": "id", "type": "text"}, {"name": "name", "type": "text"}, {"name": "year_start", "type": "integer"},
        {"name": "body_types", "type": "array"}, {"name": "meta", "type": "json"}],
      "data": [
        {"id": "m1", "name": "Golf", "year_start": 1974, "body_types": ["hatchback", "estate"], "meta": {"a": [1, 2.5, null]}},
        {"id": "m2", "name": "Škoda \\u00e9", "year_start": 2001, "body_types": [], "meta": {"big": 9223372036854775807}}
      ],
      "row_count": 2
    }
  },
  "neo4j": {
    "nodes": {"DTC": {"fields": [{"name": "code", "type": "text"}, {"name": "n", "type": "bigint"}], "data": [{"code": "P0100", "n": 12}]}},
    "relationships": {"CAUSES": {"data": [{"start_id": "1", "end_id": "2", "weight": 0.5}]}}
  }
}
`;

const VECTORS = `{"format":"acx-data-vectors","version":1,"collections":{"dtc":{"vector_size":3,"distance":"Cosine",
"config":{"params":{"vectors":{"size":3,"distance":"Cosine"}}},
"points":[
{"id":1,"vector":[0.1,0.2,0.3],"payload":{"code":"P0100","tags":["a","b"]}},
{"id":"0b7e3f52-8a6c-4c55-9f1e-2d1f3b5a9c01","vector":[1,2,3],"payload":null}
]}}}
`;

const GRAPHML = `<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:acx="urn:acx-data:graphml">
<key id="labels" for="node" attr.name="labels" attr.type="string"/>
<key id="code" for="node" attr.name="code" attr.type="string"/>
<key id="n" for="node" attr.name="n" attr.type="long"/>
<key id="meta" for="node" attr.name="meta" attr.type="string" acx:type="json"/>
<key id="w" for="edge" attr.name="weight" attr.type="double"/>
<key id="label" for="edge" attr.name="label" attr.type="string"/>
<graph edgedefault="directed">
<node id="n1"><data key="labels">:DTC</data><data key="code">P0100</data><data key="n">12</data><data key="meta">{"a":[1,"x"]}</data></node>
<node id="n2"><data key="labels">:DTC:Fault</data><data key="code">P&amp;0101</data><data key="n">-9223372036854775808</data></node>
<edge id="e1" source="n1" target="n2"><data key="label">CAUSES</data><data key="w">0.5</data></edge>
</graph>
</graphml>
`;

const CSV = `id,name,year_start,body_types
m1,Golf,1974,"[""hatchback"",""estate""]"
m2,"Škoda, ""Octavia""",2001,[]
`;

const CSV_MANIFEST = JSON.stringify({
  files: [
    {
      path: 'pg_vehicle_models.csv',
      fields: [
        { name: 'id', type: 'text' },
        { name: 'name', type: 'text' },
        { name: 'year_start', type: 'integer' },
        { name: 'body_types', type: 'array' },
      ],
    },
  ],
});

async function sqliteBytes(): Promise<Buffer> {
  const path = join(dir, 'seed.db');
  const db = new DatabaseSync(path);
  try {
    db.exec(
      'CREATE TABLE vehicle_models (id TEXT, name TEXT, year_start INTEGER, body_types TEXT, meta TEXT)',
    );
    db.exec(
      'CREATE TABLE _export_fields (table_name TEXT, position INTEGER, name TEXT, type TEXT, source TEXT)',
    );
    const fields = db.prepare('INSERT INTO _export_fields VALUES (?, ?, ?, ?, NULL)');
    ['id:text', 'name:text', 'year_start:integer', 'body_types:array', 'meta:json'].forEach((f, i) =>
      fields.run('vehicle_models', i, ...f.split(':')),
    );
    const insert = db.prepare('INSERT INTO vehicle_models VALUES (?, ?, ?, ?, ?)');
    for (let i = 0; i < 40; i++)
      insert.run(`m${i}`, `Model ${i} é`, 1970 + i, '["a","b"]', '{"x":[1,{"y":null}]}');
  } finally {
    db.close();
  }
  return readFile(path);
}

interface Format {
  name: string;
  seed: () => Promise<Buffer>;
  /** Writes the mutated bytes where the reader expects them; returns what to open. */
  place: (bytes: Buffer, n: number) => Promise<string>;
  open: (path: string) => Promise<InputSource>;
}

const file = (name: string) => async (bytes: Buffer, n: number) => {
  const path = join(dir, `${n}-${name}`);
  await writeFile(path, bytes);
  return path;
};

const FORMATS: Format[] = [
  {
    name: 'json',
    seed: async () => Buffer.from(JSON_EXPORT),
    place: file('export.json'),
    open: openJsonInput,
  },
  {
    name: 'json.gz',
    seed: async () => gzipSync(JSON_EXPORT),
    place: file('export.json.gz'),
    open: openJsonInput,
  },
  {
    name: 'vectors',
    seed: async () => Buffer.from(VECTORS),
    place: file('vectors.json'),
    open: openVectorsInput,
  },
  {
    name: 'vectors.gz',
    seed: async () => gzipSync(VECTORS),
    place: file('qdrant_vectors.json.gz'),
    open: openVectorsInput,
  },
  {
    name: 'graphml',
    seed: async () => Buffer.from(GRAPHML),
    place: file('graph.graphml'),
    open: openGraphmlInput,
  },
  {
    name: 'csv',
    seed: async () => Buffer.from(CSV),
    place: async (bytes, n) => {
      const folder = join(dir, `${n}-csv`);
      await mkdir(folder);
      await writeFile(join(folder, 'pg_vehicle_models.csv'), bytes);
      await writeFile(join(folder, 'manifest.json'), CSV_MANIFEST);
      return folder;
    },
    open: openCsvInput,
  },
  {
    name: 'csv manifest',
    seed: async () => Buffer.from(CSV_MANIFEST),
    place: async (bytes, n) => {
      const folder = join(dir, `${n}-csvm`);
      await mkdir(folder);
      await writeFile(join(folder, 'pg_vehicle_models.csv'), CSV);
      await writeFile(join(folder, 'manifest.json'), bytes);
      return folder;
    },
    open: openCsvInput,
  },
  { name: 'sqlite', seed: sqliteBytes, place: file('export.db'), open: openSqliteInput },
];

let cases = 0;

describe('fuzzed import inputs fail cleanly', () => {
  for (const format of FORMATS) {
    it(`${format.name}: ${ROUNDS} mutations, every failure an INVALID_INPUT naming the input`, async () => {
      const seed = await format.seed();
      // The unmutated input reads.
      const clean = await readAll(await format.open(await format.place(seed, ++cases)));
      expect(clean.length).toBeGreaterThan(0);
      const random = prng(SEED ^ format.name.length ^ (format.name.charCodeAt(0) << 8));
      const names = Object.keys(MUTATIONS);
      let failed = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const mutation = names[Math.floor(random() * names.length)]!;
        const bytes = MUTATIONS[mutation]!(seed, random);
        const path = await format.place(bytes, ++cases);
        const label = `${format.name} round ${round} (${mutation}), ${path}`;
        let read: Awaited<ReturnType<typeof readAll>> | undefined;
        let error: unknown;
        try {
          read = await readAll(await format.open(path));
        } catch (caught) {
          error = caught;
        }
        if (read) {
          for (const record of read.flatMap((d) => d.records)) {
            expect(typeof record.values, label).toBe('object');
            // What reads is storable, or flagged: never a lone surrogate or a crushing depth unsaid.
            for (const [field, value] of Object.entries(record.values)) {
              if (valueProblem(value) === undefined) continue;
              expect(record.problems?.map((p) => p.field) ?? [], `${label}: ${field}`).toContain(field);
            }
          }
          continue;
        }
        failed++;
        if (!(error instanceof AcxError))
          throw new Error(`${label}: not an AcxError: ${String(error)}`, { cause: error });
        expect(['INVALID_INPUT', 'INTEGRITY'], `${label}: ${error.code} ${error.message}`).toContain(
          error.code,
        );
        expect(error.message, label).toContain(path);
      }
      // Most mutations break the input: the fuzz is testing failures, not reading clean files.
      expect(failed).toBeGreaterThan(ROUNDS / 5);
    }, 60_000);
  }
});
