/**
 * The guide's "Disaster Recovery" as a test (issue #14, item 7; `npm run drill`): the README's recovery
 * blocks are read from README.md and run by bash, as an operator would paste them, on the local stack:
 *
 * - production state: seeded stores that the weekly `sync --all --force` has already brought in line
 *   (vectors from the configured model), backed up with the guide's daily command and uploaded to S3;
 * - partial recovery: PostgreSQL lost, the local backups intact → the "partial" block → identical;
 * - full recovery: every database and the local backups lost → the six steps in an empty folder → identical.
 *
 * Only two literals of the README are replaced: the example bucket and the example snapshot id.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { runCli, runProcess, type CliResult } from '../support/cli.ts';
import { emptyAll, fingerprint, openTestStores, seed, type TestStores } from '../support/stores.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCALE = 0.02;
/** A new bucket per run: an S3 prefix is the replica of one repository, and this run's is new. */
const BUCKET = `acx-drill-${randomBytes(4).toString('hex')}`;
const EXAMPLE_BUCKET = 'autocognitix-backups';
const EXAMPLE_ID = 'full_20240201_120000';

/** The fenced block that follows `<!-- drill:<name> -->` in the README: the commands, one per line. */
async function readmeBlock(name: string): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const match = new RegExp(`<!-- drill:${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!match) throw new Error(`README.md has no "<!-- drill:${name} -->" block`);
  return match[1]!;
}

let stores: TestStores;
let work: string;
let env: Record<string, string | undefined>;
let production: Fingerprint;
let snapshot: string;

/** Runs a README block in `cwd` with bash, stopping at the first failing command. */
async function runBlock(name: string, cwd: string): Promise<CliResult> {
  const script = (await readmeBlock(name))
    .replaceAll(EXAMPLE_BUCKET, BUCKET)
    .replaceAll(EXAMPLE_ID, snapshot);
  const result = await runProcess('bash', ['-euo', 'pipefail', '-xc', script], { env, cwd });
  expect(result.code, `README block "${name}" failed:\n${result.stderr}`).toBe(0);
  expect(result.stderr).not.toMatch(/INTERNAL/);
  for (const secret of [process.env.AWS_SECRET_ACCESS_KEY, process.env.NEO4J_PASSWORD])
    if (secret) expect(result.stdout + result.stderr).not.toContain(secret);
  return result;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'acx-drill-'));
  // `acx-data` on PATH, as after `npm install -g`, run by the Node that runs the tests.
  const bin = join(work, 'bin');
  await mkdir(bin);
  await symlink(join(ROOT, 'bin', 'acx-data.js'), join(bin, 'acx-data'));
  env = {
    ...process.env,
    PATH: [bin, dirname(process.execPath), process.env.PATH].join(delimiter),
    ACX_STATE_DIR: join(work, 'state'),
    // The stack's S3 server stands in for AWS: the guide's commands carry no endpoint flag.
    AWS_ENDPOINT_URL_S3: process.env.ACX_S3_ENDPOINT,
  };
  const s3 = new S3Client({
    endpoint: process.env.ACX_S3_ENDPOINT,
    region: process.env.AWS_DEFAULT_REGION,
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
  stores = await openTestStores();
  await seed(stores, SCALE, 1414);
  // The weekly forced sync has run: the points hold the configured model's vectors.
  const synced = await runCli(['sync', '--all', '--force'], env);
  expect(synced.code, synced.stderr).toBe(0);
  production = await fingerprint(stores);
});

afterAll(async () => {
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the guide's disaster recovery, as the README writes it", () => {
  it("backs up with the guide's daily command (all stores, uploaded to S3)", async () => {
    const site = join(work, 'site');
    await mkdir(site);
    const result = await runProcess(
      join(work, 'bin', 'acx-data'),
      ['backup', '--all', '--upload-s3', BUCKET, '--format', 'json'],
      { env, cwd: site },
    );
    expect(result.code, result.stderr).toBe(0);
    snapshot = (JSON.parse(result.stdout) as { id: string }).id;
    expect(snapshot).toMatch(/^full_\d{8}_\d{6}$/);
  });

  it('partial recovery: PostgreSQL lost, restored from the local backup, the others synced from it', async () => {
    await stores.set.postgres.empty();
    expect(diffFingerprints(production, await fingerprint(stores))).not.toEqual([]);
    const result = await runBlock('partial', join(work, 'site'));
    expect(result.stdout).toMatch(/consistent/i);
    expect(diffFingerprints(production, await fingerprint(stores))).toEqual([]);
  });

  it('full recovery: every database and the local backups lost, the six steps in an empty folder', async () => {
    await emptyAll(stores);
    await rm(join(work, 'site'), { recursive: true, force: true });
    const recovery = join(work, `recovery-${randomBytes(3).toString('hex')}`);
    await mkdir(recovery);
    const result = await runBlock('full', recovery);
    // Step 1 found the snapshot in the bucket; step 3 verified it; step 5 found the stores consistent.
    expect(result.stdout).toContain(snapshot);
    expect(diffFingerprints(production, await fingerprint(stores))).toEqual([]);
  });
});
