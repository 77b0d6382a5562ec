/**
 * Import into Qdrant. Qdrant has no transactions, so all-or-nothing is kept by undoing: before each
 * batch is written, the stored versions of the points it replaces (and the ids it adds) are appended
 * to an undo file on disk; `rollback()` deletes the added points and writes the old versions back, and
 * deletes a collection the import created. A dry run reads but never writes.
 *
 * The undo file lives in the import's work folder (`ImportContext.workDir`, the run journal's folder in
 * the state directory) so that an import killed with SIGKILL can be undone by the next one
 * (`undoQdrantImport`); it also names, before each is created, the collections the import creates.
 *
 * Identity: a point by its id. The conflict strategy (model/conflict.ts) sees a point as its payload
 * fields plus `vector`: `merge` fills payload keys the stored point lacks (its vector stays), `newest`
 * compares the payloads' `updated_at`. Every point is checked against the collection first: vector
 * names, dimensions and finite numbers; a file whose vectors do not fit the collection's (size or
 * distance) is refused before anything is written.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AcxError } from '../../errors.ts';
import { appendUndoRecords } from '../../files.ts';
import type { InputDataset, InputRecord } from '../../model/input.ts';
import { isoToEpochNanos, resolveConflict, TIMESTAMP_FIELD } from '../../model/conflict.ts';
import {
  datasetDone,
  forEachBatch,
  rejectRecord,
  secondsSince,
  zeroCounts,
  type DatasetCounts,
  type DatasetResult,
  type ImportContext,
  type ImportLedger,
} from '../../model/import.ts';
import type { PointId, QdrantClient, QdrantPoint } from './qdrant-client.ts';
import { parseQdrantJson, stringifyQdrantJson } from './qdrant-json.ts';
import { createCollectionBody, fieldSchemaOf } from './qdrant-collection-body.ts';
import { isJsonObject } from '../../model/exact-json.ts';

type Obj = Record<string, unknown>;
const VECTOR = '\u0000vector';
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

interface VectorSpec {
  size?: number;
  distance?: string;
  sparse?: boolean;
}

/** The vectors a collection takes: '' for the unnamed one, else by name. */
function vectorSpecs(config: Obj | null): Map<string, VectorSpec> | undefined {
  const params =
    isJsonObject(config?.config) && isJsonObject(config.config.params) ? config.config.params : undefined;
  if (!params) return undefined;
  const specs = new Map<string, VectorSpec>();
  const vectors = params.vectors;
  if (isJsonObject(vectors)) {
    if (typeof vectors.size === 'number')
      specs.set('', { size: vectors.size, distance: String(vectors.distance) });
    else
      for (const [name, v] of Object.entries(vectors))
        if (isJsonObject(v)) specs.set(name, { size: Number(v.size), distance: String(v.distance) });
  }
  if (isJsonObject(params.sparse_vectors))
    for (const name of Object.keys(params.sparse_vectors)) specs.set(name, { sparse: true });
  return specs;
}

function pointIdProblem(id: unknown): string | null {
  if (typeof id === 'bigint')
    return id >= 0n && id < 2n ** 64n ? null : `id ${id} is not an unsigned 64-bit integer`;
  if (typeof id === 'number')
    return Number.isSafeInteger(id) && id >= 0 ? null : `id ${id} is not an unsigned integer`;
  if (typeof id === 'string')
    return UUID.test(id) ? null : `id "${id}" is neither an unsigned integer nor a UUID`;
  return 'point without an id';
}

