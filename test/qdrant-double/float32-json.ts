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

/** 2^e for e in [-152, 130]. */
const POW2 = Array.from({ length: 283 }, (_, i) => 2 ** (i - 152));

// The fast path's answer, in module variables: it runs once per vector component and allocates nothing.
let foundDigits = 0;
let foundExponent = 0;

/**
 * Sets `foundDigits`·10^`foundExponent` to the shortest decimal that reads back as the positive float32
 * `a` (the closest one when several have as few digits). Scaled double arithmetic decides, with an
 * error bound far below the float32 spacing; where a decision is within that bound of going the other
 * way (an interval end on a candidate, two candidates equally close) the exact BigInt path decides.
 */
function findShortest(a: number): void {
  F32[0] = a;
  const bits = U32[0]!;
  const ieeeMantissa = bits & 0x7fffff;
  const ieeeExponent = (bits >>> 23) & 0xff;
  const exp2 = ieeeExponent === 0 ? -149 : ieeeExponent - 150;

  // x = a·10^s in [1e8, 1e9) with a relative error below 2^-51 (so an absolute one below 1e-6).
  let s = 8 - Math.floor(Math.log10(a));
  let x = a * pow10(s);
  if (x < 1e8) x = a * pow10(++s);
  else if (x >= 1e9) x = a * pow10(--s);
  // The reals that round to a: [x - below, x + gap], ends included for an even mantissa.
  const gap = POW2[exp2 - 1 + 152]! * pow10(s);
  const lo = x - (ieeeMantissa === 0 && ieeeExponent > 1 ? gap / 2 : gap);
  const hi = x + gap;
  const loFraction = lo - Math.floor(lo);
  const hiFraction = hi - Math.floor(hi);
  if (loFraction <= EPS || loFraction >= 1 - EPS || hiFraction <= EPS || hiFraction >= 1 - EPS) {
    exact(a);
    return;
  }
  // Every candidate of at most nine digits is an integer in [low, high] at this scale.
  const low = Math.ceil(lo);
  const high = Math.floor(hi);
  let q = 1e8;
  let j = 8;
  while (j > 0 && Math.floor(high / q) * q < low) {
    q /= 10;
    j--;
  }
  // The multiples of q in [low, high]: the one closest to x.
  const below = Math.floor(x / q) * q;
  const above = below + q;
  const belowIn = below >= low;
  const aboveIn = above <= high;
  let pick: number;
  if (belowIn && aboveIn) {
    const dBelow = x - below;
    const dAbove = above - x;
    if (Math.abs(dBelow - dAbove) <= EPS) {
      exact(a);
      return;
    }
    pick = dBelow < dAbove ? below : above;
  } else if (belowIn) pick = below;
  else if (aboveIn) pick = above;
  else {
    exact(a);
    return;
  }
  let digits = pick / q;
  let exponent = j - s;
  while (digits % 10 === 0) {
    digits /= 10;
    exponent++;
  }
  foundDigits = digits;
  foundExponent = exponent;
}

function exact(a: number): void {
  const { digits, exponent } = exactShortestFloat32(a);
  foundDigits = digits;
  foundExponent = exponent;
}

/** Digits and exponent of the shortest decimal that reads back as the positive float32 `a`. */
export function shortestFloat32(a: number): Shortest {
  findShortest(a);
  return { digits: foundDigits, exponent: foundExponent };
}

/** Decimal digits of a positive integer below 10^10. */
function digitCount(n: number): number {
  if (n < 1e5) return n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : n < 1e4 ? 4 : 5;
  return n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
}

/** A growable byte buffer that JSON is written into. */
export class JsonBytes {
  buffer: Buffer;
  length = 0;
  private readonly scratch = new Uint8Array(10);

  constructor(capacity = 1 << 16) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  /** Any text (UTF-8). */
  text(value: string): void {
    this.ensure(value.length * 3);
    this.length += this.buffer.write(value, this.length, 'utf8');
  }

  byte(code: number): void {
    this.ensure(1);
    this.buffer[this.length++] = code;
  }

