/** The import's pure rules: conflict strategies, DTC rules, value conversion for PostgreSQL and Neo4j. */
import { describe, expect, it } from 'vitest';
import neo4j from 'neo4j-driver';
import { isoToEpochNanos, resolveConflict, type ConflictStrategy } from '../../src/model/conflict.ts';
import { dtcCodeProblem, dtcRecordProblems } from '../../src/model/dtc-rules.ts';
import { malformedDtcRecords } from '../../src/seed/dtc.ts';
import { pgCopyText } from '../../src/stores/postgres/postgres-values.ts';
import { pgColumn } from '../support/pg-column.ts';
import { neo4jPropertyValue } from '../../src/stores/neo4j/neo4j-input-values.ts';
import { encodeNeo4jValue } from '../../src/stores/neo4j/neo4j-values.ts';

const ts = (r: Record<string, unknown>) =>
  typeof r.updated_at === 'string' ? isoToEpochNanos(r.updated_at) : null;
const decide = (
  strategy: ConflictStrategy,
  existing: Record<string, unknown> | null,
  incoming: Record<string, unknown>,
) => resolveConflict(strategy, existing, incoming, Object.keys(incoming), ts);

describe('conflict strategies', () => {
  const stored = {
    code: 'P0100',
    a: 'kept',
    b: null,
    list: [],
    json: { x: 1 },
    private: 'not in input',
    updated_at: '2024-01-02T00:00:00Z',
  };
  const incoming = {
    code: 'P0100',
    a: 'new',
    b: 'filled',
    list: ['x'],
    json: { y: 2 },
    updated_at: '2024-01-01T00:00:00Z',
  };

  it('a record not stored is inserted whatever the strategy', () => {
    for (const s of ['skip', 'overwrite', 'merge', 'newest'] as const)
      expect(decide(s, null, incoming)).toEqual({ action: 'insert', values: incoming });
  });
  it('skip keeps the stored record', () => {
    expect(decide('skip', stored, incoming)).toEqual({ action: 'skip' });
  });
  it('overwrite replaces every field the input carries (NULL included) and keeps the others', () => {
    expect(decide('overwrite', stored, { ...incoming, a: null })).toEqual({
      action: 'update',
      values: { ...incoming, a: null, private: 'not in input' },
    });
  });
  it('merge fills only NULL fields; [] and {} are values; arrays and JSON are never combined', () => {
    expect(decide('merge', stored, incoming)).toEqual({
      action: 'update',
      values: { ...stored, b: 'filled' },
    });
    expect(decide('merge', { ...stored, b: 'x' }, incoming)).toEqual({ action: 'skip' });
    expect(decide('merge', { ...stored, b: 'x', list: null }, incoming)).toEqual({
      action: 'update',
      values: { ...stored, b: 'x', list: ['x'] },
    });
  });
  it('newest: later incoming wins whole; older, equal, or without a timestamp keeps the stored', () => {
    const newer = { ...incoming, updated_at: '2024-01-03T00:00:00.000001Z' };
    expect(decide('newest', stored, newer)).toEqual({ action: 'update', values: { ...stored, ...newer } });
    expect(decide('newest', stored, incoming)).toEqual({ action: 'skip' });
    expect(decide('newest', stored, { ...incoming, updated_at: '2024-01-02T01:00:00+01:00' })).toEqual({
      action: 'skip',
    });
    expect(decide('newest', stored, { ...incoming, updated_at: null })).toEqual({ action: 'skip' });
    expect(decide('newest', { ...stored, updated_at: null }, incoming).action).toBe('update');
    expect(decide('newest', { ...stored, updated_at: null }, { ...incoming, updated_at: null })).toEqual({
      action: 'skip',
    });
  });
  it('reads timestamps of PostgreSQL, JSON and Neo4j to the nanosecond', () => {
    expect(isoToEpochNanos('2024-01-05 10:20:30.123456+01')).toBe(
      isoToEpochNanos('2024-01-05T09:20:30.123456Z'),
    );
    expect(
      isoToEpochNanos('2024-01-05T09:20:30.123456789Z')! - isoToEpochNanos('2024-01-05T09:20:30.123456Z')!,
    ).toBe(789n);
    expect(isoToEpochNanos('2024-01-05T10:20:30+01:00[Europe/Budapest]')).toBe(
      isoToEpochNanos('2024-01-05T09:20:30Z'),
    );
    expect(isoToEpochNanos('yesterday')).toBeNull();
  });
});

