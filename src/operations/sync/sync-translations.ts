/**
 * Translations (docs/design.md §10.3): the application's translation cache
 * (`data/dtc_codes/translation_cache.json`, keyed by DTC code, values a string or `{translation: …}`)
 * into `description_hu` — PostgreSQL first, then, for exactly the codes it changed, their DTC nodes and
 * points (so those points are embedded again).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AcxError } from '../../errors.ts';
import { DTC_FIELDS, canonicalDtc, type CanonicalDtc } from '../../model/dtc-sync.ts';
import {
  DTC_TABLE,
  dtcNodes,
  emptyDirection,
  noteRejected,
  noteSkipped,
  progress,
  storeOf,
  type DirectionSummary,
  type SyncContext,
} from './sync-context.ts';
import { syncNodeBatch } from './sync-nodes.ts';
import { prepareCollection, requireEmbeddings, syncPointBatch } from './sync-points.ts';

export const TRANSLATION_CACHE = join('dtc_codes', 'translation_cache.json');

export type CacheEntry = { code: string; translation: string } | { code: string; problem: string };

/**
 * The cache's entries sorted by code. The cache is the application's own file, which the application
 * loads whole; it holds one short text per code.
 */
export async function readTranslationCache(dataDir: string): Promise<CacheEntry[]> {
  const path = join(dataDir, TRANSLATION_CACHE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AcxError(missing ? 'NOT_FOUND' : 'STORAGE', `cannot read the translation cache ${path}`, {
      subject: path,
      hint: missing
        ? "point --data-dir at the application's data folder (it holds dtc_codes/translation_cache.json)"
        : undefined,
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AcxError('INVALID_INPUT', `the translation cache ${path} is not valid JSON`, {
      subject: path,
      cause: error,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new AcxError(
      'INVALID_INPUT',
      `the translation cache ${path} is not a JSON object keyed by DTC code`,
      {
        subject: path,
      },
    );
  return Object.entries(parsed as Record<string, unknown>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([code, value]) => entryOf(code, value));
}

function entryOf(code: string, value: unknown): CacheEntry {
  if (typeof value === 'string') return { code, translation: value };
  const inner =
    value !== null && typeof value === 'object' ? (value as Record<string, unknown>).translation : undefined;
  if (typeof inner === 'string') return { code, translation: inner };
  return { code, problem: 'the entry is neither a text nor an object with a text "translation"' };
}

/** The summaries a translation run fills: PostgreSQL's, and the Neo4j and Qdrant writes it causes. */
export interface TranslationSummaries {
  postgres: DirectionSummary;
  neo4j: DirectionSummary;
  qdrant: DirectionSummary;
}

export function translationSummaries(): TranslationSummaries {
  return {
    postgres: emptyDirection('translations', 'postgres'),
    neo4j: emptyDirection('translations', 'neo4j'),
    qdrant: emptyDirection('translations', 'qdrant'),
  };
}

/**
 * Applies one batch of cache entries to PostgreSQL. Returns the records whose row holds the cache's text
 * once the batch is written — the ones it changed and the ones that already held it — as they now are:
 * their nodes and points are brought in step next, so a run that failed after PostgreSQL is healed by
 * the next one.
 */
async function translateBatch(
  ctx: SyncContext,
  entries: readonly CacheEntry[],
  summary: DirectionSummary,
): Promise<CanonicalDtc[]> {
  const postgres = storeOf(ctx, 'postgres');
  const { found } = await postgres.readByKey(
    DTC_TABLE,
    entries.map((e) => e.code),
  );
  const changed: CanonicalDtc[] = [];
  const settled: CanonicalDtc[] = [];
  let filled = 0;
  for (const entry of entries) {
    summary.checked++;
    const row = found.get(entry.code);
    if ('problem' in entry) noteRejected(summary, entry.code, entry.problem);
    else if (row === undefined) noteSkipped(summary, entry.code, 'no such code in dtc_codes');
    else {
      const record = canonicalDtc(row);
      const current = record.description_hu;
      if (current === entry.translation) {
        summary.unchanged++;
        settled.push(record);
      } else if (current !== null && current !== '' && !ctx.force) summary.different++;
      else {
        if (current === null || current === '') filled++;
        changed.push({ ...record, description_hu: entry.translation, updated_at: ctx.now });
      }
    }
  }
  // Whole rows (as just read, with the new translation): an upsert must satisfy every NOT NULL column
  // before PostgreSQL sees the conflict that turns it into an update.
  if (changed.length > 0 && !ctx.dryRun)
    await postgres.writeByKey(DTC_TABLE, {
      upsert: changed.map((r) => Object.fromEntries(DTC_FIELDS.map((f) => [f, r[f]]))),
    });
  // Counted once written: a batch that fails counts nothing.
  summary.created += filled;
  summary.updated += changed.length - filled;
  return [...changed, ...settled];
}

export async function syncTranslations(ctx: SyncContext, summaries: TranslationSummaries): Promise<void> {
  const cache = join(ctx.dataDir, TRANSLATION_CACHE);
  if (ctx.cacheOptional && !existsSync(cache)) {
    summaries.postgres.note = `no translation cache at ${cache}: nothing to translate`;
    return;
  }
  const entries = await readTranslationCache(ctx.dataDir);
  await prepareCollection(ctx, requireEmbeddings(ctx));
  await storeOf(ctx, 'neo4j').prepareDataset(dtcNodes(ctx.labels), { create: !ctx.dryRun });
  for (let i = 0; i < entries.length; i += ctx.batchSize) {
    const translated = await translateBatch(ctx, entries.slice(i, i + ctx.batchSize), summaries.postgres);
    if (translated.length > 0) {
      // Rewritten where they differ (equal ones are not written); a vector of unknown origin is embedded
      // again only under the user's --force, as in PostgreSQL → Qdrant.
      await syncNodeBatch(ctx, translated, summaries.neo4j, true);
      await syncPointBatch(ctx, translated, summaries.qdrant, { force: true, reembedUnknown: ctx.force });
    }
    progress(ctx, summaries.postgres, entries.length);
  }
}
