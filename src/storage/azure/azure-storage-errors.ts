/**
 * Azure SDK errors → StorageError. The SDK's RestError carries the request (URL with any SAS token,
 * the Authorization header) and sometimes echoes them in its message: nothing of it is kept. The
 * StorageError gets a detail built from the status and the service's error code, and a sanitised
 * copy of the error as its cause.
 */
import { StorageError, type StorageOperation } from '../storage-error.ts';
import type { StorageErrorReason } from '../storage.ts';

/** The variables credentials come from, named in 'permission' errors. */
export const AZURE_CREDENTIAL_VARIABLES =
  'AZURE_STORAGE_CONNECTION_STRING (or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY)';

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'REQUEST_SEND_ERROR',
]);

/** Service error codes worth another attempt although their status is 4xx. */
const TRANSIENT_SERVICE_CODES = new Set([
  'Md5Mismatch',
  'Crc64Mismatch',
  'InvalidBlockList',
  'OperationTimedOut',
]);

interface SdkErrorFields {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  details?: { errorCode?: string };
  response?: { headers?: { get?(name: string): string | undefined } };
}

/** Where the error happened, and what the message may name. */
export interface AzureErrorContext {
  operation: StorageOperation;
  location: string;
  container: string;
  key?: string;
  /** Texts that must never be printed: the account key, the connection string. */
  secrets: readonly string[];
}

/** Removes SAS signatures, account keys and the given secrets from `text`. */
export function sanitise(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) if (secret.length >= 8) clean = clean.split(secret).join('***');
  return clean
    .replace(/([?&](?:sig|se|st|sp|sv|sr|srt|ss|spr|skoid|sktid|skt|ske|sks|skv)=)[^&\s"'<]*/gi, '$1***')
    .replace(/(AccountKey|SharedAccessSignature)=[^;\s"']*/gi, '$1=***')
    .replace(/(Authorization["']?\s*[:=]\s*["']?)[^"'\n]*/gi, '$1***');
}

function fieldsOf(error: unknown): SdkErrorFields {
  return typeof error === 'object' && error !== null ? (error as SdkErrorFields) : {};
}

/** The service's error code (x-ms-error-code; HEAD answers carry it only in the header). */
export function serviceCodeOf(error: unknown): string | undefined {
  if (error instanceof StorageError) return serviceCodeOf(error.cause);
  const fields = fieldsOf(error);
  return fields.details?.errorCode ?? fields.response?.headers?.get?.('x-ms-error-code') ?? fields.code;
}

/** The HTTP status of an SDK error, or of the one a StorageError was made from. */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof StorageError) return statusOf(error.cause);
  return fieldsOf(error).statusCode;
}

function retryAfterMsOf(error: unknown): number | undefined {
  const value = fieldsOf(error).response?.headers?.get?.('retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function reasonOf(status: number | undefined, code: string | undefined, message: string): StorageErrorReason {
  if (code !== undefined && TRANSIENT_SERVICE_CODES.has(code)) return 'transient';
  if (status === 401 || status === 403) return 'permission';
  if (status === 408 || status === 429 || (status !== undefined && status >= 500)) return 'transient';
  if (status === 404) return 'not-found';
  if (status === 409 || status === 412) return 'conflict';
  if (status !== undefined && status >= 400) return 'other';
  if (code !== undefined && TRANSIENT_CODES.has(code)) return 'transient';
  if (/socket hang up|timed? ?out|network|other side closed/i.test(message)) return 'transient';
  return 'other';
}

/** A copy of `error` with only printable fields, for `cause`. */
function sanitisedCause(error: unknown, secrets: readonly string[]): Error {
  const fields = fieldsOf(error);
  const copy = new Error(sanitise(String(fields.message ?? error), secrets));
  copy.name = fields.name ?? 'Error';
  return Object.assign(copy, { code: serviceCodeOf(error), statusCode: fields.statusCode });
}

/** The StorageError for a failed request (not for aborts: callers rethrow `signal.reason` first). */
export function azureError(error: unknown, context: AzureErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const status = statusOf(error);
  const code = serviceCodeOf(error);
  const message = sanitise(String(fieldsOf(error).message ?? error), context.secrets);
  const base = { operation: context.operation, location: context.location, key: context.key };
  const cause = sanitisedCause(error, context.secrets);
  if (code === 'ContainerNotFound') return containerMissing(context, cause);
  const reason = reasonOf(status, code, message);
  if (reason === 'permission') {
    return new StorageError(`access denied to ${context.location}: check ${AZURE_CREDENTIAL_VARIABLES}`, {
      ...base,
      reason,
      cause,
      hint: `set ${AZURE_CREDENTIAL_VARIABLES} to credentials allowed to read and write container "${context.container}"`,
    });
  }
  const what = status === undefined ? (code ?? 'request failed') : `HTTP ${status}${code ? ` ${code}` : ''}`;
  const firstLine = message.split('\n')[0]!.slice(0, 200);
  return new StorageError(`${what}: ${firstLine}`, {
    ...base,
    reason,
    cause,
    retryAfterMs: retryAfterMsOf(error),
  });
}

export function containerMissing(context: AzureErrorContext, cause?: unknown): StorageError {
  return new StorageError(`container "${context.container}" does not exist`, {
    operation: context.operation,
    location: context.location,
    key: context.key,
    reason: 'invalid-request',
    cause,
    hint: `create it first (az storage container create --name ${context.container}, or the portal); --upload-azure creates a missing container itself`,
  });
}

/** A request that got no answer in time: worth retrying. */
export function timedOut(context: AzureErrorContext, seconds: number): StorageError {
  return new StorageError(`no answer within ${seconds} s`, {
    operation: context.operation,
    location: context.location,
    key: context.key,
    reason: 'transient',
  });
}
