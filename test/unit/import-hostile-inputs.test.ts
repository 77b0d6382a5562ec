/**
 * Crafted inputs against the import readers (issue #10, the hostile tester's findings): absurd nesting,
 * lone UTF-16 surrogates, invalid UTF-8 deep in a file. Each case is tried in every format that can
 * carry it, since the defect is a class, not one reader's.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCsvInput } from '../../src/formats/csv/csv-reader.ts';
import { openGraphmlInput } from '../../src/formats/graphml/graphml-reader.ts';
import { MAX_VALUE_DEPTH } from '../../src/formats/input-values.ts';
import { openJsonInput } from '../../src/formats/json/json-reader.ts';
import { openSqliteInput } from '../../src/formats/sqlite/sqlite-reader.ts';
import { openVectorsInput } from '../../src/formats/vectors/vectors-reader.ts';
import type { InputRecord, InputSource } from '../../src/model/input.ts';
import { expectInvalidInput, failure, readAll } from '../support/input-readers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-hostile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let files = 0;
async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, `${++files}-${name}`);
  await writeFile(path, content);
  return path;
}

const deepArray = (depth: number, inner = '') => '['.repeat(depth) + inner + ']'.repeat(depth);
const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** Every record of every dataset of an input. */
async function recordsOf(open: () => Promise<InputSource>): Promise<InputRecord[]> {
  return (await readAll(await open())).flatMap((d) => d.records);
}

const GRAPHML_HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:acx="urn:acx-data:graphml">\n' +
  '<key id="p" for="node" attr.name="p" attr.type="string" acx:type="json"/>\n<graph edgedefault="directed">\n';

function jsonExport(record: string): string {
  return `{"postgresql":{"t":{"fields":[{"name":"id","type":"text"},{"name":"v","type":"json"}],\n"data":[\n${record}\n]}}}`;
}

function sqliteInput(type: string, value: string): string {
  const path = join(dir, `${++files}-input.db`);
  const db = new DatabaseSync(path);
  try {
    db.exec('CREATE TABLE t (id TEXT, v TEXT)');
    db.exec(
      'CREATE TABLE _export_fields (table_name TEXT, position INTEGER, name TEXT, type TEXT, source TEXT)',
    );
    db.prepare('INSERT INTO _export_fields VALUES (?, ?, ?, ?, NULL)').run('t', 0, 'id', 'text');
    db.prepare('INSERT INTO _export_fields VALUES (?, ?, ?, ?, NULL)').run('t', 1, 'v', type);
    db.prepare('INSERT INTO t VALUES (?, ?)').run('a', value);
  } finally {
    db.close();
  }
  return path;
}

