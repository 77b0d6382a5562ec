/**
 * Fault injection, PostgreSQL and Neo4j (issue #10 item 3): the CLI's backup, restore into an emptied
 * store, export and import run with the store behind a seeded fault proxy (test/support/fault-proxy.ts)
 * that resets new connections, cuts answers and closes idle connections. Each run either completes
 * with identical content, or fails cleanly: one line, a catalogued code (CONNECTION or STORE, never
 * INTERNAL, no stack trace), nothing half-written (no new snapshot listed, the restore or import
 * target exactly as before), and the same run without faults then succeeds.
 * A failure names the seed; `ACX_FAULT_SEED=<n>` replays it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { exportInto, runCli, type CliResult } from '../support/cli.ts';
import { faultSeed, startFaultProxy, type FaultPlan, type FaultProxy } from '../support/fault-proxy.ts';
import {
  closeAndRemove,
  fingerprint,
  keepAccounts,
  openSeeded,
  partOf,
  type TestStores,
} from '../support/stores.ts';

type StoreName = 'postgres' | 'neo4j';
const PLAN: FaultPlan = { idleCloseMs: 300, resetRate: 0.15, cutRate: 0.2, cutAfterBytes: [200, 400_000] };
/** Restores and imports mostly send: one connection is also cut once it has sent 150 KB. */
const WRITE_PLAN: FaultPlan = { ...PLAN, cutRequestAfterBytes: 150_000, maxFaults: 1 };

let stores: TestStores;
let work: string;
let original: Fingerprint;
let exportDir: string;
/**
 * Empty schemas in PostgreSQL and Neo4j (the JSON export writes both), with the accounts kept (as in
 * test/e2e/import-roundtrip.test.ts).
 */
let resetImportTarget: () => Promise<void>;
const proxies = {} as Record<StoreName, FaultProxy>;
const outcomes: string[] = [];

beforeAll(async () => {
  ({ stores, original } = await openSeeded(0.05, 9));
  resetImportTarget = await keepAccounts(stores, ['postgres', 'neo4j']);
  work = await mkdtemp(join(tmpdir(), 'acx-faults-pg-neo4j-'));
  const pg = new URL(process.env.DATABASE_URL!.replace(/^postgres(ql)?(\+\w+)?:/, 'postgresql:'));
  const bolt = new URL(process.env.NEO4J_URI ?? 'bolt://127.0.0.1:7687');
  proxies.postgres = await startFaultProxy(
    { host: pg.hostname, port: Number(pg.port || 5432) },
    faultSeed(11),
  );
  proxies.neo4j = await startFaultProxy(
    { host: bolt.hostname, port: Number(bolt.port || 7687) },
    faultSeed(12),
  );
  exportDir = await exportInto(work, ['--json', '--include-pii']);
});

afterAll(async () => {
  console.log('postgres/neo4j fault campaign:', outcomes.join('; '));
  for (const proxy of Object.values(proxies)) {
    console.log(proxy.describe());
    await proxy.close();
  }
  await closeAndRemove(stores, work);
});

function envThrough(store: StoreName): Record<string, string | undefined> {
  const { host, port } = proxies[store];
  if (store === 'neo4j') return { ...process.env, NEO4J_URI: `bolt://${host}:${port}` };
  const url = new URL(process.env.DATABASE_URL!.replace(/^postgres(ql)?(\+\w+)?:/, 'postgresql:'));
  url.hostname = host;
  url.port = String(port);
  return { ...process.env, DATABASE_URL: url.toString() };
}

/**
 * Runs the CLI with `store` behind its proxy (armed with PLAN, or disarmed) and judges the result:
 * 'ok', or a clean failure (asserted here). Returns which.
 */
