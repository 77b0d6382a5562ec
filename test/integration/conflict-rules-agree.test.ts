/**
 * The `--on-conflict` rules exist twice: `resolveConflict` in model/conflict.ts (what the Neo4j and
 * Qdrant imports apply) and the set-based SQL of stores/postgres/postgres-import-sql.ts. This test holds
 * the two together: for every strategy, a table of crafted cases — one per rule of conflict.ts's doc
 * comment (incoming newer/older/equal `updated_at`, either or both without one; stored NULL against a
 * value and the reverse; `''` against NULL; `[]`, `{}`, NULL and lists; a column the input leaves out;
 * a record not stored yet) — is stored in PostgreSQL, the incoming records are imported through the
 * real `importData` from an export-format JSON file, and every resulting row must equal, field by
 * field, the record `resolveConflict` computes from the same stored row, incoming record, carried
 * fields and `isoToEpochNanos` timestamps; the inserted/updated/skipped counts must equal the number
 * of its insert/update/skip decisions. A rule changed in either implementation makes it fail.
 *
 * Two tables: `dtc_codes` (the application's table: varchar, text[], NOT NULL columns) and a table the
 * test creates with a nullable `updated_at` (no application table has one) and a jsonb column, for the
 * timestamp-less and `{}` cases. Each is imported twice: once with an input carrying every column but
 * one, once with an input that lacks `updated_at` (and more) altogether.
 *
 * "timestamps" at the end: a difference under a microsecond (a tie at PostgreSQL's precision), and a
 * timestamp without an offset under a non-UTC session time zone (UTC, as conflict.ts says).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONFLICT_STRATEGIES,
  TIMESTAMP_FIELD,
  isoToEpochNanos,
  resolveConflict,
  type ConflictStrategy,
  type Decision,
} from '../../src/model/conflict.ts';
import type { FieldType } from '../../src/model/dataset.ts';
import { labelMap } from '../../src/model/labels.ts';
import { importData, type ImportSummary } from '../../src/operations/import.ts';
import { silentReporter } from '../../src/progress.ts';
import { openAllStores } from '../../src/operations/open-stores.ts';
import { connectionsOf, emptySchemas, openTestStores, type TestStores } from '../support/stores.ts';

type Row = Record<string, unknown>;

let stores: TestStores;
let work: string;

const PROBE = 'acx_conflict_probe';
const CREATE_PROBE = `CREATE TABLE ${PROBE} (
  key        text PRIMARY KEY,
  label      text,
  note       text,
  tags       text[],
  doc        jsonb,
  untouched  text,
  updated_at timestamptz
)`;

const T1 = '2024-01-01T00:00:00Z';
const T2 = '2024-01-02T00:00:00Z';
const T3 = '2024-01-03T00:00:00Z';
/** The instant T2, written with another offset. */
const T2_OFFSET = '2024-01-02T01:00:00+01:00';

// -------------------------------------------------------------------------------- the cases

/**
 * One conflict, in logical columns: `label`, `note` (nullable text), `tags` (array), `doc` (JSON),
 * `untouched` (a column the input never carries), `updated_at`. `stored: null`: not stored yet. A
 * column absent from `incoming` is NULL in the input.
 */
interface Case {
  name: string;
  stored: Row | null;
  incoming: Row;
}

const base = { label: 'L', note: 'N', tags: ['a'], doc: { a: 1 }, untouched: 'kept' };
const stored = (over: Row = {}): Row => ({ ...base, updated_at: T2, ...over });
const incoming = (over: Row = {}): Row => ({
  label: 'L2',
  note: 'N2',
  tags: ['b'],
  doc: { b: 2 },
  updated_at: T3,
  ...over,
});

