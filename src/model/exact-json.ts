/**
 * JSON that keeps 64-bit integers exact (Qdrant point ids, Neo4j integers, PostgreSQL bigints). Qdrant ids are unsigned 64-bit integers, and
 * AutoCognitix's ids use 63 bits: `JSON.parse` would round them to the nearest double. Integers outside
 * the safe range are read as `bigint`; everything else is a plain number. `bigint` values are written as
 * bare JSON integers.
 */

import { randomBytes } from 'node:crypto';

const LONG_DIGIT_RUN = /\d{16,}/;
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The marker a long integer travels under through JSON.parse or JSON.stringify: a string no input can
 * hold by chance, since it carries a random nonce drawn for each call (a fixed marker let a payload
 * string such as "\u0000bigint:12" turn into the number 12 when the same document held a long id).
 */
function bigintTag(): string {
  return `\u0000bigint:${randomBytes(8).toString('hex')}:`;
}

/**
 * Positions of integer tokens too long to be safe, found by a scan of the UTF-8 bytes that skips string
 * contents (a digit run inside a string is text, not a number).
 */
function longIntegerTokens(b: Uint8Array): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i]!;
    if (c === 0x22) {
      // Skip a string, honouring backslash escapes.
      i++;
      while (i < n) {
        const d = b[i]!;
        if (d === 0x5c) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      let integer = true;
      while (i < n) {
        const d = b[i]!;
        if (d >= 0x30 && d <= 0x39) i++;
        else if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) {
          integer = false;
          i++;
        } else break;
      }
      if (integer && i - start >= 16) found.push([start, i]);
    } else i++;
  }
  return found;
}

function restoreBigints(value: unknown, tag: string): unknown {
  if (typeof value === 'string') {
    if (!value.startsWith(tag)) return value;
    const digits = value.slice(tag.length);
    const number = Number(digits);
    return Number.isSafeInteger(number) ? number : BigInt(digits);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' || typeof item === 'string') value[i] = restoreBigints(item, tag);
    }
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === 'object' || typeof item === 'string') record[key] = restoreBigints(item, tag);
    }
  }
  return value;
}

/**
 * Parses JSON (text, or its UTF-8 bytes as an HTTP body arrives), keeping integers beyond 2^53 exact as
 * `bigint`. Text with a long digit run is scanned as its UTF-8 bytes: one scanner serves both inputs,
 * and a loop over bytes is faster than `charCodeAt` over the text.
 */
export function parseExactJson(json: string | Uint8Array): unknown {
  // Fast path: without a run of 16+ digits there is no integer JSON.parse could round.
  if (typeof json === 'string' && !LONG_DIGIT_RUN.test(json)) return JSON.parse(json);
  const bytes = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
  const tokens = longIntegerTokens(bytes);
  if (tokens.length === 0) return JSON.parse(typeof json === 'string' ? json : UTF8.decode(bytes));
  const tag = bigintTag();
  // JSON.parse turns the escaped NUL back into the tag's own.
  const open = Buffer.from(`"${tag.replace('\u0000', '\\u0000')}`, 'utf8');
  const quote = Buffer.from('"');
  const pieces: Uint8Array[] = [];
  let last = 0;
  for (const [start, end] of tokens) {
    pieces.push(bytes.subarray(last, start), open, bytes.subarray(start, end), quote);
    last = end;
  }
  pieces.push(bytes.subarray(last));
  return restoreBigints(JSON.parse(UTF8.decode(Buffer.concat(pieces))), tag);
}

/** `JSON.rawJSON` (ES2025, Node 21+; not in TypeScript's ES2023 lib): text JSON.stringify writes as it is. */
const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;
const bigintAsRaw = (_key: string, v: unknown): unknown =>
  typeof v === 'bigint' ? rawJson(v.toString()) : v;

/** Nesting beyond which `holdsBigint` stops looking and answers yes (the replacer path is always right). */
const BIGINT_SCAN_DEPTH = 64;

