/**
 * An import killed with SIGKILL while it writes Qdrant (PostgreSQL and Neo4j still in their open
 * transactions) leaves its journal and Qdrant undo file; the next import into the same databases rolls
 * that back first and says so. Rerunning the same import gives what one uninterrupted import gives; any
 * other import finds the stores as they were before the killed one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { emptyQdrant } from '../../src/stores/qdrant/qdrant-schema.ts';
import { exportInto, runCli, stateEnv, wholeExport } from '../support/cli.ts';
import { runAndKill } from '../support/kill.ts';
import { closeAndRemove, fingerprint, keepAccounts, openSeeded, type TestStores } from '../support/stores.ts';

let stores: TestStores;
let work: string;
let exportDir: string;
let env: Record<string, string | undefined>;
let original: Fingerprint;
let resetTarget: () => Promise<void>;

const only = (fp: Fingerprint, prefix: string) =>
  Object.fromEntries(Object.entries(fp).filter(([k]) => k.startsWith(prefix)));

const importArgs = () => ['import', ...wholeExport(exportDir), '--batch-size', '100'];

async function journalFiles(): Promise<string[]> {
  const root = join(work, 'state', 'journals');
  const out: string[] = [];
  for (const key of await readdir(root).catch(() => [] as string[]))
    for (const run of await readdir(join(root, key)))
      for (const name of await readdir(join(root, key, run))) out.push(name);
  return out.sort();
}

/** Kills the import at its second Qdrant progress event: some points are written, nothing committed. */
async function killInQdrant(): Promise<void> {
  const run = await runAndKill(
    importArgs(),
    { match: (e) => e.store === 'qdrant' && e.type === 'dataset-progress', nth: 2 },
    env,
  );
  expect(run.killed, run.stderr).toBe(true);
  expect.soft(await journalFiles()).toEqual(['journal.json', 'qdrant-undo.ndjson']);
}

interface Summary {
  outcome: string;
  recovered?: Array<{ stores: Record<string, string> }>;
}

beforeAll(async () => {
  ({ stores, original } = await openSeeded(0.05, 41));
  resetTarget = await keepAccounts(stores);
  work = await mkdtemp(join(tmpdir(), 'acx-import-resume-'));
  env = stateEnv(work);
  exportDir = await exportInto(work, ['--all', '--include-pii']);
});

afterAll(() => closeAndRemove(stores, work));

describe('an import killed with SIGKILL', () => {
  it('is rolled back by the next import, which then gives what one uninterrupted import gives', async () => {
    await resetTarget();
    await killInQdrant();
    const again = await runCli([...importArgs(), '--format', 'json'], env);
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout) as Summary;
    expect(summary.outcome).toBe('written');
    expect(summary.recovered).toHaveLength(1);
    expect(summary.recovered?.[0]?.stores.qdrant).toMatch(/removed \d+ points it had added/);
    expect(summary.recovered?.[0]?.stores.postgres).toMatch(/rolled back by the server/);
    expect(diffFingerprints(original, await fingerprint(stores))).toEqual([]);
    expect(await journalFiles()).toEqual([]);
  });

  it('leaves the stores as before it, once another import has rolled it back (a collection it created is deleted)', async () => {
    await resetTarget();
    await emptyQdrant(stores.qdrant);
    const before = await fingerprint(stores);
    await killInQdrant();
    // An import of the graph only: it first rolls back the killed one (its Qdrant writes).
    const graph = await runCli(
      ['import', '--graphml', join(exportDir, 'neo4j_graph.graphml'), '--format', 'json'],
      env,
    );
    expect(graph.code, graph.stderr).toBe(0);
    const summary = JSON.parse(graph.stdout) as Summary;
    expect(summary.recovered?.[0]?.stores.qdrant).toMatch(/deleted collection \S+ it had created/);
    const after = await fingerprint(stores);
    expect(diffFingerprints(only(before, 'qdrant/'), only(after, 'qdrant/'))).toEqual([]);
    expect(diffFingerprints(only(before, 'postgres/'), only(after, 'postgres/'))).toEqual([]);
    expect(diffFingerprints(only(original, 'neo4j/'), only(after, 'neo4j/'))).toEqual([]);
    expect(await journalFiles()).toEqual([]);
  });
});
