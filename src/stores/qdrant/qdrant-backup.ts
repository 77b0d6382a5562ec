/**
 * Qdrant backup (docs/design.md §7): per collection its configuration (`collection.json`), every point
 * streamed by scroll (`points.jsonl`) and, with `--qdrant-snapshots`, the server's own snapshot
 * (`native.snapshot`, stored as received).
 *
 * Qdrant has no transactions: each collection is read by one scroll in id order, and points written
 * while it runs may or may not be in the snapshot (`consistency: 'scroll'`). The exact point count taken
 * before the scroll is recorded as `pointsCountAtStart`; a difference is reported as a warning.
 *
 * Datasets per collection `<c>`:
 * - `<c>` (kind `collection`, 1 record): `qdrant/<c>/collection.json`; `aliases` repeats the
 *   collection's aliases so a restore plan can check the target without reading files.
 * - `<c>/points` (kind `points`, one record per point): `qdrant/<c>/points.jsonl`;
 *   `pointsCountAtStart` is the exact count before the scroll.
 * - `<c>/native` (kind `native-snapshot`, optional): `qdrant/<c>/native.snapshot`. An opaque file has
 *   no records, so `records` is 0; `snapshotName` and `checksum` are the server's.
 */
import { AcxError } from '../../errors.ts';
import { throwIfAborted } from '../../model/abort.ts';
import { MultisetHash, type Fingerprint } from '../../model/content-hash.ts';
import { reportDataset } from '../../model/report-dataset.ts';
import type { DataFileWriter, DatasetEntry, StoreSection } from '../../model/snapshot.ts';
import { nowIso, type BackupContext } from '../snapshot-driver.ts';
import type { QdrantAlias, QdrantClient, QdrantPoint } from './qdrant-client.ts';
import { canonicalPoint, qdrantPointsKey } from './qdrant-fingerprint.ts';
import { joinToBuffer, stringifyQdrantJson } from './qdrant-json.ts';
import { encodeVectors } from './qdrant-vector-codec.ts';

export interface QdrantBackupOptions {
  /** Also download each collection's server-side snapshot (`--qdrant-snapshots`). */
  nativeSnapshots: boolean;
  /** Only these collections (default: all). */
  collections?: string[];
  /** Points per scroll page (default `QDRANT_PAGE_SIZE`). */
  pageSize?: number;
}

/** Points per scroll page of a backup (bench/qdrant.ts compares a bare scroll at the same size). */
export const QDRANT_PAGE_SIZE = 256;

/** One line of `qdrant/<c>/collection.json`. */
export interface SavedCollection {
  name: string;
  /** `GET /collections/{name}` → `result.config`, as the server returned it. */
  config: Record<string, unknown>;
  /** Payload indexes: field → `{data_type, params?}`. */
  payload_schema: Record<string, { data_type: string; params?: unknown }>;
  aliases: string[];
}

export const qdrantPaths = {
  collection: (name: string): string => `qdrant/${name}/collection.json`,
  points: (name: string): string => `qdrant/${name}/points.jsonl`,
  native: (name: string): string => `qdrant/${name}/native.snapshot`,
};

/** Collection names become directory names: refuse the few that cannot. */
export function checkCollectionName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new AcxError('STORE', `Qdrant collection name "${name}" cannot be used as a directory name`, {
      subject: name,
    });
  }
}

function payloadSchemaOf(info: Record<string, unknown>): SavedCollection['payload_schema'] {
  const schema = (info.payload_schema ?? {}) as Record<string, { data_type: string; params?: unknown }>;
  const out: SavedCollection['payload_schema'] = {};
  for (const field of Object.keys(schema).sort()) {
    const { data_type, params } = schema[field]!;
    out[field] = params === undefined || params === null ? { data_type } : { data_type, params };
  }
  return out;
}

async function writeWith<T>(
  ctx: BackupContext,
  writer: DataFileWriter,
  body: (w: DataFileWriter) => Promise<T>,
): Promise<T> {
  try {
    const result = await body(writer);
    await ctx.files.closeFile(writer);
    return result;
  } catch (error) {
    writer.abort();
    throw error;
  }
}

