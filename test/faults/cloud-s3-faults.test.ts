/**
 * Cloud faults (issue #13 point 4, design §12.2–12.4), through the real CLI against the stack's S3 server
 * (versitygw), with the S3 fault proxy of test/support/s3-fault-proxy.ts in between where faults are wanted:
 *
 * - a backup written straight into a bucket through a proxy that answers 503 SlowDown and drops
 *   connections at random completes, and the repository checks out whole (`--verify --all`, read
 *   directly); so does an upload of a local snapshot through the same faults;
 * - an upload killed (SIGKILL) while its packs are in flight leaves no snapshot `--list-cloud` shows
 *   complete; re-running it sends only the missing packs and ends with a snapshot that verifies;
 * - wrong credentials and a missing bucket fail with a clear message and exit code, the local snapshot
 *   is kept, and no output holds the secret.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stateEnv, type CliResult } from '../support/cli.ts';
import { runAndKill } from '../support/kill.ts';
import { startS3FaultProxy, type S3FaultProxy } from '../support/s3-fault-proxy.ts';
import { openTestStores, seed, type TestStores } from '../support/stores.ts';

const BUCKET = 'acx-backups';
const run = randomBytes(4).toString('hex');
const prefix = `faults-${run}`;

let work: string;
let stores: TestStores;
let dataDir: string;
let localRepo: string;
let snapshotId: string;

const endpoint = () => process.env.ACX_S3_ENDPOINT!;

function env(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { ...stateEnv(work), ...extra };
}

async function cli(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  const result = await runCli(args, env(extra));
  expect(result.stderr).not.toMatch(/INTERNAL/);
  const secret = process.env.AWS_SECRET_ACCESS_KEY!;
  expect(result.stdout + result.stderr).not.toContain(secret);
  return result;
}

async function ok(args: string[], extra: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const result = await cli([...args, '--format', 'json'], extra);
  // The summary on stdout names what failed (a verification's problems), stderr only that it did.
  expect(result.code, `${result.stderr}\n${result.stdout.slice(0, 3000)}`).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** The repository check of a bucket prefix, read directly (no proxy): every blob of every snapshot. */
async function verifyAll(url: string): Promise<void> {
  const check = await ok(['backup', '--verify', '--all', '--backup-dir', url, '--s3-endpoint', endpoint()]);
  expect(check.ok, JSON.stringify(check).slice(0, 2000)).toBe(true);
}

async function cloudListing(
  url: string,
): Promise<{ snapshots: Array<{ id: string }>; incomplete: string[] }> {
  return (await ok(['backup', '--list', '--from', url, '--s3-endpoint', endpoint()])) as {
    snapshots: Array<{ id: string }>;
    incomplete: string[];
  };
}

/** Objects under a key prefix of the stack's bucket, read directly with the SDK. */
async function objectsUnder(keyPrefix: string): Promise<number> {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: endpoint(),
    forcePathStyle: true,
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!,
    },
  });
  try {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: keyPrefix }));
    return page.KeyCount ?? 0;
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-cloud-faults-'));
  stores = await openTestStores();
  await seed(stores, 0.01, 4242);
  dataDir = join(work, 'data');
  await mkdir(dataDir);
  await mkdir(join(work, 'empty-data'));
  // Two files of 32 MiB of base64 text: about 24 MiB stored, two packs.
  for (let i = 0; i < 2; i++)
    await writeFile(
      join(dataDir, `blob-${i}.json`),
      JSON.stringify(randomBytes(12 * 1024 * 1024).toString('base64')),
    );
  localRepo = join(work, 'local');
  const summary = await ok(['backup', '--json', '--data-dir', dataDir, '--backup-dir', localRepo]);
  snapshotId = summary.id as string;
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('S3 under faults', () => {
  let proxy: S3FaultProxy;
  beforeAll(async () => {
    proxy = await startS3FaultProxy({ upstream: endpoint(), slowDownRate: 0.1, dropRate: 0.05, seed: 1301 });
  });
  afterAll(async () => proxy?.close());

  it('a backup straight into the bucket completes through 503 SlowDown and dropped connections', async () => {
    const url = `s3://${BUCKET}/${prefix}/direct`;
    const summary = await ok([
      'backup',
      '--all',
      '--backup-dir',
      url,
      '--data-dir',
      join(work, 'empty-data'),
      '--s3-endpoint',
      proxy.url,
    ]);
    expect(summary.id).toMatch(/^full_/);
    const stats = proxy.stats();
    expect(stats.slowDown + stats.dropped, JSON.stringify(stats)).toBeGreaterThan(0);
    await verifyAll(url);
    expect((await cloudListing(url)).snapshots.map((s) => s.id)).toEqual([summary.id]);

    // The repository in the bucket works like a local one: an incremental on it, then retention.
    const incremental = await ok([
      'backup',
      '--all',
      '--incremental',
      '--backup-dir',
      url,
      '--data-dir',
      join(work, 'empty-data'),
      '--s3-endpoint',
      proxy.url,
    ]);
    expect(incremental.id).toMatch(/^incremental_/);
    // Verified, so the cleanup may drop the full (the newest verified snapshot is always kept).
    const verified = await ok([
      'backup',
      '--verify',
      incremental.id as string,
      '--backup-dir',
      url,
      '--s3-endpoint',
      proxy.url,
    ]);
    expect(verified.ok).toBe(true);
    await ok(['backup', '--cleanup', '--keep', '1', '--backup-dir', url, '--s3-endpoint', proxy.url]);
    expect((await cloudListing(url)).snapshots.map((s) => s.id)).toEqual([incremental.id]);
    await verifyAll(url);
  });

  it('an upload of a local snapshot completes through the same faults', async () => {
    const before = proxy.stats();
    const url = `s3://${BUCKET}/${prefix}/uploaded`;
    const summary = await ok([
      'backup',
      '--backup-dir',
      localRepo,
      '--upload-s3',
      BUCKET,
      '--s3-prefix',
      `${prefix}/uploaded`,
      '--snapshot',
      snapshotId,
      '--s3-endpoint',
      proxy.url,
      // Server-side encryption requested on every object (versitygw accepts it; AWS applies it).
      '--s3-sse',
      'AES256',
    ]);
    expect((summary.copies as Array<{ packsSent: number }>)[0]!.packsSent).toBeGreaterThanOrEqual(2);
    const after = proxy.stats();
    expect(after.slowDown + after.dropped).toBeGreaterThan(before.slowDown + before.dropped);
    await verifyAll(url);
  });
});

