/**
 * The one abort check of long store loops (restore batches, backup pages, polling): between two units
 * of work, a fired signal ends the run with INTERRUPTED naming what was interrupted.
 */
import { AcxError } from '../errors.ts';

/**
 * Throws `INTERRUPTED` ("`what` interrupted", e.g. "Neo4j restore interrupted") when `signal` has
 * fired; does nothing otherwise. The signal's reason becomes the error's cause.
 */
export function throwIfAborted(signal: AbortSignal | undefined, what: string, subject: string): void {
  if (signal?.aborted)
    throw new AcxError('INTERRUPTED', `${what} interrupted`, { subject, cause: signal.reason });
}
