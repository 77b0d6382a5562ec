/**
 * Whole-file compression of snapshot data files: zstd (default) or gzip, both always readable. Node 20's
 * zlib has no zstd, so zstd comes from `zstd-napi` (docs/decisions/0004-zstd-napi.md).
 */
import { createGunzip, createGzip } from 'node:zlib';
import { PassThrough, type Transform } from 'node:stream';
import { CompressStream, DecompressStream } from 'zstd-napi';
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

export function createDecompressor(kind: FileCompression): Transform {
  if (kind === 'zstd') return new DecompressStream();
  if (kind === 'gzip') return createGunzip();
  return new PassThrough();
}

export function parseCompression(value: string): Compression {
  if (!(COMPRESSIONS as readonly string[]).includes(value)) {
    throw new Error(`unknown compression "${value}" (expected ${COMPRESSIONS.join(' or ')})`);
  }
  return value as Compression;
}
