/**
 * What the cloud Storage drivers (s3://, gs://, azure://) are opened with besides their location: the
 * environment their SDKs read credentials from, and the options the CLI's flags set (design §12.2).
 * Credentials never come from here as values: the SDKs' own default chains read them from `env`
 * (AWS_ACCESS_KEY_ID…, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_CONNECTION_STRING).
 */
import { StorageError } from './storage-error.ts';
import { keyProblem } from './storage-keys.ts';

export interface S3Settings {
  /** `--s3-region`; else AWS_REGION / AWS_DEFAULT_REGION; else us-east-1. */
  region?: string;
  /** `--s3-endpoint` (MinIO, DigitalOcean Spaces, the local test server): path-style addressing. */
  endpoint?: string;
  /** `--s3-sse`: server-side encryption of every object written. */
  sse?: 'AES256' | 'aws:kms';
  /** `--s3-kms-key-id` (with `sse: 'aws:kms'`; without it the account's default KMS key). */
  kmsKeyId?: string;
}

export interface GcsSettings {
  /** `--gcs-kms-key`: a Cloud KMS key name (customer-managed encryption) for every object written. */
  kmsKeyName?: string;
}

export interface AzureSettings {
  /** `--azure-encryption-scope`: the account's encryption scope for every blob written. */
  encryptionScope?: string;
}

export interface CloudSettings {
  /** Where the SDKs look for credentials and endpoints (default: process.env). */
  env?: NodeJS.ProcessEnv;
  s3?: S3Settings;
  gcs?: GcsSettings;
  azure?: AzureSettings;
}

/** A cloud location split: the bucket (or container) and the key prefix inside it ('' for none). */
export interface CloudLocation {
  scheme: string;
  bucket: string;
  /** No leading or trailing '/': 'autocognitix/backups', or ''. */
  prefix: string;
  /** The normalised printable form: `s3://bucket/prefix`. */
  url: string;
}

/**
 * Parses `<scheme>://<bucket>[/<prefix>]`. The bucket must be a plain DNS-like name (lower case, digits,
 * '.', '-', '_', 3–63 characters: the rules the three services share closely enough); the prefix must be
 * a valid storage key (no '..', no empty segments) and may end in one '/'. Credentials, query strings
 * and fragments are refused: nothing secret may ride in a location, since locations are printed.
 */
export function parseCloudLocation(location: string, scheme: string): CloudLocation {
  const head = `${scheme}://`;
  if (!location.toLowerCase().startsWith(head))
    throw invalid(`${scheme}://…`, `a ${scheme} location starts with ${head}`);
  const rest = location.slice(head.length);
  if (/[?#@]/.test(rest))
    throw invalid(
      `${scheme}://…`,
      'a cloud location holds no credentials, query or fragment: credentials come from the environment',
    );
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const prefix = (slash === -1 ? '' : rest.slice(slash + 1)).replace(/\/$/, '');
  if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(bucket))
    throw invalid(
      `${head}${bucket}`,
      `"${bucket}" is not a valid bucket or container name (3–63 lower-case letters, digits, '.', '-')`,
    );
  if (prefix !== '' && keyProblem(prefix) !== undefined)
    throw invalid(`${head}${bucket}/${prefix}`, `invalid prefix "${prefix}": ${keyProblem(prefix)}`);
  return { scheme, bucket, prefix, url: prefix === '' ? `${head}${bucket}` : `${head}${bucket}/${prefix}` };
}

function invalid(location: string, detail: string): StorageError {
  return new StorageError(detail, {
    reason: 'invalid-request',
    operation: 'open',
    location,
    hint: 'write it as s3://bucket/prefix, gs://bucket/prefix or azure://container/prefix',
  });
}
