/**
 * The snapshot manifest (docs/design.md §7.3): its schema, and reading and writing it on a Storage.
 * The manifest is written once, last, by an atomic put; a snapshot directory without one does not exist.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AcxError } from '../errors.ts';
import { STORE_NAMES } from '../progress.ts';
import type { DatasetEntry, StoreSection } from '../model/snapshot.ts';
import type { Storage } from '../storage/storage.ts';
import { isStorageError } from '../storage/storage-error.ts';
import { putJson, readText } from '../storage/storage-helpers.ts';
import { MANIFEST_FILE, snapshotPathProblem, snapshotPrefix } from './layout.ts';
import { MAX_RECORD_BYTES } from '../streams.ts';

export { MANIFEST_FILE };
export const MANIFEST_FORMAT = 'acx-data-snapshot';
/** The newest format this acx-data writes and reads (design §11); format 1 (§7) stays readable. */
export const FORMAT_VERSION = 2;
/** The format versions this acx-data reads; any other is refused (design §7.3). */
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1, 2];
const BLOB_ID = /^[0-9a-f]{64}$/;
export const SNAPSHOT_KINDS = ['full', 'incremental'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

/** A path inside the snapshot: relative, no `..`, `.`, empty segment, backslash or control character. */
const snapshotPathSchema = z.string().superRefine((path, ctx) => {
  const problem = snapshotPathProblem(path);
  if (problem)
    ctx.addIssue({ code: 'custom', message: `unsafe file path ${JSON.stringify(path)}: ${problem}` });
});

const fileEntrySchema = z.object({
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  compression: z.enum(['zstd', 'gzip', 'none']),
  contentBytes: z.number().int().nonnegative(),
  records: z.number().int().nonnegative().optional(),
  blobs: z.array(z.string().regex(BLOB_ID)).optional(),
  lists: z.array(z.string().regex(BLOB_ID)).optional(),
});

const datasetSchema = z.looseObject({
  name: z.string(),
  kind: z.string(),
  records: z.number().int().nonnegative(),
  files: z.array(snapshotPathSchema),
  columns: z.array(z.string()).optional(),
});

/** A dataset's fingerprint (design §5): its records and the sum of their SHA-256, 64 hex digits. */
const fingerprintSchema = z.object({
  records: z.number().int().nonnegative(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});

const storeSectionSchema = z.looseObject({
  serverVersion: z.string(),
  readStartedAt: z.string(),
  readFinishedAt: z.string(),
  datasets: z.array(datasetSchema),
  /** What the backup wrote, fingerprinted while it streamed (§7.3); absent in earlier manifests. */
  fingerprints: z.record(z.string(), fingerprintSchema).optional(),
});
export type { DatasetEntry, StoreSection };
// The schema and the model's types (what stores write) must describe the same objects.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sectionsAgree: Same<
  z.infer<typeof storeSectionSchema>['datasets'][number]['files'],
  DatasetEntry['files']
> &
  (z.infer<typeof storeSectionSchema> extends StoreSection ? true : never) = true;
void sectionsAgree;

export const manifestSchema = z
  .looseObject({
    format: z.literal(MANIFEST_FORMAT),
    formatVersion: z
      .number()
      .int()
      .positive()
      .refine((v) => SUPPORTED_FORMAT_VERSIONS.includes(v), 'unsupported format version'),
    id: z.string().regex(/^(full|incremental)_\d{8}_\d{6}$/),
    kind: z.enum(SNAPSHOT_KINDS),
    parent: z.string().nullable(),
    tool: z.object({ name: z.string(), version: z.string() }),
    startedAt: z.string(),
    completedAt: z.string(),
    compression: z.enum(['zstd', 'gzip', 'none']),
    encryption: z.object({ scheme: z.literal('aes-256-gcm') }).nullable(),
    /** Format 2: the repository's id (its config.json). */
    repository: z.string().regex(BLOB_ID).optional(),
    /** Format 2: what the run stored (design §11.7). */
    stats: z
      .looseObject({
        contentBytes: z.number().int().nonnegative(),
        blobs: z.number().int().nonnegative(),
        newBlobs: z.number().int().nonnegative(),
        storedBytesAdded: z.number().int().nonnegative(),
      })
      .optional(),
    consistency: z.looseObject({ method: z.string() }),
    stores: z.partialRecord(z.enum(STORE_NAMES), storeSectionSchema),
    /** `--json`: the application's JSON data files (not a store). */
    jsonFiles: z.optional(
      z.looseObject({
        sourceDir: z.string(),
        readStartedAt: z.string(),
        readFinishedAt: z.string(),
        datasets: z.array(datasetSchema),
      }),
    ),
    files: z.record(snapshotPathSchema, fileEntrySchema),
    /** SHA-256 of the rest of the manifest (see manifestDigest); absent in manifests of earlier versions. */
    manifestSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    /** Encrypted format 2: HMAC-SHA-256 (the master key's idKey) over the same bytes as manifestSha256. */
    manifestMac: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  })
  .superRefine((m, ctx) => {
    // Format 1 files are stored objects; format 2 files are lists of blobs (design §11.7).
    for (const [path, entry] of Object.entries(m.files)) {
      const chunked = entry.blobs !== undefined || entry.lists !== undefined;
      if (m.formatVersion === 1 && chunked)
        ctx.addIssue({ code: 'custom', path: ['files', path], message: 'a format-1 file lists blobs' });
      if (m.formatVersion === 2 && (entry.blobs === undefined) === (entry.lists === undefined))
        ctx.addIssue({
          code: 'custom',
          path: ['files', path],
          message: 'a format-2 file needs either blobs or lists',
        });
    }
    if (m.formatVersion === 2 && m.repository === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['repository'],
        message: 'a format-2 manifest names its repository',
      });
    if (m.formatVersion === 1 && m.encryption !== null)
      ctx.addIssue({ code: 'custom', path: ['encryption'], message: 'format 1 is never encrypted' });
  });
export type Manifest = z.infer<typeof manifestSchema>;

/**
 * The manifest's own checksum: SHA-256 of its compact JSON (`JSON.stringify`, keys in their order)
 * without the `manifestSha256` field. Whitespace does not count, so parsing and serialising again gives
 * the same digest; any change of a name, number or string does.
 */
export function manifestDigest(manifest: Record<string, unknown>): string {
  return createHash('sha256').update(manifestBody(manifest)).digest('hex');
}

/** The bytes the checksum and the MAC cover: the compact JSON without either of them. */
export function manifestBody(manifest: Record<string, unknown>): string {
  const { manifestSha256: _own, manifestMac: _mac, ...rest } = manifest;
  return JSON.stringify(rest);
}

/** INTEGRITY unless a manifest that carries a checksum matches it. */
function checkDigest(raw: unknown, id: string): void {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return; // the schema says why
  const recorded = (raw as { manifestSha256?: unknown }).manifestSha256;
  if (recorded === undefined) return;
  if (recorded !== manifestDigest(raw as Record<string, unknown>)) {
    throw new AcxError('INTEGRITY', `snapshot ${id}: manifest.json is damaged (its SHA-256 differs)`, {
      subject: id,
      hint: 'the snapshot cannot be trusted: restore another one',
    });
  }
}

/**
 * Reads and validates the manifest of the snapshot whose files are under `prefix` (`<id>/`); undefined
 * when the snapshot is incomplete (no manifest). `id` is the directory's name: the manifest's own id
 * must be the same (a renamed or swapped manifest is refused).
 */
export async function readManifest(
  storage: Storage,
  prefix: string,
  id: string,
): Promise<Manifest | undefined> {
  let text: string;
  try {
    // Bounded like a record: a manifest lists files, it is never this long unless damaged.
    const size = (await storage.stat(prefix + MANIFEST_FILE))?.size ?? 0;
    if (size > MAX_RECORD_BYTES)
      throw new AcxError(
        'INTEGRITY',
        `snapshot ${id}: manifest.json is ${size} bytes, over ${MAX_RECORD_BYTES}`,
        {
          subject: id,
        },
      );
    text = await readText(storage, prefix + MANIFEST_FILE);
  } catch (error) {
    if (isStorageError(error, 'not-found')) return undefined;
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new AcxError('INTEGRITY', `snapshot ${id}: manifest.json is not valid JSON`, {
      subject: id,
      cause,
    });
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (Number.isInteger(version) && (version as number) > FORMAT_VERSION) {
    throw new AcxError(
      'INTEGRITY',
      `snapshot ${id} has format version ${version}; this acx-data reads up to ${FORMAT_VERSION}`,
      {
        subject: id,
        hint: 'upgrade acx-data',
      },
    );
  }
  checkDigest(raw, id);
  const body = raw !== null && typeof raw === 'object' ? manifestBody(raw as Record<string, unknown>) : '';
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AcxError(
      'INTEGRITY',
      `snapshot ${id}: manifest.json is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      {
        subject: id,
      },
    );
  }
  if (parsed.data.id !== id) {
    throw new AcxError(
      'INTEGRITY',
      `snapshot ${id}: manifest.json names snapshot ${parsed.data.id}, not the directory it is in (${id})`,
      {
        subject: id,
        hint: 'a snapshot directory keeps the name of its id: rename it back, or restore the right manifest',
      },
    );
  }
  bodies.set(parsed.data, body);
  return parsed.data;
}

/** The bytes a manifest's checksum and MAC cover, as read (parsing reorders keys). */
const bodies = new WeakMap<Manifest, string>();

/** What the MAC of a manifest read by readManifest covers (a manifest built in memory: its own body). */
export function manifestBodyOf(manifest: Manifest): string {
  return bodies.get(manifest) ?? manifestBody(manifest);
}

/**
 * Writes `<id>/manifest.json` (indented JSON and a final newline) with its checksum as the last field,
 * atomically and durably like every put: the last write of a snapshot, after which it exists.
 */
export async function writeManifest(
  storage: Storage,
  manifest: Manifest,
  mac?: (body: string) => string,
): Promise<void> {
  const { manifestSha256: _old, manifestMac: _oldMac, ...content } = manifest;
  const sealed = {
    ...content,
    ...(mac ? { manifestMac: mac(manifestBody(content)) } : {}),
    manifestSha256: manifestDigest(content),
  };
  await putJson(storage, snapshotPrefix(manifest.id) + MANIFEST_FILE, sealed);
}
