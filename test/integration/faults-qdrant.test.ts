/**
 * Fault injection, Qdrant (issue #10 item 3): the CLI's backup, restore into an emptied Qdrant, export
 * and import run with Qdrant behind a seeded fault proxy (test/support/fault-proxy.ts) that resets new
 * connections, cuts answers after a few bytes and closes idle connections. Each completes and the
 * result is content-identical (fingerprints); the retries are counted from `--json-events`.
 * A native snapshot's upload cut mid-body is retried from a reopened copy of the stored file.
 * A failure names the seed; `ACX_FAULT_SEED=<n>` replays it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { emptyQdrant } from '../../src/stores/qdrant/qdrant-schema.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { faultSeed, startFaultProxy, type FaultPlan, type FaultProxy } from '../support/fault-proxy.ts';
import { fingerprint, openTestStores, seed, type TestStores } from '../support/stores.ts';

const PLAN: FaultPlan = { idleCloseMs: 100, resetRate: 0.2, cutRate: 0.3, cutAfterBytes: [20, 4_000] };

let stores: TestStores;
let proxy: FaultProxy;
let work: string;
let original: Fingerprint;
const retriesSeen: Record<string, number> = {};

const qdrantPart = (fp: Fingerprint) =>
  Object.fromEntries(Object.entries(fp).filter(([k]) => k.startsWith('qdrant/')));

beforeAll(async () => {
  stores = await openTestStores();
  await seed(stores, 0.05, 5);
  original = await fingerprint(stores);
  const target = new URL(process.env.QDRANT_URL!);
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) }, faultSeed(20261130));
  work = await mkdtemp(join(tmpdir(), 'acx-faults-qdrant-'));
});

afterAll(async () => {
  console.log('qdrant fault campaign:', proxy?.describe(), 'retries seen:', JSON.stringify(retriesSeen));
  await proxy?.close();
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs the CLI with Qdrant behind the proxy, `--json-events`; counts its retry events under `step`. */
async function throughProxy(step: string, args: string[]): Promise<CliResult> {
  const result = await runCli(['--json-events', '--format', 'json', ...args], {
    ...process.env,
    QDRANT_URL: `http://${proxy.host}:${proxy.port}`,
  });
  const retries = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { type: string; store?: string })
    .filter((event) => event.type === 'retry');
  retriesSeen[step] = (retriesSeen[step] ?? 0) + retries.length;
  const context = `${step}: ${proxy.describe()}\n${result.stderr.slice(-3000)}`;
  expect(result.stderr, context).not.toMatch(/INTERNAL|\n\s+at /);
  expect(result.code, context).toBe(0);
  return result;
}

describe('Qdrant behind a proxy that drops, cuts and resets connections', () => {
  const repo = () => join(work, 'repo');
  let snapshotId: string;

  it('backup --qdrant completes', async () => {
    proxy.arm(PLAN);
    const result = await throughProxy('backup', ['backup', '--qdrant', '--backup-dir', repo()]);
    snapshotId = (JSON.parse(result.stdout) as { id: string }).id;
    expect(snapshotId).toMatch(/^full_/);
  });

  it('--restore into an emptied Qdrant gives the same content', async () => {
    await emptyQdrant(stores.qdrant);
    proxy.arm(PLAN);
    await throughProxy('restore', [
      'backup',
      '--restore',
      snapshotId,
      '--target',
      'qdrant',
      '--backup-dir',
      repo(),
    ]);
    expect(diffFingerprints(qdrantPart(original), qdrantPart(await fingerprint(stores)))).toEqual([]);
  });

  let vectors: string;
  it('export --qdrant gives the same vectors file as without faults', async () => {
    proxy.disarm();
    const clean = await throughProxy('export (no faults)', [
      'export',
      '--qdrant',
      '--output-dir',
      join(work, 'x1'),
    ]);
    proxy.arm(PLAN);
    const faulty = await throughProxy('export', ['export', '--qdrant', '--output-dir', join(work, 'x2')]);
    type ExportDoc = { dir: string; files: Array<{ path: string; sha256: string; records: number }> };
    const files = (doc: ExportDoc) =>
      doc.files.map((f) => ({ path: f.path, sha256: f.sha256, records: f.records }));
    const cleanDoc = JSON.parse(clean.stdout) as ExportDoc;
    expect(files(JSON.parse(faulty.stdout) as ExportDoc)).toEqual(files(cleanDoc));
    vectors = join(cleanDoc.dir, 'qdrant_vectors.json.gz');
  });

  it('import --vectors into an emptied Qdrant gives the same content', async () => {
    await emptyQdrant(stores.qdrant);
    proxy.arm(PLAN);
    await throughProxy('import', ['import', '--vectors', vectors]);
    expect(diffFingerprints(qdrantPart(original), qdrantPart(await fingerprint(stores)))).toEqual([]);
  });

  it('a native snapshot upload cut mid-body is retried from the stored file', async () => {
    proxy.disarm();
    const backup = await throughProxy('backup --qdrant-snapshots (no faults)', [
      'backup',
      '--qdrant',
      '--qdrant-snapshots',
      '--backup-dir',
      repo(),
    ]);
    const id = (JSON.parse(backup.stdout) as { id: string }).id;
    await emptyQdrant(stores.qdrant);
    const cutsBefore = proxy.counts.cuts;
    // Every connection that has sent 64 KB is cut, twice: only uploads send that much in this restore.
    proxy.arm({ cutRequestAfterBytes: 65_536, maxFaults: 2 });
    const restore = await throughProxy('restore --qdrant-snapshots', [
      'backup',
      '--restore',
      id,
      '--target',
      'qdrant',
      '--qdrant-snapshots',
      '--backup-dir',
      repo(),
    ]);
    expect(proxy.counts.cuts - cutsBefore).toBe(2);
    expect(restore.stderr).toMatch(/"type":"retry".*snapshots\/upload/);
    expect(diffFingerprints(qdrantPart(original), qdrantPart(await fingerprint(stores)))).toEqual([]);
  });

  it('retries were seen', () => {
    const total = Object.values(retriesSeen).reduce((a, b) => a + b, 0);
    expect(total, proxy.describe()).toBeGreaterThan(0);
  });
});
