/**
 * Values PostgreSQL cannot hold, refused as a record problem by the conversion to COPY text instead of
 * being changed on the way (U+FFFD for a lone surrogate, `{}`) or ending the import with a crash: the
 * last line of defence behind the readers' checks (formats/input-values.ts), for values from any source.
 */
import { describe, expect, it } from 'vitest';
import { pgCopyText, type PgColumn } from '../../src/stores/postgres/postgres-values.ts';
import { pgColumn } from '../support/pg-column.ts';

const TEXT = pgColumn({});
const TEXT_ARRAY = pgColumn({
  type: 'text[]',
  typname: '_text',
  category: 'A',
  element: { typname: 'text', category: 'S' },
});
const JSONB = pgColumn({ type: 'jsonb', typname: 'jsonb', category: 'U' });
const JSON_COLUMN = pgColumn({ type: 'json', typname: 'json', category: 'U' });

const depth = 100_000;
const deepText = '['.repeat(depth) + ']'.repeat(depth);
const deepValue = (): unknown => JSON.parse(deepText);
const deepObject = (): unknown => JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));

describe('PostgreSQL values: hostile input', () => {
  it('refuses a 100 000-deep value in every column kind, typed or as text, without throwing', () => {
    const cases: Array<[string, unknown, PgColumn, boolean]> = [
      ['typed array in text[]', deepValue(), TEXT_ARRAY, true],
      ['array text in text[]', deepText, TEXT_ARRAY, false],
      ['element holding a deep object in text[]', ['a', deepObject()], TEXT_ARRAY, true],
      ['typed value in jsonb', deepValue(), JSONB, true],
      ['typed object in jsonb', deepObject(), JSONB, true],
      ['JSON text in jsonb', deepText, JSONB, false],
      ['typed value in json', deepValue(), JSON_COLUMN, true],
      ['object in text', deepObject(), TEXT, true],
    ];
    for (const [what, value, column, typed] of cases) {
      let converted;
      expect(() => (converted = pgCopyText(value, column, typed)), what).not.toThrow();
      expect(converted, what).toEqual({
        problem: expect.stringMatching(/nested (deeper than 100 levels|arrays)/),
      });
    }
  });

  it('a text[] value is one-dimensional: any nested array is refused, never stored as {}', () => {
    for (const value of [[[]], [['a']], ['a', []], '[[]]', '[["a"]]']) {
      expect(pgCopyText(value, TEXT_ARRAY, typeof value !== 'string'), JSON.stringify(value)).toEqual({
        problem: 'nested arrays are not supported (text[] is one-dimensional)',
      });
    }
    expect(pgCopyText([], TEXT_ARRAY, true)).toEqual({ text: '{}' });
  });

  it('refuses a lone UTF-16 surrogate in text, array elements, JSON values and keys', () => {
    const cases: Array<[unknown, PgColumn, boolean]> = [
      ['\ud800', TEXT, true],
      ['a\udc00b', TEXT, false],
      [['ok', '\udbff'], TEXT_ARRAY, true],
      ['["ok","\\ud800"]', TEXT_ARRAY, false],
      [{ a: ['\ud800'] }, JSONB, true],
      [{ ['k\ud800']: 1 }, JSONB, true],
      ['{"a":"\\udfff"}', JSONB, false],
      [{ a: '\ud800' }, TEXT, true],
    ];
    for (const [value, column, typed] of cases) {
      expect(pgCopyText(value, column, typed), `${JSON.stringify(value)} in ${column.type}`).toEqual({
        problem: expect.stringMatching(/lone UTF-16 surrogate/),
      });
    }
    // A pair is one real character.
    expect(pgCopyText('\ud83d\ude97', TEXT, true)).toEqual({ text: '🚗' });
  });

  it('refuses a NUL character in jsonb (PostgreSQL refuses \\u0000 there), not in json, before COPY', () => {
    expect(pgCopyText({ a: 'x\u0000y' }, JSONB, true)).toEqual({ problem: expect.stringMatching(/NUL/) });
    expect(pgCopyText('{"a":"\\u0000"}', JSONB, false)).toEqual({ problem: expect.stringMatching(/NUL/) });
    expect(pgCopyText({ 'k\u0000': 1 }, JSONB, true)).toEqual({ problem: expect.stringMatching(/NUL/) });
    // Text that merely spells the escape is fine.
    expect(pgCopyText({ a: '\\u0000' }, JSONB, true)).toEqual({ text: '{"a":"\\\\\\\\u0000"}' });
    expect(pgCopyText({ a: 'x\u0000y' }, JSON_COLUMN, true)).toEqual({ text: '{"a":"x\\\\u0000y"}' });
    expect(pgCopyText(['a\u0000'], TEXT_ARRAY, true)).toEqual({ problem: expect.stringMatching(/NUL/) });
  });
});