describe('absurd nesting', () => {
  it('GraphML nested 100 000 elements deep is refused at the depth limit, naming file and line', async () => {
    const depth = 100_000;
    const path = await file(
      'deep.graphml',
      GRAPHML_HEAD +
        '<node id="n1">\n' +
        '<x>'.repeat(depth) +
        '</x>'.repeat(depth) +
        '</node></graph></graphml>',
    );
    const started = process.cpuUsage();
    const error = await failure(() => openGraphmlInput(path));
    const cpu = process.cpuUsage(started);
    expectInvalidInput(error, path, /elements nested deeper than \d+ levels/, 6);
    // Loose guard only: the quadratic reader took minutes here.
    expect((cpu.user + cpu.system) / 1e6).toBeLessThan(5);
  });

  it('GraphML nested within the limit is read', async () => {
    const path = await file(
      'nested.graphml',
      GRAPHML_HEAD +
        '<node id="n1"><y>' +
        '<x>'.repeat(20) +
        '</x>'.repeat(20) +
        '</y></node></graph></graphml>',
    );
    const records = await recordsOf(() => openGraphmlInput(path));
    expect(records.map((r) => r.values._element_id)).toEqual(['n1']);
  });

  it('JSON: a record nested 100 000 deep refuses the file, naming the line', async () => {
    for (const deep of [
      deepArray(100_000),
      deepObject(100_000),
      deepArray(100_000, '12345678901234567890'),
    ]) {
      const path = await file('deep.json', jsonExport(`{"id":"a","v":${deep}}`));
      const error = await failure(() => openJsonInput(path));
      expectInvalidInput(error, path, new RegExp(`nested deeper than ${MAX_VALUE_DEPTH} levels`), 3);
    }
  });

  it('JSON: nesting up to the limit is read', async () => {
    const ok = deepArray(MAX_VALUE_DEPTH - 1);
    const path = await file('ok.json', jsonExport(`{"id":"a","v":${ok}}`));
    const [record] = await recordsOf(() => openJsonInput(path));
    expect(record?.problems).toBeUndefined();
    expect(JSON.stringify(record?.values.v)).toBe(ok);
  });

  it('vectors: a payload nested 100 000 deep refuses the file', async () => {
    const text = `{"format":"acx-data-vectors","version":1,"collections":{"c":{"vector_size":2,"distance":"Cosine","points":[\n{"id":1,"vector":[1,2],"payload":{"x":${deepArray(100_000)}}}\n]}}}`;
    const path = await file('deep-vectors.json', text);
    const error = await failure(() => openVectorsInput(path));
    expectInvalidInput(error, path, /nested deeper than/, 2);
  });

  it('cells holding JSON (SQLite, GraphML) nested too deep are a record problem, not a crash', async () => {
    for (const inner of ['', '12345678901234567890']) {
      const sqlite = sqliteInput('array', deepArray(100_000, inner));
      const [record] = await recordsOf(() => openSqliteInput(sqlite));
      expect(record?.problems).toEqual([{ field: 'v', reason: expect.stringMatching(/nested deeper than/) }]);

      const graphml = await file(
        'deep-data.graphml',
        GRAPHML_HEAD +
          `<node id="n1"><data key="p">${deepArray(100_000, inner)}</data></node></graph></graphml>`,
      );
      const [node] = await recordsOf(() => openGraphmlInput(graphml));
      expect(node?.problems).toEqual([{ field: 'p', reason: expect.stringMatching(/nested deeper than/) }]);
    }
  });
});

describe('lone UTF-16 surrogates', () => {
  const lone = ['\\ud800', '\\udfff', 'x\\udbffy', '\\udc00\\ud800'];

  it('JSON: a string holding one is a record problem naming the field (values, keys, nested)', async () => {
    for (const escape of lone) {
      for (const [value, field] of [
        [`"${escape}"`, 'v'],
        [`{"k":["ok","${escape}"]}`, 'v'],
        [`{"${escape}":1}`, 'v'],
      ] as const) {
        const path = await file('lone.json', jsonExport(`{"id":"a","v":${value}}`));
        const [record] = await recordsOf(() => openJsonInput(path));
        expect(record?.problems, `${escape} in ${value}`).toEqual([
          { field, reason: expect.stringMatching(/lone UTF-16 surrogate/) },
        ]);
        expect(record?.line).toBe(3);
      }
    }
  });

  it('JSON: a surrogate pair (a real character beyond the BMP) is accepted', async () => {
    const path = await file('pair.json', jsonExport('{"id":"a","v":"\\ud83d\\ude97 🚗"}'));
    const [record] = await recordsOf(() => openJsonInput(path));
    expect(record?.problems).toBeUndefined();
    expect(record?.values.v).toBe('🚗 🚗');
  });

  it('vectors, SQLite and GraphML carry the same check', async () => {
    const text = `{"format":"acx-data-vectors","version":1,"collections":{"c":{"vector_size":2,"distance":"Cosine","points":[\n{"id":1,"vector":[1,2],"payload":{"x":"\\ud800"}}\n]}}}`;
    const [point] = await recordsOf(async () => openVectorsInput(await file('lone-vectors.json', text)));
    expect(point?.problems).toEqual([
      { field: 'payload', reason: expect.stringMatching(/lone UTF-16 surrogate/) },
    ]);

    const [row] = await recordsOf(() => openSqliteInput(sqliteInput('json', '["\\ud800"]')));
    expect(row?.problems).toEqual([{ field: 'v', reason: expect.stringMatching(/lone UTF-16 surrogate/) }]);

    const graphml = await file(
      'lone.graphml',
      GRAPHML_HEAD + '<node id="n1"><data key="p">{"a":"\\udc00"}</data></node></graph></graphml>',
    );
    const [node] = await recordsOf(() => openGraphmlInput(graphml));
    expect(node?.problems).toEqual([{ field: 'p', reason: expect.stringMatching(/lone UTF-16 surrogate/) }]);
  });
});

