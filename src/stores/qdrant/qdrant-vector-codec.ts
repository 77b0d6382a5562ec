/**
 * Binary vectors in format-2 points files (docs/design.md §7.2, §11): the float32 components Qdrant
 * stores, little-endian, in base64, inside the same JSON line as format 1. Decimal text costs 2–3× the
 * bytes and most of the CPU of a backup; the binary form is exact by construction.
 *
 * - dense `[…]` → `{"$f32":"<base64>"}`
 * - multivector `[[…],…]` → `{"$f32m":{"dim":<n>,"data":"<base64 of every row, concatenated>"}}`
 * - sparse `{"indices":[…],"values":[…]}` → `{"indices":[…],"values":{"$f32":"<base64>"}}`
 * - named vectors (top level object, the default vector's name is `""`): each value as above.
 *
 * Which vectors are encoded: those whose every component is a number with a finite float32 rounding.
 * Qdrant holds float32, and reads a decimal as a double cast to float32 (serde's f32 from a JSON
 * number), which is `Math.fround`; the project's fingerprints compare vectors the same way. So the
 * binary form hands Qdrant the very float32 the decimal would, whether the server printed the float64
 * expansion (`0.6000000238418579`, the test double) or the shortest float32 form (`0.6`, Qdrant 1.18).
 * With `exactOnly`, only vectors whose components already are exact float32 are encoded, so the
 * decoded doubles are the very ones read. Any other vector (NaN, ±Infinity, an overflow, a non-number)
 * stays as it was, and `-0` keeps its sign.
 *
 * Decoding accepts both forms in every position, so it reads format-1 lines unchanged. A tag is
 * recognised only as the object's one member, with its shape (`$f32` holding a scalar, base64 text
 * when intact; `$f32m` an object with `dim` and `data`): a named vector called `$f32` always holds an
 * array or a vector object, so it cannot be mistaken for one.
 */
import { endianness } from 'node:os';
import { AcxError } from '../../errors.ts';
import { memberSpan } from './qdrant-json.ts';

const F32 = '$f32';
const F32M = '$f32m';
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

type Json = unknown;

// ------------------------------------------------------------------------------------ encode

export interface EncodeOptions {
  /**
   * Encode a vector only when every component is exactly a float32 (`Math.fround(v) === v`); default
   * false: when every component's float32 rounding is finite (see above).
   */
  exactOnly?: boolean;
}

/** The components as float32, or undefined when one cannot be encoded (see `EncodeOptions`). */
function float32Of(
  values: ArrayLike<unknown>,
  exactOnly: boolean,
  into?: Float32Array,
  at = 0,
): Float32Array | undefined {
  const out = into ?? new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number') return undefined;
    out[at + i] = v;
    const f = out[at + i]!;
    // NaN and ±Infinity (or an overflow to it) are never finite; `exactOnly` also wants no rounding.
    if (exactOnly ? f !== v || !Number.isFinite(v) : !Number.isFinite(f)) return undefined;
  }
  return out;
}

/** float32 little-endian bytes in base64, without per-component string work. */
function base64Of(values: Float32Array): string {
  if (LITTLE_ENDIAN_HOST)
    return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
  const bytes = Buffer.allocUnsafe(values.length * 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes.toString('base64');
}

/** A list of components: a JSON array, or the Float64Array a typed scroll page reads (qdrant-scroll-page.ts). */
type Components = readonly unknown[] | Float64Array;

const isComponents = (value: Json): value is Components =>
  Array.isArray(value) || value instanceof Float64Array;

/** What is written when a vector stays as it was: Float64Arrays become the arrays of numbers they hold. */
function plain(value: Json): Json {
  if (value instanceof Float64Array) return Array.from(value);
  if (Array.isArray(value)) return value.some(needsPlain) ? value.map(plain) : value;
  if (isObject(value) && Object.values(value).some(needsPlain)) {
    const out: Record<string, Json> = {};
    for (const key of Object.keys(value)) out[key] = plain(value[key]);
    return out;
  }
  return value;
}

function needsPlain(value: Json): boolean {
  if (value instanceof Float64Array) return true;
  if (Array.isArray(value)) return value.some(needsPlain);
  return isObject(value) && Object.values(value).some(needsPlain);
}

/**
 * float32 components before they become text (base64 here, hex in qdrant-fingerprint.ts), reused: each
 * caller takes its text before the next vector is converted.
 */
let encodeScratch = new Float32Array(1024);

export function float32Scratch(length: number): Float32Array {
  if (encodeScratch.length < length)
    encodeScratch = new Float32Array(Math.max(length, 2 * encodeScratch.length));
  return encodeScratch.subarray(0, length);
}

function encodeDense(vector: Components, exactOnly: boolean): Json {
  const values = vector.length > 0 ? float32Of(vector, exactOnly, float32Scratch(vector.length)) : undefined;
  return values ? { [F32]: base64Of(values) } : plain(vector);
}

function encodeMulti(rows: readonly unknown[], exactOnly: boolean): Json {
  const first = rows[0] as Components;
  const dim = first.length;
  if (dim === 0) return plain(rows);
  const all = float32Scratch(rows.length * dim);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!isComponents(row) || row.length !== dim || !float32Of(row, exactOnly, all, r * dim))
      return plain(rows);
  }
  return { [F32M]: { dim, data: base64Of(all) } };
}

