/**
 * Long procedures are split into phases (HOUSE_STYLE, issue #9): no function in the operations or the
 * stores runs over 100 lines. The finder is the TypeScript parser, so the test fails on a real one.
 */
import { describe, expect, it } from 'vitest';
import { longFunctions } from '../support/long-functions.ts';

const LIMIT = 100;

describe('function length', () => {
  it(`no function in src/operations or src/stores is over ${LIMIT} lines`, () => {
    const found = longFunctions(['src/operations', 'src/stores'], LIMIT).map(
      (f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`,
    );
    expect(found).toEqual([]);
  });

  it('finds a long function when there is one', () => {
    expect(longFunctions(['test/support'], 10).length).toBeGreaterThan(0);
  });
});
