/**
 * Qdrant restore (docs/design.md §7.5): per collection, create it with its saved configuration, create
 * its payload indexes, upsert its points in batches (`wait=true`, a few batches in flight), apply its
 * strict mode, create its aliases and wait until its status is green; then check the point count. With
 * `fromNativeSnapshots`, a collection that has a `native.snapshot` is recovered by uploading it instead.
 *
 * The target counts as not empty when it holds a collection of the snapshot with points (one without
 * points is a schema only, deleted and created again), or when a name the snapshot creates is taken by an
 * alias. Without `replace` that is refused (NOT_EMPTY) before anything changes; with `replace` those
 * collections and aliases are deleted first. An alias name that is an existing collection is always
 * refused. Collections the snapshot does not name are left alone.
 *
 * All or nothing per store: when anything fails, the collections this restore created are deleted and
 * the error is rethrown naming the collection.
 *
 * `qdrant-restore-target.ts` inspects and clears the target; `qdrant-collection-body.ts` turns a saved
 * configuration into the requests that recreate the collection.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AcxError } from '../../errors.ts';
import { throwIfAborted } from '../../model/abort.ts';
import { isJsonObject } from '../../model/exact-json.ts';
import { reportDataset } from '../../model/report-dataset.ts';
import type { DatasetEntry, StoreSection } from '../../model/snapshot.ts';
import type { PlanStep, RestoreContext, RestoredDataset, StoreRestoreSummary } from '../snapshot-driver.ts';
import type { AliasAction, QdrantClient } from './qdrant-client.ts';
import { parseQdrantJson } from './qdrant-json.ts';
import { decodePointLine } from './qdrant-vector-codec.ts';
import type { SavedCollection } from './qdrant-backup.ts';
import { createCollectionBody, fanOutOf, fieldSchemaOf, strictModeOf } from './qdrant-collection-body.ts';
import { deleteColliding, inspectTarget, refuse } from './qdrant-restore-target.ts';

export { createCollectionBody, fanOutOf, fieldSchemaOf, strictModeOf } from './qdrant-collection-body.ts';

export interface QdrantRestoreOptions {
  /** Recover collections that have a `native.snapshot` by uploading it (`--qdrant-snapshots`). */
  fromNativeSnapshots: boolean;
  /** Points per upsert request (default `QDRANT_UPSERT_BATCH`). */
  batchSize?: number;
  /** Upsert requests in flight at once (default `QDRANT_UPSERTS_IN_FLIGHT`). */
  inFlight?: number;
  /** How long to wait for a collection to turn green (default one hour). */
  readyTimeoutMs?: number;
}

/** Points per upsert request of a restore, and requests in flight (bench/qdrant.ts's bare loop uses the same). */
export const QDRANT_UPSERT_BATCH = 256;
export const QDRANT_UPSERTS_IN_FLIGHT = 2;

/** What a snapshot holds of one collection, from the manifest's datasets. */
export interface SnapshotCollection {
  name: string;
  collectionFile: string;
  aliases: string[];
  pointsFile?: string;
  records: number;
  nativeFile?: string;
}

function owner(dataset: DatasetEntry, suffix: string): string {
  return dataset.name.endsWith(suffix) ? dataset.name.slice(0, -suffix.length) : dataset.name;
}