/** One vector in any position: dense or multivector array, or (not at the top) a sparse vector. */
function encodeOne(vector: Json, nested: boolean, exactOnly: boolean): Json {
  if (vector instanceof Float64Array) return encodeDense(vector, exactOnly);
  if (Array.isArray(vector)) {
    if (vector.length > 0 && isComponents(vector[0])) return encodeMulti(vector, exactOnly);
    return encodeDense(vector, exactOnly);
  }
  if (nested && isObject(vector) && Array.isArray(vector.indices) && isComponents(vector.values)) {
    const values = encodeDense(vector.values, exactOnly);
    return values === vector.values ? vector : plain({ ...vector, values });
  }
  return plain(vector);
}

/**
 * A point's `vector` (Qdrant's `VectorStruct`) with every vector that can be encoded (see
 * `EncodeOptions`) in binary form. Anything else is returned as it is, as JSON arrays where a typed
 * scroll page held Float64Arrays (so both readings of a page give the same line).
 */
export function encodeVectors(vector: Json, options: EncodeOptions = {}): Json {
  const exactOnly = options.exactOnly ?? false;
  if (!isObject(vector)) return encodeOne(vector, false, exactOnly);
  const out: Record<string, Json> = {};
  for (const name of Object.keys(vector)) out[name] = encodeOne(vector[name], true, exactOnly);
  return out;
}

// ------------------------------------------------------------------------------------ decode

/** Which point a decode error names (a file, a line, an id), and the collection as the error's subject. */
export interface VectorSource {
  /** e.g. `qdrant/c/points.jsonl.zst line 12 (point 42)`. */
  where: string;
  subject?: string;
}

function corrupt(source: VectorSource, problem: string): AcxError {
  return new AcxError('INTEGRITY', `${source.where}: ${problem}`, {
    subject: source.subject,
    hint: 'the points file is damaged: run --verify on the snapshot, or restore another snapshot',
  });
}

/** The bytes of a base64 string written by `base64Of`: padded, nothing but the alphabet, whole floats. */
function bytesOf(text: unknown, source: VectorSource): Buffer {
  if (typeof text !== 'string')
    throw corrupt(source, `a binary vector holds ${typeof text}, not base64 text`);
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(text, 'base64');
  // Node skips characters outside the alphabet: a damaged character shows up as a missing byte.
  if (text.length % 4 !== 0 || bytes.length !== (text.length / 4) * 3 - padding) {
    throw corrupt(source, `a binary vector is not valid base64 (${text.length} characters)`);
  }
  if (bytes.length % 4 !== 0) {
    throw corrupt(source, `a binary vector holds ${bytes.length} bytes, not a whole number of float32`);
  }
  return bytes;
}

/** float32 little-endian bytes as numbers, read from an aligned copy. */
function floatsOf(bytes: Buffer): Float32Array {
  const values = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(values.buffer).set(bytes);
    return values;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  return values;
}

/** `{"$f32": <not an array or object>}`: a named vector called `$f32` holds an array or an object. */
function isF32(value: Json): value is { [F32]: unknown } {
  if (!isObject(value) || !(F32 in value) || Object.keys(value).length !== 1) return false;
  const body = value[F32];
  return typeof body !== 'object' || body === null;
}

