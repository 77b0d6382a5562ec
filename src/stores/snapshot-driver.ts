/**
 * What a store's backup and restore receive and return: the contexts and results of the Store
 * interface (`store.ts` re-exports them). The operations own the manifest; a store only writes its
 * files into the sink and returns its section.
 */
import type { ProgressReporter } from '../progress.ts';
import type { SnapshotSink, SnapshotSource, StoreSection } from '../model/snapshot.ts';

export { nowIso } from '../model/snapshot.ts';

export interface BackupContext {
  /** Creates the snapshot's data files (paths relative to the snapshot directory, e.g. `neo4j/nodes.jsonl`). */
  files: SnapshotSink;
  reporter: ProgressReporter;
  signal?: AbortSignal;
}

export interface RestoreContext {
  snapshot: SnapshotSource;
  /** This store's section of the manifest. */
  section: StoreSection;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  /** The target may hold data: replace it (the caller took a safety backup). Otherwise it must be empty. */
  replace: boolean;
}

/** One line of a restore plan (`--dry-run`). */
export interface PlanStep {
  action: 'drop' | 'create' | 'load' | 'keep';
  object: string;
  records?: number;
  detail?: string;
}

export interface RestoredDataset {
  name: string;
  records: number;
}

export interface StoreRestoreSummary {
  datasets: RestoredDataset[];
  seconds: number;
}
