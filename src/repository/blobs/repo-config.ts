/**
 * `config.json` of a format-2 repository (docs/design.md §11.2): written once by the first format-2
 * write with a conditional put, so two first writers agree on one; never rewritten.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AcxError } from '../../errors.ts';
import type { Storage } from '../../storage/storage.ts';
import { isStorageError } from '../../storage/storage-error.ts';
import { putJson, readText } from '../../storage/storage-helpers.ts';
import { DEFAULT_CHUNKER } from './chunker.ts';

export const CONFIG_FILE = 'config.json';
export const BLOB_COMPRESSIONS = ['zstd', 'gzip', 'none'] as const;
export type BlobCompression = (typeof BLOB_COMPRESSIONS)[number];
/** A pack is closed once it reaches this size (§11.4). */
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

const HEX64 = /^[0-9a-f]{64}$/;

export const repositoryConfigSchema = z.looseObject({
  format: z.literal('acx-data-repository'),
  formatVersion: z.literal(2),
  id: z.string().regex(HEX64),
  createdAt: z.string(),
  chunker: z.looseObject({
    algorithm: z.string(),
    minSize: z.number().int().positive(),
    avgSize: z.number().int().positive(),
    maxSize: z.number().int().positive(),
    seed: z.string().regex(HEX64).nullable(),
  }),
  compression: z.enum(BLOB_COMPRESSIONS),
  packSize: z
    .number()
    .int()
    .min(64 * 1024)
    .max(1024 * 1024 * 1024),
  encryption: z.object({ scheme: z.literal('aes-256-gcm') }).nullable(),
});
export type RepositoryConfig = z.infer<typeof repositoryConfigSchema>;

/** The repository's config, or undefined when it holds no format-2 content yet. */
export async function readConfig(storage: Storage): Promise<RepositoryConfig | undefined> {
  let text: string;
  try {
    text = await readText(storage, CONFIG_FILE);
  } catch (error) {
    if (isStorageError(error, 'not-found')) return undefined;
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw damaged(storage, 'it is not valid JSON', cause);
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version > 2)
    throw new AcxError(
      'INTEGRITY',
      `the repository ${storage.location} has format version ${version}; this acx-data reads up to 2`,
      { subject: storage.location, hint: 'upgrade acx-data' },
    );
  const parsed = repositoryConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw damaged(storage, `malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const c = parsed.data.chunker;
  if (!(c.minSize < c.avgSize && c.avgSize < c.maxSize) || (c.avgSize & (c.avgSize - 1)) !== 0)
    throw damaged(storage, 'its chunker sizes are inconsistent');
  if ((parsed.data.encryption === null) !== (c.seed !== null))
    throw damaged(storage, 'its chunker seed does not match its encryption');
  return parsed.data;
}

function damaged(storage: Storage, why: string, cause?: unknown): AcxError {
  return new AcxError(
    'INTEGRITY',
    `the repository's ${CONFIG_FILE} in ${storage.location} is damaged: ${why}`,
    {
      subject: `${storage.location}/${CONFIG_FILE}`,
      cause,
      hint: 'restore config.json from a copy of the repository; without it the repository cannot be read',
    },
  );
}

/** Creates the config (or returns the one a concurrent first writer created). */
export async function createConfig(
  storage: Storage,
  options: { encrypted: boolean; compression?: BlobCompression },
): Promise<RepositoryConfig> {
  const config: RepositoryConfig = {
    format: 'acx-data-repository',
    formatVersion: 2,
    id: randomBytes(32).toString('hex'),
    createdAt: new Date().toISOString(),
    chunker: {
      algorithm: 'fastcdc-gear32',
      ...DEFAULT_CHUNKER,
      seed: options.encrypted ? null : randomBytes(32).toString('hex'),
    },
    compression: options.compression ?? 'zstd',
    packSize: DEFAULT_PACK_SIZE,
    encryption: options.encrypted ? { scheme: 'aes-256-gcm' } : null,
  };
  try {
    await putJson(storage, CONFIG_FILE, config, { ifNotExists: true });
    return config;
  } catch (error) {
    if (!isStorageError(error, 'conflict')) throw error;
    const existing = await readConfig(storage);
    if (!existing) throw error;
    return existing;
  }
}