function isF32M(value: Json): value is { [F32M]: { dim: unknown; data: unknown } } {
  if (!isObject(value) || Object.keys(value).length !== 1) return false;
  const body = value[F32M];
  return isObject(body) && 'dim' in body && 'data' in body;
}

/** What a decoded dense vector becomes: numbers for readers, the typed array for `decodePointLine`. */
type Finish = (values: Float32Array) => Json;
const asNumbers: Finish = (values) => Array.from(values);

function decodeMulti(body: { dim: unknown; data: unknown }, source: VectorSource, finish: Finish): Json[] {
  const { dim } = body;
  if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim <= 0) {
    throw corrupt(source, `a binary multivector has dim ${String(dim)}`);
  }
  const values = floatsOf(bytesOf(body.data, source));
  if (values.length % dim !== 0) {
    throw corrupt(source, `a binary multivector holds ${values.length} components, not rows of ${dim}`);
  }
  const rows: Json[] = [];
  for (let at = 0; at < values.length; at += dim) rows.push(finish(values.subarray(at, at + dim)));
  return rows;
}

function decodeOne(vector: Json, source: VectorSource, finish: Finish): Json {
  if (isF32(vector)) return finish(floatsOf(bytesOf(vector[F32], source)));
  if (isF32M(vector)) return decodeMulti(vector[F32M], source, finish);
  if (isObject(vector) && Array.isArray(vector.indices) && isF32(vector.values)) {
    return { ...vector, values: decodeOne(vector.values, source, finish) };
  }
  return vector;
}

function decodeWith(vector: Json, source: VectorSource, finish: Finish): Json {
  if (!isObject(vector) || isF32(vector) || isF32M(vector)) return decodeOne(vector, source, finish);
  const out: Record<string, Json> = {};
  for (const name of Object.keys(vector)) out[name] = decodeOne(vector[name], source, finish);
  return out;
}

/**
 * A point's `vector` in either form with every binary vector as numbers (the float32 values as
 * doubles). INTEGRITY naming `source` when a binary vector is damaged.
 */
export function decodeVectors(vector: Json, source: VectorSource): Json {
  return decodeWith(vector, source, asNumbers);
}

// ------------------------------------------------------------------------------------ lines

/**
 * A `points.jsonl` line made ready for Qdrant's upsert: binary vectors become JSON numbers, and every
 * other byte of the line (the id, the payload with its integer/float distinctions) stays as written.
 * A line without a binary vector is returned as it is.
 */
export function decodePointLine(line: string, source: VectorSource): string {
  if (!line.includes('"$f32')) return line;
  const span = memberSpan(line, 'vector');
  if (!span) return line;
  const [start, end] = span;
  const where = (): VectorSource => ({ ...source, where: `${source.where} (point ${pointIdText(line)})` });
  let vector: Json;
  try {
    vector = JSON.parse(line.slice(start, end));
  } catch (error) {
    throw corrupt(where(), `the vector is not JSON (${(error as Error).message})`);
  }
  let found = false;
  const decoded = decodeWith(vector, where(), (values) => {
    found = true;
    return values;
  });
  // "$f32" was text elsewhere (a payload, a vector's name): the line stays byte for byte.
  if (!found) return line;
  return line.slice(0, start) + vectorText(decoded) + line.slice(end);
}