describe('invalid UTF-8', () => {
  it('names the byte offset and line of the invalid sequence, also past the first chunk', async () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `"line ${i} ${'é'.repeat(5)}",`).join('\n');
    const head = `{"postgresql":{"t":{"columns":["x"],"data":[{"x":[\n${lines}\n"`;
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28]), Buffer.from('"]}]}}}')]);
    const offset = Buffer.byteLength(head);
    const line = head.split('\n').length;
    expect(offset).toBeGreaterThan(256 * 1024);
    const plain = await file('bad-utf8.json', bytes);
    const error = await failure(() => openJsonInput(plain));
    expectInvalidInput(
      error,
      plain,
      new RegExp(`invalid byte sequence at byte ${offset} \\(line ${line}\\)`),
    );

    const gz = await file('bad-utf8.json.gz', gzipSync(bytes));
    const gzError = await failure(() => openJsonInput(gz));
    expectInvalidInput(gzError, gz, new RegExp(`at byte ${offset} \\(line ${line}\\) of the inflated data`));
  });

  it('a sequence cut between two chunks or by the end of the file is placed where it starts', async () => {
    // A three-byte sequence whose first two bytes end the first chunk (256 KiB) and whose third is missing.
    const head = `{"a":"${'x'.repeat(256 * 1024 - 8)}`;
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]);
    const path = await file('cut.json', bytes);
    const at = new RegExp(`at byte ${head.length} \\(line 1\\)`);
    expectInvalidInput(await failure(() => openJsonInput(path)), path, at);
    const end = await file(
      'cut-end.json',
      Buffer.concat([Buffer.from('{"a":\n"x'), Buffer.from([0xf0, 0x9f])]),
    );
    expectInvalidInput(await failure(() => openJsonInput(end)), end, /at byte 8 \(line 2\)/);
  });

  it('GraphML and vectors report the offset too', async () => {
    const bytes = Buffer.concat([
      Buffer.from(GRAPHML_HEAD),
      Buffer.from([0xff]),
      Buffer.from('</graph></graphml>'),
    ]);
    const path = await file('bad.graphml', bytes);
    const offset = Buffer.byteLength(GRAPHML_HEAD);
    expectInvalidInput(
      await failure(() => openGraphmlInput(path)),
      path,
      new RegExp(`at byte ${offset} \\(line 5\\)`),
    );
  });
});

describe('symbolic links among the inputs', () => {
  it('CSV: a linked file is read wherever it points; a link to nothing is refused, naming it', async () => {
    const outside = join(dir, `${++files}-elsewhere`);
    await mkdir(outside);
    await writeFile(join(outside, 'models.csv'), 'id,name\nm1,Golf\n');
    const folder = join(dir, `${++files}-csv`);
    await mkdir(folder);
    await symlink(join(outside, 'models.csv'), join(folder, 'pg_vehicle_models.csv'));
    await mkdir(join(folder, 'pg_odd.csv'));
    const source = await openCsvInput(folder);
    const read = await readAll(source);
    expect(read.map((d) => d.records.map((r) => r.values))).toEqual([[{ id: 'm1', name: 'Golf' }]]);
    expect(source.notices).toContainEqual(expect.stringMatching(/pg_odd\.csv: not imported: not a file/));

    await symlink(join(outside, 'missing.csv'), join(folder, 'pg_gone.csv'));
    const error = await failure(() => openCsvInput(folder));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toMatch(/pg_gone\.csv: a symbolic link to .*missing\.csv, which does not exist/);
  });
});
