/**
 * PostgreSQL → Qdrant (docs/design.md §10): production's DTC points in `autocognitix`, each vector the
 * embedding of production's text recipe. A point is embedded again only when its text or model changed
 * (or its vector is unusable): an unchanged re-sync computes no embedding.
 */
import { AcxError } from '../../errors.ts';
import {
  EMBEDDING_MODEL_KEY,
  EMBEDDING_TEXT_KEY,
  canonicalDtc,
  differingPayload,
  embeddingText,
  pointPayload,
  sha256Hex,
  type CanonicalDtc,
} from '../../model/dtc-sync.ts';
import { AUTOCOGNITIX_COLLECTION, pointId } from '../../model/qdrant-model.ts';
import type { EmbeddingProvider } from '../../embeddings/embedding-provider.ts';
import {
  DTC_POINTS,
  DTC_TABLE,
  codesPostgresLacks,
  noteExtra,
  progress,
  storeOf,
  type DirectionSummary,
  type SyncContext,
} from './sync-context.ts';
import { pages } from './sync-pages.ts';

/** How far a stored vector may be from unit length and still count as normalised. */
export const NORM_TOLERANCE = 1e-3;

/** Why a stored vector cannot serve (no vector, named vectors, wrong dimension, not unit length), or null. */
export function vectorProblem(vector: unknown, dimension: number): string | null {
  if (vector === null || vector === undefined) return 'no vector';
  if (!Array.isArray(vector)) return 'not an unnamed dense vector';
  if (vector.length !== dimension) return `${vector.length} dimensions, expected ${dimension}`;
  let sum = 0;
  for (const v of vector as number[]) sum += v * v;
  const norm = Math.sqrt(sum);
  return Math.abs(norm - 1) > NORM_TOLERANCE ? `norm ${norm.toFixed(6)}, expected 1` : null;
}

/** What a batch may rewrite: `force` rewrites different points; `reembedUnknown` embeds vectors of unknown origin again. */
export interface PointWrites {
  force: boolean;
  reembedUnknown: boolean;
}

interface PlannedPoint {
  id: bigint;
  payload: Record<string, unknown>;
  /** The text to embed, or the stored vector to keep. */
  embed?: string;
  vector?: unknown;
}

/** The provider, or the error that says how to configure one (PostgreSQL → Qdrant never writes a point without a vector). */
export function requireEmbeddings(ctx: SyncContext): EmbeddingProvider {
  if (ctx.embeddings) return ctx.embeddings;
  throw new AcxError(
    'CONFIG',
    'no embedding provider is configured: sync to Qdrant needs one to compute vectors',
    {
      subject: 'EMBEDDING_PROVIDER',
      hint: 'set EMBEDDING_PROVIDER=local (with EMBEDDING_MODEL_DIR) or EMBEDDING_PROVIDER=http (with EMBEDDING_URL); README, "Embeddings"',
    },
  );
}

function planPoint(
  record: CanonicalDtc,
  stored: Record<string, unknown> | undefined,
  provider: EmbeddingProvider,
  { force, reembedUnknown }: PointWrites,
): { plan?: PlannedPoint; state: 'created' | 'updated' | 'different' | 'unchanged' } {
  const text = embeddingText(record);
  const hash = sha256Hex(text);
  const payload = {
    ...pointPayload(record),
    [EMBEDDING_MODEL_KEY]: provider.model,
    [EMBEDDING_TEXT_KEY]: hash,
  };
  const id = pointId('dtc', record.code);
  if (stored === undefined) return { plan: { id, payload, embed: text }, state: 'created' };
  const current = (stored.payload ?? {}) as Record<string, unknown>;
  const known = typeof current[EMBEDDING_TEXT_KEY] === 'string';
  const textChanged =
    known && (current[EMBEDDING_TEXT_KEY] !== hash || current[EMBEDDING_MODEL_KEY] !== provider.model);
  const badVector = vectorProblem(stored.vector, provider.dimension) !== null;
  // A vector of unknown origin (no bookkeeping keys) is left alone, except by --force: embedded once.
  const unknownOrigin = !known && reembedUnknown;
  if (!textChanged && !badVector && !unknownOrigin && differingPayload(payload, current).length === 0)
    return { state: 'unchanged' };
  if (!force) return { state: 'different' };
  const keep = known && !textChanged && !badVector;
  return {
    plan: keep ? { id, payload, vector: stored.vector } : { id, payload, embed: text },
    state: 'updated',
  };
}

