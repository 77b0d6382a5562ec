/**
 * One catalog of error codes and the exit codes they map to.
 * Only the CLI entry point turns these into printed messages and process exit codes.
 */

export const EXIT_CODES = {
  ok: 0,
  failure: 1,
  usage: 2,
  incomplete: 3,
  connection: 4,
  notFound: 5,
  integrity: 6,
  refused: 7,
  locked: 8,
  invalid: 9,
  inconsistent: 10,
  interrupted: 130,
} as const;

export type ExitCodeName = keyof typeof EXIT_CODES;

/** Every error code the toolkit raises, with its exit code and a one-line meaning (shown in --help). */
export const ERROR_CATALOG = {
  USAGE: { exit: 'usage', summary: 'invalid flags or arguments' },
  CONFIG: { exit: 'usage', summary: 'missing or invalid connection settings' },
  CONNECTION: { exit: 'connection', summary: 'a store could not be reached or refused the credentials' },
  STORE: { exit: 'failure', summary: 'a store rejected an operation' },
  HOOK: { exit: 'failure', summary: 'a --pre-hook or --post-hook command failed' },
  NOT_EMPTY: { exit: 'refused', summary: 'the target is not empty and --force was not given' },
  UNFINISHED: {
    exit: 'refused',
    summary: 'an interrupted restore or import left the databases half changed: finish or undo it first',
  },
  NOT_FOUND: { exit: 'notFound', summary: 'a named snapshot, file or dataset does not exist' },
  INTEGRITY: { exit: 'integrity', summary: 'a file or snapshot failed verification' },
  LOCKED: { exit: 'locked', summary: 'another run holds the repository lock' },
  INVALID_INPUT: {
    exit: 'invalid',
    summary: 'an input file is unreadable, or holds invalid records (each is reported); nothing was written',
  },
  INCONSISTENT: {
    exit: 'inconsistent',
    summary: 'sync --verify found the stores inconsistent (each difference is in the report)',
  },
  INCOMPLETE: { exit: 'incomplete', summary: 'the run finished but some items failed (each is reported)' },
  INTERRUPTED: { exit: 'interrupted', summary: 'interrupted by a signal; nothing half-written is visible' },
  INTERNAL: { exit: 'failure', summary: 'an unexpected error (a bug: please report it)' },
  STORAGE: { exit: 'failure', summary: 'the backup storage refused or failed an operation' },
} as const satisfies Record<string, { exit: ExitCodeName; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface AcxErrorOptions {
  /** The object involved: a table, label, collection, file or snapshot id. */
  subject?: string;
  /** What the user can do about it. */
  hint?: string;
  cause?: unknown;
}

export class AcxError extends Error {
  readonly code: ErrorCode;
  readonly subject: string | undefined;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: AcxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AcxError';
    this.code = code;
    this.subject = options.subject;
    this.hint = options.hint;
  }

  get exitCode(): number {
    return EXIT_CODES[ERROR_CATALOG[this.code].exit];
  }
}

export function exitCodeOf(error: unknown): number {
  return error instanceof AcxError ? error.exitCode : EXIT_CODES.failure;
}

/** Removes credentials from any text before it can reach output, logs or manifests. */
export function redactSecrets(text: string): string {
  return text
    .replace(/(\w+:\/\/[^:/?#\s]*:)([^@/\s]+)(@)/g, '$1***$3')
    .replace(/((?:password|api[-_]?key|secret|token)["']?\s*[:=]\s*["']?)([^"'\s,;&]+)/gi, '$1***');
}
