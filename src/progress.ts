/**
 * The core reports progress as typed events and never prints. The CLI renders them as a progress bar
 * on a terminal, plain lines otherwise, or JSON lines (`--json-events`).
 */

export const STORE_NAMES = ['postgres', 'neo4j', 'qdrant'] as const;
export type StoreName = (typeof STORE_NAMES)[number];

/** Where an event comes from: a store, the application's JSON files, or the repository itself. */
export type ProgressSource = StoreName | 'json' | 'repository';

export type ProgressEvent =
  | { type: 'phase'; store?: ProgressSource; message: string }
  | { type: 'dataset-start'; store: ProgressSource; dataset: string; total?: number }
  | { type: 'dataset-progress'; store: ProgressSource; dataset: string; done: number; total?: number }
  | { type: 'dataset-done'; store: ProgressSource; dataset: string; records: number; seconds: number }
  | { type: 'warning'; store?: ProgressSource; message: string }
  /** A transient fault (lost connection, 429, 503, …): the call is sent again after `delayMs`. */
  | { type: 'retry'; store?: ProgressSource; message: string; attempt: number; delayMs: number }
  /** An invalid input record (import): never written. */
  | {
      type: 'rejected';
      store: StoreName;
      dataset: string;
      file: string;
      line: number;
      field?: string;
      reason: string;
    };

export interface ProgressReporter {
  emit(event: ProgressEvent): void;
}

export const silentReporter: ProgressReporter = { emit: () => undefined };