const checkAborted = (signal: AbortSignal | undefined, name: string): void =>
  throwIfAborted(signal, `Qdrant backup of ${name}`, name);

export async function backupQdrant(
  client: QdrantClient,
  ctx: BackupContext,
  options: QdrantBackupOptions,
): Promise<StoreSection> {
  const readStartedAt = nowIso();
  const serverVersion = await client.version();
  const existing = await client.listCollections();
  const names = [...new Set(options.collections ?? existing)].sort();
  for (const name of names) {
    checkCollectionName(name);
    if (!existing.includes(name)) {
      throw new AcxError('NOT_FOUND', `Qdrant collection ${name} does not exist`, { subject: name });
    }
  }
  const aliases = await client.listAliases();
  const datasets: DatasetEntry[] = [];
  const fingerprints: Fingerprint = {};
  for (const name of names) {
    checkAborted(ctx.signal, name);
    ctx.reporter.emit({ type: 'phase', store: 'qdrant', message: `reading collection ${name}` });
    datasets.push(
      ...(await backupCollection(client, ctx, options, {
        name,
        aliases: aliases.filter((a) => a.collection_name === name),
        fingerprints,
      })),
    );
  }
  return {
    serverVersion,
    readStartedAt,
    readFinishedAt: nowIso(),
    consistency: 'scroll',
    datasets,
    fingerprints,
  };
}

/** One collection; its points' fingerprint goes into `target.fingerprints`. */
async function backupCollection(
  client: QdrantClient,
  ctx: BackupContext,
  options: QdrantBackupOptions,
  target: { name: string; aliases: QdrantAlias[]; fingerprints: Fingerprint },
): Promise<DatasetEntry[]> {
  const { name, aliases } = target;
  const out = [await backupConfiguration(client, ctx, name, aliases)];
  const hash = new MultisetHash();
  out.push(await backupPoints(client, ctx, options, name, hash));
  target.fingerprints[qdrantPointsKey(name)] = { records: hash.count, hash: hash.digest() };
  if (options.nativeSnapshots) out.push(await backupNativeSnapshot(client, ctx, name));
  return out;
}

/** The collection's configuration, payload indexes and aliases: `collection.json`. */
async function backupConfiguration(
  client: QdrantClient,
  ctx: BackupContext,
  name: string,
  aliases: QdrantAlias[],
): Promise<DatasetEntry> {
  const info = await client.getCollection(name);
  const config = (info.config ?? {}) as Record<string, unknown>;
  const params = (config.params ?? {}) as Record<string, unknown>;
  if (params.sharding_method === 'custom') {
    ctx.reporter.emit({
      type: 'warning',
      store: 'qdrant',
      message: `collection ${name} uses custom sharding: its shard keys are not saved, restore will refuse it`,
    });
  }
  const saved: SavedCollection = {
    name,
    config,
    payload_schema: payloadSchemaOf(info),
    aliases: aliases.map((a) => a.alias_name).sort(),
  };
  const file = await ctx.files.writeLines(qdrantPaths.collection(name), [stringifyQdrantJson(saved)]);
  return { name, kind: 'collection', records: 1, files: [file], aliases: saved.aliases };
}

/**
 * Every point, by one ordered scroll with one page in memory at a time: `points.jsonl`. Format 2 writes
 * vectors as binary float32 (qdrant-vector-codec.ts); format 1 as the decimal arrays Qdrant returned.
 * Each point's canonical encoding (design §5) goes into `hash` as it is written.
 */
