/**
 * How a run ended, carried by every operation's summary: the CLI alone turns it into an exit code and
 * prints the summary as it is (`--format json` prints one result document for every outcome).
 *
 * - `complete`: everything asked for was done.
 * - `incomplete`: some items (stores, datasets, formats) failed, the others were done and kept; each
 *   failure is listed. Exit code of INCOMPLETE.
 * - `failed`: nothing asked for was done (every item failed); the exit code is that of the first
 *   failure's error code.
 *
 * An operation that cannot start at all (bad flags, missing snapshot, lock held, target not empty)
 * throws an AcxError instead: there is no summary to print, and the CLI prints `{outcome: "failed",
 * error}` for it under `--format json`.
 */
import { AcxError, type ErrorCode } from '../errors.ts';

export const OUTCOMES = ['complete', 'incomplete', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** One item that failed: which one (a store, a format, a dataset) and the error, as the catalog names it. */
export interface RunFailure {
  item: string;
  code: ErrorCode;
  message: string;
  subject?: string;
  hint?: string;
}

export function failureOf(item: string, error: unknown): RunFailure {
  if (error instanceof AcxError)
    return {
      item,
      code: error.code,
      message: error.message,
      ...(error.subject === undefined ? {} : { subject: error.subject }),
      ...(error.hint === undefined ? {} : { hint: error.hint }),
    };
  return { item, code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/** The outcome of a run that attempted `attempted` items and saw `failures`. */
export function outcomeOf(failures: readonly RunFailure[], attempted: number): Outcome {
  if (failures.length === 0) return 'complete';
  return failures.length >= attempted ? 'failed' : 'incomplete';
}
