/**
 * The exit code of a run that returned a summary (docs/json-output.md): the summary is printed first,
 * whatever its outcome; then a run that was not complete ends with the error this returns.
 */
import { AcxError } from '../../errors.ts';
import type { Outcome, RunFailure } from '../../operations/outcome.ts';

/**
 * `incomplete` → INCOMPLETE; `failed` → the first failure's code; a failure that is an interruption →
 * INTERRUPTED (Ctrl-C has its own exit code whatever else happened). Undefined when complete.
 */
export function errorForOutcome(
  summary: { outcome: Outcome; failures: readonly RunFailure[] },
  what: string,
  options: { subject?: string; hint?: string } = {},
): AcxError | undefined {
  if (summary.outcome === 'complete') return undefined;
  const interrupted = summary.failures.some((f) => f.code === 'INTERRUPTED');
  const code = interrupted
    ? 'INTERRUPTED'
    : summary.outcome === 'failed'
      ? (summary.failures[0]?.code ?? 'INCOMPLETE')
      : 'INCOMPLETE';
  const detail = summary.failures.map((f) => `${f.item}: ${f.message}`).join('; ');
  return new AcxError(code, `${what}: ${detail}`, options);
}
