/**
 * The README's least-privilege S3 policy (issue 13, point 3), enforced by a real server: the stack's
 * versitygw runs with internal IAM, so this creates an account that is not the bucket's owner and a
 * bucket whose policy grants that account exactly the policy's actions on the prefix `backups/`, then
 * drives the real CLI with that account's credentials through backup + upload, --list-cloud, --download,
 * --verify, and --cleanup (which also aborts an abandoned multipart upload). A negative control writes
 * outside the granted prefix and must be refused, naming the credential variables and never a secret.
 *
 * Needs the stack's S3 server (ACX_S3_ENDPOINT) with its root credentials in AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, and the versitygw binary of `stack:up` for its admin CLI.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versitygwBinary } from '../../scripts/stack/cloud.ts';
import { runCli, stateEnv, type CliResult } from '../support/cli.ts';

const run = randomBytes(4).toString('hex');
const BUCKET = `acx-lp-${run}`;
const PREFIX = 'backups';
const USER = `acxlp${run}`;
const USER_SECRET = randomBytes(24).toString('base64url');

const endpoint = process.env.ACX_S3_ENDPOINT!;
const rootKey = process.env.AWS_ACCESS_KEY_ID!;
const rootSecret = process.env.AWS_SECRET_ACCESS_KEY!;

/**
 * The policy the README shows, as a bucket policy (a Principal added to each statement), for `bucket`.
 * `s3:prefix` applies to s3:ListBucket only: AWS and versitygw refuse a statement that puts it on
 * s3:ListBucketMultipartUploads ("Conditions do not apply to combination of actions and resources in
 * statement"), so that action has a statement of its own.
 */
function leastPrivilegePolicy(bucket: string): {
  Version: string;
  Statement: Array<Record<string, unknown>>;
} {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: `arn:aws:s3:::${bucket}`,
        Condition: { StringLike: { 's3:prefix': [PREFIX, `${PREFIX}/*`] } },
      },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucketMultipartUploads'],
        Resource: `arn:aws:s3:::${bucket}`,
      },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        Resource: `arn:aws:s3:::${bucket}/${PREFIX}/*`,
      },
    ],
  };
}

const client = (accessKeyId: string, secretAccessKey: string): S3Client =>
  new S3Client({
    region: process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });

/** `versitygw admin <args>` as the root account (its credentials in the environment, not argv). */
async function admin(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    versitygwBinary(),
    ['admin', '--endpoint-url', endpoint, ...args],
    { env: { ...process.env, ADMIN_ACCESS_KEY: rootKey, ADMIN_SECRET_KEY: rootSecret } },
  );
  return stdout;
}

let root: S3Client;
let user: S3Client;
let work: string;
let userCreated = false;

beforeAll(async () => {
  expect(endpoint, 'ACX_S3_ENDPOINT (npm run stack:up)').toBeTruthy();
  work = await mkdtemp(join(tmpdir(), 'acx-lp-'));
  await mkdir(join(work, 'data'));
  root = client(rootKey, rootSecret);
  user = client(USER, USER_SECRET);
  try {
    await admin(['create-user', '--access', USER, '--secret', USER_SECRET, '--role', 'user']);
  } catch (error) {
    throw new Error(
      `could not create the S3 account ${USER} with versitygw's admin CLI: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`.replaceAll(
        USER_SECRET,
        '***',
      ) +
        '\n  hint: the stack versitygw must run with internal IAM (--iam-dir, scripts/stack/cloud.ts): restart it with npm run stack:down && npm run stack:up',
    );
  }
  userCreated = true;
  await root.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const policy = leastPrivilegePolicy(BUCKET);
  for (const statement of policy.Statement) statement.Principal = { AWS: [USER] };
  await root.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify(policy) }));
});

