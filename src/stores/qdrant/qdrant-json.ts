/** Qdrant's REST API speaks JSON with u64 point ids: parsed and written exactly (see model/exact-json.ts). */
export {
  parseExactJson as parseQdrantJson,
  stringifyExactJson as stringifyQdrantJson,
} from '../../model/exact-json.ts';

/**
 * `before + parts.join(between) + after` in UTF-8, written part by part into one Buffer of exactly that
 * size: a page of points or an upsert body is megabytes, and the joined string would be allocated in
 * V8's large-object space (the old generation) every time. The Buffer is not pooled, so a view of it
 * keeps only these bytes alive.
 */
export function joinToBuffer(parts: readonly string[], between: string, before = '', after = ''): Buffer {
  let size = Buffer.byteLength(before) + Buffer.byteLength(after);
  size += Math.max(0, parts.length - 1) * Buffer.byteLength(between);
  for (const part of parts) size += Buffer.byteLength(part);
  const out = Buffer.allocUnsafeSlow(size);
  let at = out.write(before, 0);
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) at += out.write(between, at);
    at += out.write(parts[i]!, at);
  }
  out.write(after, at);
  return out;
}

/** Where the value of a top-level member of a JSON object text starts and ends, or undefined. */
export function memberSpan(text: string, key: string): [number, number] | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return undefined;
  i = skipSpace(text, i + 1);
  while (text[i] === '"') {
    const keyEnd = skipString(text, i);
    const name = text.slice(i, keyEnd);
    i = skipSpace(text, keyEnd);
    if (text[i] !== ':') return undefined;
    const start = skipSpace(text, i + 1);
    const end = skipValue(text, start);
    if (name === `"${key}"`) return [start, end];
    i = skipSpace(text, end);
    if (text[i] !== ',') return undefined;
    i = skipSpace(text, i + 1);
  }
  return undefined;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  return i;
}

/**
 * The index after the string starting at `i` (a quote), honouring backslash escapes: the next quote
 * by `indexOf` (a point's base64 vector is thousands of characters), unless an odd run of backslashes
 * escapes it.
 */
function skipString(text: string, i: number): number {
  for (;;) {
    const quote = text.indexOf('"', i + 1);
    if (quote === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    i = quote;
  }
}

/** The index after the JSON value starting at `i`: strings and nesting are followed, scalars run to a delimiter. */
function skipValue(text: string, i: number): number {
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = skipString(text, i) - 1;
      if (depth === 0) return i + 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return i;
      if (--depth === 0) return i + 1;
    } else if (depth === 0 && c === 0x2c) return i;
  }
  return i;
}