const CASES: Case[] = [
  // updated_at (newest): later wins whole, a tie keeps the stored record, no timestamp is older.
  { name: 'incoming newer', stored: stored(), incoming: incoming({ updated_at: T3 }) },
  { name: 'incoming older', stored: stored(), incoming: incoming({ updated_at: T1 }) },
  { name: 'incoming equal', stored: stored(), incoming: incoming({ updated_at: T2 }) },
  { name: 'equal, other offset', stored: stored(), incoming: incoming({ updated_at: T2_OFFSET }) },
  { name: 'incoming without timestamp', stored: stored(), incoming: incoming({ updated_at: null }) },
  { name: 'stored without timestamp', stored: stored({ updated_at: null }), incoming: incoming() },
  {
    name: 'neither has a timestamp',
    stored: stored({ updated_at: null }),
    incoming: incoming({ updated_at: null }),
  },
  // NULL against values (merge fills NULLs only; overwrite carries NULLs over).
  {
    name: 'stored NULLs, incoming values',
    stored: stored({ label: null, note: null, tags: null, doc: null }),
    incoming: incoming(),
  },
  {
    name: 'stored values, incoming NULLs',
    stored: stored(),
    incoming: incoming({ label: null, note: null, tags: null, doc: null }),
  },
  {
    name: 'stored values, incoming NULLs, older',
    stored: stored(),
    incoming: incoming({ label: null, note: null, tags: null, doc: null, updated_at: T1 }),
  },
  {
    name: 'some stored NULL, some not',
    stored: stored({ label: null, tags: null }),
    incoming: incoming({ note: null, doc: null }),
  },
  // '' is a value, not NULL.
  {
    name: "stored '', incoming NULL",
    stored: stored({ label: '', note: '' }),
    incoming: incoming({ label: null, note: null }),
  },
  {
    name: "stored NULL, incoming ''",
    stored: stored({ label: null, note: null }),
    incoming: incoming({ label: '', note: '' }),
  },
  { name: "stored '', incoming value", stored: stored({ label: '', note: '' }), incoming: incoming() },
  // Arrays and JSON are single values: [] and {} are not NULL, and nothing is combined.
  { name: 'stored [] and {}, incoming values', stored: stored({ tags: [], doc: {} }), incoming: incoming() },
  {
    name: 'stored [] and {}, incoming NULL',
    stored: stored({ tags: [], doc: {} }),
    incoming: incoming({ tags: null, doc: null }),
  },
  {
    name: 'stored NULL, incoming [] and {}',
    stored: stored({ tags: null, doc: null }),
    incoming: incoming({ tags: [], doc: {} }),
  },
  {
    name: 'stored list, incoming []',
    stored: stored({ tags: ['a', 'b'] }),
    incoming: incoming({ tags: [], doc: {} }),
  },
  {
    name: 'lists are not combined',
    stored: stored({ tags: ['a', 'b'], doc: { a: 1 } }),
    incoming: incoming({ tags: ['b', 'c'], doc: { b: 2 } }),
  },
  // A column the input leaves out keeps its stored value, NULL included (merge does not fill it).
  { name: 'untouched column NULL', stored: stored({ untouched: null, note: null }), incoming: incoming() },
  // Nothing to change.
  { name: 'incoming equals stored', stored: stored(), incoming: incoming({ ...base, updated_at: T2 }) },
  // Not stored yet: inserted whatever the strategy.
  { name: 'new record', stored: null, incoming: incoming() },
  { name: 'new record with NULLs', stored: null, incoming: incoming({ label: null, tags: [], doc: null }) },
  { name: 'new record without timestamp', stored: null, incoming: incoming({ updated_at: null }) },
];

// -------------------------------------------------------------------------------- the tables

/** Logical column → the table's column (undefined: the table has none). */
type Columns = Record<'label' | 'note' | 'tags' | 'doc' | 'untouched', string | undefined>;

interface Target {
  table: string;
  key: string;
  keyOf: (index: number) => string;
  columns: Columns;
  /** Columns every stored / incoming record needs besides the logical ones (NOT NULL, no default). */
  storedExtra: Row;
  incomingExtra: Row;
  extraFields: { name: string; type: FieldType }[];
  /** A case the table can hold (dtc_codes.updated_at is NOT NULL). */
  holds: (c: Case) => boolean;
}

