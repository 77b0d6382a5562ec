/**
 * The byte reader of exact JSON (model/exact-json.ts `ExactJsonReader`, `parseExactJsonBytes`) against
 * the text path it replaces on a backup's hot path (`parseExactJson`): the same values — 63-bit ids as
 * bigint, -0, every number form, escapes, non-ASCII text, `__proto__` keys — on generated hostile
 * documents; the same refusals on damaged ones; and typed vectors (Float64Array) holding exactly the
 * doubles the general reading gives.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ExactJsonReader, parseExactJson, parseExactJsonBytes } from '../../src/model/exact-json.ts';
import { seededRandom } from '../support/random.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Float64Arrays as the arrays of numbers they hold (the typed reading, made comparable). */
function plain(value: unknown): unknown {
  if (value instanceof Float64Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, key, {
        value: plain((value as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** Deep equality that tells -0 from 0 and bigint from number (isDeepStrictEqual does both). */
const same = (a: unknown, b: unknown): boolean => isDeepStrictEqual(a, b);

const NUMBER_TEXTS = [
  '0',
  '-0',
  '0.0',
  '-0.0',
  '1',
  '-1',
  '0.6',
  '0.1',
  '-0.00041477752',
  '0.013616182',
  '123456789',
  '1234567890',
  '9007199254740991',
  '9007199254740992',
  '-9007199254740993',
  '9036396042225763098',
  '18446744073709551615',
  '1000000000000000',
  '-100000000000000',
  '1.0',
  '1.5e3',
  '1E-7',
  '3.4028235e38',
  '1e400',
  '-1e-400',
  '4.9e-324',
  '0.30000000000000004',
  '0.1234567890123456789',
  '123456789012345.6',
  '0.000000000000000000000001',
  '1e22',
  '1e23',
  '12345678901234567890e-5',
  '5e-324',
  '2.2250738585072014e-308',
  '0.999999999',
  '0.9999999999',
  '99999999.5',
];

const STRING_TEXTS = [
  '""',
  '"a"',
  '"Övfeszítő áramkör"',
  '"\\"quoted\\""',
  '"back\\\\slash"',
  '"\\ud83d\\ude00 and 😀"',
  '"\\/\\b\\f\\n\\r\\t"',
  '"$f32"',
  '"12345678901234567890"',
  '"\\ud800 lone"',
  '"日本語"',
];

function randomText(random: () => number, depth: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const ws = (): string => (random() < 0.15 ? pick([' ', '\n', '\t', '\r\n ', '  ']) : '');
  const r = random();
  if (depth <= 0 || r < 0.35) {
    const s = random();
    if (s < 0.55) {
      // Random decimals too, not only the list.
      if (random() < 0.5) return pick(NUMBER_TEXTS);
      const digits = String(Math.floor(random() * 10 ** (1 + Math.floor(random() * 12))));
      const point = random() < 0.7 ? `.${String(Math.floor(random() * 1e9)).padStart(9, '0')}` : '';
      const exponent = random() < 0.1 ? `e${random() < 0.5 ? '-' : ''}${Math.floor(random() * 40)}` : '';
      return `${random() < 0.5 ? '-' : ''}${digits}${point}${exponent}`;
    }
    if (s < 0.85) return pick(STRING_TEXTS);
    return pick(['true', 'false', 'null']);
  }
  if (r < 0.65) {
    const n = Math.floor(random() * 6);
    // Number runs (vectors) with the odd other element among them.
    const items = Array.from({ length: n }, () =>
      random() < 0.7 ? pick(NUMBER_TEXTS) : randomText(random, depth - 1),
    );
    return `[${ws()}${items.join(`${ws()},${ws()}`)}${ws()}]`;
  }
  const n = Math.floor(random() * 5);
  const keys = ['"id"', '"vector"', '"payload"', '"indices"', '"values"', '"__proto__"', '"a"', '"a"', '""'];
  const members = Array.from(
    { length: n },
    () => `${ws()}${pick(keys)}${ws()}:${ws()}${randomText(random, depth - 1)}`,
  );
  return `{${members.join(',')}${ws()}}`;
}

describe('parseExactJsonBytes', () => {
  it('reads what parseExactJson reads, for every listed number and string form', () => {
    for (const text of [...NUMBER_TEXTS, ...STRING_TEXTS]) {
      const want = parseExactJson(text);
      const got = parseExactJsonBytes(utf8(text));
      expect(same(got, want), `${text}: ${String(got)} vs ${String(want)}`).toBe(true);
    }
    expect(parseExactJsonBytes(utf8('9036396042225763098'))).toBe(9036396042225763098n);
    expect(Object.is(parseExactJsonBytes(utf8('-0.0')), -0)).toBe(true);
  });

  it('reads what parseExactJson reads, for 20 000 generated documents', () => {
    const random = seededRandom(15);
    for (let i = 0; i < 20_000; i++) {
      const text = randomText(random, 4);
      const want = parseExactJson(text);
      const got = parseExactJsonBytes(utf8(text));
      if (!same(got, want)) throw new Error(`differs for ${text}`);
    }
  });

  it('keeps a string that looks like a bigint tag a string, as parseExactJson does', () => {
    const text = '{"id":9036396042225763098,"payload":{"note":"\\u0000bigint:12"}}';
    const want = { id: 9036396042225763098n, payload: { note: '\u0000bigint:12' } };
    expect(parseExactJsonBytes(utf8(text))).toEqual(want);
    expect(parseExactJson(text)).toEqual(want);
  });

  it('keeps a __proto__ member as an own property, never as the prototype', () => {
    const got = parseExactJsonBytes(utf8('{"__proto__":{"polluted":1},"a":2}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.keys(got)).toEqual(['__proto__', 'a']);
    expect((got as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('refuses what JSON.parse refuses, with its message', () => {
    const bad = [
      '',
      '01',
      '1.',
      '.5',
      '+1',
      '-',
      '1e',
      '1e+',
      '[1,]',
      '[,1]',
      '{"a":1,}',
      '{"a" 1}',
      '{a:1}',
      '"unterminated',
      '"tab\there"',
      '[1 2]',
      'tru',
      'nul',
      '[1]x',
      '{"a":[0.1,0.2',
      '[0.1,-]',
      '[0.1,0.2 0.3]',
      '[0.00,1.]',
    ];
    for (const text of bad) {
      let want: unknown;
      try {
        parseExactJson(text);
      } catch (error) {
        want = error;
      }
      expect(want, text).toBeInstanceOf(SyntaxError);
      expect(() => parseExactJsonBytes(utf8(text)), text).toThrow((want as Error).message);
    }
  });

  it('refuses, or reads as parseExactJson does, every truncation and one-byte change of generated documents', () => {
    const random = seededRandom(7);
    const bytes = '0123456789-+.eE,:[]{}" \\xtn'.split('');
    for (let i = 0; i < 5_000; i++) {
      const text = utf8(randomText(random, 3));
      const at = Math.floor(random() * (text.length + 1));
      // Damaged bytes (a cut multi-byte character included), read as a fetch answer's text is.
      const damagedBytes =
        random() < 0.5
          ? text.slice(0, at)
          : Uint8Array.from([
              ...text.slice(0, at),
              bytes[Math.floor(random() * bytes.length)]!.charCodeAt(0),
              ...text.slice(at + 1),
            ]);
      const damaged = new TextDecoder().decode(damagedBytes);
      let want: unknown;
      let wantError: unknown;
      try {
        want = parseExactJson(damaged);
      } catch (error) {
        wantError = error;
      }
      if (wantError) expect(() => parseExactJsonBytes(damagedBytes), damaged).toThrow(SyntaxError);
      else if (!same(parseExactJsonBytes(damagedBytes), want)) throw new Error(`differs for ${damaged}`);
    }
  });
});

describe('ExactJsonReader, typed', () => {
  const typed = (text: string): unknown => {
    const reader = new ExactJsonReader(utf8(text));
    const value = reader.value(true);
    reader.end();
    return value;
  };

  it('reads arrays of plain numbers as Float64Arrays holding the very doubles, -0 included', () => {
    const text = `[${NUMBER_TEXTS.filter((t) => Number.isSafeInteger(Number(t)) || !/^-?\d+$/.test(t)).join(',')}]`;
    const got = typed(text);
    expect(got).toBeInstanceOf(Float64Array);
    const want = parseExactJson(text) as number[];
    expect(Array.from(got as Float64Array).every((v, i) => Object.is(v, want[i]))).toBe(true);
  });

  it('leaves an array with a bigint, a string or a nested array as an array, and sparse indices as integers', () => {
    expect(typed('[0.5, 9036396042225763098, 1]')).toEqual([0.5, 9036396042225763098n, 1]);
    expect(typed('[0.5 , "a" ,1]')).toEqual([0.5, 'a', 1]);
    expect(plain(typed('[[0.5,1],[2,3]]'))).toEqual([
      [0.5, 1],
      [2, 3],
    ]);
    const sparse = typed('{"indices":[1,5],"values":[0.25,0.5]}') as Record<string, unknown>;
    expect(Array.isArray(sparse.indices)).toBe(true);
    expect(sparse.values).toBeInstanceOf(Float64Array);
  });

  it('gives the general reading once Float64Arrays are made arrays, for 20 000 generated documents', () => {
    const random = seededRandom(99);
    for (let i = 0; i < 20_000; i++) {
      const text = randomText(random, 4);
      const want = parseExactJson(text);
      const got = plain(typed(text));
      if (!same(got, want)) throw new Error(`differs for ${text}`);
    }
  });

  it('reads 9-digit decimals of every magnitude as JSON.parse does (the inline fast path)', () => {
    const random = seededRandom(3);
    const texts: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const bits = new Uint32Array([Math.floor(random() * 2 ** 32)]);
      const f = new Float32Array(bits.buffer)[0]!;
      if (!Number.isFinite(f)) continue;
      // Fixed notation with up to 9 significant digits, as Qdrant prints small components.
      texts.push(
        Math.abs(f) < 1e-7 || Math.abs(f) > 1e9 ? f.toExponential(8) : String(Number(f.toPrecision(9))),
      );
    }
    const text = `[${texts.join(',')}]`;
    const got = typed(text) as Float64Array;
    const want = JSON.parse(text) as number[];
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++)
      if (!Object.is(got[i], want[i])) throw new Error(`${texts[i]}: ${got[i]} vs ${want[i]}`);
  });
});