describe('an upload killed mid-way', () => {
  it('leaves no complete snapshot, and a re-run sends only what is missing', async () => {
    // Slow answers, so the kill lands while packs are in flight.
    const proxy = await startS3FaultProxy({ upstream: endpoint(), delayMs: 300, seed: 7 });
    const url = `s3://${BUCKET}/${prefix}/killed`;
    const args = [
      'backup',
      '--backup-dir',
      localRepo,
      '--upload-s3',
      BUCKET,
      '--s3-prefix',
      `${prefix}/killed`,
      '--snapshot',
      snapshotId,
    ];
    try {
      const killed = await runAndKill(
        [...args, '--s3-endpoint', proxy.url, '--json-events'],
        {
          match: (e) => e.type === 'phase' && (e.message ?? '').startsWith('uploading'),
          nth: 1,
          // Killed once the first pack is in the bucket, while the others are in flight.
          when: async () => (await objectsUnder(`${prefix}/killed/data/`)) > 0,
        },
        env(),
      );
      expect(killed.killed, killed.stderr).toBe(true);
    } finally {
      await proxy.close();
    }
    const listing = await cloudListing(url);
    expect(listing.snapshots).toEqual([]);

    const resumed = await ok([...args, '--s3-endpoint', endpoint()]);
    const copy = (resumed.copies as Array<{ packsSent: number; packsPresent: number }>)[0]!;
    // Some packs made it before the kill and are not sent again.
    expect(copy.packsPresent, JSON.stringify(copy)).toBeGreaterThan(0);
    expect(copy.packsSent + copy.packsPresent).toBeGreaterThanOrEqual(2);
    expect((await cloudListing(url)).snapshots.map((s) => s.id)).toEqual([snapshotId]);
    await verifyAll(url);
  });
});

describe('clear errors', () => {
  it('wrong credentials: access denied naming the variables, exit code of a storage failure, no secret', async () => {
    const wrong = 'wrong-secret-Zq8v-basalt';
    const result = await runCli(
      ['backup', '--list-cloud', 's3', '--cloud-bucket', BUCKET, '--s3-endpoint', endpoint()],
      env({ AWS_SECRET_ACCESS_KEY: wrong }),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
    expect(result.stderr).not.toMatch(/INTERNAL/);
    expect(result.stdout + result.stderr).not.toContain(wrong);
    expect(result.stdout + result.stderr).not.toContain(process.env.AWS_SECRET_ACCESS_KEY!);
  });

  it('a missing bucket: the upload names it, the local snapshot is kept, and the resume command is shown', async () => {
    const missing = `acx-missing-${run}`;
    const result = await cli([
      'backup',
      '--json',
      '--data-dir',
      join(work, 'empty-data'),
      '--backup-dir',
      join(work, 'kept'),
      '--upload-s3',
      missing,
      '--s3-endpoint',
      endpoint(),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`"${missing}" does not exist`);
    expect(result.stderr).toContain(`--upload-s3 ${missing}`);
    expect(result.stderr).toContain('--snapshot full_');
    const kept = await ok(['backup', '--list', '--backup-dir', join(work, 'kept')]);
    expect((kept.snapshots as unknown[]).length).toBe(1);
  });
});