/** Whether `value` holds a bigint anywhere JSON.stringify would reach it. */
function holdsBigint(value: unknown, depth = 0): boolean {
  if (typeof value === 'bigint') return true;
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= BIGINT_SCAN_DEPTH) return true;
  if (ArrayBuffer.isView(value)) return value instanceof BigInt64Array || value instanceof BigUint64Array;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsBigint(item, depth + 1)) return true;
    return false;
  }
  for (const key in value) if (holdsBigint((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

/**
 * Serialises a value to JSON; `bigint` becomes a bare integer (through `JSON.rawJSON`, no marker). A
 * value without a bigint takes the replacer-free JSON.stringify, about three times as fast. The
 * earlier way (a marker with a nonce per call, stripped by a RegExp built for that nonce) compiled a
 * new RegExp for every value holding a bigint: 30 times slower, and each compiled RegExp outlived a
 * young-generation GC, so an export of Neo4j integers grew the old generation by hundreds of MiB of
 * garbage (issue #15, export --json at 719 MiB peak RSS).
 */
export function stringifyExactJson(value: unknown): string {
  if (holdsBigint(value)) return JSON.stringify(value, bigintAsRaw);
  try {
    return JSON.stringify(value);
  } catch (error) {
    // A bigint the scan cannot see (one a `toJSON` returns).
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, bigintAsRaw);
  }
}

/** A JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ------------------------------------------------------------------------------------ bytes

const POW10 = Float64Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * A strict JSON reader over UTF-8 bytes that yields what `parseExactJson` yields for the same text,
 * without decoding the text first: a Qdrant scroll page is mostly vector components, and reading
 * them here costs a fraction of `JSON.parse` (which boxes each one). Numbers are read by Clinger's
 * fast path (at most 15 significant digits and a power of ten up to 10^22: one correctly rounded
 * multiplication or division, the double `JSON.parse` gives) and by `Number()` of their text
 * otherwise; integer tokens of 16 or more characters follow `parseExactJson` (a bigint when not a
 * safe integer); strings without escapes are decoded in place, others by `JSON.parse` of their text.
 *
 * With `typed`, an array whose elements are all numbers (none a bigint) is read into a Float64Array
 * (the same doubles): the caller says where (a Qdrant point's `vector`), because nothing else may
 * change type. Any deviation from JSON's grammar throws a SyntaxError; callers that need
 * `JSON.parse`'s own message read the text again with `parseExactJson` (see `parseExactJsonBytes`).
 */
export class ExactJsonReader {
  readonly bytes: Uint8Array;
  at = 0;
  private readonly buffer: Buffer;
  private scratch = new Float64Array(1024);
  /**
   * Typed arrays are views into shared arenas, not one ArrayBuffer each: a page of 256 vectors would
   * otherwise allocate (and the GC sweep) 256 backing stores.
   */
  private arena = new Float64Array(0);
  private arenaUsed = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(): never {
    throw new SyntaxError(`invalid JSON at byte ${this.at}`);
  }

  /** Skips white space; the next byte, or -1 at the end. */
  space(): number {
    const b = this.bytes;
    let i = this.at;
    for (; i < b.length; i++) {
      const c = b[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        this.at = i;
        return c;
      }
    }
    this.at = i;
    return -1;
  }

  /** Skips white space, then `c`. */
  expect(c: number): void {
    if (this.space() !== c) this.fail();
    this.at++;
  }

  /** After a member or element: true for `,` (another follows), false for `close`. */
  next(close: number): boolean {
    const c = this.space();
    this.at++;
    if (c === 0x2c) return true;
    if (c !== close) this.fail();
    return false;
  }

  /** The whole input is one value (white space around it allowed). */
  end(): void {
    if (this.space() !== -1) this.fail();
  }

  value(typed = false): unknown {
    const c = this.space();
    if (c === 0x22) return this.string();
    if (c === 0x7b) return this.object(typed);
    if (c === 0x5b) return this.array(typed);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74) return this.word('true', true);
    if (c === 0x66) return this.word('false', false);
    if (c === 0x6e) return this.word('null', null);
    return this.fail();
  }

  private word<T>(text: string, value: T): T {
    const b = this.bytes;
    for (let i = 0; i < text.length; i++) if (b[this.at + i] !== text.charCodeAt(i)) this.fail();
    this.at += text.length;
    return value;
  }

  /** A string (the reader is at its opening quote). */
  string(): string {
    const b = this.bytes;
    const start = ++this.at;
    let ascii = true;
    for (let i = start; i < b.length; i++) {
      const c = b[i]!;
      if (c === 0x22) {
        this.at = i + 1;
        return ascii ? this.buffer.toString('latin1', start, i) : UTF8.decode(b.subarray(start, i));
      }
      if (c === 0x5c) return this.escapedString(start - 1);
      if (c < 0x20) this.fail();
      if (c >= 0x80) ascii = false;
    }
    return this.fail();
  }

  private escapedString(quote: number): string {
    const b = this.bytes;
    for (let i = quote + 1; i < b.length; i++) {
      const c = b[i]!;
      if (c === 0x5c) i++;
      else if (c === 0x22) {
        this.at = i + 1;
        return JSON.parse(UTF8.decode(b.subarray(quote, i + 1))) as string;
      }
    }
    return this.fail();
  }

  private object(typed: boolean): Record<string, unknown> {
    this.at++;
    const out: Record<string, unknown> = {};
    if (this.space() === 0x7d) {
      this.at++;
      return out;
    }
    do {
      if (this.space() !== 0x22) this.fail();
      const key = this.string();
      this.expect(0x3a);
      // A sparse vector's indices are integers, never float32.
      const value = this.value(typed && key !== 'indices');
      if (key === '__proto__')
        Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
    } while (this.next(0x7d));
    return out;
  }

  private array(typed: boolean): unknown[] | Float64Array {
    this.at++;
    const c = this.space();
    if (c === 0x5d) {
      this.at++;
      return [];
    }
    let out: unknown[] = [];
    if (typed && (c === 0x2d || (c >= 0x30 && c <= 0x39))) {
      const numbers = this.numbers();
      if (numbers instanceof Float64Array) return numbers;
      // `numbers` stopped at an element that is not a plain number: the rest is read the general way.
      out = numbers;
    }
    do out.push(this.value(typed));
    while (this.next(0x5d));
    return out;
  }

  /**
   * Numbers up to the array's end: a Float64Array when all are plain numbers; otherwise the numbers
   * read so far, with the reader at the first element that is not one. The common element — a
   * decimal of at most 9 significant digits (a float32's shortest form has at most 9), no exponent,
   * no white space around it — is read inline in 32-bit integer arithmetic; anything else goes
   * through `number()` and `space()`.
   */
  private numbers(): Float64Array | unknown[] {
    const b = this.bytes;
    let scratch = this.scratch;
    let n = 0;
    let i = this.at;
    for (;;) {
      if (n === scratch.length) {
        const grown = new Float64Array(n * 2);
        grown.set(scratch);
        this.scratch = scratch = grown;
      }
      const start = i;
      let c = b[i]!;
      const negative = c === 0x2d;
      if (negative) c = b[++i]!;
      let mantissa = 0;
      let digits = 0;
      let exponent = 0;
      // Leading zeros (of `0.000123`) are not significant.
      if (c === 0x30) {
        c = b[++i]!;
        if (c === 0x2e) {
          c = b[++i]!;
          while (c === 0x30) {
            exponent--;
            c = b[++i]!;
          }
          while (c >= 0x30 && c <= 0x39 && digits < 9) {
            mantissa = (mantissa * 10 + (c - 0x30)) | 0;
            digits++;
            exponent--;
            c = b[++i]!;
          }
          // `0.` (number() refuses it) or a tenth digit (number() reads it).
          if ((digits === 0 && exponent === 0) || (c >= 0x30 && c <= 0x39)) digits = 99;
        }
      } else if (c >= 0x31 && c <= 0x39) {
        do {
          mantissa = (mantissa * 10 + (c - 0x30)) | 0;
          digits++;
          c = b[++i]!;
        } while (c >= 0x30 && c <= 0x39 && digits < 9);
        if (c === 0x2e) {
          c = b[++i]!;
          const before = digits;
          while (c >= 0x30 && c <= 0x39 && digits < 9) {
            mantissa = (mantissa * 10 + (c - 0x30)) | 0;
            digits++;
            exponent--;
            c = b[++i]!;
          }
          if (digits === before || (c >= 0x30 && c <= 0x39)) digits = 99;
        } else if (c >= 0x30 && c <= 0x39) digits = 99; // a tenth digit: number() reads it
      } else digits = 99;
      if (c === 0x65 || c === 0x45) digits = 99; // exponents: number()
      let value: number;
      // At most 9 digits: the mantissa is an exact 32-bit integer (Clinger's fast path, as number()).
      if (digits <= 9 && exponent >= -22) {
        value = exponent < 0 ? mantissa / POW10[-exponent]! : mantissa;
        if (negative) value = -value;
        this.at = i;
      } else {
        this.at = start;
        const v = this.number();
        if (typeof v !== 'number') {
          this.at = start;
          return Array.from(scratch.subarray(0, n));
        }
        value = v;
        c = this.space();
        i = this.at;
      }
      scratch[n++] = value;
      if (c === 0x2c) {
        c = b[++i]!;
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) continue;
        this.at = i;
        c = this.space();
        i = this.at;
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) continue;
        return Array.from(scratch.subarray(0, n));
      }
      if (c === 0x5d) {
        this.at = i + 1;
        return this.keep(scratch, n);
      }
      this.at = i;
      c = this.space();
      i = this.at;
      if (c === 0x5d) {
        this.at = i + 1;
        return this.keep(scratch, n);
      }
      if (c !== 0x2c) this.fail();
      c = b[++i]!;
      this.at = i;
      c = this.space();
      i = this.at;
      if (c !== 0x2d && (c < 0x30 || c > 0x39)) return Array.from(scratch.subarray(0, n));
    }
  }

  /** The first `n` numbers of `scratch`, copied into the arena. */
  private keep(scratch: Float64Array, n: number): Float64Array {
    if (this.arenaUsed + n > this.arena.length) {
      this.arena = new Float64Array(Math.max(n, 1 << 16));
      this.arenaUsed = 0;
    }
    const view = this.arena.subarray(this.arenaUsed, this.arenaUsed + n);
    view.set(scratch.subarray(0, n));
    this.arenaUsed += n;
    return view;
  }

  /** A number token, by JSON's grammar; a bigint when an integer of 16+ characters is not safe. */
  number(): number | bigint {
    const b = this.bytes;
    const start = this.at;
    let i = start;
    let negative = false;
    if (b[i] === 0x2d) {
      negative = true;
      i++;
    }
    let mantissa = 0;
    let significant = 0;
    let c = b[i];
    if (c === 0x30) {
      i++;
      c = b[i];
    } else if (c !== undefined && c >= 0x31 && c <= 0x39) {
      do {
        mantissa = mantissa * 10 + (c - 0x30);
        significant++;
        c = b[++i];
      } while (c !== undefined && c >= 0x30 && c <= 0x39);
    } else this.fail();
    let exponent = 0;
    let integer = true;
    if (c === 0x2e) {
      integer = false;
      c = b[++i];
      if (c === undefined || c < 0x30 || c > 0x39) {
        this.at = i;
        this.fail();
      }
      do {
        if (mantissa !== 0 || c !== 0x30) significant++;
        mantissa = mantissa * 10 + (c - 0x30);
        exponent--;
        c = b[++i];
      } while (c !== undefined && c >= 0x30 && c <= 0x39);
    }
    if (c === 0x65 || c === 0x45) {
      integer = false;
      c = b[++i];
      let sign = 1;
      if (c === 0x2b || c === 0x2d) {
        if (c === 0x2d) sign = -1;
        c = b[++i];
      }
      if (c === undefined || c < 0x30 || c > 0x39) {
        this.at = i;
        this.fail();
      }
      let e = 0;
      do {
        if (e < 100_000) e = e * 10 + (c - 0x30);
        c = b[++i];
      } while (c !== undefined && c >= 0x30 && c <= 0x39);
      exponent += sign * e;
    }
    this.at = i;
    if (integer && i - start >= 16) {
      const digits = this.buffer.toString('latin1', start, i);
      const value = Number(digits);
      return Number.isSafeInteger(value) ? value : BigInt(digits);
    }
    if (significant <= 15 && exponent >= -22 && exponent <= 22) {
      const value = exponent < 0 ? mantissa / POW10[-exponent]! : mantissa * POW10[exponent]!;
      return negative ? -value : value;
    }
    return Number(this.buffer.toString('latin1', start, i));
  }
}

/** `parseExactJson` of UTF-8 bytes (see `ExactJsonReader`); malformed input throws `JSON.parse`'s error. */
export function parseExactJsonBytes(bytes: Uint8Array): unknown {
  try {
    const reader = new ExactJsonReader(bytes);
    const value = reader.value();
    reader.end();
    return value;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // The reader is strict; the text path gives the message (or, should it be stricter than JSON, the value).
    return parseExactJson(bytes);
  }
}
