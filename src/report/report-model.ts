/**
 * What the HTML report shows (docs/design.md §13.5), gathered from a repository's listing: every
 * complete snapshot with its stores' records and stored bytes, its verification and restore drill, its
 * cloud copies; the runs that never finished; and the latest `sync --verify` report, read elsewhere
 * (sync-report-file.ts). A plain object: renderReport turns it into a page, tests build it by hand.
 */
import type { Repository, RestoreTest, SnapshotListing, UploadRecord } from '../repository/repository.ts';
import type { SnapshotKind } from '../repository/manifest.ts';
import type { SyncReportFile } from '../operations/sync/sync-report-file.ts';

/** The parts of a snapshot the report tells apart: the three stores and the JSON data files. */
export const REPORT_STORES = ['postgres', 'neo4j', 'qdrant', 'json'] as const;
export type ReportStore = (typeof REPORT_STORES)[number];

export interface StoreUsage {
  store: ReportStore;
  records: number;
  /** Stored bytes of the store's files (format 2: of their blobs, shared ones included). */
  bytes: number;
}

export interface ReportSnapshot {
  id: string;
  kind: SnapshotKind;
  parent: string | null;
  formatVersion: number;
  encrypted: boolean;
  /** When the run started and finished (ISO 8601, UTC). */
  startedAt: string;
  completedAt: string;
  stores: StoreUsage[];
  /** Stored bytes of all its files, and what it added to the repository. */
  bytes: number;
  addedBytes: number;
  verification?: { at: string; ok: boolean; problems: string[] };
  restoreTest?: RestoreTest;
  uploads: UploadRecord[];
}

export interface ReportModel {
  title: string;
  /** Printable, secret-free location of the repository. */
  repository: string;
  generatedAt: string;
  tool: { name: string; version: string };
  /** Newest first. */
  snapshots: ReportSnapshot[];
  running: string[];
  incomplete: string[];
  damaged: Array<{ id: string; problem: string }>;
  /** `--sync-report`: the newest report found, or why none could be read; absent when not asked for. */
  sync?: SyncReportFile;
}

type Listing = Awaited<ReturnType<Repository['list']>>;

/** Records and stored bytes per store of one snapshot, in REPORT_STORES order; stores it lacks are left out. */
export function storeUsage(listing: Pick<SnapshotListing, 'manifest'>): StoreUsage[] {
  const { manifest } = listing;
  const sections = { ...manifest.stores, json: manifest.jsonFiles };
  const usage: StoreUsage[] = [];
  for (const store of REPORT_STORES) {
    const section = sections[store];
    if (!section) continue;
    let records = 0;
    let bytes = 0;
    for (const dataset of section.datasets) {
      records += dataset.records;
      for (const path of dataset.files) bytes += manifest.files[path]?.bytes ?? 0;
    }
    usage.push({ store, records, bytes });
  }
  return usage;
}

function snapshotOf(listing: SnapshotListing): ReportSnapshot {
  const { manifest, verification } = listing;
  return {
    id: listing.id,
    kind: manifest.kind,
    parent: manifest.parent,
    formatVersion: manifest.formatVersion,
    encrypted: manifest.encryption !== null,
    startedAt: manifest.startedAt,
    completedAt: manifest.completedAt,
    stores: storeUsage(listing),
    bytes: listing.bytes,
    addedBytes: listing.addedBytes,
    ...(verification && {
      verification: { at: verification.at, ok: verification.ok, problems: verification.problems ?? [] },
    }),
    ...(verification?.restoreTest && { restoreTest: verification.restoreTest }),
    uploads: listing.uploads,
  };
}

/** What the page says besides the listing: its title, the repository's printable location, the tool. */
export interface ReportOptions {
  title: string;
  repository: string;
  tool: ReportModel['tool'];
  now?: Date;
  sync?: SyncReportFile;
}

/** The model of a listing (`Repository.list()`); `undefined` for a repository that holds nothing yet. */
export function reportModelOf(listing: Listing | undefined, options: ReportOptions): ReportModel {
  return {
    title: options.title,
    repository: options.repository,
    generatedAt: (options.now ?? new Date()).toISOString(),
    tool: options.tool,
    snapshots: (listing?.snapshots ?? []).map(snapshotOf),
    running: listing?.running ?? [],
    incomplete: listing?.incomplete ?? [],
    damaged: listing?.damaged ?? [],
    ...(options.sync && { sync: options.sync }),
  };
}

/** Reads the repository's listing (manifests, verifications, uploads) and builds the model. */
export async function collectReport(
  repository: Repository | undefined,
  options: ReportOptions,
): Promise<ReportModel> {
  return reportModelOf(repository ? await repository.list() : undefined, options);
}
