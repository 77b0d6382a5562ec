/**
 * Qdrant restore (docs/design.md §7.5): per collection, create it with its saved configuration, create
 * its payload indexes, upsert its points in batches (`wait=true`, a few batches in flight), apply its
 * strict mode, create its aliases and wait until its status is green; then check the point count. With
 * `fromNativeSnapshots`, a collection that has a `native.snapshot` is recovered by uploading it instead.
 *
 * The target counts as not empty when it holds a collection of the snapshot (even without points: it
 * cannot be created over), or when a name the snapshot creates (collection or alias) is taken by an
 * alias. Without `replace` that is refused (NOT_EMPTY) before anything changes; with `replace` those
 * collections and aliases are deleted first. An alias name that is an existing collection is always
 * refused. Collections the snapshot does not name are left alone.
 *
 * All or nothing per store: when anything fails, the collections this restore created are deleted and
 * the error is rethrown naming the collection.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AcxError } from '../../errors.ts';
import type { DatasetEntry, StoreSection } from '../../model/snapshot.ts';
import type { PlanStep, RestoreContext, RestoredDataset, StoreRestoreSummary } from '../snapshot-driver.ts';
import type { AliasAction, QdrantAlias, QdrantClient } from './qdrant-client.ts';
import { parseQdrantJson } from './qdrant-json.ts';
import type { SavedCollection } from './qdrant-backup.ts';
import { isJsonObject } from '../../model/exact-json.ts';

export interface QdrantRestoreOptions {
  /** Recover collections that have a `native.snapshot` by uploading it (`--qdrant-snapshots`). */
  fromNativeSnapshots: boolean;
  /** Points per upsert request (default 256). */
  batchSize?: number;
  /** Upsert requests in flight at once (default 2). */
  inFlight?: number;
  /** How long to wait for a collection to turn green (default one hour). */
  readyTimeoutMs?: number;
}

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

// ------------------------------------------------------------------------------ configuration

type Obj = Record<string, unknown>;

function dropNulls(value: unknown): Obj | undefined {
  if (!isJsonObject(value)) return undefined;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
}

function pick(value: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (value[k] !== null && value[k] !== undefined) out[k] = value[k];
  return out;
}

const mapValues = (value: Obj, f: (v: Obj) => Obj): Obj =>
  Object.fromEntries(Object.entries(value).map(([k, v]) => [k, f(isJsonObject(v) ? v : {})]));

/** `VectorParams` fields `PUT /collections/{name}` takes. */
const VECTOR_KEYS = [
  'size',
  'distance',
  'hnsw_config',
  'quantization_config',
  'on_disk',
  'memory',
  'datatype',
  'multivector_config',
] as const;

function vectorParams(v: Obj): Obj {
  const out = pick(v, VECTOR_KEYS);
  if (out.hnsw_config) out.hnsw_config = dropNulls(out.hnsw_config);
  return out;
}

function sparseParams(v: Obj): Obj {
  const out = pick(v, ['index', 'modifier']);
  if (out.index) out.index = dropNulls(out.index);
  return out;
}

/** A single unnamed vector (`{size, distance}`) rather than a map of named ones. */
const isSingleVector = (vectors: Obj): boolean =>
  typeof vectors.size === 'number' && typeof vectors.distance === 'string';

/**
 * Translates `GET /collections/{name}` → `config` into a `CreateCollection` body (only fields that
 * schema has; nulls, which mean "the server's default", are left out). Strict mode is left out here
 * and applied after the points are loaded (`strictModeOf`), so its limits cannot refuse the restore's
 * own upserts; read fan-out is not settable at creation (`fanOutOf`).
 */
export function createCollectionBody(config: Obj): Obj {
  const params = isJsonObject(config.params) ? config.params : {};
  const body: Obj = {};
  if (isJsonObject(params.vectors)) {
    body.vectors = isSingleVector(params.vectors)
      ? vectorParams(params.vectors)
      : mapValues(params.vectors, vectorParams);
  }
  if (isJsonObject(params.sparse_vectors))
    body.sparse_vectors = mapValues(params.sparse_vectors, sparseParams);
  Object.assign(
    body,
    pick(params, ['shard_number', 'replication_factor', 'write_consistency_factor', 'on_disk_payload']),
  );
  if (isJsonObject(params.payload)) body.payload = dropNulls(params.payload);
  if (params.sharding_method !== undefined && params.sharding_method !== null) {
    if (params.sharding_method !== 'auto') body.sharding_method = params.sharding_method;
  }
  const hnsw = dropNulls(config.hnsw_config);
  if (hnsw) body.hnsw_config = hnsw;
  const optimizers = dropNulls(config.optimizer_config);
  if (optimizers) body.optimizers_config = optimizers;
  const wal = dropNulls(config.wal_config);
  if (wal) body.wal_config = wal;
  if (config.quantization_config !== undefined && config.quantization_config !== null)
    body.quantization_config = config.quantization_config;
  if (isJsonObject(config.metadata)) body.metadata = config.metadata;
  return body;
}