function vectorProblem(vector: unknown, specs: Map<string, VectorSpec>): string | null {
  const dense = (v: unknown, spec: VectorSpec, name: string): string | null => {
    const label = name === '' ? 'vector' : `vector "${name}"`;
    if (spec.sparse) {
      if (
        !isJsonObject(v) ||
        !Array.isArray(v.indices) ||
        !Array.isArray(v.values) ||
        v.indices.length !== v.values.length
      )
        return `${label} must be a sparse vector {indices, values} of equal length`;
      return null;
    }
    if (!Array.isArray(v)) return `${label} must be a list of numbers`;
    if (spec.size !== undefined && v.length !== spec.size)
      return `${label} has ${v.length} dimensions, the collection takes ${spec.size}`;
    if (v.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
      return `${label} holds a value that is not a finite number`;
    return null;
  };
  if (vector === null || vector === undefined) return 'point without a vector';
  const unnamed = specs.get('');
  if (unnamed) return dense(vector, unnamed, '');
  if (!isJsonObject(vector))
    return `the collection has named vectors (${[...specs.keys()].join(', ')}); the point's vector is not a map of them`;
  for (const [name, v] of Object.entries(vector)) {
    const spec = specs.get(name);
    if (!spec)
      return `vector name "${name}" is not one of the collection's (${[...specs.keys()].join(', ')})`;
    const problem = dense(v, spec, name);
    if (problem) return problem;
  }
  return null;
}

const idKey = (id: PointId) => (typeof id === 'string' ? `s:${id.toLowerCase()}` : `n:${id.toString()}`);

function timestampOf(record: Obj): bigint | null {
  const v = record[TIMESTAMP_FIELD];
  return typeof v === 'string' ? isoToEpochNanos(v) : null;
}

/** INVALID_INPUT unless every vector of the file's is one of the collection's, of its size and distance. */
function checkVectorsFit(
  file: string,
  collection: string,
  fileSpecs: Map<string, VectorSpec> | undefined,
  target: Map<string, VectorSpec>,
): void {
  for (const [name, spec] of fileSpecs ?? []) {
    const mine = target.get(name);
    const label = name === '' ? 'vectors' : `vector "${name}"`;
    if (!mine)
      throw new AcxError('INVALID_INPUT', `${file}: collection ${collection} has no ${label}`, {
        subject: file,
        hint: `its vectors: ${[...target.keys()].map((n) => n || '(unnamed)').join(', ')}`,
      });
    if (!spec.sparse && (mine.size !== spec.size || mine.distance !== spec.distance))
      throw new AcxError(
        'INVALID_INPUT',
        `${file}: the file's ${label} are ${spec.size}-dimensional ${spec.distance}, collection ${collection} takes ${mine.size}-dimensional ${mine.distance}`,
        { subject: file },
      );
  }
}

/** A record that passed the checks: its point id, vector and payload. */
interface ValidPoint {
  record: InputRecord;
  id: PointId;
  vector: unknown;
  payload: Obj;
}

/** The undo file's name in an import's work folder. */
export const QDRANT_UNDO_FILE = 'qdrant-undo.ndjson';

export class QdrantImport {
  /** A temporary folder this session made for its undo file (none when the context gives a work folder). */
  private undoDir: string | undefined;
  private undoPath: string | undefined;
  /** Collections a dry run would create: nothing is stored in them to read. */
  private readonly wouldCreate = new Set<string>();
  private readonly results: DatasetResult[] = [];

  private readonly client: QdrantClient;
  private readonly ctx: ImportContext;
  private readonly ledger: ImportLedger;

  constructor(client: QdrantClient, ctx: ImportContext, ledger: ImportLedger) {
    this.client = client;
    this.ctx = ctx;
    this.ledger = ledger;
  }

  private async undoFile(): Promise<string> {
    if (this.undoPath) return this.undoPath;
    if (!this.ctx.workDir) this.undoDir = await mkdtemp(join(tmpdir(), 'acx-qdrant-undo-'));
    this.undoPath = join(this.ctx.workDir ?? this.undoDir!, QDRANT_UNDO_FILE);
    return this.undoPath;
  }

  /** Appends to the undo file and returns once the lines are durable (one fsync per batch). */
  private async appendUndo(lines: string): Promise<void> {
    await appendUndoRecords(await this.undoFile(), lines);
  }

  /** Checks the target collection against the input's, creating it (unless this is a dry run) when missing. */
  private async prepareCollection(
    ds: InputDataset & { target: { store: 'qdrant' } },
  ): Promise<Map<string, VectorSpec>> {
    const { collection, config } = ds.target;
    const fileSpecs = vectorSpecs(config);
    if (await this.client.collectionExists(collection)) {
      const target = vectorSpecs({ config: (await this.client.getCollection(collection)).config } as Obj);
      if (!target)
        throw new AcxError('STORE', `Qdrant collection ${collection} reports no vector parameters`, {
          subject: collection,
        });
      checkVectorsFit(ds.file, collection, fileSpecs, target);
      return target;
    }
    if (!fileSpecs || !isJsonObject(config?.config))
      throw new AcxError(
        'INVALID_INPUT',
        `${ds.file}: collection ${collection} does not exist and the file does not describe it`,
        {
          subject: ds.file,
          hint: 'create the collection first, or import a qdrant_vectors.json.gz written by acx-data export',
        },
      );
    this.ctx.reporter.emit({
      type: 'phase',
      store: 'qdrant',
      message: `${this.ctx.writes ? 'creating' : 'would create'} collection ${collection}`,
    });
    if (!this.ctx.writes) this.wouldCreate.add(collection);
    else await this.createCollection(collection, config.config, config.payload_schema);
    return fileSpecs;
  }

  /** Creates a collection the input describes (configuration and payload indexes); rollback deletes it. */
  private async createCollection(collection: string, config: Obj, payloadSchema: unknown): Promise<void> {
    // Named in the undo file before it exists: an import killed from here on is undone by deleting it.
    await this.appendUndo(stringifyQdrantJson({ c: collection, created: true }) + '\n');
    await this.client.createCollection(collection, createCollectionBody(config));
    const schema = isJsonObject(payloadSchema) ? payloadSchema : {};
    for (const [field, index] of Object.entries(schema))
      await this.client.createPayloadIndex(
        collection,
        field,
        fieldSchemaOf(index as { data_type: string; params?: unknown }),
      );
  }

  async importPoints(ds: InputDataset): Promise<void> {
    if (ds.target.store !== 'qdrant') throw new AcxError('INTERNAL', 'not a Qdrant dataset');
    const started = performance.now();
    const collection = ds.target.collection;
    const specs = await this.prepareCollection(ds as InputDataset & { target: { store: 'qdrant' } });
    const counts = zeroCounts();
    const done = await forEachBatch(this.ctx, 'qdrant', ds, (batch) =>
      this.importBatch(ds, collection, specs, batch, counts),
    );
    const result = { store: 'qdrant' as const, dataset: ds.name, file: ds.file, target: collection, counts };
    this.results.push(datasetDone(this.ctx, result, done, secondsSince(started)));
  }

  /** One batch: the valid points are read back from the collection, decided on, and written. */
  private async importBatch(
    ds: InputDataset,
    collection: string,
    specs: Map<string, VectorSpec>,
    records: InputRecord[],
    counts: DatasetCounts,
  ): Promise<void> {
    const valid = this.checkPoints(ds, collection, specs, records, counts);
    if (valid.length === 0) return;
    const stored = await this.readStored(collection, valid);
    const writes: QdrantPoint[] = [];
    const undo: string[] = [];
    for (const v of valid) {
      const old = stored.get(idKey(v.id));
      const existing = old ? { ...(old.payload ?? {}), [VECTOR]: old.vector } : null;
      const incoming = { ...v.payload, [VECTOR]: v.vector };
      const fields = [...Object.keys(v.payload), VECTOR];
      const decision = resolveConflict(this.ctx.strategy, existing, incoming, fields, timestampOf);
      if (decision.action === 'skip') {
        counts.skipped++;
        continue;
      }
      const { [VECTOR]: vector, ...payload } = decision.values;
      writes.push({ id: v.id, vector, payload });
      undo.push(stringifyQdrantJson(old ? { c: collection, restore: old } : { c: collection, remove: v.id }));
      if (decision.action === 'insert') counts.inserted++;
      else counts.updated++;
    }
    if (writes.length === 0 || !this.ctx.writes) return;
    // The undo entries are on disk (fsync'd) before the points they undo are written.
    await this.appendUndo(undo.join('\n') + '\n');
    await this.client.upsertJson(
      collection,
      writes.map((p) => stringifyQdrantJson(p)),
      this.ctx.signal,
    );
  }

  /** The batch's valid points; every other record is rejected (reported), duplicates of the input too. */
  private checkPoints(
    ds: InputDataset,
    collection: string,
    specs: Map<string, VectorSpec>,
    records: InputRecord[],
    counts: DatasetCounts,
  ): ValidPoint[] {
    const reject = (line: number, reason: string, field?: string) =>
      rejectRecord(this.ctx, counts, 'qdrant', ds, line, [{ field, reason }]);
    const valid: ValidPoint[] = [];
    // One ledger transaction per batch (a SQLite transaction per record would be ~40× slower).
    this.ledger.batch(() => {
      for (const record of records) {
        const { id, vector, payload } = record.values;
        if (record.problems?.length) {
          rejectRecord(this.ctx, counts, 'qdrant', ds, record.line, record.problems);
          continue;
        }
        const problem =
          pointIdProblem(id) ??
          (payload !== null && payload !== undefined && !isJsonObject(payload)
            ? 'payload must be a JSON object'
            : null) ??
          vectorProblem(vector, specs);
        if (problem) {
          reject(record.line, problem);
          continue;
        }
        const first = this.ledger.firstSeen(`point:${collection}`, idKey(id as PointId), record.line);
        if (first !== null) {
          reject(record.line, `duplicate point id ${String(id)} (first at line ${first})`, 'id');
          continue;
        }
        valid.push({ record, id: id as PointId, vector, payload: isJsonObject(payload) ? payload : {} });
      }
    });
    return valid;
  }

  /** The stored versions of the batch's points, by `idKey` (none in a collection a dry run would create). */
  private async readStored(collection: string, valid: ValidPoint[]): Promise<Map<string, QdrantPoint>> {
    const stored = new Map<string, QdrantPoint>();
    if (this.wouldCreate.has(collection)) return stored;
    const found = await this.client.request<QdrantPoint[]>(
      'POST',
      `/collections/${encodeURIComponent(collection)}/points`,
      {
        // Under skip only existence matters: no payloads or vectors are fetched (they are never written back).
        body: {
          ids: valid.map((v) => v.id),
          with_payload: this.ctx.strategy !== 'skip',
          with_vector: this.ctx.strategy !== 'skip',
        },
        subject: collection,
      },
    );
    for (const p of found) stored.set(idKey(p.id), p);
    return stored;
  }

  summary(): DatasetResult[] {
    return this.results;
  }

  /** Nothing to do: every write is already applied; the undo file is dropped. */
  async commit(): Promise<void> {
    await this.cleanup();
  }

  /** Puts every touched collection back as it was before the import. */
  async rollback(): Promise<void> {
    // The undo file names the collections this session created, and every point it wrote. It is kept
    // when undoing fails, so that the next import into this Qdrant retries (design §9).
    if (this.undoPath) await undoQdrantImport(this.client, this.undoPath, this.ctx.batchSize);
    await this.cleanup();
  }

  private async cleanup(): Promise<void> {
    if (this.undoPath) await rm(this.undoPath, { force: true });
    if (this.undoDir) await rm(this.undoDir, { recursive: true, force: true });
    this.undoDir = undefined;
    this.undoPath = undefined;
  }
}

interface UndoEntry {
  c: string;
  created?: true;
  remove?: PointId;
  restore?: QdrantPoint;
}

async function* undoEntries(file: string): AsyncGenerator<UndoEntry> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    try {
      yield parseQdrantJson(line) as UndoEntry;
    } catch {
      return; // the last line of a killed run may be cut short: the batch it begins was never written
    }
  }
}

