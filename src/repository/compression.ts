/**
 * Whole-file compression of snapshot data files: zstd (default) or gzip, both always readable. Node 20's
 * zlib has no zstd, so zstd comes from `zstd-napi` (docs/decisions/0004-zstd-napi.md).
 *
 * Decompression reads untrusted bytes, so it is bounded: each decompressor produces output only as fast
 * as its reader takes it (memory stays flat whatever the ratio: a 16 KiB zstd file can expand to
 * gigabytes), and `openDecompressed` (snapshot-files.ts) stops it once the output passes the size the
 * manifest records. zstd-napi's DecompressStream expands a whole input chunk in one synchronous loop,
 * ignoring back-pressure, so the zstd decompressor here drives its native context (`DCtx`) itself;
 * node:zlib's gunzip already waits for its reader.
 */
import { createGunzip, createGzip } from 'node:zlib';
import { Duplex, PassThrough, type Transform } from 'node:stream';
import { CompressStream } from 'zstd-napi';
// The native binding is CommonJS with exports set at load time: only a default import sees them.
import zstd from 'zstd-napi/binding.js';
import { COMPRESSIONS, type Compression, type FileCompression } from '../model/snapshot.ts';

export { COMPRESSIONS, type Compression } from '../model/snapshot.ts';
export type { FileCompression };

export const COMPRESSION_EXTENSIONS: Record<FileCompression, string> = {
  zstd: '.zst',
  gzip: '.gz',
  none: '',
};

export function createCompressor(kind: FileCompression): Transform {
  if (kind === 'zstd') return new CompressStream({ compressionLevel: 3 });
  if (kind === 'gzip') return createGzip({ level: 6 });
  return new PassThrough();
}

export function createDecompressor(kind: FileCompression): Duplex {
  if (kind === 'zstd') return Duplex.from(zstdDecompress);
  if (kind === 'gzip') return createGunzip();
  return new PassThrough();
}

/**
 * zstd frames to bytes, one output buffer (ZSTD_DStreamOutSize, 128 KiB) per step: the generator only
 * runs when its reader asks for more, so a high ratio never piles output up in memory.
 */
async function* zstdDecompress(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const context = new zstd.DCtx();
  const outSize = zstd.dStreamOutSize();
  let inFrame = false;
  for await (const chunk of source) {
    let input: Buffer = chunk;
    for (;;) {
      const output = Buffer.allocUnsafe(outSize);
      const [remaining, produced, consumed] = context.decompressStream(output, input);
      input = input.subarray(consumed);
      inFrame = remaining !== 0;
      if (produced > 0) yield output.subarray(0, produced);
      // Done with this chunk once it is consumed and the context holds no more output for it.
      if (input.length === 0 && (produced < output.length || remaining === 0)) break;
    }
  }
  if (inFrame) throw new Error('the zstd data ends in the middle of a frame (truncated)');
}

export function parseCompression(value: string): Compression {
  if (!(COMPRESSIONS as readonly string[]).includes(value)) {
    throw new Error(`unknown compression "${value}" (expected ${COMPRESSIONS.join(' or ')})`);
  }
  return value as Compression;
}

/**
 * The content size a zstd frame declares in its header (null when it declares none), read before
 * anything is expanded: callers bound a whole-buffer decompression by it.
 */
export function zstdDeclaredSize(frame: Uint8Array): number | null {
  return (zstd as { getFrameContentSize(b: Uint8Array): number | null }).getFrameContentSize(frame);
}