/** The saved strict mode as an `UpdateCollection` body, or undefined when it is the default (off). */
export function strictModeOf(config: Obj): Obj | undefined {
  const strict = dropNulls(config.strict_mode_config);
  if (!strict || Object.keys(strict).length === 0) return undefined;
  if (Object.keys(strict).length === 1 && strict.enabled === false) return undefined;
  return { strict_mode_config: strict };
}

/** Read fan-out settings (not part of `CreateCollection`) as an `UpdateCollection` body, if any. */
export function fanOutOf(config: Obj): Obj | undefined {
  const params = isJsonObject(config.params) ? config.params : {};
  const fanOut = pick(params, ['read_fan_out_factor', 'read_fan_out_delay_ms']);
  return Object.keys(fanOut).length > 0 ? { params: fanOut } : undefined;
}

/** A payload index's `field_schema` from its saved `{data_type, params?}`. */
export function fieldSchemaOf(index: { data_type: string; params?: unknown }): unknown {
  return index.params === undefined || index.params === null ? index.data_type : index.params;
}

// ------------------------------------------------------------------------------------- target

interface TargetState {
  /** Collections of the snapshot the target already has, with their point counts. */
  existing: { name: string; points: number }[];
  /** Aliases of the target that a name of the snapshot collides with (deleted under replace). */
  aliases: QdrantAlias[];
  /** Alias names of the snapshot that are collections of the target (never replaced). */
  blocked: string[];
  /** Collections of the target the snapshot does not touch. */
  untouched: string[];
}

async function inspectTarget(client: QdrantClient, collections: SnapshotCollection[]): Promise<TargetState> {
  const present = await client.listCollections();
  const aliases = await client.listAliases();
  const ours = new Set(collections.map((c) => c.name));
  const existing: TargetState['existing'] = [];
  for (const name of present.filter((n) => ours.has(n)))
    existing.push({ name, points: await client.count(name) });
  const created = new Set([...ours, ...collections.flatMap((c) => c.aliases)]);
  return {
    existing,
    // An alias on a collection that is itself replaced goes with it; any other colliding alias is listed.
    aliases: aliases.filter((a) => created.has(a.alias_name) && !ours.has(a.collection_name)),
    blocked: collections.flatMap((c) => c.aliases).filter((a) => present.includes(a) && !ours.has(a)),
    untouched: present.filter((n) => !ours.has(n)),
  };
}

function refuse(state: TargetState, replace: boolean): void {
  if (state.blocked.length > 0) {
    throw new AcxError(
      'NOT_EMPTY',
      `Qdrant: the snapshot's alias ${state.blocked[0]} is the name of an existing collection the snapshot does not restore`,
      { subject: state.blocked[0], hint: 'delete or rename that collection first' },
    );
  }
  if (replace) return;
  const first = state.existing[0];
  if (first) {
    const names = state.existing.map((e) => `${e.name} (${e.points} points)`).join(', ');
    throw new AcxError('NOT_EMPTY', `Qdrant already has the snapshot's collections: ${names}`, {
      subject: first.name,
      hint: 'restore with --force to replace them (a safety backup is taken first), or delete them',
    });
  }
  const alias = state.aliases[0];
  if (alias) {
    throw new AcxError(
      'NOT_EMPTY',
      `Qdrant already has the alias ${alias.alias_name} (on ${alias.collection_name}), which the snapshot creates`,
      { subject: alias.alias_name, hint: 'restore with --force to replace it, or delete the alias' },
    );
  }
}

/** What a restore of this section would do (`--dry-run`); refuses like the restore would. */
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

function checkAborted(signal: AbortSignal | undefined, subject: string): void {
  if (signal?.aborted)
    throw new AcxError('INTERRUPTED', `Qdrant restore of ${subject} interrupted`, { subject });
}

