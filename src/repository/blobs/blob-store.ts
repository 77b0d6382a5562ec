/**
 * The blobs of a format-2 repository (docs/design.md §11.4–11.6): adding a plaintext stores it once
 * (content-addressed; a blob the index or this run already holds is reused), packing new blobs into
 * packs of the repository's size and writing an index file after the packs it lists; reading a blob
 * authenticates and checks it. One BlobStore per run; its `flush()` must complete before a manifest
 * naming its blobs is written.
 */
import { AcxError } from '../../errors.ts';
import type { Storage } from '../../storage/storage.ts';
import { readBytes } from '../../storage/storage-helpers.ts';
import { isStorageError } from '../../storage/storage-error.ts';
import { blobId, newMasterKey, type MasterKey } from './blob-crypto.ts';
import { decodeBlob, encodeBlob, type BlobEntry, type BlobType } from './blob-codec.ts';
import { IndexCache, type LocatedBlob } from './index-cache.ts';
import { INDEX_FILE_BLOBS, writeIndexFile, type PackIndex } from './index-files.ts';
import { addKey, unlock, type RepositorySecret } from './keys.ts';
import { PACK_HEADROOM, PackBuilder, packKey, type BuiltPack } from './pack.ts';
import { createConfig, readConfig, type BlobCompression, type RepositoryConfig } from './repo-config.ts';

export interface BlobStoreOptions {
  /** Create the repository's config when it has none (backups). */
  create?: { encrypt: boolean; compression?: BlobCompression };
  /** The secret from the environment (keys.ts secretFromEnv); needed for encrypted repositories. */
  secret?: RepositorySecret;
  /** Where index caches live; undefined: in memory. */
  cacheDir?: string;
}

export interface BlobStats {
  /** Data blobs the run's files reference (with repeats), and how many of them it stored anew. */
  blobs: number;
  newBlobs: number;
  /** Bytes the run added to the repository: its packs and index files. */
  storedBytesAdded: number;
  /** Plaintext bytes of the blobs the run was given. */
  contentBytes: number;
}

export interface AddedBlob {
  id: string;
  /** The stored size of the blob (whether this run stored it or found it). */
  length: number;
  isNew: boolean;
}

/** Reads that touch adjacent blobs of one pack are one ranged get of at most this many bytes. */
const MAX_COALESCED_READ = 8 * 1024 * 1024;

export class BlobStore {
  readonly stats: BlobStats = { blobs: 0, newBlobs: 0, storedBytesAdded: 0, contentBytes: 0 };
  private builder: PackBuilder;
  /** Blobs of this run that no index file lists yet: the open pack's, and written packs'. */
  private readonly pending = new Map<string, BlobEntry>();
  private unindexed: PackIndex[] = [];
  private unindexedBlobs = 0;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;
  /** What the current run wrote (discardRun removes it after a failure). */
  private runPacks: string[] = [];
  private runIndexes: string[] = [];
  /** The config and key this store created (a failed first run leaves no repository behind). */
  private created: { config: boolean; keyId?: string } = { config: false };

  readonly storage: Storage;
  readonly config: RepositoryConfig;
  readonly key: MasterKey | undefined;
  readonly keyId: string | undefined;
  private readonly cache: IndexCache;

  private constructor(
    storage: Storage,
    config: RepositoryConfig,
    key: MasterKey | undefined,
    keyId: string | undefined,
    cache: IndexCache,
  ) {
    this.storage = storage;
    this.config = config;
    this.key = key;
    this.keyId = keyId;
    this.cache = cache;
    this.builder = this.newPack();
  }

  /** A pack sized to be built in one buffer: the pack size (up to 64 MiB), its last blob and its header. */
  private newPack(): PackBuilder {
    return new PackBuilder(Math.min(this.config.packSize, 64 * 1024 * 1024) + PACK_HEADROOM);
  }

