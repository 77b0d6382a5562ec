import { describe, expect, it } from 'vitest';
import { pointId } from '../../src/model/qdrant-model.ts';
import { canonicalJson, diffFingerprints, MultisetHash } from '../../src/model/content-hash.ts';
import { labelMap, parseLabelScheme } from '../../src/model/labels.ts';
import { parseQdrantJson, stringifyQdrantJson } from '../../src/stores/qdrant/qdrant-json.ts';

describe('Qdrant point ids as production computes them', () => {
  // Reference values from Python: int.from_bytes(md5(s).digest()[:8], "big") & (2**63 - 1)
  it.each([
    ['dtc', 'P0100', 9036396042225763098n],
    ['dtc', 'B0001', 8851168033112208049n],
    ['complaint', 11377738, 4913799528916364632n],
  ] as const)('%s_%s', (prefix, key, expected) => {
    expect(pointId(prefix, key)).toBe(expected);
  });
});

describe('Qdrant JSON keeps 63-bit ids exact', () => {
  it('round-trips ids beyond 2^53', () => {
    const text = '{"result":{"points":[{"id":9036396042225763098,"vector":[0.5,-0.00125]},{"id":7}]}}';
    const value = parseQdrantJson(text) as { result: { points: Array<{ id: unknown }> } };
    expect(value.result.points[0]?.id).toBe(9036396042225763098n);
    expect(value.result.points[1]?.id).toBe(7);
    expect(stringifyQdrantJson(value)).toBe(text);
  });

  it('does not confuse strings that look like the bigint tag', () => {
    expect(stringifyQdrantJson({ s: 'bigint:12', id: 12n })).toBe('{"s":"bigint:12","id":12}');
  });

  it('keeps a string holding NUL + "bigint:" a string beside a long integer, both ways', () => {
    const text =
      '{"id":9036396042225763098,"payload":{"note":"\\u0000bigint:12","big":"\\u0000bigint:9036396042225763098"}}';
    const value = parseQdrantJson(text);
    expect(value).toEqual({
      id: 9036396042225763098n,
      payload: { note: '\u0000bigint:12', big: '\u0000bigint:9036396042225763098' },
    });
    expect(stringifyQdrantJson(value)).toBe(text);
    expect(stringifyQdrantJson({ note: '\u0000bigint:7', id: 12n })).toBe(
      '{"note":"\\u0000bigint:7","id":12}',
    );
  });
});

describe('content hashes', () => {
  it('are order independent and sensitive to content and multiplicity', () => {
    const a = new MultisetHash();
    const b = new MultisetHash();
    for (const r of ['x', 'y', 'z']) a.add(r);
    for (const r of ['z', 'x', 'y']) b.add(r);
    expect(a.digest()).toBe(b.digest());
    b.add('x');
    expect(a.digest()).not.toBe(b.digest());
  });

  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 10n } })).toBe(
      '{"a":{"c":"10n","d":[{"y":2,"z":1}]},"b":1}',
    );
  });

  it('diffFingerprints names differing and one-sided datasets', () => {
    expect(
      diffFingerprints(
        { t1: { records: 1, hash: 'a' }, t2: { records: 1, hash: 'b' } },
        { t1: { records: 1, hash: 'a' }, t3: { records: 0, hash: 'c' } },
      ),
    ).toEqual(['t2', 't3']);
  });
});

describe('label schemes', () => {
  it('maps production labels to the legacy Node-suffixed ones', () => {
    expect(labelMap('production').label('dtc')).toBe('DTC');
    expect(labelMap('legacy').label('dtc')).toBe('DTCNode');
    expect(labelMap('legacy').label('symptom')).toBe('SymptomNode');
    expect(parseLabelScheme('legacy')).toBe('legacy');
    expect(() => parseLabelScheme('other')).toThrow(/label scheme/i);
  });
});

describe('Qdrant JSON parsing edge cases', () => {
  it('leaves long digit runs inside strings and floats alone', () => {
    const text =
      '{"a":"id 12345678901234567890, ok","b":0.12345678901234567,"c":-9223372036854775807,"d":[18446744073709551615,1e300],"e":"\\"9999999999999999999"}';
    const value = parseQdrantJson(text) as Record<string, unknown>;
    expect(value.a).toBe('id 12345678901234567890, ok');
    expect(value.b).toBe(Number('0.12345678901234567'));
    expect(value.c).toBe(-9223372036854775807n);
    expect(value.d).toEqual([18446744073709551615n, 1e300]);
    expect(value.e).toBe('"9999999999999999999');
  });

  it('reads a 16-digit safe integer as a number', () => {
    expect(parseQdrantJson('{"id":1234567890123456}')).toEqual({ id: 1234567890123456 });
  });
});
