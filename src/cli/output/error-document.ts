/**
 * The result document of a run that failed before it had a summary to print (docs/json-output.md):
 * `{"outcome": "failed", "error": {code, message, subject?, hint?, exitCode}}`, secrets redacted.
 */
import { AcxError, exitCodeOf, redactSecrets, type ErrorCode } from '../../errors.ts';

export interface ErrorDocument {
  outcome: 'failed';
  error: { code: ErrorCode; message: string; subject?: string; hint?: string; exitCode: number };
}

/** The document for an error that ended a run (one that is no AcxError is INTERNAL). */
export function errorDocument(error: unknown): ErrorDocument {
  if (!(error instanceof AcxError))
    return {
      outcome: 'failed',
      error: {
        code: 'INTERNAL',
        message: redactSecrets(error instanceof Error ? error.message : String(error)),
        exitCode: exitCodeOf(error),
      },
    };
  return {
    outcome: 'failed',
    error: {
      code: error.code,
      message: redactSecrets(error.message),
      ...(error.subject === undefined ? {} : { subject: redactSecrets(error.subject) }),
      ...(error.hint === undefined ? {} : { hint: redactSecrets(error.hint) }),
      exitCode: error.exitCode,
    },
  };
}