/** Brings one batch of PostgreSQL records into Qdrant: missing points created, different ones rewritten with `force`. */
export async function syncPointBatch(
  ctx: SyncContext,
  records: readonly CanonicalDtc[],
  summary: DirectionSummary,
  writes: PointWrites,
): Promise<void> {
  const qdrant = storeOf(ctx, 'qdrant');
  const provider = requireEmbeddings(ctx);
  const ids = records.map((r) => pointId('dtc', r.code).toString());
  const { found } = await qdrant.readByKey(DTC_POINTS, ids);
  const planned: PlannedPoint[] = [];
  const counts = { created: 0, updated: 0 };
  records.forEach((record, i) => {
    summary.checked++;
    const { plan, state } = planPoint(record, found.get(ids[i] ?? ''), provider, writes);
    if (state === 'unchanged') summary.unchanged++;
    else if (state === 'different') summary.different++;
    else counts[state]++;
    if (plan) planned.push(plan);
  });
  const texts = planned.flatMap((p) => (p.embed === undefined ? [] : [p.embed]));
  if (!ctx.dryRun && planned.length > 0) {
    const vectors = texts.length > 0 ? await provider.embed(texts, ctx.signal) : [];
    let next = 0;
    const upsert = planned.map((p) => ({
      id: p.id,
      vector: p.embed === undefined ? p.vector : Array.from(vectors[next++] ?? []),
      payload: p.payload,
    }));
    await qdrant.writeByKey(DTC_POINTS, { upsert });
  }
  summary.embeddings += texts.length;
  summary.created += counts.created;
  summary.updated += counts.updated;
}

/**
 * Why each DTC point of a page is extra, or undefined when it is the point of a `dtc_codes` row: it has no
 * code, its code is not in `dtc_codes`, or it sits under an id that is not its code's.
 */
export async function extraPointsOf(
  ctx: Pick<SyncContext, 'stores'>,
  page: readonly Record<string, unknown>[],
): Promise<{ id: string; code?: string; why?: 'no code' | 'not in postgres' | 'foreign id' }[]> {
  const codes = page.map((p) => ((p.payload ?? {}) as Record<string, unknown>).code);
  const lacking = new Set(
    await codesPostgresLacks(
      ctx,
      codes.filter((c): c is string => typeof c === 'string'),
    ),
  );
  return page.map((point, i) => {
    const id = String(point.id);
    const code = codes[i];
    if (typeof code !== 'string') return { id, why: 'no code' };
    if (lacking.has(code)) return { id, code, why: 'not in postgres' };
    return pointId('dtc', code).toString() === id ? { id, code } : { id, code, why: 'foreign id' };
  });
}

/** A page's extra points: all named; only those with a code prunable. */
async function extraPoints(
  ctx: SyncContext,
  page: readonly Record<string, unknown>[],
): Promise<{ ids: string[]; names: string[] }> {
  const ids: string[] = [];
  const names: string[] = [];
  for (const { id, code, why } of await extraPointsOf(ctx, page)) {
    if (why === undefined) continue;
    // A point without a code is reported, never pruned: it may be a code's point that lost its payload.
    if (code !== undefined) ids.push(id);
    names.push(code !== undefined ? `${code} (point ${id})` : `point ${id}`);
  }
  return { ids, names };
}

async function findExtraPoints(ctx: SyncContext, summary: DirectionSummary): Promise<void> {
  const qdrant = storeOf(ctx, 'qdrant');
  for await (const page of pages(qdrant, DTC_POINTS, ctx.batchSize, ctx.signal)) {
    const { ids, names } = await extraPoints(ctx, page);
    noteExtra(summary, names);
    if (ctx.prune && ids.length > 0) {
      if (!ctx.dryRun) await qdrant.writeByKey(DTC_POINTS, { remove: ids });
      summary.pruned += ids.length;
    }
  }
}

/** Creates `autocognitix` when missing; refuses a collection whose vectors the model cannot fill. */
export async function prepareCollection(ctx: SyncContext, provider: EmbeddingProvider): Promise<void> {
  const info = await storeOf(ctx, 'qdrant').prepareDataset(DTC_POINTS, {
    create: !ctx.dryRun,
    vectorSize: provider.dimension,
  });
  if (info.exists && info.vectorSize !== provider.dimension)
    throw new AcxError(
      'CONFIG',
      `collection ${AUTOCOGNITIX_COLLECTION} holds ${info.vectorSize ?? 'named'}-dimension vectors; the embedding model ${provider.model} gives ${provider.dimension}`,
      {
        subject: AUTOCOGNITIX_COLLECTION,
        hint: "set EMBEDDING_DIMENSION and the model to the collection's size",
      },
    );
}

export async function syncPostgresToQdrant(ctx: SyncContext, summary: DirectionSummary): Promise<void> {
  const provider = requireEmbeddings(ctx);
  await prepareCollection(ctx, provider);
  for await (const page of pages(storeOf(ctx, 'postgres'), DTC_TABLE, ctx.batchSize, ctx.signal)) {
    await syncPointBatch(ctx, page.map(canonicalDtc), summary, {
      force: ctx.force,
      reembedUnknown: ctx.force,
    });
    progress(ctx, summary);
  }
  await findExtraPoints(ctx, summary);
}
