/**
 * Content-defined chunking for the format-2 repository: FastCDC with normalized chunking (level 2) over
 * a keyed gear table (docs/design.md §11, docs/decisions/0012-hand-written-fastcdc.md).
 *
 * The cut rule, for a chunk starting at offset s with n bytes left in the stream:
 * - n <= minSize: the rest is one chunk;
 * - otherwise h = 0 (uint32), and for i from s+minSize to min(s+maxSize, s+n)-1:
 *   h = ((h << 1) + gear[byte[i]]) >>> 0; with bits = log2(avgSize), maskS = the top bits+2 bits of a
 *   uint32, maskL = the top bits-2 bits: while i - s < avgSize cut when (h & maskS) === 0, after it when
 *   (h & maskL) === 0. A cut after byte i makes the chunk [s, i+1);
 * - no cut found: the chunk is min(maxSize, n) bytes.
 * The last chunk of a stream is whatever remains (possibly < minSize); an empty stream has no chunk.
 *
 * Whether a cut exists at i depends only on the bytes from s+minSize to i, so a streaming chunker that
 * keeps h across pieces cuts at the same places however the stream is split into pieces.
 */
import { createHash } from 'node:crypto';
import { AcxError } from '../../errors.ts';

export interface ChunkerParams {
  /** No chunk but a stream's last is shorter. */
  minSize: number;
  /** The target mean; a power of two. */
  avgSize: number;
  /** No chunk is longer. */
  maxSize: number;
}

/** 2 KiB / 8 KiB / 64 KiB: records are 200 B to 5 KB, so one changed record touches one or two chunks. */
export const DEFAULT_CHUNKER: ChunkerParams = { minSize: 2048, avgSize: 8192, maxSize: 65536 };

/** Chunks of a single Buffer are views into it: a chunk that size costs nothing, a limit keeps it sane. */
const MAX_CHUNK_LIMIT = 1 << 30;

/** gear[i] = first 4 bytes (read as uint32 little-endian) of SHA-256(seed || one byte i), i = 0..255. */
export function gearTable(seed: Buffer): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    table[i] = createHash('sha256').update(seed).update(Buffer.of(i)).digest().readUInt32LE(0);
  }
  return table;
}

/** Throws INTERNAL: the repository config that carries these is validated before it gets here. */
function checkParams(params: ChunkerParams): number {
  const { minSize, avgSize, maxSize } = params;
  const bits = Math.log2(avgSize);
  const valid =
    [minSize, avgSize, maxSize].every((v) => Number.isSafeInteger(v)) &&
    minSize >= 1 &&
    minSize < avgSize &&
    avgSize < maxSize &&
    maxSize <= MAX_CHUNK_LIMIT &&
    Number.isInteger(bits) &&
    bits >= 3 &&
    bits <= 30;
  if (!valid) {
    throw new AcxError(
      'INTERNAL',
      `invalid chunker parameters min ${minSize}, avg ${avgSize}, max ${maxSize}: ` +
        'need integers 1 <= min < avg < max <= 2^30 with avg a power of two from 8 to 2^30',
      { subject: 'chunker', hint: 'the repository config should have been rejected before this' },
    );
  }
  return bits;
}

/** The top `count` bits of a 32-bit word, as an int32 (only ever compared with 0). */
const topBits = (count: number): number => (-1 << (32 - count)) | 0;

/**
 * Push-style chunker: feed pieces of any size, get whole chunks back.
 *
 * A returned chunk is a view into the pushed Buffer when it lies inside one push, and a fresh copy when
 * it spans pushes; pieces of an unfinished chunk are kept by reference until it is cut. So the caller
 * must not change a Buffer after pushing it (Node streams never do), and may keep every chunk.
 */
