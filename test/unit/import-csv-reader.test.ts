import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportRecord, ExportValue, FieldSpec, TabularDataset } from '../../src/model/dataset.ts';
import { writeCsvFile } from '../../src/formats/csv/csv-format.ts';
import { openCsvInput } from '../../src/formats/csv/csv-reader.ts';
import { FIELDS, FORMULA_RECORDS, NULLS, RECORDS, awkwardDataset } from '../support/awkward-records.ts';
import { failure, readAll } from '../support/input-readers.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acx-csv-reader-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let folders = 0;
/** A fresh folder under the test root. */
async function folder(): Promise<string> {
  const dir = join(root, `case-${++folders}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The records as the export had them, but for `-0`, which CSV writes as `0`. */
function expected(record: ExportRecord, fields: readonly FieldSpec[] = FIELDS): ExportRecord {
  const out: ExportRecord = {};
  for (const field of fields) {
    const value: ExportValue | undefined = record[field.name];
    out[field.name] = value === undefined ? null : Object.is(value, -0) ? 0 : value;
  }
  return out;
}

/** Awkward records plus the floats JSON cannot hold. */
const AWKWARD: ExportRecord[] = [
  ...RECORDS,
  { ...NULLS, id: '66666666-6666-4666-8666-666666666666', x: NaN, label: 'NaN' },
  { ...NULLS, id: '77777777-7777-4777-8777-777777777777', x: -Infinity, n: 9007199254740991 },
];

const NODE_FIELDS: FieldSpec[] = [
  { name: '_element_id', type: 'text' },
  { name: '_labels', type: 'array' },
  { name: 'code', type: 'text' },
  { name: 'count', type: 'bigint', source: 'INTEGER' },
  { name: 'since', type: 'json', source: 'DURATION' },
];
const NODES: ExportRecord[] = [
  {
    _element_id: '4:abc:0',
    _labels: ['DTC', 'Fault'],
    code: 'P0300',
    count: 9223372036854775807n,
    since: { months: 1, days: 2, seconds: 3, nanoseconds: 9223372036854775807n },
  },
  { _element_id: '4:abc:1', _labels: ['DTC'], code: '', count: null, since: null },
];
const REL_FIELDS: FieldSpec[] = [
  { name: '_element_id', type: 'text' },
  { name: 'start_id', type: 'text' },
  { name: 'start_label', type: 'text' },
  { name: 'start_key', type: 'text' },
  { name: 'end_id', type: 'text' },
  { name: 'end_label', type: 'text' },
  { name: 'end_key', type: 'text' },
  { name: 'confidence', type: 'float', source: 'FLOAT' },
];
const RELS: ExportRecord[] = [
  {
    _element_id: '5:abc:9',
    start_id: '4:abc:0',
    start_label: 'DTC',
    start_key: 'P0300',
    end_id: '4:abc:1',
    end_label: 'DTC',
    end_key: '',
    confidence: 0.75,
  },
];

function tabular(
  name: string,
  kind: TabularDataset['kind'],
  fields: FieldSpec[],
  records: ExportRecord[],
): TabularDataset {
  return {
    name,
    kind,
    fields,
    records: async function* () {
      yield* records;
    },
  };
}

/**
 * Writes an export folder as `export.ts` does: `csv/<dataset>.csv` by `writeCsvFile`, and a
 * `manifest.json` whose CSV entries list the fields (`manifestAt: 'csv'` puts it next to the files,
 * with paths relative to it, as a user who copied the folder might).
 */
async function writeExport(datasets: TabularDataset[], manifestAt: 'root' | 'csv' | 'none' = 'root') {
  const dir = await folder();
  const files = [];
  for (const dataset of datasets) {
    const path = `csv/${dataset.name}.csv`;
    const { records, escaping } = await writeCsvFile(join(dir, path), dataset);
    files.push({
      path: manifestAt === 'csv' ? `${dataset.name}.csv` : path,
      format: 'csv',
      records,
      datasets: { [dataset.name]: records },
      fields: dataset.fields.map(({ name, type, source }) => ({ name, type, source })),
      escaping,
    });
  }
  const manifest = { format: 'acx-data-export', version: '2.0', export_time: '2025-03-30T01:30:00Z', files };
  if (manifestAt !== 'none')
    await writeFile(
      join(dir, manifestAt === 'csv' ? 'csv' : '', 'manifest.json'),
      JSON.stringify(manifest, null, 2),
    );
  return { dir, csv: join(dir, 'csv') };
}

/** A folder holding one CSV file with these bytes. */
async function oneFile(bytes: string | Buffer, name = 'pg_t.csv'): Promise<{ dir: string; file: string }> {
  const dir = await folder();
  await writeFile(join(dir, name), bytes);
  return { dir, file: join(dir, name) };
}

describe('CSV reader', () => {
  it('reads back every awkward value of an export, typed by the manifest', async () => {
    const { csv } = await writeExport([
      awkwardDataset(AWKWARD, 'pg_awkward'),
      tabular('neo4j_DTC', 'nodes', NODE_FIELDS, NODES),
      tabular('neo4j_rel_CAUSES', 'relationships', REL_FIELDS, RELS),
    ]);
    const input = await openCsvInput(csv);
    expect(input).toMatchObject({ format: 'csv', file: csv, notices: [] });
    const [table, nodes, rels, ...rest] = await readAll(input);
    expect(rest).toEqual([]);

    expect(table!.dataset).toMatchObject({
      file: join(csv, 'pg_awkward.csv'),
      name: 'awkward',
      target: { store: 'postgres', table: 'awkward' },
    });
    expect(table!.dataset.fields).toEqual(FIELDS);
    expect(table!.records.map((r) => r.values)).toEqual(AWKWARD.map((r) => expected(r)));
    expect(table!.records.every((r) => r.problems === undefined)).toBe(true);
    const first = table!.records[0]!.values;
    expect(first.big).toBe(9036396042225763098n);
    expect((first.doc as { nested: { big: bigint } }).nested.big).toBe(9036396042225763098n);
    expect(table!.records[1]!.values.label).toBe('');
    expect(table!.records[2]!.values.label).toBeNull();
    expect(table!.records[8]!.values.x).toBeNaN();

    // `line` is the physical line where each record starts: the line begins with the record's id
    const lines = (await readFile(join(csv, 'pg_awkward.csv'), 'utf8')).split(/\r\n|\n|\r/);
    expect(table!.records[0]!.line).toBe(2);
    expect(table!.records[1]!.line).toBeGreaterThan(4); // record 1 holds line breaks
    for (const record of table!.records)
      expect(lines[record.line - 1]!.startsWith(record.values.id as string), String(record.line)).toBe(true);

    expect(nodes!.dataset.target).toEqual({ store: 'neo4j', kind: 'nodes', label: 'DTC' });
    expect(nodes!.dataset.fields).toEqual(NODE_FIELDS);
    expect(nodes!.records.map((r) => r.values)).toEqual(NODES.map((r) => expected(r, NODE_FIELDS)));

    expect(rels!.dataset).toMatchObject({
      name: 'neo4j_rel_CAUSES',
      target: { store: 'neo4j', kind: 'relationships', type: 'CAUSES' },
    });
    expect(rels!.dataset.fields).toEqual(REL_FIELDS);
    expect(rels!.records.map((r) => r.values)).toEqual(RELS);
  });

  it('finds the manifest next to the files too', async () => {
    const { csv } = await writeExport([awkwardDataset(AWKWARD, 'pg_awkward')], 'csv');
    const [table] = await readAll(await openCsvInput(csv));
    expect(table!.records.map((r) => r.values)).toEqual(AWKWARD.map((r) => expected(r)));
  });

  it('without a manifest gives the raw text, NULL as null and "" as the empty string', async () => {
    const { csv } = await writeExport(
      [awkwardDataset(AWKWARD, 'pg_awkward'), tabular('neo4j_DTC', 'nodes', NODE_FIELDS, NODES)],
      'none',
    );
    const [table, nodes] = await readAll(await openCsvInput(csv));
    expect(table!.dataset.fields).toEqual(FIELDS.map((f) => ({ name: f.name })));
    // an independent reader (csv-parse, sync) sees the same text
    const rows = parse(await readFile(join(csv, 'pg_awkward.csv')), {
      columns: true,
      cast: (value, context) => (value === '' && !context.quoting ? null : value),
    }) as ExportRecord[];
    expect(table!.records.map((r) => r.values)).toEqual(rows);
    expect(table!.records[0]!.values.big).toBe('9036396042225763098');
    expect(table!.records[1]!.values).toMatchObject({ label: '', ok: 'false', blob: '' });
    expect(table!.records[2]!.values).toMatchObject({ label: null, n: null, blob: null });
    // `_labels` is always an array
    expect(nodes!.dataset.fields.find((f) => f.name === '_labels')).toEqual({
      name: '_labels',
      type: 'array',
    });
    expect(nodes!.records[0]!.values).toMatchObject({
      _labels: ['DTC', 'Fault'],
      count: '9223372036854775807',
    });
  });

  describe('formula escaping', () => {
    it("reads formula-looking text, a real leading ' and negative numbers back exactly, header names too", async () => {
      const fields: FieldSpec[] = [...FIELDS, { name: '=odd name', type: 'text' }];
      const records = FORMULA_RECORDS.map((r, i) => ({ ...r, '=odd name': i % 2 ? '@x' : "'y" }));
      const { csv } = await writeExport([
        awkwardDataset(records, 'pg_formulas', { fields }),
        tabular('neo4j_DTC', 'nodes', NODE_FIELDS, [
          { ...NODES[0]!, code: '=P0100', _labels: ['DTC', '-Label'] },
        ]),
      ]);
      const text = await readFile(join(csv, 'pg_formulas.csv'), 'utf8');
      expect(text).toContain(`'=cmd|' /C calc'!A0`);
      const [table, nodes] = await readAll(await openCsvInput(csv));
      expect(table!.dataset.fields).toEqual(fields);
      expect(table!.records.every((r) => r.problems === undefined)).toBe(true);
      expect(table!.records.map((r) => r.values)).toEqual(records.map((r) => expected(r, fields)));
      expect(nodes!.records[0]!.values).toMatchObject({ code: '=P0100', _labels: ['DTC', '-Label'] });
    });

    it("reads a CSV without the export's declaration as it is: a hand-made or older file keeps its '", async () => {
      const { dir } = await oneFile("code,note\r\n'=1,'quoted\r\n-5,@x\r\n");
      const [table] = await readAll(await openCsvInput(dir));
      expect(table!.records.map((r) => r.values)).toEqual([
        { code: "'=1", note: "'quoted" },
        { code: '-5', note: '@x' },
      ]);
      // a manifest that lists the file without `escaping` (an export made before it) does not unescape
      await writeFile(
        join(dir, 'manifest.json'),
        JSON.stringify({
          format: 'acx-data-export',
          files: [{ path: 'pg_t.csv', fields: [{ name: 'code', type: 'text' }] }],
        }),
      );
      const [old] = await readAll(await openCsvInput(dir));
      expect(old!.records[0]!.values).toEqual({ code: "'=1", note: "'quoted" });
    });

    it('refuses an escaping it does not know instead of misreading the cells', async () => {
      const { dir } = await oneFile('code\r\nP0100\r\n');
      await writeFile(
        join(dir, 'manifest.json'),
        JSON.stringify({
          format: 'acx-data-export',
          files: [{ path: 'pg_t.csv', fields: [{ name: 'code', type: 'text' }], escaping: 'backslash' }],
        }),
      );
      const error = await failure(() => openCsvInput(dir));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(/malformed export manifest at files\.0\.escaping/);
    });
  });

  it('routes files by name: tables, then nodes, then relationships; notices for the rest', async () => {
    const dir = await folder();
    const files: Record<string, string> = {
      'pg_b.csv': 'id\r\n1\r\n',
      'pg_a.csv': 'id\r\n2\r\n',
      'neo4j_rel_R.csv': 'start_id,end_id\r\n4:1,4:2\r\n',
      'neo4j_Z.csv': '_element_id,name\r\n4:2,z\r\n',
      'neo4j_A.csv': '_element_id,_labels\r\n4:1,"[""A"",""B""]"\r\n',
      'neo4j_relationships.csv':
        'start_label,start_id,rel_type,rel_props,end_label,end_id\r\nA,4:1,LINKS,"{""w"":2,""note"":""ő""}",Z,4:2\r\nA,4:1,OTHER,,Z,4:2\r\n',
      'dtc_codes_full.csv': 'code\r\nP0300\r\n',
      'readme.csv': 'x\r\n1\r\n',
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', 'pg_nested.csv'), 'id\r\n1\r\n');
    await writeFile(join(dir, 'notes.txt'), 'not csv');
    const input = await openCsvInput(dir);
    expect(input.notices).toHaveLength(2);
    expect(input.notices[0]).toContain('dtc_codes_full.csv: not imported');
    expect(input.notices[1]).toContain('readme.csv: not imported: unknown file name');
    const all = await readAll(input);
    expect(all.map((d) => d.dataset.name)).toEqual([
      'a',
      'b',
      'neo4j_A',
      'neo4j_Z',
      'neo4j_rel_R',
      'neo4j_relationships',
    ]);
    expect(all[2]!.records[0]!.values).toEqual({ _element_id: '4:1', _labels: ['A', 'B'] });
    expect(all[3]!.dataset.fields[0]).toEqual({ name: '_labels', type: 'array' });
    expect(all[3]!.records[0]!.values).toEqual({ _labels: ['Z'], _element_id: '4:2', name: 'z' });
    const legacy = all[5]!;
    expect(legacy.dataset.target).toEqual({ store: 'neo4j', kind: 'relationships', type: null });
    expect(legacy.dataset.fields.map((f) => f.name)).toEqual([
      'start_label',
      'start_id',
      '_type',
      'end_label',
      'end_id',
    ]);
    expect(legacy.records.map((r) => r.values)).toEqual([
      { start_label: 'A', start_id: '4:1', _type: 'LINKS', w: 2, note: 'ő', end_label: 'Z', end_id: '4:2' },
      { start_label: 'A', start_id: '4:1', _type: 'OTHER', end_label: 'Z', end_id: '4:2' },
    ]);
  });

  it('maps a `type` column to `_type` in the original relationship file only', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'neo4j_relationships.csv'), 'start_id,type,end_id\n1,A,2\n');
    await writeFile(join(dir, 'neo4j_rel_B.csv'), 'start_id,type,end_id\n1,x,2\n');
    const [typed, legacy] = await readAll(await openCsvInput(dir));
    expect(typed!.records[0]!.values).toEqual({ start_id: '1', type: 'x', end_id: '2' });
    expect(legacy!.records[0]!.values).toEqual({ start_id: '1', _type: 'A', end_id: '2' });
  });

  it('keeps a cell that does not parse as its declared type as text, with a problem', async () => {
    const { dir, csv } = await writeExport([awkwardDataset(RECORDS.slice(0, 1), 'pg_awkward')]);
    const path = join(csv, 'pg_awkward.csv');
    const text = await readFile(path, 'utf8');
    const [header, ...rest] = text.split('\r\n');
    const bad = [
      '99999999-9999-4999-8999-999999999999',
      'x',
      '1.5',
      '12abc',
      'zero',
      '1',
      'maybe',
      '2025-01-01',
      '2025-01-01',
      '"{""a"":"',
      '"{""not"":""array""}"',
      'not base64!',
    ].join(',');
    await writeFile(path, [header, bad, ...rest].join('\r\n'));
    const [table] = await readAll(await openCsvInput(csv));
    const record = table!.records[0]!;
    expect(record.line).toBe(2);
    expect(record.values).toMatchObject({
      label: 'x',
      n: '1.5',
      big: '12abc',
      x: 'zero',
      ok: 'maybe',
      doc: '{"a":',
      tags: '{"not":"array"}',
      blob: 'not base64!',
    });
    expect(record.problems?.map((p) => p.field)).toEqual(['n', 'big', 'x', 'ok', 'doc', 'tags', 'blob']);
    expect(record.problems?.[0]?.reason).toMatch(/not an integer/);
    // the next record is fine
    expect(table!.records[1]!.problems).toBeUndefined();
    expect(table!.records[1]!.values).toEqual(expected(RECORDS[0]!));
    expect(dir).toBeTruthy();
  });

  it('accepts LF or CRLF, a BOM, no final line break, a header alone and a trailing blank line', async () => {
    const ab = ['a', 'b'];
    const cases: Array<[string, string[], Array<Record<string, unknown>>]> = [
      [
        'a,b\n1,""\n,x\n',
        ab,
        [
          { a: '1', b: '' },
          { a: null, b: 'x' },
        ],
      ],
      ['\ufeffa,b\r\n1,2', ab, [{ a: '1', b: '2' }]],
      ['a,b\r\n', ab, []],
      ['a,b', ab, []],
      ['a,b\r\n1,2\r\n\r\n', ab, [{ a: '1', b: '2' }]],
      ['v\r\n\r\n""\r\nx\r\n\r\n', ['v'], [{ v: null }, { v: '' }, { v: 'x' }, { v: null }]],
      [
        'a,b\r1,"x\ny"\r3,4\r',
        ab,
        [
          { a: '1', b: 'x\ny' },
          { a: '3', b: '4' },
        ],
      ],
    ];
    for (const [text, header, records] of cases) {
      const { dir } = await oneFile(text);
      const [table] = await readAll(await openCsvInput(dir));
      expect(
        table!.dataset.fields.map((f) => f.name),
        JSON.stringify(text),
      ).toEqual(header);
      expect(
        table!.records.map((r) => r.values),
        JSON.stringify(text),
      ).toEqual(records);
    }
    const { dir } = await oneFile('a,b\r1,"x\ny"\r3,4\r');
    const [table] = await readAll(await openCsvInput(dir));
    expect(table!.records.map((r) => r.line)).toEqual([2, 4]);
  });

  it('reads a large file with a record across every chunk boundary', async () => {
    const row = (i: number) => `${i},"ő ""${'x'.repeat(i % 97)}""\r\nnext",é\r\n`;
    let text = 'id,text,accent\r\n';
    for (let i = 0; i < 20_000; i++) text += row(i);
    const { dir } = await oneFile(text);
    const [table] = await readAll(await openCsvInput(dir));
    expect(table!.records).toHaveLength(20_000);
    table!.records.forEach((record, i) => {
      expect(record.line).toBe(2 + 2 * i);
      expect(record.values).toEqual({
        id: String(i),
        text: `ő "${'x'.repeat(i % 97)}"\r\nnext`,
        accent: 'é',
      });
    });
  });

  describe('broken inputs are INVALID_INPUT errors naming the file and line', () => {
    const cases: Array<[string, string | Buffer, RegExp]> = [
      ['an unterminated quote', 'a,b\r\n1,2\r\n3,"open\r\n4,5\r\n', /line 3: .*never closed/],
      ['a row with too many fields', 'a,b\r\n1,2\r\n3,4,5\r\n', /line 3: 3 fields where the header has 2/],
      ['a row with too few fields', 'a,b\r\n1,"x\r\ny"\r\n3\r\n', /line 4: 1 field where the header has 2/],
      ['a blank line inside the data', 'a,b\r\n1,2\r\n\r\n3,4\r\n', /line 3: a blank line/],
      ['an empty file', '', /empty file: no header row/],
      ['a file holding only a BOM', '\ufeff', /empty file: no header row/],
      ['a duplicate column name', 'a,b,a\r\n1,2,3\r\n', /line 1: the header names the column "a" twice/],
      ['an empty column name', 'a,,b\r\n1,2,3\r\n', /line 1: column 2 of the header has no name/],
      ['a closing quote followed by text', 'a,b\r\n1,"x"y\r\n', /line 2: .*after its closing quote/],
      ['a quote inside an unquoted field', 'a,b\r\n1,x"y\r\n', /line 2: a quote inside an unquoted field/],
      ['invalid UTF-8 (Latin-1)', Buffer.from('a,b\r\n1,2\r\n3,caf\xe9\r\n', 'latin1'), /line 3: not UTF-8/],
      [
        'a UTF-8 sequence cut at the end',
        Buffer.concat([Buffer.from('a,b\n1,'), Buffer.from([0xc5])]),
        /line 2: not UTF-8/,
      ],
      [
        'binary garbage named .csv',
        Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48]),
        /not UTF-8|NUL/,
      ],
      ['a NUL byte', 'a,b\n1,\u00002\n', /line 2: a NUL character: a binary file/],
      ['a UTF-16 file', Buffer.from('\ufeffa,b\r\n1,2\r\n', 'utf16le'), /not UTF-8|NUL/],
    ];
    for (const [what, bytes, message] of cases) {
      it(what, async () => {
        const { dir, file } = await oneFile(bytes);
        const error = await failure(() => openCsvInput(dir));
        expect(error.code).toBe('INVALID_INPUT');
        expect(error.message).toContain(file);
        expect(error.message).toMatch(message);
        expect(error.subject).toBe(file);
        expect(error.hint ?? '').toBeTypeOf('string');
      });
    }

    it('a manifest that is not JSON', async () => {
      const { dir, csv } = await writeExport([awkwardDataset(RECORDS, 'pg_awkward')]);
      await writeFile(join(dir, 'manifest.json'), '{"format": "acx-data-export", "files": [');
      const error = await failure(() => openCsvInput(csv));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toContain(join(dir, 'manifest.json'));
      expect(error.message).toMatch(/not valid JSON/);
    });

    it('an export manifest with an unknown field type', async () => {
      const { dir, csv } = await writeExport([awkwardDataset(RECORDS, 'pg_awkward')]);
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
      manifest.files[0].fields[0].type = 'varchar';
      await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
      const error = await failure(() => openCsvInput(csv));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(/manifest.json: malformed export manifest at files.0.fields.0.type/);
    });

    it('a manifest of something else is ignored, with a notice', async () => {
      const { dir, csv } = await writeExport([awkwardDataset(RECORDS, 'pg_awkward')], 'none');
      await writeFile(join(dir, 'manifest.json'), JSON.stringify({ name: 'a web app', icons: [] }));
      const input = await openCsvInput(csv);
      expect(input.notices).toEqual([
        `${join(dir, 'manifest.json')}: ignored, not an acx-data export manifest`,
      ]);
      const [table] = await readAll(input);
      expect(table!.records[0]!.values.n).toBe('42');
    });

    it('a folder that does not exist, is a file, or holds no CSV file', async () => {
      const missing = join(root, 'no-such-folder');
      expect(await failure(() => openCsvInput(missing))).toMatchObject({
        code: 'NOT_FOUND',
        subject: missing,
      });
      const { file } = await oneFile('a\n1\n');
      expect(await failure(() => openCsvInput(file))).toMatchObject({ code: 'USAGE', subject: file });
      const { dir } = await writeExport([awkwardDataset(RECORDS, 'pg_awkward')]);
      const error = await failure(() => openCsvInput(dir));
      expect(error).toMatchObject({ code: 'NOT_FOUND', subject: dir });
      expect(error.hint).toContain(join(dir, 'csv'));
    });

    it('stops cleanly when a consumer leaves a dataset early', async () => {
      const { csv } = await writeExport([
        awkwardDataset(AWKWARD, 'pg_awkward'),
        tabular('neo4j_DTC', 'nodes', NODE_FIELDS, NODES),
      ]);
      const input = await openCsvInput(csv);
      const names: string[] = [];
      for await (const dataset of input.datasets()) {
        names.push(dataset.name);
        for await (const record of dataset.records()) {
          expect(record.line).toBe(2);
          break;
        }
      }
      expect(names).toEqual(['awkward', 'neo4j_DTC']);
    });
  });
});