  /** The float32 `f` as ryu writes it; `null` for NaN and infinities. At most 16 bytes. */
  float32(f: number): void {
    this.ensure(16);
    const b = this.buffer;
    let at = this.length;
    if (f === 0) {
      if (Object.is(f, -0)) b[at++] = 0x2d;
      b[at++] = 0x30;
      b[at++] = 0x2e;
      b[at++] = 0x30;
      this.length = at;
      return;
    }
    if (f !== f || f === Infinity || f === -Infinity) {
      this.length += b.write('null', at, 'latin1');
      return;
    }
    if (f < 0) {
      b[at++] = 0x2d;
      f = -f;
    }
    findShortest(f);
    // Digits into scratch, most significant first.
    const scratch = this.scratch;
    let digits = foundDigits;
    const n = digitCount(digits);
    for (let i = n - 1; i >= 0; i--) {
      const next = Math.floor(digits / 10);
      scratch[i] = 0x30 + digits - next * 10;
      digits = next;
    }
    const k = foundExponent;
    const kk = n + k; // 10^(kk-1) <= f < 10^kk
    if (k >= 0 && kk <= 13) {
      for (let i = 0; i < n; i++) b[at++] = scratch[i]!;
      for (let i = 0; i < k; i++) b[at++] = 0x30;
      b[at++] = 0x2e;
      b[at++] = 0x30;
    } else if (kk > 0 && kk <= 13) {
      for (let i = 0; i < kk; i++) b[at++] = scratch[i]!;
      b[at++] = 0x2e;
      for (let i = kk; i < n; i++) b[at++] = scratch[i]!;
    } else if (kk > -6 && kk <= 0) {
      b[at++] = 0x30;
      b[at++] = 0x2e;
      for (let i = 0; i < -kk; i++) b[at++] = 0x30;
      for (let i = 0; i < n; i++) b[at++] = scratch[i]!;
    } else {
      b[at++] = scratch[0]!;
      if (n > 1) {
        b[at++] = 0x2e;
        for (let i = 1; i < n; i++) b[at++] = scratch[i]!;
      }
      b[at++] = 0x65;
      at += b.write(String(kk - 1), at, 'latin1');
    }
    this.length = at;
  }

  /** `[v0,v1,…]`, every value as `float32` writes it. */
  float32List(values: ArrayLike<number>): void {
    this.byte(0x5b);
    for (let i = 0; i < values.length; i++) {
      if (i > 0) this.byte(0x2c);
      this.float32(values[i]!);
    }
    this.byte(0x5d);
  }

  /**
   * A JSON value: like JSON.stringify (without `toJSON` methods, which parsed JSON never has), but a
   * `bigint` as a bare integer and `Float32Values` in Qdrant's float32 form.
   */
  value(value: unknown): void {
    if (value instanceof Float32Values) this.float32List(value.values);
    else if (typeof value === 'bigint') this.text(value.toString());
    else if (Array.isArray(value)) {
      this.byte(0x5b);
      for (let i = 0; i < value.length; i++) {
        if (i > 0) this.byte(0x2c);
        const item: unknown = value[i];
        if (item === undefined || typeof item === 'function') this.text('null');
        else this.value(item);
      }
      this.byte(0x5d);
    } else if (value !== null && typeof value === 'object') {
      this.byte(0x7b);
      let first = true;
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function') continue;
        if (!first) this.byte(0x2c);
        first = false;
        this.text(JSON.stringify(key));
        this.byte(0x3a);
        this.value(item);
      }
      this.byte(0x7d);
    } else this.text(JSON.stringify(value));
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/**
 * The shortest decimal that reads back as the float32 `f` (which must be one: `Math.fround(f) === f`),
 * laid out like Rust's `ryu` writes an `f32`; `null` for NaN and infinities, as serde_json writes them.
 */
export function formatFloat32(f: number): string {
  const out = new JsonBytes(16);
  out.float32(f);
  return out.bytes().toString('latin1');
}

/** Float32 values (a dense vector, the values of a sparse one) that the writer prints as Qdrant does. */
export class Float32Values {
  readonly values: Float32Array;
  constructor(values: Float32Array) {
    this.values = values;
  }
}

/** JSON bytes of a response; see `JsonBytes.value`. */
export function writeJson(value: unknown): Buffer {
  const out = new JsonBytes();
  out.value(value);
  return out.bytes();
}