export class Chunker {
  private readonly minSize: number;
  private readonly avgSize: number;
  private readonly maxSize: number;
  private readonly maskS: number;
  private readonly maskL: number;
  /** The gear table as int32: the loop's arithmetic stays in small integers. */
  private readonly gear: Int32Array;
  private pending: Buffer[] = [];
  /** Bytes of the current chunk held in `pending`, all of them already scanned. */
  private pendingLength = 0;
  private hash = 0;

  constructor(params: ChunkerParams, seed: Buffer) {
    const bits = checkParams(params);
    this.minSize = params.minSize;
    this.avgSize = params.avgSize;
    this.maxSize = params.maxSize;
    this.maskS = topBits(bits + 2);
    this.maskL = topBits(bits - 2);
    this.gear = new Int32Array(gearTable(seed).buffer);
  }

  /** The chunks completed by `data`, in order; the bytes after the last cut wait for the next push. */
  push(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const length = data.length;
    const { minSize, avgSize, maxSize, maskS, maskL, gear } = this;
    let h = this.hash;
    let start = 0; // where the current chunk's bytes begin in `data`
    let base = this.pendingLength; // chunk offset of data[0]: offset(i) = i + base
    let i = 0;
    for (;;) {
      if (i < minSize - base) i = minSize - base;
      if (i >= length) break;
      let cut = -1; // exclusive end, in `data`, of the chunk found
      const smallEnd = Math.min(avgSize - base, length);
      for (; i < smallEnd; i++) {
        h = ((h << 1) + gear[data[i]!]!) | 0;
        if ((h & maskS) === 0) {
          cut = i + 1;
          break;
        }
      }
      if (cut < 0) {
        const largeEnd = Math.min(maxSize - base, length);
        for (; i < largeEnd; i++) {
          h = ((h << 1) + gear[data[i]!]!) | 0;
          if ((h & maskL) === 0) {
            cut = i + 1;
            break;
          }
        }
        if (cut < 0 && i === maxSize - base) cut = i;
      }
      if (cut < 0) break;
      out.push(this.takeChunk(data, start, cut));
      start = cut;
      i = cut;
      base = -cut;
      h = 0;
    }
    if (start < length) {
      this.pending.push(start === 0 ? data : data.subarray(start));
      this.pendingLength += length - start;
    }
    this.hash = h;
    return out;
  }

  /** The stream's last chunk (whatever remains, possibly under minSize), or undefined when nothing does. */
  finish(): Buffer | undefined {
    const rest = this.pendingLength === 0 ? undefined : this.joinPending();
    this.pending = [];
    this.pendingLength = 0;
    this.hash = 0;
    return rest;
  }

  private takeChunk(data: Buffer, start: number, end: number): Buffer {
    if (this.pendingLength === 0) return data.subarray(start, end);
    // A chunk that spans pushes: its only copy (start is 0 here, the chunk began in an earlier push).
    this.pending.push(data.subarray(0, end));
    this.pendingLength += end;
    const chunk = this.joinPending();
    this.pending = [];
    this.pendingLength = 0;
    return chunk;
  }

  private joinPending(): Buffer {
    const [only] = this.pending;
    return this.pending.length === 1 && only ? only : Buffer.concat(this.pending, this.pendingLength);
  }
}

/**
 * Splits a byte stream into chunks; pieces of any size in, whole chunks out (Buffers the caller may keep).
 * As with `Chunker.push`, a chunk may be a view of a source Buffer: the source must not reuse its Buffers,
 * and a kept chunk keeps the Buffer it came from alive.
 */
export async function* chunkStream(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  params: ChunkerParams,
  seed: Buffer,
): AsyncGenerator<Buffer> {
  const chunker = new Chunker(params, seed);
  for await (const piece of source) {
    const data =
      typeof piece === 'string'
        ? Buffer.from(piece, 'utf8')
        : Buffer.isBuffer(piece)
          ? piece
          : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (data.length > 0) yield* chunker.push(data);
  }
  const last = chunker.finish();
  if (last) yield last;
}
