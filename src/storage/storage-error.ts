/**
 * The one error every Storage driver rejects with. It is an AcxError, so the CLI boundary prints it and
 * picks the exit code with no translation; code inside the toolkit branches on `reason`.
 */
import { AcxError, type ErrorCode } from '../errors.ts';
import type { StorageErrorReason } from './storage.ts';

export type StorageOperation = 'open' | 'put' | 'get' | 'stat' | 'list' | 'delete';

/** How each reason reaches the catalog (src/errors.ts), and so the exit code. */
export const STORAGE_REASON_CODES = {
  'not-found': 'NOT_FOUND',
  permission: 'STORAGE',
  // Still failing after the retries: for the user the storage is unreachable.
  transient: 'CONNECTION',
  'invalid-request': 'STORAGE',
  conflict: 'STORAGE',
  other: 'STORAGE',
} as const satisfies Record<StorageErrorReason, ErrorCode>;

const HINTS: Partial<Record<StorageErrorReason, (location: string) => string>> = {
  permission: (location) => `check the credentials or the file permissions of ${location}`,
  transient: () => 'the storage is unreachable or overloaded; try again later',
};

export interface StorageErrorOptions {
  reason: StorageErrorReason;
  operation: StorageOperation;
  /** The storage's printable, secret-free location. */
  location: string;
  /** The key (or the prefix of a listing) involved. */
  key?: string;
  cause?: unknown;
  /** A server's hint for when to try again (Retry-After), in ms; used by RetryingStorage. */
  retryAfterMs?: number;
  hint?: string;
}

export class StorageError extends AcxError {
  readonly reason: StorageErrorReason;
  readonly operation: StorageOperation;
  readonly location: string;
  readonly key: string | undefined;
  readonly retryAfterMs: number | undefined;

  /** `detail` says what went wrong; the message adds the operation, key and location. */
  constructor(detail: string, options: StorageErrorOptions) {
    const what = options.key === undefined ? '' : ` "${options.key}"`;
    super(
      STORAGE_REASON_CODES[options.reason],
      `cannot ${options.operation}${what} on ${options.location}: ${detail}`,
      {
        subject: options.key ?? options.location,
        hint: options.hint ?? HINTS[options.reason]?.(options.location),
        cause: options.cause,
      },
    );
    this.name = 'StorageError';
    this.reason = options.reason;
    this.operation = options.operation;
    this.location = options.location;
    this.key = options.key;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True for a StorageError, optionally only of the given reason. */
export function isStorageError(error: unknown, reason?: StorageErrorReason): error is StorageError {
  return error instanceof StorageError && (reason === undefined || error.reason === reason);
}