export async function restoreQdrant(
  client: QdrantClient,
  ctx: RestoreContext,
  options: QdrantRestoreOptions,
): Promise<StoreRestoreSummary> {
  const started = performance.now();
  const collections = snapshotCollections(ctx.section);
  const state = await inspectTarget(client, collections);
  refuse(state, ctx.replace);
  if (ctx.replace) {
    if (state.aliases.length > 0) {
      ctx.reporter.emit({
        type: 'phase',
        store: 'qdrant',
        message: `deleting aliases ${state.aliases.map((a) => a.alias_name).join(', ')}`,
      });
      await client.updateAliases(
        state.aliases.map((a) => ({ delete_alias: { alias_name: a.alias_name } })),
        state.aliases[0]!.alias_name,
      );
    }
    for (const e of state.existing) {
      ctx.reporter.emit({ type: 'phase', store: 'qdrant', message: `deleting collection ${e.name}` });
      await client.deleteCollection(e.name);
    }
  }

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
  const config = saved.config;
  const params = isJsonObject(config.params) ? config.params : {};
  if (params.sharding_method === 'custom') {
    throw new AcxError(
      'STORE',
      `Qdrant collection ${c.name} uses custom sharding, which restore does not support`,
      {
        subject: c.name,
      },
    );
  }
  const out: RestoredDataset[] = [{ name: c.name, records: 1 }];
  const native = options.fromNativeSnapshots && c.nativeFile !== undefined;
  let points: number;
  if (native) {
    ctx.reporter.emit({
      type: 'phase',
      store: 'qdrant',
      message: `uploading the server snapshot of ${c.name}`,
    });
    const dataset = `${c.name}/native`;
    const t0 = performance.now();
    ctx.reporter.emit({ type: 'dataset-start', store: 'qdrant', dataset, total: c.records });
    created.push(c.name);
    const stored = ctx.snapshot.entry(c.nativeFile!);
    const file = { stream: ctx.snapshot.storedStream(c.nativeFile!), bytes: stored.bytes };
    await client.uploadSnapshot(c.name, file, {
      checksum: stored.sha256,
      priority: 'snapshot',
      signal: ctx.signal,
    });
    points = await client.count(c.name);
    ctx.reporter.emit({
      type: 'dataset-done',
      store: 'qdrant',
      dataset,
      records: points,
      seconds: (performance.now() - t0) / 1000,
    });
    if (points !== c.records) {
      ctx.reporter.emit({
        type: 'warning',
        store: 'qdrant',
        message: `collection ${c.name}: the server snapshot holds ${points} points, the scroll of the same backup ${c.records} (written to during the backup?)`,
      });
    }
    out.push({ name: dataset, records: points });
  } else {
    ctx.reporter.emit({ type: 'phase', store: 'qdrant', message: `creating collection ${c.name}` });
    await client.createCollection(c.name, createCollectionBody(config));
    created.push(c.name);
    for (const [field, index] of Object.entries(saved.payload_schema ?? {}))
      await client.createPayloadIndex(c.name, field, fieldSchemaOf(index));
    points = c.pointsFile ? await loadPoints(client, ctx, options, c) : 0;
    out.push({ name: `${c.name}/points`, records: points });
  }
  const fanOut = fanOutOf(config);
  if (fanOut && !native) await client.updateCollection(c.name, fanOut);
  const strict = strictModeOf(config);
  if (strict && !native) await client.updateCollection(c.name, strict);
  const aliases = saved.aliases ?? [];
  if (aliases.length > 0) {
    const actions: AliasAction[] = aliases.map((alias_name) => ({
      create_alias: { collection_name: c.name, alias_name },
    }));
    await client.updateAliases(actions, c.name);
  }
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
  return out;
}

/**
 * Streams `points.jsonl` into upsert requests. Each line already is a `PointStruct` in Qdrant's JSON
 * (written by `stringifyQdrantJson`, ids exact), so lines are sent as they are, never parsed: nothing
 * can round an id, and memory holds at most `inFlight + 1` batches.
 */
async function loadPoints(
  client: QdrantClient,
  ctx: RestoreContext,
  options: QdrantRestoreOptions,
  c: SnapshotCollection,
): Promise<number> {
  const dataset = `${c.name}/points`;
  const batchSize = options.batchSize ?? 256;
  const maxInFlight = Math.max(1, options.inFlight ?? 2);
  const t0 = performance.now();
  ctx.reporter.emit({ type: 'dataset-start', store: 'qdrant', dataset, total: c.records });
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
      batch.push(line);
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
  ctx.reporter.emit({
    type: 'dataset-done',
    store: 'qdrant',
    dataset,
    records: done,
    seconds: (performance.now() - t0) / 1000,
  });
  return done;
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
