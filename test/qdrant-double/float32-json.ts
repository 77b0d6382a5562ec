/**
 * JSON as Qdrant writes it for float32 values: the shortest decimal that reads back as the same float32,
 * in the layout of Rust's `ryu` (`0.6`, `1.0`, `-0.0`, `1e-7`, `3.4028235e38`), which serde_json uses for
 * `f32`. Vectors are written straight from their Float32Array, without a generic stringify.
 */

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** 10^i for i in [-60, 60], each the double nearest to it. */
const POW10 = Array.from({ length: 121 }, (_, i) => Number(`1e${i - 60}`));
const pow10 = (e: number): number => POW10[e + 60]!;
/** Rounding error bound of the scaled arithmetic below (in units of the 9-digit scale, values < 1e9). */
const EPS = 1e-5;

/** Digits and decimal exponent of the shortest decimal in the rounding interval of a positive float32. */
export interface Shortest {
  digits: number;
  exponent: number;
}

/**
 * Exact, slow: BigInt comparisons against the rounding interval, for the rare cases the fast path cannot
 * decide within its error bound. Exported for the tests, which hold the fast path to it.
 */
export function exactShortestFloat32(a: number): Shortest {
  const { mantissa, exp2, lowerHalfGap } = decode(a);
  return exactShortest(a, BigInt(mantissa), exp2, lowerHalfGap);
}

function decode(a: number): { mantissa: number; exp2: number; lowerHalfGap: boolean } {
  F32[0] = a;
  const bits = U32[0]!;
  const ieeeMantissa = bits & 0x7fffff;
  const ieeeExponent = (bits >>> 23) & 0xff;
  return {
    mantissa: ieeeExponent === 0 ? ieeeMantissa : ieeeMantissa | 0x800000,
    exp2: ieeeExponent === 0 ? -149 : ieeeExponent - 150,
    // At a power of two (not the smallest normal) the float below is half as far away.
    lowerHalfGap: ieeeMantissa === 0 && ieeeExponent > 1,
  };
}

function exactShortest(a: number, mantissa: bigint, exp2: number, lowerHalfGap: boolean): Shortest {
  const inclusive = (mantissa & 1n) === 0n;
  // The interval in units of 2^(exp2 - 2): [4M - (lowerHalfGap ? 1 : 2), 4M + 2].
  const lo = 4n * mantissa - (lowerHalfGap ? 1n : 2n);
  const hi = 4n * mantissa + 2n;
  const center = 4n * mantissa;
  // d·10^k compared with n·2^(exp2-2): both scaled to integers.
  const scaled = (d: bigint, k: number): [bigint, bigint] => {
    const e2 = exp2 - 2;
    let left = d;
    let right = 1n;
    if (k >= 0) left *= 10n ** BigInt(k);
    else right *= 10n ** BigInt(-k);
    // compare left/right with n·2^e2 → left·2^-e2 with n·right
    if (e2 >= 0) right <<= BigInt(e2);
    else left <<= BigInt(-e2);
    return [left, right];
  };
  const inside = (d: bigint, k: number): boolean => {
    const [left, right] = scaled(d, k);
    const low = lo * right;
    const high = hi * right;
    return inclusive ? left >= low && left <= high : left > low && left < high;
  };
  // For one k the scale factor `right` is the same for every candidate: distances compare directly.
  const distance = (d: bigint, k: number): bigint => {
    const [left, right] = scaled(d, k);
    const diff = left - center * right;
    return diff < 0n ? -diff : diff;
  };
  for (let p = 1; p <= 9; p++) {
    const [mant, e] = a.toExponential(p - 1).split('e') as [string, string];
    const k = Number(e) - (p - 1);
    const nearest = BigInt(mant.replace('.', ''));
    const options = [nearest - 1n, nearest, nearest + 1n].filter((d) => d > 0n && inside(d, k));
    if (options.length === 0) continue;
    options.sort((x, y) => {
      const dx = distance(x, k);
      const dy = distance(y, k);
      return dx < dy ? -1 : dx > dy ? 1 : Number(x % 2n) - Number(y % 2n);
    });
    return normalise(Number(options[0]!), k);
  }
  throw new Error(`no decimal of 9 digits reads back as the float32 ${a}`);
}

function normalise(digits: number, exponent: number): Shortest {
  while (digits % 10 === 0) {
    digits /= 10;
    exponent++;
  }
  return { digits, exponent };
}

