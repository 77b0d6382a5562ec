/**
 * Values no store can hold, whatever their source (docs/design.md §9): the import readers refuse them
 * as record problems (formats/input-values.ts), and the PostgreSQL conversion checks them again
 * (stores/postgres/postgres-values.ts) for values that reach it another way.
 *
 * - **Nesting**: no array or object nested deeper than `MAX_VALUE_DEPTH` levels. AutoCognitix data is a
 *   few levels deep; a value thousands of levels deep overflows every recursive step it meets
 *   (`JSON.stringify`, the drivers).
 * - **Strings**: no lone UTF-16 surrogate (a JSON `"\ud800"` escape). It is half a character: UTF-8 has
 *   no encoding for it, so every store would be handed U+FFFD (or refuse the text) instead.
 *   Keys of JSON objects are strings too.
 *
 * The walk uses an explicit stack: no depth costs the caller its own stack.
 */

/** Deepest nesting of arrays and objects in one value (a record's field, a JSON cell). */
export const MAX_VALUE_DEPTH = 100;

export const TOO_DEEP = `nested deeper than ${MAX_VALUE_DEPTH} levels`;

export const isWellFormed = (text: string): boolean =>
  (text as string & { isWellFormed(): boolean }).isWellFormed();

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The reason a string is refused: the first lone surrogate, named by its code point. */
export function surrogateReason(text: string): string {
  const found = LONE_SURROGATE.exec(text);
  const code = (found?.[0] ?? '\ud800').charCodeAt(0).toString(16).toUpperCase();
  return `holds a lone UTF-16 surrogate (U+${code}, half a character; a "\\u${code.toLowerCase()}" escape?), which no store can hold as text`;
}

/** Why `value` cannot be imported (too deep, a lone surrogate in a string or key), or undefined. */
export function valueProblem(value: unknown): string | undefined {
  if (typeof value === 'string') return isWellFormed(value) ? undefined : surrogateReason(value);
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return undefined;
  const stack: Array<{ value: object; depth: number }> = [{ value, depth: 1 }];
  for (let top = stack.pop(); top; top = stack.pop()) {
    if (top.depth > MAX_VALUE_DEPTH) return TOO_DEEP;
    const isArray = Array.isArray(top.value);
    const items: unknown[] = isArray ? (top.value as unknown[]) : Object.values(top.value);
    if (!isArray) {
      for (const key of Object.keys(top.value))
        if (!isWellFormed(key)) return `a key ${surrogateReason(key)}`;
    }
    for (const item of items) {
      if (typeof item === 'string') {
        if (!isWellFormed(item)) return surrogateReason(item);
      } else if (typeof item === 'object' && item !== null && !Buffer.isBuffer(item)) {
        stack.push({ value: item, depth: top.depth + 1 });
      }
    }
  }
  return undefined;
}
