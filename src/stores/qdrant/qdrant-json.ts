/**
 * JSON for Qdrant's REST API without losing point ids. Qdrant ids are unsigned 64-bit integers, and
 * AutoCognitix's ids use 63 bits: `JSON.parse` would round them to the nearest double. Integers outside
 * the safe range are read as `bigint`; everything else is a plain number. `bigint` values are written as
 * bare JSON integers.
 */
import { parse } from 'lossless-json';

const UNSAFE_INTEGER_HINT = /\d{16,}/;

function parseNumber(text: string): number | bigint {
  if (/^-?\d+$/.test(text)) {
    const value = Number(text);
    return Number.isSafeInteger(value) ? value : BigInt(text);
  }
  return Number(text);
}

/** Parses JSON text, keeping integers beyond 2^53 exact as `bigint`. */
export function parseQdrantJson(text: string): unknown {
  // Fast path: without a run of 16+ digits there is no integer JSON.parse could round.
  if (!UNSAFE_INTEGER_HINT.test(text)) return JSON.parse(text);
  return parse(text, null, parseNumber);
}

const BIGINT_TAG = '\u0000bigint:';
// JSON.stringify escapes the NUL in the tag, so only a tagged bigint can produce this exact token.
const TAGGED_BIGINT = /"\\u0000bigint:(\d+)"/g;

/** Serialises a value to JSON; `bigint` becomes a bare integer. */
export function stringifyQdrantJson(value: unknown): string {
  let hasBigint = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    hasBigint = true;
    return `${BIGINT_TAG}${v}`;
  });
  return hasBigint ? text.replace(TAGGED_BIGINT, '$1') : text;
}