/** What undoing an import did. */
export interface QdrantUndone {
  collectionsDeleted: string[];
  pointsRemoved: number;
  pointsRestored: number;
}

/**
 * Undoes the writes an undo file records (a failed import's, or a killed one's found by the next run):
 * deletes the collections it created, deletes the points it added and writes back the old versions of
 * those it replaced. Idempotent, so an undo that is itself interrupted can be run again.
 */
export async function undoQdrantImport(
  client: QdrantClient,
  file: string,
  batchSize: number,
): Promise<QdrantUndone> {
  const done: QdrantUndone = { collectionsDeleted: [], pointsRemoved: 0, pointsRestored: 0 };
  if (!(await stat(file).catch(() => undefined))) return done;
  const created = new Set<string>();
  for await (const entry of undoEntries(file)) if (entry.created) created.add(entry.c);
  for (const name of created) {
    await client.deleteCollection(name).catch(() => undefined);
    done.collectionsDeleted.push(name);
  }
  // The undo file lists batches in order; restoring in that order is right because a point is
  // written at most once per import (duplicates are rejected).
  const pending = new Map<string, { remove: PointId[]; restore: QdrantPoint[] }>();
  const flush = async (name: string) => {
    const p = pending.get(name);
    if (!p) return;
    done.pointsRemoved += p.remove.length;
    done.pointsRestored += p.restore.length;
    if (p.remove.length > 0) await client.deletePoints(name, p.remove.splice(0));
    if (p.restore.length > 0)
      await client.upsertJson(
        name,
        p.restore.splice(0).map((point) => stringifyQdrantJson(point)),
      );
  };
  for await (const entry of undoEntries(file)) {
    if (entry.created || created.has(entry.c)) continue;
    const p = pending.get(entry.c) ?? { remove: [], restore: [] };
    pending.set(entry.c, p);
    if (entry.remove !== undefined) p.remove.push(entry.remove);
    if (entry.restore) p.restore.push(entry.restore);
    if (p.remove.length + p.restore.length >= batchSize) await flush(entry.c);
  }
  for (const name of pending.keys()) await flush(name);
  return done;
}
