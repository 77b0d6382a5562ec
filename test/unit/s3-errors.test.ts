import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { resolveS3Config } from '../../src/storage/s3/s3-config.ts';
import { translateS3Error } from '../../src/storage/s3/s3-errors.ts';
import { StorageError } from '../../src/storage/storage-error.ts';

const config = resolveS3Config('s3://backups/acx', {
  env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 's3cr3t' },
});

/** An error as the SDK throws it for an S3 error answer. */
function serviceError(code: string, status: number, extra: Record<string, unknown> = {}, headers = {}) {
  const error = new S3ServiceException({
    name: code,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${code} message`,
  });
  return Object.assign(
    error,
    { Code: code, $response: { statusCode: status, headers, body: undefined } },
    extra,
  );
}

function translated(error: unknown): StorageError {
  const result = translateS3Error(error, config, 'put', 'k');
  expect(result).toBeInstanceOf(StorageError);
  return result as StorageError;
}

describe('S3 error classification', () => {
  it('retries throttling, server errors, timeouts and dropped connections, honouring Retry-After', () => {
    const transient = [
      serviceError('SlowDown', 503, {}, { 'retry-after': '3' }),
      serviceError('InternalError', 500),
      serviceError('ServiceUnavailable', 503),
      serviceError('TooManyRequests', 429),
      serviceError('RequestTimeout', 400),
      serviceError('NoSuchUpload', 404),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
      Object.assign(new Error('the request socket timed out after 60000 ms of inactivity'), {
        name: 'TimeoutError',
      }),
    ];
    for (const error of transient) expect(translated(error).reason, String(error)).toBe('transient');
    expect(translated(transient[0]).retryAfterMs).toBe(3_000);
    expect(translated(transient[0]).code).toBe('CONNECTION');
  });

  it('names the credential variables on 403 without any secret', () => {
    for (const code of ['AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'ExpiredToken']) {
      const error = translated(serviceError(code, 403, { AWSAccessKeyId: 'AKIAEXAMPLE', StringToSign: 'x' }));
      expect(error.reason).toBe('permission');
      expect(error.message).toContain('access denied to s3://backups/acx');
      expect(error.message).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
      expect(JSON.stringify(error) + String((error.cause as Error).message)).not.toMatch(
        /AKIAEXAMPLE|s3cr3t/,
      );
      expect(Object.keys(error.cause as object)).not.toContain('AWSAccessKeyId');
    }
  });

  it('tells a missing bucket and a wrong region apart from a missing object', () => {
    const bucket = translated(serviceError('NoSuchBucket', 404));
    expect([bucket.reason, bucket.message, bucket.hint]).toEqual([
      'invalid-request',
      'cannot put "k" on s3://backups/acx: bucket "backups" does not exist',
      expect.stringContaining('create it'),
    ]);
    expect(translated(serviceError('NoSuchKey', 404)).reason).toBe('not-found');
    const redirect = translated(
      serviceError('PermanentRedirect', 301, {}, { 'x-amz-bucket-region': 'eu-west-1' }),
    );
    expect([redirect.reason, redirect.hint]).toEqual([
      'invalid-request',
      'use --s3-region eu-west-1 (or AWS_REGION=eu-west-1)',
    ]);
    const malformed = translated(serviceError('AuthorizationHeaderMalformed', 400, { Region: 'ap-south-1' }));
    expect(malformed.message).toContain('is in region ap-south-1, not us-east-1');
  });

  it('reports refused conditions as conflicts and caller mistakes as invalid requests', () => {
    expect(translated(serviceError('PreconditionFailed', 412)).reason).toBe('conflict');
    expect(translated(serviceError('ObjectParentIsFile', 409)).reason).toBe('conflict');
    expect(translated(serviceError('InvalidArgument', 400)).reason).toBe('invalid-request');
    expect(translated(serviceError('SomethingNew', 400)).reason).toBe('other');
    const source = new Error('the source broke');
    expect(translateS3Error(source, config, 'put', 'k')).toBeInstanceOf(StorageError);
  });

  it('refuses a KMS key without aws:kms, and reads region and endpoint from the settings or env', () => {
    expect(() => resolveS3Config('s3://b-1/p', { s3: { kmsKeyId: 'key' } })).toThrow(/aws:kms/);
    expect(resolveS3Config('s3://b-1/p/', { env: { AWS_DEFAULT_REGION: 'eu-central-1' } })).toMatchObject({
      region: 'eu-central-1',
      base: 'p/',
      location: 's3://b-1/p',
      endpoint: undefined,
    });
    expect(
      resolveS3Config('s3://b-1', {
        env: { AWS_REGION: 'x-1', AWS_ENDPOINT_URL: 'http://h:1' },
        s3: { region: 'y-2' },
      }),
    ).toMatchObject({ region: 'y-2', base: '', endpoint: 'http://h:1' });
  });
});
