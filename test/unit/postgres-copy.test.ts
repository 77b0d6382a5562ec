import { describe, expect, it } from 'vitest';
import { encodeCopyValue } from '../../src/stores/postgres/postgres-copy.ts';

describe('COPY text encoding', () => {
  it('encodes NULL apart from the empty string', () => {
    expect(encodeCopyValue(null, false)).toBe('\\N');
    expect(encodeCopyValue('', false)).toBe('');
  });

  it('escapes control characters and backslashes', () => {
    expect(encodeCopyValue('a\tb\nc\\d\re', false)).toBe('a\\tb\\nc\\\\d\\re');
  });

  it('encodes arrays with quoted elements and NULL elements', () => {
    expect(encodeCopyValue(['Nehéz indulás', 'a"b', null, 'back\\slash'], false)).toBe(
      '{"Nehéz indulás","a\\\\"b",NULL,"back\\\\\\\\slash"}',
    );
    expect(encodeCopyValue([], false)).toBe('{}');
  });

  it('encodes JSON columns, bytea, booleans and timestamps', () => {
    expect(encodeCopyValue({ a: [1, { b: 'ő' }] }, true)).toBe('{"a":[1,{"b":"ő"}]}');
    expect(encodeCopyValue([1, 2], true)).toBe('[1,2]');
    expect(encodeCopyValue(Buffer.from([0, 255]), false)).toBe('\\\\x00ff');
    expect(encodeCopyValue(true, false)).toBe('t');
    expect(encodeCopyValue(new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)), false)).toBe(
      '2025-01-02T03:04:05.006Z',
    );
  });
});
