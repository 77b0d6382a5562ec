/**
 * The cloud flags of `acx-data backup` (design §12.5) refuse what makes no sense before any connection:
 * USAGE (exit 2) with a message naming the flag and a hint showing the right form. No server is needed:
 * every run here fails before opening a store or a bucket (the store variables point nowhere, so a run
 * that tried would end with another code), and no location's secret part is ever printed.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

const NOWHERE = {
  DATABASE_URL: 'postgresql://acx:pw@127.0.0.1:1/none',
  NEO4J_URI: 'bolt://127.0.0.1:1',
  QDRANT_URL: 'http://127.0.0.1:1',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'flag-test-secret-Kq3',
};

const CASES: Array<[args: string[], message: RegExp]> = [
  [['--list-cloud', 's3'], /--list-cloud s3 needs --cloud-bucket/],
  [['--cloud-bucket', 'b'], /--cloud-bucket applies to --list-cloud/],
  [['--download', 'full_20240201_120000'], /needs --from/],
  [['--archive', 'x.tar.gz'], /--archive applies to --download/],
  [['--snapshot', 'full_20240201_120000'], /add --upload-s3, --upload-gcs or --upload-azure/],
  [['--all', '--upload-s3', 'bkt', '--s3-kms-key-id', 'k'], /--s3-kms-key-id needs --s3-sse aws:kms/],
  [['--all', '--from', 's3://bkt/backups'], /--from names the repository to read/],
  [['--list', '--upload-s3', 'bkt'], /copies a new backup/],
  [
    ['--list', '--download', 'full_20240201_120000', '--from', 's3://bkt/x'],
    /choose one of --list, --download/,
  ],
  [['--list', '--backup-dir', 's3://Bad_Bucket/x'], /not a valid bucket/],
  [['--list', '--backup-dir', 's3://bkt/a/../b'], /invalid prefix/],
  [['--list', '--backup-dir', 'ftp://host/x'], /unsupported storage location scheme "ftp:\/\/"/],
];

describe('backup: cloud flags', () => {
  it.concurrent.each(CASES)('%j is refused as USAGE (exit 2)', async (args, message) => {
    const result = await runCli(['backup', ...args], { ...process.env, ...NOWHERE });
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^acx-data: USAGE/m);
    expect(result.code, result.stderr).toBe(2);
  });

  it('a location never carries credentials: refused, and the secret is not echoed', async () => {
    const result = await runCli(
      ['backup', '--list', '--backup-dir', 's3://bkt/backups?X-Amz-Signature=sig-secret-77'],
      { ...process.env, ...NOWHERE },
    );
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/holds no credentials/);
    expect(result.stdout + result.stderr).not.toContain('sig-secret-77');
  });

  it('--help lists the guide’s cloud flags and the recovery forms', async () => {
    const result = await runCli(['backup', '--help']);
    expect(result.code).toBe(0);
    for (const flag of [
      '--upload-s3',
      '--upload-gcs',
      '--upload-azure',
      '--s3-prefix',
      '--s3-region',
      '--s3-endpoint',
      '--s3-sse',
      '--list-cloud',
      '--cloud-bucket',
      '--from',
      '--download',
      '--archive',
    ])
      expect(result.stdout).toContain(flag);
    expect(result.stdout).toContain('--restore full_20240201_120000 --from s3://my-bucket/backups');
  });
});
