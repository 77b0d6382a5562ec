/**
 * What an S3 storage is opened with, resolved from its location and the CloudSettings (pure: no I/O),
 * and the one S3Client built from it. Credentials are never part of the config's printable parts: they
 * stay inside the SDK (static credentials from `env`, or the SDK's default chain).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { parseCloudLocation, type CloudSettings } from '../cloud-settings.ts';
import { StorageError } from '../storage-error.ts';

export interface S3Config {
  bucket: string;
  /** The key prefix inside the bucket, '' or ending in '/': every object key is `base + key`. */
  base: string;
  /** Printable and secret-free: `s3://bucket/prefix`. */
  location: string;
  region: string;
  /** A custom endpoint (MinIO, versitygw…): path-style addressing. Undefined for AWS itself. */
  endpoint: string | undefined;
  sse: 'AES256' | 'aws:kms' | undefined;
  kmsKeyId: string | undefined;
  /** For error messages: which variables to check when the service refuses the credentials. */
  credentialHint: string;
}

const DEFAULT_REGION = 'us-east-1';

/** Parses the location and checks the settings; rejects with 'invalid-request' (operation 'open'). */
export function resolveS3Config(location: string, settings: CloudSettings = {}): S3Config {
  const parsed = parseCloudLocation(location, 's3');
  const env = settings.env ?? process.env;
  const s3 = settings.s3 ?? {};
  if (s3.kmsKeyId !== undefined && s3.sse !== 'aws:kms') {
    throw new StorageError('a KMS key id needs server-side encryption "aws:kms"', {
      reason: 'invalid-request',
      operation: 'open',
      location: parsed.url,
      hint: 'add --s3-sse aws:kms, or drop --s3-kms-key-id',
    });
  }
  return {
    bucket: parsed.bucket,
    base: parsed.prefix === '' ? '' : `${parsed.prefix}/`,
    location: parsed.url,
    region:
      nonEmpty(s3.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? DEFAULT_REGION,
    endpoint: nonEmpty(s3.endpoint) ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL),
    sse: s3.sse,
    kmsKeyId: s3.kmsKeyId,
    credentialHint: hasStaticCredentials(env)
      ? 'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)'
      : 'check the AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, or the instance role)',
  };
}

/**
 * The client: credentials from `env` when it holds an access key (else the SDK's default chain, with
 * `env.AWS_PROFILE`), at most 3 attempts per request in the SDK's standard mode (a dropped connection
 * under one multipart part costs one part, not the upload; RetryingStorage retries whole operations),
 * checksums computed on every upload the service supports them for (CRC32: a body corrupted in transit
 * is refused), a connect timeout of 10 s and an idle-socket timeout of 60 s (a hung connection fails as
 * a TimeoutError, which is 'transient').
 */
export function createS3Client(config: S3Config, settings: CloudSettings = {}): S3Client {
  const env = settings.env ?? process.env;
  const credentials = hasStaticCredentials(env)
    ? {
        accessKeyId: env.AWS_ACCESS_KEY_ID!,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
        ...(nonEmpty(env.AWS_SESSION_TOKEN) && { sessionToken: env.AWS_SESSION_TOKEN }),
      }
    : undefined;
  return new S3Client({
    region: config.region,
    ...(config.endpoint !== undefined && { endpoint: config.endpoint, forcePathStyle: true }),
    ...(credentials ? { credentials } : nonEmpty(env.AWS_PROFILE) && { profile: env.AWS_PROFILE }),
    maxAttempts: 3,
    retryMode: 'standard',
    requestChecksumCalculation: 'WHEN_SUPPORTED',
    // Whole-object reads ask for validation themselves (ChecksumMode): a ranged read cannot be checked
    // against the object's checksum, and some servers send it anyway.
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A wrong region is the user's to fix (named in the error), not silently followed.
    followRegionRedirects: false,
    requestHandler: {
      connectionTimeout: 10_000,
      socketTimeout: 60_000,
      httpAgent: { keepAlive: true, maxSockets: 64 },
      httpsAgent: { keepAlive: true, maxSockets: 64 },
    },
  });
}

function hasStaticCredentials(env: NodeJS.ProcessEnv): boolean {
  return nonEmpty(env.AWS_ACCESS_KEY_ID) !== undefined && nonEmpty(env.AWS_SECRET_ACCESS_KEY) !== undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