/** Digits and exponent of the shortest decimal that reads back as the positive float32 `a`. */
export function shortestFloat32(a: number): Shortest {
  const { mantissa, exp2, lowerHalfGap } = decode(a);
  // Rust's parser rounds half to even: the interval's ends belong to an even mantissa.
  const inclusive = (mantissa & 1) === 0;

  // Scale to nine digits: x = a·10^s in [1e8, 1e9), computed with a relative error below 2^-51.
  let s = 9 - (Math.floor(Math.log10(a)) + 1);
  let x = a * pow10(s);
  if (x < 1e8) x = a * pow10(++s);
  else if (x >= 1e9) x = a * pow10(--s);
  const gap = 2 ** (exp2 - 1) * pow10(s);
  const below = lowerHalfGap ? gap / 2 : gap;
  const above = gap;

  for (let p = 1, q = 1e8; p <= 9; p++, q /= 10) {
    let low = Math.floor(x / q) * q;
    if (x - low >= q) low += q;
    else if (x < low) low -= q;
    const high = low + q;
    const dLow = x - low;
    const dHigh = high - x;
    // Undecidable within the error bound (a candidate on a boundary, or two equally close): the exact
    // path answers.
    if (Math.abs(dLow - below) <= EPS || Math.abs(dHigh - above) <= EPS) {
      return exactShortest(a, BigInt(mantissa), exp2, lowerHalfGap);
    }
    const lowIn = low > 0 && (inclusive ? dLow <= below : dLow < below);
    const highIn = inclusive ? dHigh <= above : dHigh < above;
    if (!lowIn && !highIn) continue;
    if (lowIn && highIn && Math.abs(dLow - dHigh) <= EPS) {
      return exactShortest(a, BigInt(mantissa), exp2, lowerHalfGap);
    }
    const pick = lowIn && (!highIn || dLow < dHigh) ? low : high;
    return normalise(pick / q, 9 - p - s);
  }
  return exactShortest(a, BigInt(mantissa), exp2, lowerHalfGap);
}

/**
 * The shortest decimal that reads back as the float32 `f` (which must be one: `Math.fround(f) === f`),
 * laid out like Rust's `ryu` writes an `f32`; `null` for NaN and infinities, as serde_json writes them.
 */
export function formatFloat32(f: number): string {
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  if (!Number.isFinite(f)) return 'null';
  const negative = f < 0;
  const { digits, exponent: k } = shortestFloat32(negative ? -f : f);
  const text = String(digits);
  const length = text.length;
  const kk = length + k; // 10^(kk-1) <= |f| < 10^kk
  let out: string;
  if (k >= 0 && kk <= 13) out = `${text}${'0'.repeat(k)}.0`;
  else if (kk > 0 && kk <= 13) out = `${text.slice(0, kk)}.${text.slice(kk)}`;
  else if (kk > -6 && kk <= 0) out = `0.${'0'.repeat(-kk)}${text}`;
  else if (length === 1) out = `${text}e${kk - 1}`;
  else out = `${text[0]}.${text.slice(1)}e${kk - 1}`;
  return negative ? `-${out}` : out;
}

/** Float32 values (a dense vector, the values of a sparse one) that the writer prints as Qdrant does. */
export class Float32Values {
  readonly values: Float32Array;
  constructor(values: Float32Array) {
    this.values = values;
  }
}

/** `[v0,v1,…]` with every value in its shortest float32 form. */
export function formatFloat32List(values: ArrayLike<number>): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += formatFloat32(values[i]!);
  }
  return `${out}]`;
}

/**
 * JSON text of a response: like JSON.stringify (without `toJSON` methods, which parsed JSON never has),
 * but `bigint` is written as a bare integer and `Float32Values` in Qdrant's float32 form.
 */
export function writeJson(value: unknown): string {
  if (value instanceof Float32Values) return formatFloat32List(value.values);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined || typeof item === 'function' ? 'null' : writeJson(item);
    }
    return `${out}]`;
  }
  if (value !== null && typeof value === 'object') {
    let out = '{';
    let first = true;
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined || typeof item === 'function') continue;
      out += `${first ? '' : ','}${JSON.stringify(key)}:${writeJson(item)}`;
      first = false;
    }
    return `${out}}`;
  }
  return JSON.stringify(value);
}