const TARGETS: Target[] = [
  {
    table: 'dtc_codes',
    key: 'code',
    keyOf: (i) => `P0${i.toString(16).toUpperCase().padStart(3, '0')}`,
    columns: {
      label: 'description_hu',
      note: 'system',
      tags: 'symptoms',
      doc: undefined,
      untouched: 'manufacturer_code',
    },
    storedExtra: { description_en: 'old', category: 'powertrain', severity: 'low', is_generic: false },
    incomingExtra: { description_en: 'new', category: 'powertrain', severity: 'high', is_generic: true },
    extraFields: [
      { name: 'description_en', type: 'text' },
      { name: 'category', type: 'text' },
      { name: 'severity', type: 'text' },
      { name: 'is_generic', type: 'boolean' },
    ],
    holds: (c) => c.incoming.updated_at !== null && (c.stored === null || c.stored.updated_at !== null),
  },
  {
    table: PROBE,
    key: 'key',
    keyOf: (i) => `k${i}`,
    columns: { label: 'label', note: 'note', tags: 'tags', doc: 'doc', untouched: 'untouched' },
    storedExtra: {},
    incomingExtra: {},
    extraFields: [],
    holds: () => true,
  },
];

const FIELD_TYPE: Record<keyof Columns | 'updated_at', FieldType> = {
  label: 'text',
  note: 'text',
  tags: 'array',
  doc: 'json',
  untouched: 'text',
  updated_at: 'timestamp',
};

/** What one import carries: `updated_at` and all logical columns but `untouched`, or fewer. */
interface Scenario {
  name: string;
  carries: (keyof Columns | 'updated_at')[];
}
const SCENARIOS: Scenario[] = [
  { name: 'input with updated_at', carries: ['label', 'note', 'tags', 'doc', 'updated_at'] },
  { name: 'input without updated_at, note and doc', carries: ['label', 'tags'] },
];

/** A logical record as the table's row. */
function physical(target: Target, key: string, logical: Row, extra: Row, only?: readonly string[]): Row {
  const row: Row = { [target.key]: key, ...extra };
  for (const [name, value] of Object.entries(logical)) {
    if (only && !only.includes(name)) continue;
    const column = name === TIMESTAMP_FIELD ? TIMESTAMP_FIELD : target.columns[name as keyof Columns];
    if (column !== undefined) row[column] = value;
  }
  return row;
}

/** The table's columns the test compares (the logical ones it has, the key, the extras). */
function compared(target: Target): string[] {
  return [
    target.key,
    ...Object.keys(target.storedExtra),
    ...Object.values(target.columns).filter((c): c is string => c !== undefined),
    TIMESTAMP_FIELD,
  ];
}

/** The columns of a row, absent ones as NULL. */
function pick(row: Row, columns: readonly string[]): Row {
  return Object.fromEntries(columns.map((c) => [c, row[c] ?? null]));
}

/** A row as compared: its columns, absent as NULL, the timestamp as epoch nanoseconds. */
function normalise(row: Row, columns: readonly string[]): Row {
  const out = pick(row, columns);
  const ts = out[TIMESTAMP_FIELD];
  if (typeof ts === 'string') out[TIMESTAMP_FIELD] = String(isoToEpochNanos(ts));
  return out;
}

const COUNTED = { insert: 'inserted', update: 'updated', skip: 'skipped' } as const;

/**
 * `updated_at` as the target keeps it: conflict.ts compares times at the precision of the store they
 * are written to, and PostgreSQL keeps microseconds (it rounds to the nearest one).
 */
const timestampOf = (record: Row): bigint | null => {
  const v = record[TIMESTAMP_FIELD];
  const nanos = typeof v === 'string' ? isoToEpochNanos(v) : null;
  return nanos === null ? null : ((nanos + 500n) / 1000n) * 1000n;
};

// -------------------------------------------------------------------------------- the stores

async function storeRows(
  on: TestStores,
  table: string,
  columns: readonly string[],
  rows: Row[],
): Promise<void> {
  await on.postgres.query(`DELETE FROM ${table}`);
  if (rows.length === 0) return;
  const list = columns.map((c) => `"${c}"`).join(', ');
  await on.postgres.query(
    `INSERT INTO ${table} (${list}) SELECT ${list} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)`,
    [JSON.stringify(rows)],
  );
}

/** The table's rows by key, each as `to_jsonb` renders it (timestamps as ISO text). */
async function readRows(on: TestStores, target: Target): Promise<Map<string, Row>> {
  const { rows } = await on.postgres.query<{ r: Row }>(`SELECT to_jsonb(t) AS r FROM ${target.table} t`);
  return new Map(rows.map(({ r }) => [String(r[target.key]), r]));
}

