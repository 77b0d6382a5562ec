/**
 * Turns what the S3 SDK throws (service errors, network errors, timeouts) into one StorageError with a
 * precise reason: RetryingStorage retries only 'transient', so a misclassified permanent error would be
 * retried for a minute and a misclassified transient one would fail a backup.
 *
 * The SDK's error is never attached as it is: S3 error bodies carry fields such as AWSAccessKeyId and
 * StringToSign, so the cause is a plain Error naming the code, HTTP status and request id only.
 */
import type { StorageErrorReason } from '../storage.ts';
import { StorageError, type StorageOperation } from '../storage-error.ts';
import type { S3Config } from './s3-config.ts';

interface S3ErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  Region?: string;
  RequestId?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { headers?: Record<string, string | undefined> };
}

const PERMISSION_CODES = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'AccountProblem',
  'CredentialsProviderError',
  'ExpiredToken',
  'InvalidAccessKeyId',
  'InvalidToken',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
  // versitygw's answer (HTTP 404!) for an access key it does not know; AWS says InvalidAccessKeyId.
  'XAdminUserNotFound',
]);

const TRANSIENT_CODES = new Set([
  'InternalError',
  // A multipart upload gone while completing it: the answer to an earlier attempt of the same
  // CompleteMultipartUpload was lost (the object may be complete). Putting it again settles it.
  'NoSuchUpload',
  'OperationAborted',
  'RequestLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TimeoutError',
  'TooManyRequestsException',
]);

const NETWORK_CODES = new Set([
  'ECONNABORTED',
  'ECONNREFUSED',
  'ECONNRESET',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ETIMEDOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

const REGION_CODES = new Set([
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
  'PermanentRedirect',
]);

const CALLER_CODES = new Set([
  'EntityTooLarge',
  'InvalidArgument',
  'InvalidBucketName',
  'InvalidRequest',
  'KeyTooLongError',
  'MalformedXML',
]);

function shapeOf(error: unknown): S3ErrorShape {
  return typeof error === 'object' && error !== null ? (error as S3ErrorShape) : {};
}

/** The S3 error code ('NoSuchKey', 'SlowDown'…) or the Node error code ('ECONNRESET'). */
export function s3CodeOf(error: unknown): string | undefined {
  const shape = shapeOf(error);
  return shape.Code ?? (typeof shape.code === 'string' ? shape.code : undefined) ?? shape.name;
}

export function s3StatusOf(error: unknown): number | undefined {
  return shapeOf(error).$metadata?.httpStatusCode;
}

/** An SDK error of a missing object: GET's NoSuchKey, or HEAD's bodiless 404. */
export function isMissingObject(error: unknown): boolean {
  const code = s3CodeOf(error);
  return code === 'NoSuchKey' || (code !== 'NoSuchBucket' && s3StatusOf(error) === 404);
}

/** What is safe to keep of an SDK error: its code, status, request id and message. */
function sanitizedCause(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const shape = shapeOf(error);
  const status = s3StatusOf(error);
  const cause = new Error(
    `${s3CodeOf(error) ?? error.name}${status ? ` (HTTP ${status})` : ''}: ${error.message}`,
  );
  cause.name = error.name;
  return Object.assign(cause, {
    code: s3CodeOf(error),
    statusCode: status,
    requestId: shape.RequestId ?? shape.$metadata?.requestId,
  });
}

function classify(error: unknown): StorageErrorReason | 'missing-bucket' | 'wrong-region' {
  const code = s3CodeOf(error) ?? '';
  const status = s3StatusOf(error);
  const message = error instanceof Error ? error.message : '';
  if (code === 'NoSuchBucket') return 'missing-bucket';
  if (REGION_CODES.has(code) || status === 301) return 'wrong-region';
  if (PERMISSION_CODES.has(code) || status === 401 || status === 403) return 'permission';
  if (code === 'PreconditionFailed' || code === 'ConditionalRequestConflict' || status === 412)
    return 'conflict';
  // versitygw's posix backend cannot hold both `a` and `a/b` (the contract lets cloud drivers refuse it).
  if (code === 'ExistingObjectIsDirectory' || code === 'ObjectParentIsFile') return 'conflict';
  if (TRANSIENT_CODES.has(code) || NETWORK_CODES.has(code)) return 'transient';
  if (status === 429 || (status !== undefined && status >= 500)) return 'transient';
  if (/socket hang up|ECONNRESET|EPIPE|other side closed/i.test(message)) return 'transient';
  if (isMissingObject(error)) return 'not-found';
  if (CALLER_CODES.has(code)) return 'invalid-request';
  return 'other';
}

/** A Retry-After header (seconds or an HTTP date) in ms, if the service sent one. */
function retryAfterOf(error: unknown): number | undefined {
  const value = shapeOf(error).$response?.headers?.['retry-after'];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function missingBucketError(
  config: S3Config,
  operation: StorageOperation,
  key?: string,
  cause?: unknown,
) {
  return new StorageError(`bucket "${config.bucket}" does not exist`, {
    reason: 'invalid-request',
    operation,
    key,
    location: config.location,
    cause,
    hint: `create it first (aws s3 mb s3://${config.bucket}, or the provider's console); acx-data never creates buckets`,
  });
}

/**
 * The StorageError for an SDK error; StorageErrors and non-errors pass through. `operation` and `key`
 * name what failed (the key as the caller gave it, without the location's prefix).
 */
export function translateS3Error(
  error: unknown,
  config: S3Config,
  operation: StorageOperation,
  key: string | undefined,
): unknown {
  if (error instanceof StorageError || !(error instanceof Error)) return error;
  const reason = classify(error);
  const cause = sanitizedCause(error);
  const code = s3CodeOf(error) ?? error.name;
  const context = { operation, key, location: config.location, cause };
  if (reason === 'missing-bucket') return missingBucketError(config, operation, key, cause);
  if (reason === 'wrong-region') {
    const region = shapeOf(error).Region ?? shapeOf(error).$response?.headers?.['x-amz-bucket-region'];
    const where = region ? `region ${region}` : 'another region';
    return new StorageError(`bucket "${config.bucket}" is in ${where}, not ${config.region} (${code})`, {
      ...context,
      reason: 'invalid-request',
      hint: region
        ? `use --s3-region ${region} (or AWS_REGION=${region})`
        : 'set --s3-region (or AWS_REGION)',
    });
  }
  if (reason === 'permission') {
    return new StorageError(`access denied to ${config.location} (${code}): ${config.credentialHint}`, {
      ...context,
      reason,
      hint: `${config.credentialHint}, and that they may use the bucket "${config.bucket}"`,
    });
  }
  const detail = reason === 'not-found' ? 'no such object' : (cause as Error).message;
  return new StorageError(detail, { ...context, reason, retryAfterMs: retryAfterOf(error) });
}
