/**
 * How the GCS driver words what @google-cloud/storage (and google-auth-library under it) throws. SDK
 * errors are never passed on as they are: they carry the request (headers with a bearer token) and
 * the response, so the StorageError's `cause` is a plain Error holding only the status and a cleaned
 * message.
 */
import { redactSecrets } from '../../errors.ts';
import type { StorageErrorReason } from '../storage.ts';
import { StorageError, type StorageOperation } from '../storage-error.ts';

/** The variables the SDK's credential chain reads, named in every 'permission' message. */
export const GCS_CREDENTIAL_VARIABLES =
  'GOOGLE_APPLICATION_CREDENTIALS (a service account key file) or the application default credentials';

/** The fields of an SDK error this driver reads (ApiError, GaxiosError, node-fetch's FetchError). */
interface SdkErrorShape {
  code?: unknown;
  status?: unknown;
  message?: unknown;
  type?: unknown;
  response?: { headers?: Record<string, unknown>; data?: unknown };
}

/** The HTTP status of an SDK error, when it has one (ApiError.code, GaxiosError.status, '503'). */
export function statusOf(error: unknown): number | undefined {
  const shape = (error ?? {}) as SdkErrorShape;
  for (const value of [shape.code, shape.status]) {
    if (typeof value === 'number' && value >= 100 && value < 600) return value;
    if (typeof value === 'string' && /^[1-5]\d\d$/.test(value)) return Number(value);
  }
  return undefined;
}

function textOf(error: unknown): string {
  const shape = (error ?? {}) as SdkErrorShape;
  const message = typeof shape.message === 'string' ? shape.message : String(error);
  // ApiError joins several errors over lines, and a 416 carries an XML body: the first line is enough.
  const first = message.split('\n').find((line) => line.trim() !== '') ?? message;
  return redactSecrets(first.trim()).slice(0, 300);
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);
const TRANSIENT_TEXT =
  /socket hang up|network timeout|timed? ?out|other side closed|connection closure|ECONNRESET|EPIPE|ECONNREFUSED|retry limit exceeded/i;
const AUTH_TEXT =
  /invalid_grant|invalid_client|unauthorized_client|could not load the default credentials|could not refresh access token|invalid jwt|no access, refresh token|anonymous caller/i;

/** Why the SDK failed, in this project's terms. 404 is 'not-found': the caller decides object or bucket. */
export function reasonOfGcsError(error: unknown): StorageErrorReason {
  const status = statusOf(error);
  const shape = (error ?? {}) as SdkErrorShape;
  const code = typeof shape.code === 'string' ? shape.code.toUpperCase() : undefined;
  const text = textOf(error);
  if (status !== undefined) {
    if (status === 401 || status === 403) return 'permission';
    if (status === 404) return 'not-found';
    if (status === 412 || status === 409) return 'conflict';
    if (status === 408 || status === 429 || status >= 500) return 'transient';
    if (status === 400 && AUTH_TEXT.test(text)) return 'permission';
    if (status >= 400) return 'invalid-request';
  }
  if (AUTH_TEXT.test(text)) return 'permission';
  if (code !== undefined && TRANSIENT_CODES.has(code)) return 'transient';
  if (shape.type === 'request-timeout' || shape.type === 'system') return 'transient';
  if (TRANSIENT_TEXT.test(text)) return 'transient';
  return 'other';
}

/** Milliseconds from a Retry-After header in seconds, when the service sent one. */
function retryAfterOf(error: unknown): number | undefined {
  const headers = ((error ?? {}) as SdkErrorShape).response?.headers;
  const value = headers?.['retry-after'];
  const seconds = typeof value === 'string' ? Number(value) : undefined;
  return seconds !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

export interface GcsErrorContext {
  operation: StorageOperation;
  location: string;
  bucket: string;
  key?: string;
}

/** A StorageError for an SDK error; a 404 becomes 'not-found' here (the driver checks the bucket). */
export function gcsError(error: unknown, context: GcsErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const reason = reasonOfGcsError(error);
  const status = statusOf(error);
  const summary = `${status === undefined ? '' : `HTTP ${status}: `}${textOf(error)}`;
  const cause = new Error(summary);
  const base = { operation: context.operation, location: context.location, key: context.key, cause };
  if (reason === 'permission') {
    return new StorageError(`access denied to ${context.location}: check ${GCS_CREDENTIAL_VARIABLES}`, {
      ...base,
      reason,
      hint:
        'set GOOGLE_APPLICATION_CREDENTIALS to the key file of a service account with the role ' +
        `roles/storage.objectAdmin on bucket "${context.bucket}", or run \`gcloud auth application-default login\``,
    });
  }
  if (reason === 'other' && /checksum|mismatch/i.test(summary)) {
    return new StorageError(`the bytes do not match their checksum (${summary})`, {
      ...base,
      reason,
      hint: 'the data was damaged in transit; try again',
    });
  }
  return new StorageError(summary, { ...base, reason, retryAfterMs: retryAfterOf(error) });
}

/** The error for a bucket that does not exist: never mistaken for a missing object, never retried. */
export function missingBucketError(context: GcsErrorContext, cause?: unknown): StorageError {
  return new StorageError(`bucket "${context.bucket}" does not exist`, {
    reason: 'invalid-request',
    operation: context.operation,
    location: context.location,
    key: context.key,
    cause: cause === undefined ? undefined : new Error(textOf(cause)),
    hint: `create it first (\`gcloud storage buckets create gs://${context.bucket} --location=<region>\`), or correct the location; acx-data never creates buckets`,
  });
}

/** Real GCS says which 404 it is; the emulator answers a bare "Not Found" for both. */
export function isMissingBucketText(error: unknown): boolean {
  return /bucket does not exist|no such bucket/i.test(textOf(error));
}