async function runImport(on: TestStores, file: string, strategy: ConflictStrategy): Promise<ImportSummary> {
  return importData({
    inputs: [{ format: 'json', path: file }],
    stores: {
      postgres: async () => on.set.postgres,
      neo4j: async () => on.set.neo4j,
      qdrant: async () => on.set.qdrant,
    },
    strategy,
    mode: 'import',
    skipInvalid: false,
    batchSize: 100,
    labels: labelMap('production'),
    reporter: silentReporter,
  });
}

interface Prepared {
  file: string;
  cases: { name: string; key: string; stored: Row | null; incoming: Row }[];
  fields: string[];
}

/** The cases the table holds as rows, and the input file of their incoming records. */
async function prepare(
  target: Target,
  scenario: Scenario,
  suffix: string,
  crafted: readonly Case[] = CASES,
): Promise<Prepared> {
  const cases = crafted
    .filter((c) => target.holds(c))
    .map((c, i) => {
      const key = target.keyOf(i + 1);
      return {
        name: c.name,
        key,
        stored: c.stored && physical(target, key, c.stored, target.storedExtra),
        incoming: physical(target, key, c.incoming, target.incomingExtra, scenario.carries),
      };
    });
  const fields = [
    { name: target.key, type: 'text' as FieldType },
    ...target.extraFields,
    ...scenario.carries.flatMap((name) => {
      const column = name === TIMESTAMP_FIELD ? TIMESTAMP_FIELD : target.columns[name];
      return column === undefined ? [] : [{ name: column, type: FIELD_TYPE[name] }];
    }),
  ];
  const data = cases.map((c) => Object.fromEntries(fields.map((f) => [f.name, c.incoming[f.name] ?? null])));
  const file = join(work, `${target.table}-${suffix}.json`);
  await writeFile(
    file,
    JSON.stringify({
      export_time: T3,
      source: 'AutoCognitix',
      version: '2.0',
      postgresql: {
        [target.table]: { columns: fields.map((f) => f.name), fields, data, row_count: data.length },
      },
    }),
  );
  return { file, cases, fields: fields.map((f) => f.name) };
}

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-conflict-rules-'));
  await emptySchemas(stores);
  await stores.postgres.query(CREATE_PROBE);
});

