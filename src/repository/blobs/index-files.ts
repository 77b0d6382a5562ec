/**
 * Index files (docs/design.md §11.5): `index/<id>`, JSON Lines — one line per pack with its blobs —
 * compressed with zstd and sealed when encrypted, named by the SHA-256 of their stored bytes. A writer
 * puts at most INDEX_FILE_BLOBS blobs in one (65 536 before 2026-12-02), so reading one whole is bounded
 * (a few MiB); a reader accepts any count up to MAX_INDEX_CONTENT.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi';
import { AcxError } from '../../errors.ts';
import { zstdDeclaredSize } from '../compression.ts';
import type { Storage } from '../../storage/storage.ts';
import { readBytes } from '../../storage/storage-helpers.ts';
import { open, seal, type MasterKey } from './blob-crypto.ts';
import type { BlobEntry } from './blob-codec.ts';
import { blobEntrySchema } from './pack.ts';

export const INDEX_PREFIX = 'index/';
export const indexKey = (id: string): string => `${INDEX_PREFIX}${id}`;
/**
 * A writer starts a new index file after this many blobs (bounded memory for writers and readers): the
 * blobs not yet indexed are held in memory, and at 65 536 they and the index text made a 30-40 MiB heap
 * spike late in a scale-5 Qdrant backup.
 */
export const INDEX_FILE_BLOBS = 16_384;
const MAX_INDEX_CONTENT = 256 * 1024 * 1024;
const INDEX_AAD = Buffer.from('acx-index');

export interface PackIndex {
  pack: string;
  blobs: BlobEntry[];
}

const lineSchema = z.object({ pack: z.string().regex(/^[0-9a-f]{64}$/), blobs: z.array(blobEntrySchema) });

/** Writes one index file listing `packs`; returns its id. */
export async function writeIndexFile(
  storage: Storage,
  packs: readonly PackIndex[],
  key: MasterKey | undefined,
): Promise<string> {
  const { id, bytes } = encodeIndexFile(packs, key);
  await storage.put(indexKey(id), bytes);
  return id;
}

/** The stored bytes of an index file listing `packs`, and its id (an archive writes them itself). */
export function encodeIndexFile(
  packs: readonly PackIndex[],
  key: MasterKey | undefined,
): { id: string; bytes: Buffer } {
  const text = packs.map((p) => JSON.stringify({ pack: p.pack, blobs: p.blobs })).join('\n') + '\n';
  const compressed = zstdCompress(Buffer.from(text), { compressionLevel: 3 });
  const bytes = key ? seal(key, compressed, INDEX_AAD) : compressed;
  return { id: createHash('sha256').update(bytes).digest('hex'), bytes };
}

/** The packs an index file lists (INTEGRITY when it is damaged or tampered with). */
export async function readIndexFile(
  storage: Storage,
  id: string,
  key: MasterKey | undefined,
): Promise<PackIndex[]> {
  const stored = await readBytes(storage, indexKey(id));
  if (createHash('sha256').update(stored).digest('hex') !== id)
    throw damagedIndex(id, 'its bytes do not hash to its name');
  const compressed = key ? open(key, stored, INDEX_AAD, `index file ${id.slice(0, 12)}`) : stored;
  let text: string;
  try {
    const declared = zstdDeclaredSize(compressed);
    if (declared === null || declared > MAX_INDEX_CONTENT)
      throw new Error(`declared size ${declared ?? 'unknown'}`);
    text = zstdDecompress(compressed).toString('utf8');
  } catch (cause) {
    throw damagedIndex(id, `it does not decompress: ${(cause as Error).message}`, cause);
  }
  const packs: PackIndex[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (cause) {
      throw damagedIndex(id, 'a line is not JSON', cause);
    }
    const parsed = lineSchema.safeParse(raw);
    if (!parsed.success) throw damagedIndex(id, `a line is malformed: ${parsed.error.issues[0]?.message}`);
    packs.push(parsed.data);
  }
  return packs;
}

/** The ids of the repository's index files. */
export async function listIndexFiles(storage: Storage): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of storage.list(INDEX_PREFIX)) {
    const id = info.key.slice(INDEX_PREFIX.length);
    if (/^[0-9a-f]{64}$/.test(id)) ids.push(id);
  }
  return ids;
}

function damagedIndex(id: string, why: string, cause?: unknown): AcxError {
  return new AcxError('INTEGRITY', `index file ${id.slice(0, 12)} is damaged: ${why}`, {
    subject: indexKey(id),
    cause,
    hint: 'run acx-data backup --verify --all; a cleanup writes a new index from the packs it keeps',
  });
}
