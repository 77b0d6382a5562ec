/**
 * Packs (docs/design.md §11.4): stored blobs back to back, then a header listing them (JSON, sealed
 * when encrypted) and the header's length as uint32 little-endian. A pack is built in memory up to the
 * repository's pack size and stored with one atomic put under `data/<id[0:2]>/<id>`, its id the SHA-256
 * of its bytes.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AcxError } from '../../errors.ts';
import type { Storage } from '../../storage/storage.ts';
import { readBytes } from '../../storage/storage-helpers.ts';
import { open, seal, type MasterKey } from './blob-crypto.ts';
import { BLOB_TYPES, type BlobEntry, type EncodedBlob } from './blob-codec.ts';
import { BLOB_COMPRESSIONS } from './repo-config.ts';

export const DATA_PREFIX = 'data/';
export const packKey = (id: string): string => `${DATA_PREFIX}${id.slice(0, 2)}/${id}`;
const HEADER_AAD = Buffer.from('acx-pack-header');
const HEX64 = /^[0-9a-f]{64}$/;

export const blobEntrySchema = z.object({
  id: z.string().regex(HEX64),
  type: z.enum(BLOB_TYPES),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  rawLength: z.number().int().nonnegative(),
  compression: z.enum(BLOB_COMPRESSIONS),
});
const headerSchema = z.object({ blobs: z.array(blobEntrySchema) });

export interface BuiltPack {
  id: string;
  bytes: Buffer;
  blobs: BlobEntry[];
}

/** One pack being filled. */
export class PackBuilder {
  private readonly parts: Buffer[] = [];
  readonly blobs: BlobEntry[] = [];
  size = 0;

  add(blob: EncodedBlob, type: BlobEntry['type'], rawLength: number): BlobEntry {
    const entry: BlobEntry = {
      id: blob.id,
      type,
      offset: this.size,
      length: blob.stored.length,
      rawLength,
      compression: blob.compression,
    };
    this.parts.push(blob.stored);
    this.blobs.push(entry);
    this.size += blob.stored.length;
    return entry;
  }

  get empty(): boolean {
    return this.blobs.length === 0;
  }

  finish(key: MasterKey | undefined): BuiltPack {
    const json = Buffer.from(JSON.stringify({ blobs: this.blobs }));
    const header = key ? seal(key, json, HEADER_AAD) : json;
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    const bytes = Buffer.concat([...this.parts, header, length]);
    return { id: createHash('sha256').update(bytes).digest('hex'), bytes, blobs: this.blobs };
  }
}

/** The entries a pack's header lists (INTEGRITY when the header is damaged). */
export async function readPackHeader(
  storage: Storage,
  packId: string,
  size: number,
  key: MasterKey | undefined,
): Promise<BlobEntry[]> {
  const where = `pack ${packId.slice(0, 12)}`;
  if (size < 4) throw damagedPack(packId, 'it is shorter than its header length');
  const tail = await readBytes(storage, packKey(packId), { offset: size - 4, length: 4 });
  const headerLength = tail.readUInt32LE(0);
  if (headerLength > size - 4) throw damagedPack(packId, 'its header length exceeds its size');
  const header = await readBytes(storage, packKey(packId), {
    offset: size - 4 - headerLength,
    length: headerLength,
  });
  return parsePackHeader(
    packId,
    key ? open(key, header, HEADER_AAD, `the header of ${where}`) : header,
    size - 4 - headerLength,
  );
}

/** Parses a pack header's JSON and checks that its blobs lie inside the pack's data part. */
export function parsePackHeader(packId: string, json: Buffer, dataBytes: number): BlobEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString('utf8'));
  } catch (cause) {
    throw damagedPack(packId, 'its header is not JSON', cause);
  }
  const parsed = headerSchema.safeParse(raw);
  if (!parsed.success)
    throw damagedPack(packId, `its header is malformed: ${parsed.error.issues[0]?.message}`);
  for (const b of parsed.data.blobs)
    if (b.offset + b.length > dataBytes)
      throw damagedPack(packId, `blob ${b.id.slice(0, 12)} lies past its data`);
  return parsed.data.blobs;
}

function damagedPack(packId: string, why: string, cause?: unknown): AcxError {
  return new AcxError('INTEGRITY', `pack ${packId.slice(0, 12)} is damaged: ${why}`, {
    subject: packKey(packId),
    cause,
    hint: 'run acx-data backup --verify --all to see which snapshots need it',
  });
}