  /**
   * The repository's blobs, or undefined when it has no format-2 content and `create` is not given.
   * An encrypted repository needs `secret` (CONFIG before anything is written otherwise).
   */
  static async open(storage: Storage, options: BlobStoreOptions): Promise<BlobStore | undefined> {
    let config = await readConfig(storage);
    let key: MasterKey | undefined;
    let keyId: string | undefined;
    let createdKey: string | undefined;
    const created = !config;
    if (!config) {
      if (!options.create) return undefined;
      if (options.create.encrypt) {
        if (!options.secret)
          throw new AcxError('CONFIG', `--encrypt needs a key for the new repository ${storage.location}`, {
            subject: storage.location,
            hint: 'set ACX_REPOSITORY_PASSWORD, ACX_REPOSITORY_PASSWORD_FILE or ACX_REPOSITORY_KEY_FILE',
          });
        // The key first: a config without a key would lock everyone out.
        key = newMasterKey();
        keyId = await addKey(storage, key, options.secret);
        createdKey = keyId;
      }
      config = await createConfig(storage, {
        encrypted: options.create.encrypt,
        compression: options.create.compression,
      });
      if (config.encryption && !key) ({ master: key, keyId } = await unlock(storage, options.secret));
      if (!config.encryption) key = undefined; // a concurrent first writer created it unencrypted
    } else if (config.encryption) {
      ({ master: key, keyId } = await unlock(storage, options.secret));
    } else if (options.create?.encrypt) {
      throw notEncrypted(storage.location);
    }
    const cache = await IndexCache.open(storage, config.id, key, options.cacheDir);
    const store = new BlobStore(storage, config, key, keyId, cache);
    if (created) store.created = { config: true, ...(createdKey ? { keyId: createdKey } : {}) };
    return store;
  }

  /** Starts counting a new run's stats (one snapshot is written at a time: the lock). */
  beginRun(): void {
    Object.assign(this.stats, { blobs: 0, newBlobs: 0, storedBytesAdded: 0, contentBytes: 0 });
    this.runPacks = [];
    this.runIndexes = [];
  }

  /**
   * Removes what a failed run stored (design §7.4: a failed backup leaves nothing behind): its index
   * files first (so no index names a pack about to go), then its packs, then — when this run created
   * the repository — its config and key. A kill half-way leaves unindexed packs, which the next
   * cleanup removes. Call after `settle()`.
   */
  async discardRun(): Promise<void> {
    this.builder = this.newPack();
    this.unindexed = [];
    this.unindexedBlobs = 0;
    this.pending.clear();
    for (const id of this.runIndexes.splice(0)) {
      await this.storage.delete(`index/${id}`);
      this.cache.forget(id);
    }
    for (const id of this.runPacks.splice(0)) await this.storage.delete(packKey(id));
    await this.storage.deleteAbandoned?.('data/');
    if (this.created.config) {
      await this.storage.delete('config.json');
      if (this.created.keyId) await this.storage.delete(`keys/${this.created.keyId}.json`);
      this.created = { config: false };
      this.removedConfig = true;
    }
  }

  /** False once a failed first run removed the repository's config (discardRun). */
  get configExists(): boolean {
    return !this.removedConfig;
  }
  private removedConfig = false;

  /** The chunker's seed: the config's, or the master key's in an encrypted repository. */
  get chunkerSeed(): Buffer {
    return this.key ? this.key.chunkerSeed : Buffer.from(this.config.chunker.seed ?? '', 'hex');
  }

  /** Stores `plaintext` unless the repository or this run already holds it. */
  async add(type: BlobType, plaintext: Buffer): Promise<AddedBlob> {
    if (this.failure) throw this.failure;
    const id = blobId(plaintext, this.key);
    if (type === 'data') {
      this.stats.blobs++;
      this.stats.contentBytes += plaintext.length;
    }
    const known = this.pending.get(id) ?? this.cache.lookup(id);
    if (known) return { id, length: known.length, isNew: false };
    const encoded = encodeBlob(plaintext, type, this.config.compression, this.key, id);
    const entry = this.builder.add(encoded, type, plaintext.length);
    this.pending.set(id, entry);
    if (type === 'data') this.stats.newBlobs++;
    if (this.builder.size >= this.config.packSize) await this.closePack();
    return { id, length: entry.length, isNew: true };
  }

  /** Seals the open pack and starts its put once the previous one is stored (two packs in memory at most). */
  private async closePack(): Promise<void> {
    const builder = this.builder;
    this.builder = this.newPack();
    const built = builder.finish(this.key);
    await this.writing;
    if (this.failure) throw this.failure;
    this.writing = this.putPack(built).catch((error: unknown) => {
      this.failure ??= error;
    });
  }

  private async putPack(built: BuiltPack): Promise<void> {
    this.runPacks.push(built.id);
    await this.storage.put(packKey(built.id), built.bytes);
    this.stats.storedBytesAdded += built.bytes.length;
    this.unindexed.push({ pack: built.id, blobs: built.blobs });
    this.unindexedBlobs += built.blobs.length;
    if (this.unindexedBlobs >= INDEX_FILE_BLOBS) await this.writeIndex();
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    this.unindexedBlobs = 0;
    const id = await writeIndexFile(this.storage, packs, this.key);
    this.runIndexes.push(id);
    this.stats.storedBytesAdded += (await this.storage.stat(`index/${id}`))?.size ?? 0;
    this.cache.add(id, packs);
    for (const p of packs) for (const b of p.blobs) this.pending.delete(b.id);
  }

