/**
 * The latest `sync --verify --report` document for the HTML report and `status` (`--sync-report FILE|DIR`): the file
 * itself, or the newest `*.json` of a folder (by modification time, then name), as the schedule's dated
 * reports pile up there. The document is user data: nothing in it is trusted beyond its shape, and a file
 * that is not such a report is shown as unreadable instead of failing the whole report.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileError } from '../../files.ts';

/** Entries kept per issue list: the page shows examples, the report file has them all. */
export const SYNC_EXAMPLES = 10;

export interface SyncReportSummary {
  timestamp: string;
  isConsistent: boolean;
  counts: Record<string, number>;
  /** Issue kinds in the report's order, with their full count and the first entries as text. */
  issues: Array<{ kind: string; count: number; examples: string[] }>;
}

export type SyncReportFile =
  | { path: string; modifiedAt: string; report: SyncReportSummary }
  | { path: string; modifiedAt?: string; problem: string }
  | { path: string; none: true };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const asText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** The summary of a parsed report, or why it is not one. */
export function summariseSyncReport(raw: unknown): SyncReportSummary | string {
  if (!isRecord(raw)) return 'not a JSON object';
  if (typeof raw.is_consistent !== 'boolean') return 'no is_consistent: not a sync --verify report';
  const counts: Record<string, number> = {};
  if (isRecord(raw.counts))
    for (const [k, v] of Object.entries(raw.counts)) if (typeof v === 'number') counts[k] = v;
  const lists = isRecord(raw.issues) ? raw.issues : {};
  const issueCounts = isRecord(raw.issue_counts) ? raw.issue_counts : {};
  const kinds = [...new Set([...Object.keys(lists), ...Object.keys(issueCounts)])];
  const issues = kinds.map((kind) => {
    const list = Array.isArray(lists[kind]) ? (lists[kind] as unknown[]) : [];
    const counted = issueCounts[kind];
    return {
      kind,
      count: typeof counted === 'number' ? counted : list.length,
      examples: list.slice(0, SYNC_EXAMPLES).map(asText),
    };
  });
  return {
    timestamp: typeof raw.timestamp === 'string' ? raw.timestamp : '',
    isConsistent: raw.is_consistent,
    counts,
    issues,
  };
}

/** The newest `*.json` in `dir`, or undefined. */
async function newestJson(dir: string): Promise<string | undefined> {
  let newest: { path: string; mtime: number } | undefined;
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const path = join(dir, name);
    const info = await stat(path);
    if (!info.isFile()) continue;
    if (!newest || info.mtimeMs > newest.mtime || (info.mtimeMs === newest.mtime && path > newest.path))
      newest = { path, mtime: info.mtimeMs };
  }
  return newest?.path;
}

/**
 * Reads `--sync-report FILE|DIR`. A path that does not exist is NOT_FOUND (the operator named it); a
 * folder without reports yet, or a file that is not a report, is part of what the page shows.
 */
export async function readSyncReport(path: string): Promise<SyncReportFile> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) {
      const found = await newestJson(path);
      if (found === undefined) return { path, none: true };
      file = found;
    }
    const modifiedAt = (await stat(file)).mtime.toISOString();
    const text = await readFile(file, 'utf8');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      return { path: file, modifiedAt, problem: `not valid JSON (${(error as Error).message})` };
    }
    const report = summariseSyncReport(raw);
    return typeof report === 'string'
      ? { path: file, modifiedAt, problem: report }
      : { path: file, modifiedAt, report };
  } catch (error) {
    throw fileError(error, { path: file, doing: 'read the sync report', code: 'INVALID_INPUT' });
  }
}