/** JSON of decoded vectors; `-0` is written as `-0.0` (JSON.stringify would drop its sign). */
function vectorText(value: Json): string {
  if (value instanceof Float32Array) return float32Text(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0.0' : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(vectorText).join(',')}]`;
  if (!isObject(value)) return JSON.stringify(value);
  return `{${Object.keys(value)
    .map((k) => `${JSON.stringify(k)}:${vectorText(value[k])}`)
    .join(',')}}`;
}

/** The point's id as written, for messages. */
function pointIdText(line: string): string {
  const span = memberSpan(line, 'id');
  return span ? line.slice(span[0], span[1]) : '(no id)';
}

// JSON's number text for float32, written as bytes: a 9-digit integer mantissa and a decimal exponent
// always reads back as the same float32 (9 significant digits suffice for any float32, and Qdrant
// reads the decimal as a double cast to float32), and costs a third of JSON.stringify's shortest
// double form, which is the most of a format-2 restore's CPU.
const POWERS_OF_TEN = Float64Array.from({ length: 120 }, (_, i) => 10 ** (i - 60));
const LOG10_2 = Math.log10(2);
// `,` `-` 10 digits `e` `-` 2 digits; JSON.stringify of a subnormal takes up to 23 (`-1.1754942106924411e-38`).
const BYTES_PER_COMPONENT = 24;

/**
 * The bytes float32Text writes into, reused (grown when a vector needs more): a plain Uint8Array,
 * whose element stores V8 compiles tighter than a Buffer's, with a Buffer view for the text.
 */
let textBytes = new Uint8Array(1 << 16);
let textBuffer = Buffer.from(textBytes.buffer);
// Every byte written is ASCII, which windows-1252 (the WHATWG "latin1") maps to itself; faster here
// than Buffer's latin1 toString.
const ASCII = new TextDecoder('latin1');

/** `[…]` for a float32 array: see above. Zero, subnormals (and NaN, ±Infinity) take JSON.stringify. */
export function float32Text(values: Float32Array): string {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  if (textBytes.length < values.length * BYTES_PER_COMPONENT + 2) {
    textBytes = new Uint8Array(values.length * BYTES_PER_COMPONENT + 2);
    textBuffer = Buffer.from(textBytes.buffer);
  }
  const out = textBytes;
  let at = 0;
  out[at++] = 0x5b;
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out[at++] = 0x2c;
    const v = values[i]!;
    const exponent = (bits[i]! >>> 23) & 0xff;
    if (exponent === 0 || exponent === 0xff) {
      at += textBuffer.write(Object.is(v, -0) ? '-0.0' : JSON.stringify(v), at, 'latin1');
      continue;
    }
    if (v < 0) out[at++] = 0x2d;
    at = writeScaled(out, at, v < 0 ? -v : v, 8 - Math.floor((exponent - 127) * LOG10_2));
  }
  out[at++] = 0x5d;
  return ASCII.decode(textBytes.subarray(0, at));
}

/** "00" … "99" as bytes: two digits per table read. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) =>
  i % 2 === 0 ? 0x30 + Math.floor(i / 20) : 0x30 + (((i - 1) / 2) % 10),
);

/** Writes `a` (positive, normal) as `<9 or 10 digits>e<exponent>`, first trying 10^scale. */
function writeScaled(out: Uint8Array, at: number, a: number, scale: number): number {
  let mantissa = Math.round(a * POWERS_OF_TEN[scale + 60]!);
  // The binary exponent's estimate is at most one decade low; rounding may reach the next decade.
  if (mantissa < 1e8) mantissa = Math.round(a * POWERS_OF_TEN[++scale + 60]!);
  else if (mantissa >= 1e10) mantissa = Math.round(a * POWERS_OF_TEN[--scale + 60]!);
  // Below 10^10: two halves of five digits each, in 32-bit integer arithmetic, two digits a step.
  const high = Math.floor(mantissa / 100_000);
  const low = mantissa - high * 100_000;
  let top = high;
  if (high >= 10_000) {
    const first = (high / 10_000) | 0;
    out[at++] = 0x30 + first;
    top = high - first * 10_000;
  }
  let pair = (top / 100) | 0;
  let rest = top - pair * 100;
  out[at] = DIGIT_PAIRS[2 * pair]!;
  out[at + 1] = DIGIT_PAIRS[2 * pair + 1]!;
  out[at + 2] = DIGIT_PAIRS[2 * rest]!;
  out[at + 3] = DIGIT_PAIRS[2 * rest + 1]!;
  const first = (low / 10_000) | 0;
  out[at + 4] = 0x30 + first;
  const bottom = low - first * 10_000;
  pair = (bottom / 100) | 0;
  rest = bottom - pair * 100;
  out[at + 5] = DIGIT_PAIRS[2 * pair]!;
  out[at + 6] = DIGIT_PAIRS[2 * pair + 1]!;
  out[at + 7] = DIGIT_PAIRS[2 * rest]!;
  out[at + 8] = DIGIT_PAIRS[2 * rest + 1]!;
  at += 9;
  out[at++] = 0x65;
  let exponent = -scale;
  if (exponent < 0) {
    out[at++] = 0x2d;
    exponent = -exponent;
  }
  if (exponent >= 10) {
    const tens = (exponent / 10) | 0;
    out[at++] = 0x30 + tens;
    exponent -= tens * 10;
  }
  out[at++] = 0x30 + exponent;
  return at;
}

function isObject(value: Json): value is Record<string, Json> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Float64Array)
  );
}
