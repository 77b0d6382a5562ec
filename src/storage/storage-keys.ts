/**
 * The rules for keys, shared by every driver so that a key valid on one storage is valid on all of
 * them (a repository can be copied between drivers). A key is '/'-separated segments relative to the
 * storage root: never an OS path, never able to leave the root.
 */
import { StorageError, type StorageOperation } from './storage-error.ts';

/** S3's limit; the file system's own limit applies per segment. */
export const MAX_KEY_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;
/**
 * Segments starting with this are reserved for drivers' in-progress writes (local temp files): they are
 * never listed, and keys using them are rejected so no caller can collide with one.
 */
export const RESERVED_SEGMENT_PREFIX = '.tmp-';

// Control characters, backslashes (a Windows separator) and lone surrogates (not encodable as UTF-8).
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f\\]|[\uD800-\uDFFF]/u;

function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'empty segment (leading, trailing or doubled "/")';
  if (segment === '.' || segment === '..') return `"${segment}" segment`;
  if (segment.startsWith(RESERVED_SEGMENT_PREFIX))
    return `segment starting with "${RESERVED_SEGMENT_PREFIX}"`;
  if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return `segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}

function characterProblem(text: string): string | undefined {
  if (Buffer.byteLength(text) > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  const match = FORBIDDEN_CHARACTERS.exec(text);
  if (match)
    return `forbidden character U+${match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return undefined;
}

/** Why `key` is not a valid key, or undefined when it is. */
export function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key === '') return 'empty key';
  const problem = characterProblem(key);
  if (problem) return problem;
  for (const segment of key.split('/')) {
    const bad = segmentProblem(segment);
    if (bad) return bad;
  }
  return undefined;
}

/**
 * Why `prefix` is not a valid listing prefix, or undefined. '' is valid (everything). Complete segments
 * follow the key rules; the last may be partial ('snap') or empty (a trailing '/').
 */
export function prefixProblem(prefix: string): string | undefined {
  if (typeof prefix !== 'string') return 'not a string';
  if (prefix === '') return undefined;
  const problem = characterProblem(prefix);
  if (problem) return problem;
  const segments = prefix.split('/');
  for (const segment of segments.slice(0, -1)) {
    const bad = segmentProblem(segment);
    if (bad) return bad;
  }
  return undefined;
}

interface KeyContext {
  location: string;
  operation: StorageOperation;
}

/** Throws StorageError 'invalid-request' unless `key` is valid. */
export function assertKey(key: string, context: KeyContext): void {
  const problem = keyProblem(key);
  if (problem) {
    throw new StorageError(`invalid key: ${problem}`, {
      reason: 'invalid-request',
      key: String(key),
      ...context,
    });
  }
}

/** Throws StorageError 'invalid-request' unless `prefix` is a valid listing prefix. */
export function assertPrefix(prefix: string, context: KeyContext): void {
  const problem = prefixProblem(prefix);
  if (problem) {
    throw new StorageError(`invalid prefix: ${problem}`, {
      reason: 'invalid-request',
      key: String(prefix),
      ...context,
    });
  }
}

/**
 * The order of every listing: by the keys' UTF-8 bytes, as S3, GCS and Azure list. (JavaScript's `<`
 * compares UTF-16 units, which differs for characters above U+FFFF against U+E000–U+FFFF.)
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Joins key parts with '/', dropping empty parts and doubled separators: joinKey('a/', 'b') = 'a/b'. */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((part) => part.split('/'))
    .filter((segment) => segment !== '')
    .join('/');
}

/** Splits a prefix into its complete "directory" part ('' or ending in '/') and the partial rest. */
export function splitPrefix(prefix: string): { directory: string; partial: string } {
  const cut = prefix.lastIndexOf('/') + 1;
  return { directory: prefix.slice(0, cut), partial: prefix.slice(cut) };
}