describe('DTC rules', () => {
  it('accepts generic, manufacturer-specific and failure-type forms', () => {
    for (const code of ['P0100', 'P1ABC', 'B2F00', 'C0300', 'U3FFF', 'P0420-1B'])
      expect(dtcCodeProblem(code)).toBeNull();
  });
  it('accepts the real codes the application holds: any hex digit after the letter (its ^[PBCU][0-9A-F]{4}$)', () => {
    for (const code of ['P93AF', 'PACED', 'PEACE', 'UA80E', 'UA80F', 'BFFFF', 'C4000', 'U9A00-0F'])
      expect(dtcCodeProblem(code), code).toBeNull();
    const values = { code: 'PACED', description_en: 'x', category: 'powertrain', severity: 'low' };
    expect(dtcRecordProblems(values, new Set(Object.keys(values)))).toEqual([]);
    const network = { code: 'UA80E', description_en: 'x', category: 'network', severity: 'low' };
    expect(dtcRecordProblems(network, new Set(Object.keys(network)))).toEqual([]);
  });
  it('refuses what the application refuses, saying why', () => {
    const refused: Array<[string, RegExp]> = [
      ['pace0', /must be upper case/],
      ['Ua80e', /must be upper case/],
      ['X0100', /must start with P, B, C or U/],
      ['A93AF', /must start with P, B, C or U/],
      ['P010', /four hex digits/],
      ['P01000', /four hex digits/],
      ['P0G00', /four hex digits/],
      ['PACEG', /four hex digits/],
      ['P 0100', /four hex digits/],
      [' P0100', /must start with P, B, C or U/],
      ['P0100 ', /four hex digits/],
      ['P0100-XY', /suffix must be two hex digits/],
      ['PACED-1', /suffix must be two hex digits/],
      ['P0100-1b', /must be upper case/],
    ];
    for (const [code, reason] of refused) expect(dtcCodeProblem(code), code).toMatch(reason);
    expect(dtcCodeProblem('')).toBe('is required');
    expect(dtcCodeProblem(93)).toMatch(/must be text/);
  });
  it('checks the category against the letter for every second character', () => {
    const values = { code: 'UA80F', description_en: 'x', category: 'powertrain', severity: 'low' };
    expect(dtcRecordProblems(values, new Set(Object.keys(values)))).toEqual([
      { field: 'category', reason: 'category "powertrain" does not match code UA80F (network)' },
    ]);
  });
  it("rejects each of the generator's malformed records, naming the field", () => {
    for (const record of malformedDtcRecords()) {
      const values: Record<string, unknown> = { description_en: null, ...record };
      const problems = dtcRecordProblems(values, new Set(Object.keys(values)));
      const symptomsProblem =
        Array.isArray(values.symptoms) || values.symptoms === undefined ? [] : ['symptoms'];
      // "symptoms is not an array" is a type problem: the column conversion reports it, not these rules.
      if (symptomsProblem.length > 0) continue;
      expect(problems.length, `${String(record.code)}: ${record.reason}`).toBeGreaterThan(0);
    }
  });
});