async function backupPoints(
  client: QdrantClient,
  ctx: BackupContext,
  options: QdrantBackupOptions,
  name: string,
  hash: MultisetHash,
): Promise<DatasetEntry> {
  const dataset = `${name}/points`;
  const pointsCountAtStart = await client.count(name);
  const writer = { path: '' };
  const binary = ctx.files.formatVersion === 2;
  const records = await reportDataset(ctx.reporter, 'qdrant', dataset, pointsCountAtStart, async () => {
    const file = await ctx.files.createFile(qdrantPaths.points(name), { records: true });
    writer.path = file.path;
    return writeWith(ctx, file, async (w) => {
      let n = 0;
      // Format 2 reads the vectors as Float64Arrays for encodeVectors (no boxed number per component);
      // the next page is on its way while this one is encoded and written.
      const pages = client.scrollAll(name, {
        pageSize: options.pageSize ?? QDRANT_PAGE_SIZE,
        withVector: true,
        signal: ctx.signal,
        prefetch: true,
        typedVectors: binary,
      });
      for await (const page of pages) {
        const lines = page.map((p) => {
          hash.add(canonicalPoint(p));
          return pointLine(p, binary);
        });
        await w.write(linesToBuffer(lines));
        n += page.length;
        ctx.reporter.emit({
          type: 'dataset-progress',
          store: 'qdrant',
          dataset,
          done: n,
          total: pointsCountAtStart,
        });
        checkAborted(ctx.signal, name);
      }
      return n;
    });
  });
  if (records !== pointsCountAtStart) {
    ctx.reporter.emit({
      type: 'warning',
      store: 'qdrant',
      message: `collection ${name} changed during the backup: ${pointsCountAtStart} points when it started, ${records} read`,
    });
  }
  return { name: dataset, kind: 'points', records, files: [writer.path], pointsCountAtStart };
}

/** Lines as one UTF-8 buffer, each followed by a newline (`joinToBuffer`: no page-sized string). */
export const linesToBuffer = (lines: readonly string[]): Buffer =>
  joinToBuffer(lines, '\n', '', lines.length > 0 ? '\n' : '');

/**
 * One line of `points.jsonl`: `stringifyQdrantJson({id, vector, payload})`, written member by member so
 * that only a member holding a bigint (the id, mostly) takes the slow path of the exact writer; the
 * payload as the server wrote it when the page kept its text (`1.0` stays `1.0`).
 */
export function pointLine(p: QdrantPoint, binary: boolean): string {
  const vector = binary ? encodeVectors(p.vector ?? {}) : (p.vector ?? {});
  if (p.id === undefined) return stringifyQdrantJson({ id: p.id, vector, payload: p.payload ?? null });
  // A bigint id would make JSON.stringify throw before the exact writer takes over: written directly.
  const id = typeof p.id === 'bigint' ? p.id.toString() : stringifyQdrantJson(p.id);
  const payload = p.payloadJson ?? stringifyQdrantJson(p.payload ?? null);
  return `{"id":${id},"vector":${stringifyQdrantJson(vector)},"payload":${payload}}`;
}

/** Creates a server-side snapshot, streams it into the backup, then deletes it on the server. */
async function backupNativeSnapshot(
  client: QdrantClient,
  ctx: BackupContext,
  name: string,
): Promise<DatasetEntry> {
  const dataset = `${name}/native`;
  const started = performance.now();
  ctx.reporter.emit({ type: 'phase', store: 'qdrant', message: `creating a server snapshot of ${name}` });
  const description = await client.createSnapshot(name, ctx.signal);
  try {
    ctx.reporter.emit({ type: 'dataset-start', store: 'qdrant', dataset });
    const writer = await ctx.files.createFile(qdrantPaths.native(name), {
      records: false,
      compression: 'none',
    });
    await writeWith(ctx, writer, async (w) => {
      await w.writeFrom(await client.downloadSnapshot(name, description.name, ctx.signal));
    });
    const entry = ctx.files.entries[writer.path]!;
    if (description.checksum && description.checksum.toLowerCase() !== entry.sha256) {
      throw new AcxError(
        'INTEGRITY',
        `the server snapshot ${description.name} of ${name} downloaded with SHA-256 ${entry.sha256}, the server says ${description.checksum}`,
        { subject: name },
      );
    }
    ctx.reporter.emit({
      type: 'dataset-done',
      store: 'qdrant',
      dataset,
      records: 0,
      seconds: (performance.now() - started) / 1000,
    });
    return {
      name: dataset,
      kind: 'native-snapshot',
      records: 0,
      files: [writer.path],
      snapshotName: description.name,
      checksum: entry.sha256,
    };
  } finally {
    await client.deleteSnapshot(name, description.name).catch((error: unknown) => {
      ctx.reporter.emit({
        type: 'warning',
        store: 'qdrant',
        message: `could not delete the server snapshot ${description.name} of ${name}: ${(error as Error).message}`,
      });
    });
  }
}
