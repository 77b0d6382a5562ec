/**
 * Shared vocabulary of the import: counts per dataset, rejected records, and the context every store's
 * importer gets. Importers never print; they report through `ImportContext`.
 */
import type { ConflictStrategy } from '../model/conflict.ts';
import type { ProgressEvent, ProgressReporter, StoreName } from '../progress.ts';

export interface DatasetCounts {
  /** New records written. */
  inserted: number;
  /** Stored records changed by the conflict strategy. */
  updated: number;
  /** Stored records left as they were (the strategy kept them). */
  skipped: number;
  /** Invalid records: never written, each reported. */
  rejected: number;
}

export const zeroCounts = (): DatasetCounts => ({ inserted: 0, updated: 0, skipped: 0, rejected: 0 });

/** One invalid record: where it is (store, dataset, file, line, field) and why it cannot be imported. */
export type Rejection = Omit<Extract<ProgressEvent, { type: 'rejected' }>, 'type'>;

export interface ImportContext {
  strategy: ConflictStrategy;
  /** Records per write batch (`--batch-size`). */
  batchSize: number;
  /** `import` writes; `dry-run` and `validate` do the same work and write nothing. */
  writes: boolean;
  reporter: ProgressReporter;
  reject(rejection: Rejection): void;
  signal?: AbortSignal;
}

export interface DatasetResult {
  store: StoreName;
  dataset: string;
  file: string;
  /** What it was written to: a table, label, relationship type or collection. */
  target: string;
  counts: DatasetCounts;
}
