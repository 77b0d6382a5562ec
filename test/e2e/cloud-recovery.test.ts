/**
 * The guide's cloud backup and disaster recovery, end to end for each provider (issue #13, "Done when"),
 * through the real CLI against the stack's S3 (versitygw), GCS (fake-gcs-server) and Azure (Azurite)
 * servers: `backup --all --upload-X` → `--list-cloud X` shows it complete → the local copy deleted →
 * the guide's steps (list cloud → download as .tar.gz → `tar -xzf` → `--verify` → `--restore` into
 * empty stores) → identical content by fingerprint; then `--restore ID --from <url>` straight from the
 * bucket. No output of any run holds a credential.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { runCli, stateEnv, type CliResult } from '../support/cli.ts';
import { emptyAll, fingerprint, openTestStores, seed, type TestStores } from '../support/stores.ts';

const SCALE = 0.02;
const BUCKET = 'acx-backups';

let stores: TestStores;
let work: string;
let original: Fingerprint;

/** Every credential value the runs are given: none may appear in any output. */
function secrets(): string[] {
  const connection = process.env.AZURE_STORAGE_CONNECTION_STRING ?? '';
  const accountKey = /AccountKey=([^;]+)/.exec(connection)?.[1];
  return [process.env.AWS_SECRET_ACCESS_KEY, accountKey, connection].filter(
    (s): s is string => s !== undefined && s.length > 0,
  );
}

async function cli(args: string[]): Promise<CliResult> {
  const result = await runCli(args, stateEnv(work));
  expect(result.stderr).not.toMatch(/INTERNAL/);
  for (const secret of secrets()) expect(result.stdout + result.stderr).not.toContain(secret);
  return result;
}

async function ok(args: string[]): Promise<unknown> {
  const result = await cli([...args, '--format', 'json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as unknown;
}

interface Provider {
  name: 's3' | 'gcs' | 'azure';
  flag: string;
  /** The bucket (Azure: a container the upload creates). */
  bucket: () => string;
  scheme: string;
  /** Extra flags every command against this provider needs (the local S3 endpoint). */
  extra: () => string[];
}

const run = randomBytes(4).toString('hex');
const PROVIDERS: Provider[] = [
  {
    name: 's3',
    flag: '--upload-s3',
    bucket: () => BUCKET,
    scheme: 's3',
    extra: () => ['--s3-endpoint', process.env.ACX_S3_ENDPOINT!],
  },
  { name: 'gcs', flag: '--upload-gcs', bucket: () => BUCKET, scheme: 'gs', extra: () => [] },
  // A new container each run: --upload-azure creates it, as the guide says.
  { name: 'azure', flag: '--upload-azure', bucket: () => `acx-e2e-${run}`, scheme: 'azure', extra: () => [] },
];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-cloud-e2e-'));
  await mkdir(join(work, 'no-data'));
  stores = await openTestStores();
  await seed(stores, SCALE, 1313);
  original = await fingerprint(stores);
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

let id: string;
const prefix = `e2e-${run}`;
const urlOf = (provider: Provider) => `${provider.scheme}://${provider.bucket()}/${prefix}`;
const uploadFlags = () => PROVIDERS.flatMap((p) => [p.flag, p.bucket()]);
const s3Endpoint = () => PROVIDERS[0]!.extra();

describe('cloud backup and recovery (S3, GCS, Azure)', () => {
  it('backs up everything and uploads the snapshot to the three providers; --list-cloud shows it complete', async () => {
    const backupDir = join(work, 'local');
    const summary = (await ok([
      'backup',
      '--all',
      '--backup-dir',
      backupDir,
      '--data-dir',
      join(work, 'no-data'),
      ...uploadFlags(),
      '--s3-prefix',
      prefix,
      ...s3Endpoint(),
    ])) as { id: string; uploads: { copies: Array<{ to: string; packsSent: number }> } };
    id = summary.id;
    // In the guide's order: S3, GCS, Azure.
    expect(summary.uploads.copies.map((c) => c.to)).toEqual(PROVIDERS.map(urlOf));
    for (const copy of summary.uploads.copies) expect(copy.packsSent).toBeGreaterThan(0);

    for (const provider of PROVIDERS) {
      const listed = (await ok([
        'backup',
        '--list-cloud',
        provider.name,
        '--cloud-bucket',
        provider.bucket(),
        '--s3-prefix',
        prefix,
        ...provider.extra(),
      ])) as { snapshots: Array<{ id: string }>; incomplete: string[] };
      expect(listed.snapshots.map((s) => s.id)).toEqual([id]);
      expect(listed.incomplete).toEqual([]);
    }

    // The local list records the copies.
    const local = (await ok(['backup', '--list', '--backup-dir', backupDir])) as {
      snapshots: Array<{ id: string; uploads: Array<{ url: string }> }>;
    };
    expect(local.snapshots[0]!.uploads.map((u) => u.url).sort()).toEqual(PROVIDERS.map(urlOf).sort());

    // Uploading the same snapshot again sends nothing.
    const again = (await ok([
      'backup',
      '--backup-dir',
      backupDir,
      ...uploadFlags(),
      '--s3-prefix',
      prefix,
      '--snapshot',
      id,
      ...s3Endpoint(),
    ])) as { copies: Array<{ alreadyPresent: boolean }> };
    expect(again.copies.map((c) => c.alreadyPresent)).toEqual([true, true, true]);

    // The local copy is lost: recovery starts from the cloud alone.
    await rm(backupDir, { recursive: true, force: true });
  });

  it.each(PROVIDERS)(
    "recovers from $name with the guide's steps: download the .tar.gz, extract, verify, restore",
    async (provider) => {
      const recovery = join(work, `${provider.name}-recovery`);
      await mkdir(recovery);
      const archive = join(recovery, `${id}.tar.gz`);
      await ok([
        'backup',
        '--download',
        id,
        '--from',
        urlOf(provider),
        '--archive',
        archive,
        ...provider.extra(),
      ]);
      expect(await readdir(recovery)).toEqual([`${id}.tar.gz`]);
      execFileSync('tar', ['-xzf', archive], { cwd: recovery });
      const extracted = join(recovery, id);
      // No credential in any byte of what came back from the cloud (manifests, index, packs).
      for (const entry of await readdir(extracted, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const bytes = await readFile(join(entry.parentPath, entry.name));
        for (const secret of secrets())
          expect(bytes.includes(secret), `${entry.name} holds a secret`).toBe(false);
      }
      const verified = (await ok(['backup', '--backup-dir', extracted, '--verify', id])) as { ok: boolean };
      expect(verified.ok).toBe(true);

      await emptyAll(stores);
      await ok([
        'backup',
        '--backup-dir',
        extracted,
        '--restore',
        id,
        '--data-dir',
        join(work, `${provider.name}-data`),
      ]);
      expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
    },
  );

  it('restores straight from the bucket with --restore ID --from URL', async () => {
    await emptyAll(stores);
    await ok([
      'backup',
      '--restore',
      id,
      '--from',
      urlOf(PROVIDERS[0]!),
      '--data-dir',
      join(work, 'from-data'),
      ...s3Endpoint(),
    ]);
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
  });
});