afterAll(async () => {
  if (root) {
    try {
      const uploads = await root.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
      for (const u of uploads.Uploads ?? [])
        await root.send(
          new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: u.Key, UploadId: u.UploadId }),
        );
      let token: string | undefined;
      do {
        const page = await root.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
        for (const o of page.Contents ?? [])
          await root.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: o.Key }));
        token = page.NextContinuationToken;
      } while (token);
      await root.send(new DeleteBucketCommand({ Bucket: BUCKET }));
    } catch {
      // The bucket was never created (beforeAll failed early): nothing to remove.
    }
    root.destroy();
  }
  user?.destroy();
  if (userCreated) await admin(['delete-user', '--access', USER]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** The CLI with the least-privilege account's credentials (and no others). */
async function cli(args: string[]): Promise<CliResult> {
  const env: Record<string, string | undefined> = {
    ...stateEnv(work),
    AWS_ACCESS_KEY_ID: USER,
    AWS_SECRET_ACCESS_KEY: USER_SECRET,
  };
  delete env.AWS_SESSION_TOKEN;
  const result = await runCli(args, env);
  expect(result.stderr).not.toMatch(/INTERNAL/);
  for (const secret of [USER_SECRET, rootSecret]) expect(result.stdout + result.stderr).not.toContain(secret);
  return result;
}

async function ok<T>(args: string[]): Promise<T> {
  const result = await cli([...args, '--format', 'json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const s3 = (): string[] => ['--s3-endpoint', endpoint];
const url = `s3://${BUCKET}/${PREFIX}`;

async function backupAndUpload(content: unknown): Promise<string> {
  await writeFile(join(work, 'data', 'sample.json'), JSON.stringify(content));
  const summary = await ok<{ id: string; uploads: { copies: Array<{ to: string; packsSent: number }> } }>([
    'backup',
    '--json',
    '--data-dir',
    join(work, 'data'),
    '--backup-dir',
    join(work, 'local'),
    '--upload-s3',
    BUCKET,
    ...s3(),
  ]);
  expect(summary.uploads.copies.map((c) => c.to)).toEqual([url]);
  expect(summary.uploads.copies[0]!.packsSent).toBe(1);
  return summary.id;
}

describe('the least-privilege S3 policy (README), enforced by versitygw', () => {
  it('is all a user needs: backup with upload, --list-cloud, --download, --verify and --cleanup succeed', async () => {
    const first = await backupAndUpload({ run, n: 1 });

    const listed = await ok<{ snapshots: Array<{ id: string }>; incomplete: string[] }>([
      'backup',
      '--list-cloud',
      's3',
      '--cloud-bucket',
      BUCKET,
      ...s3(),
    ]);
    expect(listed.snapshots.map((s) => s.id)).toEqual([first]);
    expect(listed.incomplete).toEqual([]);

    const downloadDir = join(work, 'downloaded');
    const copied = await ok<{ id: string; from: string }>([
      'backup',
      '--download',
      first,
      '--from',
      url,
      '--backup-dir',
      downloadDir,
      ...s3(),
    ]);
    expect(copied).toMatchObject({ id: first, from: url });
    const manifest = JSON.parse(await readFile(join(downloadDir, first, 'manifest.json'), 'utf8')) as {
      id: string;
      files: Record<string, unknown>;
    };
    expect(manifest.id).toBe(first);
    expect(Object.keys(manifest.files)).toEqual(['json/sample.json']);

    const second = await backupAndUpload({ run, n: 2 });
    const verified = await ok<{ ok: boolean; snapshots: Array<{ id: string; ok: boolean }> }>([
      'backup',
      '--verify',
      '--all',
      '--backup-dir',
      url,
      ...s3(),
    ]);
    expect(verified.ok).toBe(true);
    expect(verified.snapshots.map((s) => [s.id, s.ok]).sort()).toEqual(
      [
        [first, true],
        [second, true],
      ].sort(),
    );

    // An upload a killed run left behind under data/: --cleanup lists it (s3:ListBucketMultipartUploads)
    // and aborts it (s3:AbortMultipartUpload) when it rewrites the index.
    const abandoned = await user.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${PREFIX}/data/00/abandoned-${run}` }),
    );
    expect(abandoned.UploadId).toBeTruthy();

    const cleaned = await ok<{ deleted: Array<{ id: string }>; kept: Array<{ id: string }> }>([
      'backup',
      '--cleanup',
      '--keep',
      '1',
      '--backup-dir',
      url,
      ...s3(),
    ]);
    expect(cleaned.deleted.map((s) => s.id)).toEqual([first]);
    expect(cleaned.kept.map((s) => s.id)).toEqual([second]);
    const uploads = await root.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(uploads.Uploads ?? []).toEqual([]);
    const left = await root.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/${first}/` }));
    expect(left.Contents ?? []).toEqual([]);
  });

  it('is enforced: the same user cannot write or list outside the prefix, and is told which variables to check', async () => {
    const result = await cli([
      'backup',
      '--json',
      '--data-dir',
      join(work, 'data'),
      '--backup-dir',
      join(work, 'local-other'),
      '--upload-s3',
      BUCKET,
      '--s3-prefix',
      'other',
      ...s3(),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`access denied to s3://${BUCKET}/other`);
    expect(result.stderr).toContain('AWS_ACCESS_KEY_ID');
    expect(result.stderr).toContain('AWS_SECRET_ACCESS_KEY');
    const other = await root.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'other/' }));
    expect(other.Contents ?? []).toEqual([]);
    // Nor list outside it (the s3:prefix condition), while listing inside it is allowed.
    for (const prefix of ['other/', ''])
      await expect(
        user.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix })),
      ).rejects.toMatchObject({
        name: 'AccessDenied',
      });
    const inside = await user.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/` }));
    expect(inside.Contents?.length).toBeGreaterThan(0);
  });

  it('is the policy the README shows', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('**Least privilege (S3).**'));
    const block = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block, 'the README\'s "Least privilege (S3)" policy').toBeDefined();
    expect(JSON.parse(block!)).toEqual(leastPrivilegePolicy('my-backup-bucket'));
  });
});