async function run(
  store: StoreName,
  step: string,
  args: string[],
  faults: FaultPlan | false = PLAN,
): Promise<'ok' | 'failed'> {
  const proxy = proxies[store];
  if (faults) proxy.arm(faults);
  else proxy.disarm();
  const result: CliResult = await runCli(['--format', 'json', ...args], envThrough(store));
  const context = `${store} ${step}: ${proxy.describe()}\n${result.stderr.slice(-3000)}\n${result.stdout.slice(0, 2000)}`;
  expect(result.stderr, context).not.toMatch(/INTERNAL|\n\s+at |Unhandled/);
  expect(result.stdout, context).not.toMatch(/INTERNAL/);
  const outcome = result.code === 0 ? 'ok' : 'failed';
  outcomes.push(`${store} ${step}${faults ? '' : ' (no faults)'}: ${outcome}`);
  if (outcome === 'failed') {
    const errorLines = result.stderr.split('\n').filter((l) => l.startsWith('acx-data:'));
    expect(errorLines.length, context).toBeLessThanOrEqual(1);
    const doc = JSON.parse(result.stdout) as {
      error?: { code: string };
      failures?: Array<{ code: string }>;
    };
    const codes = doc.error ? [doc.error.code] : (doc.failures ?? []).map((f) => f.code);
    expect(codes.length, context).toBeGreaterThan(0);
    for (const code of codes) expect(['CONNECTION', 'STORE'], context).toContain(code);
  }
  return outcome;
}

async function snapshotsIn(repo: string): Promise<string[]> {
  const listed = await runCli(['backup', '--list', '--backup-dir', repo, '--format', 'json']);
  expect(listed.code, listed.stderr).toBe(0);
  return (JSON.parse(listed.stdout) as { snapshots: Array<{ id: string }> }).snapshots.map((s) => s.id);
}

async function emptyStore(store: StoreName): Promise<void> {
  await stores.set[store].empty();
}

describe.each(['postgres', 'neo4j'] as const)(
  '%s behind a proxy that drops, cuts and resets connections',
  (store) => {
    const repo = () => join(work, `repo-${store}`);

    it('backup: complete, or a clean failure that lists no snapshot; the next run succeeds', async () => {
      const before = await snapshotsIn(repo());
      const first = await run(store, 'backup', ['backup', `--${store}`, '--backup-dir', repo()]);
      const after = await snapshotsIn(repo());
      expect(after.length).toBe(before.length + (first === 'ok' ? 1 : 0));
      if (first === 'failed')
        expect(await run(store, 'backup', ['backup', `--${store}`, '--backup-dir', repo()], false)).toBe(
          'ok',
        );
    });

    it('restore into an emptied store: identical, or a clean failure that leaves it empty; the next run succeeds', async () => {
      const [id] = (await snapshotsIn(repo())).slice(-1);
      await emptyStore(store);
      const empty = partOf(await fingerprint(stores), store);
      const args = ['backup', '--restore', id!, '--target', store, '--backup-dir', repo()];
      if ((await run(store, 'restore', args, WRITE_PLAN)) === 'failed') {
        expect(diffFingerprints(empty, partOf(await fingerprint(stores), store))).toEqual([]);
        await emptyStore(store);
        expect(await run(store, 'restore', args, false)).toBe('ok');
      }
      expect(diffFingerprints(partOf(original, store), partOf(await fingerprint(stores), store))).toEqual([]);
    });

    it('export: complete, or a clean failure', async () => {
      const flags = store === 'postgres' ? ['--json', '--sqlite'] : ['--graphml', '--csv'];
      const out = join(work, `export-${store}`);
      if ((await run(store, 'export', ['export', ...flags, '--output-dir', out])) === 'failed')
        expect(await run(store, 'export', ['export', ...flags, '--output-dir', out], false)).toBe('ok');
    });

    it('import into an emptied schema: identical, or a clean failure that wrote nothing; the next run succeeds', async () => {
      await resetImportTarget();
      const before = await fingerprint(stores);
      const args = ['import', '--json', join(exportDir, 'autocognitix_export.json')];
      if ((await run(store, 'import', args, WRITE_PLAN)) === 'failed') {
        expect(diffFingerprints(partOf(before, store), partOf(await fingerprint(stores), store))).toEqual([]);
        expect(await run(store, 'import', args, false)).toBe('ok');
      }
      expect(diffFingerprints(partOf(original, store), partOf(await fingerprint(stores), store))).toEqual([]);
    });
  },
);
