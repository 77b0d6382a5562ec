/**
 * Request bodies of the Qdrant double, parsed with u64 point ids kept exact like src/model/exact-json.ts
 * does, but scanned as bytes: upserts carry hundreds of thousands of vector components, and a loop over
 * a Buffer is several times faster than `charCodeAt` over the decoded text.
 */

const TAG = '\u0000bigint:';
const TAG_OPEN = Buffer.from('"\\u0000bigint:');
const QUOTE = Buffer.from('"');

/** [start, end) of every integer token of 16+ digits outside strings (positions in bytes). */
function longIntegerTokens(b: Uint8Array): number[] {
  const found: number[] = [];
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i]!;
    if (c === 0x22) {
      i++;
      while (i < n) {
        const d = b[i]!;
        if (d === 0x5c) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i++;
      let integer = true;
      while (i < n) {
        const d = b[i]!;
        if (d >= 0x30 && d <= 0x39) i++;
        else if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) {
          integer = false;
          i++;
        } else break;
      }
      if (integer && i - start >= 16) found.push(start, i);
    } else i++;
  }
  return found;
}

function restore(value: unknown): unknown {
  if (typeof value === 'string') {
    if (!value.startsWith(TAG)) return value;
    const digits = value.slice(TAG.length);
    const number = Number(digits);
    return Number.isSafeInteger(number) ? number : BigInt(digits);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' || typeof item === 'string') value[i] = restore(item);
    }
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === 'object' || typeof item === 'string') record[key] = restore(item);
    }
  }
  return value;
}

/** Parses a UTF-8 JSON body; integers beyond 2^53 become `bigint`, everything else is what JSON.parse gives. */
export function parseRequestJson(body: Buffer): unknown {
  const tokens = longIntegerTokens(body);
  if (tokens.length === 0) return JSON.parse(body.toString('utf8'));
  const pieces: Buffer[] = [];
  let last = 0;
  for (let t = 0; t < tokens.length; t += 2) {
    const start = tokens[t]!;
    const end = tokens[t + 1]!;
    pieces.push(body.subarray(last, start), TAG_OPEN, body.subarray(start, end), QUOTE);
    last = end;
  }
  pieces.push(body.subarray(last));
  return restore(JSON.parse(Buffer.concat(pieces).toString('utf8')));
}
