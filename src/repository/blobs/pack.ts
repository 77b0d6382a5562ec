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

/**
 * Room past a pack's size for the blob that crosses it (a chunk is at most 64 KiB by default) and the
 * header (about 150 bytes per blob): a pack that outgrows it still builds, with one copy more.
 */
export const PACK_HEADROOM = 1024 * 1024;

/** Bytes of one segment of a pack being filled (a blob larger than this gets a segment of its own). */
const SEGMENT_BYTES = 1024 * 1024;

/**
 * One pack being filled. Each stored blob is copied into segments the pack owns: a small Buffer is often
 * a view of a shared 64 KiB pool slab (Node 24's `Buffer.poolSize`), and keeping the view would keep the
 * whole slab, so a pack of 16 MiB of well-compressed blobs held the uncompressed volume of the data that
 * passed through the pool meanwhile (472 MiB of RSS for a 15 MiB Neo4j backup at scale 5).
 */
export class PackBuilder {
  /**
   * Bytes of the first segment: a blob store passes its pack size plus room for the header, so a pack
   * is built in one buffer and `finish` appends the header in place instead of copying the pack whole.
   * Untouched bytes of a large allocation are not resident, so a small pack costs what it holds.
   */
  private readonly firstSegment: number;
  private readonly segments: Buffer[] = [];
  private current: Buffer | undefined;
  private used = 0;
  readonly blobs: BlobEntry[] = [];
  size = 0;

  constructor(firstSegment = SEGMENT_BYTES) {
    this.firstSegment = firstSegment;
  }

  add(blob: EncodedBlob, type: BlobEntry['type'], rawLength: number): BlobEntry {
    const entry: BlobEntry = {
      id: blob.id,
      type,
      offset: this.size,
      length: blob.stored.length,
      rawLength,
      compression: blob.compression,
    };
    this.append(blob.stored);
    this.blobs.push(entry);
    this.size += blob.stored.length;
    return entry;
  }

  private append(bytes: Buffer): void {
    let rest = bytes;
    while (rest.length > 0) {
      if (!this.current || this.used === this.current.length) {
        const size = this.segments.length === 0 ? this.firstSegment : SEGMENT_BYTES;
        this.current = Buffer.allocUnsafeSlow(Math.max(size, rest.length));
        this.segments.push(this.current);
        this.used = 0;
      }
      const n = rest.copy(this.current, this.used);
      this.used += n;
      rest = rest.subarray(n);
    }
  }

  get empty(): boolean {
    return this.blobs.length === 0;
  }

  finish(key: MasterKey | undefined): BuiltPack {
    const json = Buffer.from(JSON.stringify({ blobs: this.blobs }));
    const header = key ? seal(key, json, HEADER_AAD) : json;
    const one = this.segments.length === 1 ? this.current! : undefined;
    let bytes: Buffer;
    if (one && one.length - this.used >= header.length + 4) {
      header.copy(one, this.used);
      one.writeUInt32LE(header.length, this.used + header.length);
      bytes = one.subarray(0, this.used + header.length + 4);
    } else {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(header.length);
      const data = this.segments.map((s) => (s === this.current ? s.subarray(0, this.used) : s));
      bytes = Buffer.concat([...data, header, length]);
    }
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
