/**
 * The core reports progress as typed events and never prints. The CLI renders them as a progress bar
 * on a terminal, plain lines otherwise, or JSON lines (`--json-events`).
 */

export const STORE_NAMES = ['postgres', 'neo4j', 'qdrant'] as const;
export type StoreName = (typeof STORE_NAMES)[number];

export type ProgressEvent =
  | { type: 'phase'; store?: StoreName; message: string }
  | { type: 'dataset-start'; store: StoreName; dataset: string; total?: number }
  | { type: 'dataset-progress'; store: StoreName; dataset: string; done: number; total?: number }
  | { type: 'dataset-done'; store: StoreName; dataset: string; records: number; seconds: number }
  | { type: 'warning'; store?: StoreName; message: string };

export interface ProgressReporter {
  emit(event: ProgressEvent): void;
}

export const silentReporter: ProgressReporter = { emit: () => undefined };
