/**
 * A blob's stored form (docs/design.md §11.4): the plaintext compressed as a whole, then sealed with
 * AES-256-GCM when the repository is encrypted, the aad binding the bytes to the blob's type and id.
 * Decoding authenticates, decompresses no further than the recorded size and recomputes the id, so a
 * blob never decodes to other bytes than its id says.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi';
import { AcxError } from '../../errors.ts';
import { zstdDeclaredSize } from '../compression.ts';
import { blobId, open, seal, type MasterKey } from './blob-crypto.ts';
import type { BlobCompression } from './repo-config.ts';

export const BLOB_TYPES = ['data', 'list'] as const;
export type BlobType = (typeof BLOB_TYPES)[number];

/** Where a blob is and what it decodes to: one entry of a pack header or an index file. */
export interface BlobEntry {
  id: string;
  type: BlobType;
  /** Of the stored form, inside its pack. */
  offset: number;
  length: number;
  /** The plaintext's size. */
  rawLength: number;
  compression: BlobCompression;
}

export const blobAad = (type: BlobType, id: string): Buffer => Buffer.from(`acx-blob:${type}:${id}`);

export interface EncodedBlob {
  id: string;
  stored: Buffer;
  compression: BlobCompression;
}

/** Id and stored form of a plaintext. A compression that does not make it smaller is not used. */
export function encodeBlob(
  plaintext: Buffer,
  type: BlobType,
  compression: BlobCompression,
  key: MasterKey | undefined,
  id = blobId(plaintext, key),
): EncodedBlob {
  let body = plaintext;
  let used: BlobCompression = 'none';
  if (compression !== 'none' && plaintext.length > 0) {
    const packed =
      compression === 'zstd' ? zstdCompress(plaintext, { compressionLevel: 3 }) : gzipSync(plaintext);
    if (packed.length < plaintext.length) {
      body = packed;
      used = compression;
    }
  }
  return { id, stored: key ? seal(key, body, blobAad(type, id)) : body, compression: used };
}

/** The plaintext of a stored blob; INTEGRITY when it was damaged, tampered with or is another blob. */
export function decodeBlob(
  stored: Buffer,
  entry: BlobEntry,
  key: MasterKey | undefined,
  where: string,
): Buffer {
  const what = `blob ${entry.id.slice(0, 12)} (${where})`;
  const body = key ? open(key, stored, blobAad(entry.type, entry.id), what) : stored;
  const plaintext = decompress(body, entry, what);
  if (plaintext.length !== entry.rawLength || blobId(plaintext, key) !== entry.id)
    throw new AcxError('INTEGRITY', `${what} does not hash to its id: it is damaged`, {
      subject: entry.id,
      hint: 'run acx-data backup --verify --all to see which snapshots need it',
    });
  return plaintext;
}

function decompress(body: Buffer, entry: BlobEntry, what: string): Buffer {
  try {
    if (entry.compression === 'none') return body;
    if (entry.compression === 'gzip')
      return gunzipSync(body, { maxOutputLength: Math.max(1, entry.rawLength) });
    // Bounded: the frame must declare the recorded size before anything is expanded.
    const declared = zstdDeclaredSize(body);
    if (declared !== entry.rawLength)
      throw new Error(`frame declares ${declared ?? 'no'} bytes, not ${entry.rawLength}`);
    return zstdDecompress(body);
  } catch (cause) {
    throw new AcxError('INTEGRITY', `${what} does not decompress: ${(cause as Error).message}`, {
      subject: entry.id,
      cause,
      hint: 'run acx-data backup --verify --all to see which snapshots need it',
    });
  }
}
