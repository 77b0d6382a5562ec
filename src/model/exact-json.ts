/**
 * JSON that keeps 64-bit integers exact (Qdrant point ids, Neo4j integers, PostgreSQL bigints). Qdrant ids are unsigned 64-bit integers, and
 * AutoCognitix's ids use 63 bits: `JSON.parse` would round them to the nearest double. Integers outside
 * the safe range are read as `bigint`; everything else is a plain number. `bigint` values are written as
 * bare JSON integers.
 */

const LONG_DIGIT_RUN = /\d{16,}/;
const BIGINT_TAG = '\u0000bigint:';

/**
 * Positions of integer tokens too long to be safe, found by a scan that skips string contents
 * (a digit run inside a string is text, not a number).
 */
function longIntegerTokens(text: string): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, honouring backslash escapes.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
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
        const d = text.charCodeAt(i);
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

function restoreBigints(value: unknown): unknown {
  if (typeof value === 'string') {
    if (!value.startsWith(BIGINT_TAG)) return value;
    const digits = value.slice(BIGINT_TAG.length);
    const number = Number(digits);
    return Number.isSafeInteger(number) ? number : BigInt(digits);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' || typeof item === 'string') value[i] = restoreBigints(item);
    }
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === 'object' || typeof item === 'string') record[key] = restoreBigints(item);
    }
  }
  return value;
}

/** Parses JSON text, keeping integers beyond 2^53 exact as `bigint`. */
export function parseExactJson(text: string): unknown {
  // Fast path: without a run of 16+ digits there is no integer JSON.parse could round.
  if (!LONG_DIGIT_RUN.test(text)) return JSON.parse(text);
  const tokens = longIntegerTokens(text);
  if (tokens.length === 0) return JSON.parse(text);
  const parts: string[] = [];
  let last = 0;
  for (const [start, end] of tokens) {
    parts.push(
      text.slice(last, start),
      `"${BIGINT_TAG.replace('\u0000', '\\u0000')}${text.slice(start, end)}"`,
    );
    last = end;
  }
  parts.push(text.slice(last));
  return restoreBigints(JSON.parse(parts.join('')));
}

// JSON.stringify escapes the NUL in the tag, so only a tagged bigint can produce this exact token.
const TAGGED_BIGINT = /"\\u0000bigint:(-?\d+)"/g;

/** Serialises a value to JSON; `bigint` becomes a bare integer. */
export function stringifyExactJson(value: unknown): string {
  // Fast path: JSON.stringify without a replacer is about twice as fast, and throws on a bigint.
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  let hasBigint = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    hasBigint = true;
    return `${BIGINT_TAG}${v}`;
  });
  return hasBigint ? text.replace(TAGGED_BIGINT, '$1') : text;
}

/** A JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