afterAll(async () => {
  await stores?.postgres.query(`DROP TABLE IF EXISTS ${PROBE}`).catch(() => undefined);
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

// -------------------------------------------------------------------------------- the test

/**
 * Imports the prepared input with `strategy` and compares every row with `resolveConflict`; `ignore`:
 * columns left out of the comparison, `on`: the stores (default: the test's).
 */
async function agree(
  target: Target,
  prepared: Prepared,
  strategy: ConflictStrategy,
  { on = stores, ignore = [] }: { on?: TestStores; ignore?: readonly string[] } = {},
): Promise<void> {
  const columns = compared(target);
  const judgedColumns = columns.filter((c) => !ignore.includes(c));
  await storeRows(
    on,
    target.table,
    columns,
    prepared.cases.flatMap((c) => (c.stored ? [c.stored] : [])),
  );
  const before = await readRows(on, target);
  const summary = await runImport(on, prepared.file, strategy);
  expect(summary.rejections).toEqual([]);
  expect(summary.outcome).toBe('written');
  const after = await readRows(on, target);

  const counts = { inserted: 0, updated: 0, skipped: 0, rejected: 0 };
  const expected: Record<string, Row> = {};
  const actual: Record<string, Row> = {};
  const decisions: Record<string, Decision['action']> = {};
  for (const c of prepared.cases) {
    // The stored record as PostgreSQL holds it, compared columns only (no id, no created_at).
    const row = before.get(c.key);
    const existing = row ? pick(row, columns) : null;
    const decision = resolveConflict(strategy, existing, c.incoming, prepared.fields, timestampOf);
    decisions[c.name] = decision.action;
    counts[COUNTED[decision.action]]++;
    // A new row's columns the input does not carry take the table's default: not a conflict rule.
    const judged = (decision.action === 'insert' ? prepared.fields : columns).filter((c) =>
      judgedColumns.includes(c),
    );
    expected[c.name] = normalise(decision.action === 'skip' ? (existing ?? {}) : decision.values, judged);
    actual[c.name] = normalise(after.get(c.key) ?? {}, judged);
  }
  expect(actual, `${target.table}, ${strategy}: rows (JS decisions ${JSON.stringify(decisions)})`).toEqual(
    expected,
  );
  expect(summary.datasets.map((d) => d.counts)).toEqual([counts]);
}

describe.each(TARGETS)('$table: the SQL conflict rules equal resolveConflict', (target) => {
  describe.each(SCENARIOS)('$name', (scenario) => {
    let prepared: Prepared;
    beforeAll(async () => {
      prepared = await prepare(target, scenario, scenario.carries.join('-'));
    });
    it.each(CONFLICT_STRATEGIES)('%s', async (strategy) => {
      await agree(target, prepared, strategy);
    });
  });
});

const OUTCOMES: Record<ConflictStrategy, string[]> = {
  skip: ['insert', 'skip'],
  overwrite: ['insert', 'update'],
  merge: ['insert', 'skip', 'update'],
  newest: ['insert', 'skip', 'update'],
};

describe('the cases', () => {
  it('cover every outcome of every strategy', () => {
    // Guards the table itself: each strategy's decisions over the cases include what it can decide.
    for (const strategy of CONFLICT_STRATEGIES) {
      const seen = new Set(
        CASES.map(
          (c) => resolveConflict(strategy, c.stored, c.incoming, Object.keys(incoming()), timestampOf).action,
        ),
      );
      expect([...seen].sort(), strategy).toEqual(OUTCOMES[strategy]);
    }
  });
});

/**
 * Two timestamp cases this test once found the implementations deciding differently, now held to the
 * rule of conflict.ts: times are compared as the target store keeps them (PostgreSQL: microseconds),
 * and a time without an offset is UTC whatever the session's time zone. Only `newest` depends on
 * timestamps, and only its decision (which record wins) is compared here.
 */
describe('timestamps (newest)', () => {
  const probe = TARGETS.find((t) => t.table === PROBE) as Target;
  it('a later updated_at by less than a microsecond is a tie in PostgreSQL: the stored record stays', async () => {
    const prepared = await prepare(probe, SCENARIOS[0] as Scenario, 'sub-microsecond', [
      {
        name: '0.4 µs later',
        stored: stored({ updated_at: '2024-01-02T00:00:00.000000Z' }),
        incoming: incoming({ updated_at: '2024-01-02T00:00:00.0000004Z' }),
      },
      {
        name: '0.3 µs later',
        stored: stored({ updated_at: '2024-01-02T00:00:00.000001Z' }),
        incoming: incoming({ updated_at: '2024-01-02T00:00:00.0000013Z' }),
      },
    ]);
    await agree(probe, prepared, 'newest', { ignore: [TIMESTAMP_FIELD] });
  });

  it('an updated_at without an offset is UTC, also when the session time zone is not', async () => {
    const url = new URL(process.env.DATABASE_URL ?? '');
    url.searchParams.set('options', '-c TimeZone=Europe/Budapest');
    const budapest = connectionsOf(await openAllStores({ ...process.env, DATABASE_URL: url.toString() }));
    try {
      const zone = await budapest.postgres.query<{ tz: string }>('SELECT current_setting($1) AS tz', [
        'TimeZone',
      ]);
      expect(zone.rows[0]?.tz).toBe('Europe/Budapest');
      const prepared = await prepare(probe, SCENARIOS[0] as Scenario, 'no-offset', [
        {
          // 00:30 UTC is later than the stored 00:00 UTC; read as Budapest time it is 23:30 UTC the day before.
          name: 'later in UTC, earlier in the session zone',
          stored: stored({ updated_at: '2024-01-02T00:00:00Z' }),
          incoming: incoming({ updated_at: '2024-01-02T00:30:00' }),
        },
      ]);
      await agree(probe, prepared, 'newest', { on: budapest, ignore: [TIMESTAMP_FIELD] });
    } finally {
      await budapest.close();
    }
  });
});