/** The collections of a Qdrant section, sorted by name. */
export function snapshotCollections(section: StoreSection): SnapshotCollection[] {
  const byName = new Map<string, SnapshotCollection>();
  for (const d of section.datasets) {
    if (d.kind !== 'collection') continue;
    const aliases = Array.isArray(d.aliases) ? (d.aliases as string[]) : [];
    byName.set(d.name, { name: d.name, collectionFile: d.files[0]!, aliases, records: 0 });
  }
  for (const d of section.datasets) {
    const c =
      d.kind === 'points'
        ? byName.get(owner(d, '/points'))
        : d.kind === 'native-snapshot'
          ? byName.get(owner(d, '/native'))
          : undefined;
    if (!c) continue;
    if (d.kind === 'points') {
      c.pointsFile = d.files[0];
      c.records = d.records;
    } else c.nativeFile = d.files[0];
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function planQdrantRestore(
  client: QdrantClient,
  section: StoreSection,
  replace: boolean,
  options: Pick<QdrantRestoreOptions, 'fromNativeSnapshots'> = { fromNativeSnapshots: false },
): Promise<PlanStep[]> {
  const collections = snapshotCollections(section);
  const state = await inspectTarget(client, collections);
  refuse(state, replace);
  const steps: PlanStep[] = [];
  for (const a of state.aliases)
    steps.push({ action: 'drop', object: `qdrant alias ${a.alias_name}`, detail: `on ${a.collection_name}` });
  for (const e of state.existing)
    steps.push({ action: 'drop', object: `qdrant collection ${e.name}`, records: e.points });
  for (const c of collections) {
    if (options.fromNativeSnapshots && c.nativeFile) {
      steps.push({
        action: 'load',
        object: `qdrant collection ${c.name}`,
        records: c.records,
        detail: `from the server snapshot ${c.nativeFile}`,
      });
    } else {
      steps.push({ action: 'create', object: `qdrant collection ${c.name}`, detail: 'saved configuration' });
      steps.push({ action: 'load', object: `qdrant collection ${c.name} points`, records: c.records });
    }
    for (const alias of c.aliases)
      steps.push({ action: 'create', object: `qdrant alias ${alias}`, detail: `on ${c.name}` });
  }
  for (const name of state.untouched) steps.push({ action: 'keep', object: `qdrant collection ${name}` });
  return steps;
}

// ------------------------------------------------------------------------------------ restore

const checkAborted = (signal: AbortSignal | undefined, name: string): void =>
  throwIfAborted(signal, `Qdrant restore of ${name}`, name);

export async function restoreQdrant(
  client: QdrantClient,
  ctx: RestoreContext,
  options: QdrantRestoreOptions,
): Promise<StoreRestoreSummary> {
  const started = performance.now();
  const collections = snapshotCollections(ctx.section);
  const state = await inspectTarget(client, collections);
  refuse(state, ctx.replace);
  // Under replace, or when the collections there have no points (a schema only: refuse let it pass).
  if (ctx.replace || state.existing.length > 0) await deleteColliding(client, ctx, state);

  const created: string[] = [];
  const datasets: RestoredDataset[] = [];
  let current = 'qdrant';
  try {
    for (const c of collections) {
      current = c.name;
      checkAborted(ctx.signal, c.name);
      datasets.push(...(await restoreCollection(client, ctx, options, c, created)));
    }
  } catch (error) {
    for (const name of created.reverse()) await client.deleteCollection(name).catch(() => undefined);
    if (error instanceof AcxError && error.subject === current) throw error;
    const e = error as Partial<AcxError> & Error;
    throw new AcxError(
      e instanceof AcxError ? e.code : 'STORE',
      `restoring Qdrant collection ${current} failed: ${e.message}`,
      { subject: current, cause: error, hint: e.hint },
    );
  }
  return { datasets, seconds: (performance.now() - started) / 1000 };
}

async function readSaved(ctx: RestoreContext, c: SnapshotCollection): Promise<SavedCollection> {
  let saved: SavedCollection | undefined;
  for await (const line of ctx.snapshot.lines(c.collectionFile)) {
    if (line !== '' && saved === undefined) saved = parseQdrantJson(line) as SavedCollection;
  }
  if (!saved || !isJsonObject(saved.config)) {
    throw new AcxError('INTEGRITY', `${c.collectionFile} holds no collection configuration`, {
      subject: c.name,
    });
  }
  return saved;
}

async function restoreCollection(
  client: QdrantClient,
  ctx: RestoreContext,
  options: QdrantRestoreOptions,
  c: SnapshotCollection,
  created: string[],
): Promise<RestoredDataset[]> {
  const saved = await readSaved(ctx, c);
  const params = isJsonObject(saved.config.params) ? saved.config.params : {};
  if (params.sharding_method === 'custom') {
    throw new AcxError(
      'STORE',
      `Qdrant collection ${c.name} uses custom sharding, which restore does not support`,
      {
        subject: c.name,
      },
    );
  }
  // 1. The collection and its points: from the server snapshot, or created and loaded.
  const native = options.fromNativeSnapshots && c.nativeFile !== undefined;
  const loaded = native
    ? await uploadNative(client, ctx, c, created)
    : await createAndLoad(client, ctx, options, c, saved, created);
  // 2. Read fan-out and strict mode (a server snapshot brings its own), then the aliases.
  if (!native) {
    for (const update of [fanOutOf(saved.config), strictModeOf(saved.config)])
      if (update) await client.updateCollection(c.name, update);
  }
  const aliases = saved.aliases ?? [];
  if (aliases.length > 0) {
    const actions: AliasAction[] = aliases.map((alias_name) => ({
      create_alias: { collection_name: c.name, alias_name },
    }));
    await client.updateAliases(actions, c.name);
  }
  // 3. Ready (green), holding the points the snapshot lists.
  await waitUntilReady(client, c.name, ctx.signal, options.readyTimeoutMs ?? 3_600_000);
  if (!native) {
    const count = await client.count(c.name);
    if (count !== c.records) {
      throw new AcxError(
        'INTEGRITY',
        `Qdrant collection ${c.name} holds ${count} points after the restore, the snapshot ${c.records}`,
        { subject: c.name, hint: 'were points written to the collection during the restore?' },
      );
    }
  }
  return [{ name: c.name, records: 1 }, loaded];
}

/** Recovers a collection by uploading its server snapshot; warns when it holds another point count. */
async function uploadNative(
  client: QdrantClient,
  ctx: RestoreContext,
  c: SnapshotCollection,
  created: string[],
): Promise<RestoredDataset> {
  ctx.reporter.emit({
    type: 'phase',
    store: 'qdrant',
    message: `uploading the server snapshot of ${c.name}`,
  });
  const dataset = `${c.name}/native`;
  const points = await reportDataset(ctx.reporter, 'qdrant', dataset, c.records, async () => {
    created.push(c.name);
    const stored = ctx.snapshot.entry(c.nativeFile!);
    // The source opens the stored file again for each retried attempt of a dropped upload.
    const reopen = () => ctx.snapshot.storedStream(c.nativeFile!);
    const file = { stream: reopen(), bytes: stored.bytes, reopen };
    await client.uploadSnapshot(c.name, file, {
      checksum: stored.sha256,
      priority: 'snapshot',
      signal: ctx.signal,
    });
    return client.count(c.name);
  });
  if (points !== c.records) {
    ctx.reporter.emit({
      type: 'warning',
      store: 'qdrant',
      message: `collection ${c.name}: the server snapshot holds ${points} points, the scroll of the same backup ${c.records} (written to during the backup?)`,
    });
  }
  return { name: dataset, records: points };
}

/** Creates the collection with its saved configuration and payload indexes, then loads its points. */
async function createAndLoad(
  client: QdrantClient,
  ctx: RestoreContext,
  options: QdrantRestoreOptions,
  c: SnapshotCollection,
  saved: SavedCollection,
  created: string[],
): Promise<RestoredDataset> {
  ctx.reporter.emit({ type: 'phase', store: 'qdrant', message: `creating collection ${c.name}` });
  await client.createCollection(c.name, createCollectionBody(saved.config));
  created.push(c.name);
  for (const [field, index] of Object.entries(saved.payload_schema ?? {}))
    await client.createPayloadIndex(c.name, field, fieldSchemaOf(index));
  const points = c.pointsFile ? await loadPoints(client, ctx, options, c) : 0;
  return { name: `${c.name}/points`, records: points };
}

/**
 * Streams `points.jsonl` into upsert requests. Each line already is a `PointStruct` in Qdrant's JSON
 * (written by `stringifyQdrantJson`, ids exact), so lines are sent as they are, never parsed whole:
 * nothing can round an id or turn a payload's `1.0` into `1`. Only a format-2 line's binary vectors
 * are rewritten as numbers (`decodePointLine`). Memory holds at most `inFlight + 1` batches.
 */
async function loadPoints(
  client: QdrantClient,
  ctx: RestoreContext,
  options: QdrantRestoreOptions,
  c: SnapshotCollection,
): Promise<number> {
  const dataset = `${c.name}/points`;
  const batchSize = options.batchSize ?? QDRANT_UPSERT_BATCH;
  const maxInFlight = Math.max(1, options.inFlight ?? QDRANT_UPSERTS_IN_FLIGHT);
  return reportDataset(ctx.reporter, 'qdrant', dataset, c.records, async () => {
    const pending = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let done = 0;
    let read = 0;
    const send = async (batch: string[]): Promise<void> => {
      const request: Promise<void> = client.upsertJson(c.name, batch, ctx.signal).then(
        () => {
          done += batch.length;
          ctx.reporter.emit({ type: 'dataset-progress', store: 'qdrant', dataset, done, total: c.records });
        },
        (error: unknown) => {
          failure ??= { error };
        },
      );
      pending.add(request);
      void request.finally(() => pending.delete(request));
      while (pending.size >= maxInFlight) await Promise.race(pending);
      if (failure) throw failure.error;
      checkAborted(ctx.signal, c.name);
    };
    try {
      let batch: string[] = [];
      for await (const line of ctx.snapshot.lines(c.pointsFile!)) {
        read++;
        if (!line.startsWith('{') || !line.endsWith('}')) {
          throw new AcxError('INTEGRITY', `${c.pointsFile} line ${read} is not a JSON object`, {
            subject: c.name,
          });
        }
        batch.push(decodePointLine(line, { where: `${c.pointsFile} line ${read}`, subject: c.name }));
        if (batch.length >= batchSize) {
          await send(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await send(batch);
    } finally {
      await Promise.all(pending);
    }
    if (failure) throw failure.error;
    return done;
  });
}

/**
 * Polls the collection until its status is green. `grey` (optimizations pending but not triggered) is
 * nudged once with an empty optimizer update, as Qdrant documents; `red` fails.
 */
export async function waitUntilReady(
  client: QdrantClient,
  name: string,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  let nudged = false;
  for (;;) {
    const status = (await client.getCollection(name)).status;
    if (status === 'green') return;
    if (status === 'red') {
      throw new AcxError(
        'STORE',
        `Qdrant collection ${name} is red (an operation failed) after the restore`,
        {
          subject: name,
        },
      );
    }
    if (status === 'grey' && !nudged) {
      await client.updateCollection(name, { optimizers_config: {} });
      nudged = true;
    }
    if (Date.now() > deadline) {
      throw new AcxError(
        'STORE',
        `Qdrant collection ${name} is still ${String(status)} after ${Math.round(timeoutMs / 1000)} s`,
        { subject: name },
      );
    }
    checkAborted(signal, name);
    await sleep(delay);
    delay = Math.min(delay * 2, 2000);
  }
}