  /** Stores the open pack and indexes every pack of the run: call before writing a manifest. */
  async flush(): Promise<void> {
    if (!this.builder.empty) await this.closePack();
    await this.writing;
    if (this.failure) throw this.failure;
    await this.writeIndex();
  }

  /** Where a blob is (undefined when the index does not list it). */
  locate(id: string): LocatedBlob | undefined {
    return this.cache.lookup(id);
  }

  /** One blob's plaintext; INTEGRITY when missing, damaged or tampered with. */
  async read(id: string, type: BlobType = 'data'): Promise<Buffer> {
    for await (const plaintext of this.readMany([id], type)) return plaintext;
    throw new AcxError('INTERNAL', `blob ${id} was not read`);
  }

  /**
   * The plaintexts of `ids`, in order. Runs of blobs lying back to back in one pack are fetched with one
   * ranged get; `lookahead` ids are resolved ahead of the consumer.
   */
  async *readMany(
    ids: Iterable<string> | AsyncIterable<string>,
    type: BlobType = 'data',
    lookahead = 256,
  ): AsyncGenerator<Buffer> {
    let batch: LocatedBlob[] = [];
    const drain = async function* (this: BlobStore, blobs: LocatedBlob[]): AsyncGenerator<Buffer> {
      let i = 0;
      while (i < blobs.length) {
        const first = blobs[i]!;
        let j = i + 1;
        let end = first.offset + first.length;
        while (
          j < blobs.length &&
          blobs[j]!.pack === first.pack &&
          blobs[j]!.offset === end &&
          end + blobs[j]!.length - first.offset <= MAX_COALESCED_READ
        ) {
          end += blobs[j]!.length;
          j++;
        }
        const bytes = await this.fetch(first.pack, first.offset, end - first.offset);
        for (let k = i; k < j; k++) {
          const b = blobs[k]!;
          const stored = bytes.subarray(b.offset - first.offset, b.offset - first.offset + b.length);
          yield decodeBlob(stored, b, this.key, `pack ${b.pack.slice(0, 12)}`);
        }
        i = j;
      }
    }.bind(this);
    for await (const id of ids) {
      const located = this.cache.lookup(id);
      if (!located)
        throw new AcxError('INTEGRITY', `blob ${id.slice(0, 12)} is not in the repository's index`, {
          subject: id,
          hint: 'the snapshot needs a blob the repository lost: run acx-data backup --verify --all',
        });
      if (located.type !== type)
        throw new AcxError('INTEGRITY', `blob ${id.slice(0, 12)} is a ${located.type} blob, not ${type}`, {
          subject: id,
        });
      batch.push(located);
      if (batch.length >= lookahead) {
        yield* drain(batch);
        batch = [];
      }
    }
    yield* drain(batch);
  }

  private async fetch(pack: string, offset: number, length: number): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readBytes(this.storage, packKey(pack), { offset, length });
    } catch (cause) {
      if (isStorageError(cause, 'not-found'))
        throw new AcxError(
          'INTEGRITY',
          `pack ${pack.slice(0, 12)} is missing from ${this.storage.location}`,
          {
            subject: packKey(pack),
            cause,
            hint: 'run acx-data backup --verify --all to see which snapshots need it',
          },
        );
      throw cause;
    }
    if (bytes.length !== length)
      throw new AcxError('INTEGRITY', `pack ${pack.slice(0, 12)} is shorter than its index says`, {
        subject: packKey(pack),
        hint: 'run acx-data backup --verify --all to see which snapshots need it',
      });
    return bytes;
  }

  /** The index cache (prune and verify --all walk it). */
  get index(): IndexCache {
    return this.cache;
  }

  /** Waits for writes in flight (after a failure: nothing is left running). */
  async settle(): Promise<void> {
    await this.writing;
  }

  close(): void {
    this.cache.close();
  }
}

/** `--encrypt` asked of a repository that exists unencrypted (encryption is chosen at creation). */
export function notEncrypted(location: string): AcxError {
  return new AcxError(
    'USAGE',
    `the repository ${location} is not encrypted; --encrypt applies to a new repository`,
    {
      subject: location,
      hint: 'back up without --encrypt here, or into a new --backup-dir with --encrypt',
    },
  );
}