describe('PostgreSQL values', () => {
  it('converts typed and raw values to COPY text', () => {
    expect(pgCopyText(null, pgColumn({}), true)).toEqual({ text: '\\N' });
    expect(pgCopyText('', pgColumn({}), true)).toEqual({ text: '' });
    expect(pgCopyText('a\tb\\', pgColumn({}), true)).toEqual({ text: 'a\\tb\\\\' });
    expect(pgCopyText(9007199254740993n, pgColumn({ typname: 'int8', category: 'N' }), true)).toEqual({
      text: '9007199254740993',
    });
    expect(pgCopyText(['a,b', null, ''], pgColumn({ typname: '_text', category: 'A' }), true)).toEqual({
      text: '{"a,b",NULL,""}',
    });
    expect(pgCopyText('["x"]', pgColumn({ typname: '_text', category: 'A' }), false)).toEqual({
      text: '{"x"}',
    });
    expect(pgCopyText({ a: [1] }, pgColumn({ typname: 'jsonb', category: 'U' }), true)).toEqual({
      text: '{"a":[1]}',
    });
    expect(pgCopyText('"s"', pgColumn({ typname: 'jsonb', category: 'U' }), false)).toEqual({ text: '"s"' });
    expect(pgCopyText(1, pgColumn({ typname: 'bool', category: 'B' }), false)).toEqual({ text: 't' });
  });
  it('names what does not fit', () => {
    expect(pgCopyText(null, pgColumn({ notNull: true }), true)).toEqual({
      problem: 'is required (NOT NULL)',
    });
    expect(pgCopyText('x', pgColumn({ typname: 'int4', category: 'N' }), false)).toHaveProperty('problem');
    expect(pgCopyText(2 ** 31, pgColumn({ typname: 'int4', category: 'N' }), true)).toHaveProperty('problem');
    expect(pgCopyText('P0106-XYZ', pgColumn({ typname: 'varchar', maxLength: 8 }), true)).toHaveProperty(
      'problem',
    );
    expect(pgCopyText('Nehéz indulás', pgColumn({ typname: '_text', category: 'A' }), true)).toHaveProperty(
      'problem',
    );
    expect(pgCopyText('not-a-uuid', pgColumn({ typname: 'uuid', category: 'U' }), true)).toHaveProperty(
      'problem',
    );
    expect(pgCopyText('2024-13-45', pgColumn({ typname: 'date', category: 'D' }), true)).toHaveProperty(
      'problem',
    );
    expect(pgCopyText('1.2.3.4.5', pgColumn({ typname: 'inet', category: 'I' }), true)).toHaveProperty(
      'problem',
    );
    expect(
      pgCopyText('z', pgColumn({ category: 'E', typname: 'kind', enumLabels: ['a'] }), true),
    ).toHaveProperty('problem');
    expect(pgCopyText('a\u0000b', pgColumn({}), true)).toHaveProperty('problem');
  });
});

describe('Neo4j values', () => {
  const enc = (v: unknown, source?: string, type?: string) => {
    const r = neo4jPropertyValue(v, {
      name: 'p',
      ...(source ? { source } : {}),
      ...(type ? { type: type as 'text' } : {}),
    });
    return 'value' in r ? encodeNeo4jValue(r.value) : r;
  };
  it('restores Neo4j types from the declared source type', () => {
    expect(enc(5n, 'INTEGER')).toEqual({ $int: '5' });
    expect(enc('2024-03-05T10:20:30.123456789Z', 'ZONED DATETIME')).toEqual(
      encodeNeo4jValue(new neo4j.types.DateTime(2024, 3, 5, 10, 20, 30, 123456789, 0)),
    );
    expect(enc('2024-03-05', 'DATE')).toEqual(encodeNeo4jValue(new neo4j.types.Date(2024, 3, 5)));
    const d = new neo4j.types.Duration(14, 3, 3600 * 4 + 5 * 60 + 6, 7);
    expect(enc(d.toString(), 'DURATION')).toEqual(encodeNeo4jValue(d));
    expect(enc({ srid: 4326, x: 19.04, y: 47.5 }, 'POINT')).toEqual(
      encodeNeo4jValue(new neo4j.types.Point(4326, 19.04, 47.5)),
    );
    expect(enc([1, 2], 'LIST<INTEGER>')).toEqual([{ $int: '1' }, { $int: '2' }]);
    expect(enc(5, 'FLOAT')).toBe(5);
  });
  it('infers raw text without a type, and refuses maps', () => {
    expect(enc('42')).toEqual({ $int: '42' });
    expect(enc('4.5')).toBe(4.5);
    expect(enc('true')).toBe(true);
    expect(enc('["a","b"]')).toEqual(['a', 'b']);
    expect(enc('P0100')).toBe('P0100');
    expect(enc({ a: 1 }, undefined, 'json')).toHaveProperty('problem');
    expect(enc('not a date', 'DATE')).toHaveProperty('problem');
  });
});
