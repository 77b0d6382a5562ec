/**
 * `backup --all` while a writer inserts and updates in all three stores (issue #10 item 6, design §7.8):
 * the writer sees no error; the PostgreSQL part is exactly the backup's snapshot (every write whose
 * transaction `consistency.postgresVisibility` sees, and no other); the Neo4j and Qdrant parts hold each
 * node and point once, in a version that existed while that store was read, every write finished before
 * the read and none started after it, and only relationships between nodes of the part. Checked by
 * restoring into emptied stores and comparing with the writer's log. Also: `--list` during a backup
 * calls its directory running. Latencies: bench/backup-under-load.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Neo4jExportSource } from '../../src/stores/neo4j/neo4j-export.ts';
import { runCli } from '../support/cli.ts';
import { LOAD_LABEL, LOAD_RELATIONSHIP, LoadWriter, latencies, type LoadOp } from '../support/load-writer.ts';
import { emptyAll, openTestStores, seed, type TestStores } from '../support/stores.ts';

const BIN = fileURLToPath(new URL('../../bin/acx-data.js', import.meta.url));
let stores: TestStores;
let work: string;

interface ReadWindow {
  readStartedAt: string;
  readFinishedAt: string;
}

interface LoadManifest {
  consistency: { postgresVisibility: string; heldFrom: string; heldUntil: string };
  stores: {
    neo4j: ReadWindow;
    qdrant: ReadWindow & { datasets: Array<{ name: string; records: number }> };
  };
}

beforeAll(async () => {
  stores = await openTestStores();
  work = await mkdtemp(join(tmpdir(), 'acx-load-'));
  await seed(stores, 0.05, 7);
});

afterAll(async () => {
  if (stores) await emptyAll(stores);
  await stores?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function dtcDescriptions(): Promise<Map<string, string>> {
  const { rows } = await stores.postgres.query<{ code: string; description_en: string }>(
    'SELECT code, description_en FROM dtc_codes',
  );
  return new Map(rows.map((r) => [r.code, r.description_en]));
}

/** The writer's PostgreSQL writes replayed on `initial`: those the snapshot sees, in commit order. */
async function expectedPostgres(
  initial: Map<string, string>,
  ops: LoadOp[],
  visibility: string,
): Promise<{ expected: Map<string, string>; seen: number; unseen: number }> {
  const writes = ops.filter((op) => op.store === 'postgres');
  const { rows } = await stores.postgres.query<{ visible: boolean }>(
    'SELECT pg_visible_in_snapshot(t::xid8, $2::pg_snapshot) AS visible FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i',
    [writes.map((op) => op.txid), visibility],
  );
  const expected = new Map(initial);
  let seen = 0;
  writes.forEach((op, i) => {
    if (!rows[i]!.visible) return;
    seen++;
    expected.set(op.key, `v${op.version}`);
  });
  return { expected, seen, unseen: writes.length - seen };
}

/**
 * What a store read during [from, to] may hold of one key: the versions that were current at some
 * moment of the read (committed before its end, not yet replaced at its start), or absent when its
 * insert may not have been committed yet at the read's end... or at any moment the read saw it.
 */
function allowedVersions(
  writes: LoadOp[],
  from: number,
  to: number,
): { versions: Set<number>; mayBeAbsent: boolean; mustBeAbsent: boolean } {
  const versions = new Set<number>();
  writes.forEach((op, i) => {
    const next = writes[i + 1];
    if (op.startedAt <= to && (next === undefined || next.endedAt >= from)) versions.add(op.version);
  });
  const insert = writes[0]!;
  return { versions, mayBeAbsent: insert.endedAt >= from, mustBeAbsent: insert.startedAt > to };
}

function byKey(ops: LoadOp[], store: LoadOp['store']): Map<string, LoadOp[]> {
  const map = new Map<string, LoadOp[]>();
  for (const op of ops.filter((o) => o.store === store)) {
    map.set(op.key, [...(map.get(op.key) ?? []), op]);
  }
  return map;
}

/** Checks one store's restored records (`key → {version, check}`) against the writer's log. */
function checkPart(
  store: 'neo4j' | 'qdrant',
  restored: Array<{ key: string; version: number; check: string }>,
  ops: LoadOp[],
  window: ReadWindow,
): { present: number; absent: number; written: number } {
  const from = Date.parse(window.readStartedAt);
  const to = Date.parse(window.readFinishedAt);
  const keys = restored.map((r) => r.key);
  expect(new Set(keys).size, `${store}: a key appears twice`).toBe(keys.length);
  const found = new Map(restored.map((r) => [r.key, r]));
  const problems: string[] = [];
  for (const [key, writes] of byKey(ops, store)) {
    const allowed = allowedVersions(writes, from, to);
    const record = found.get(key);
    found.delete(key);
    if (!record) {
      if (!allowed.mayBeAbsent) problems.push(`${key}: missing, inserted before the read`);
      continue;
    }
    if (allowed.mustBeAbsent) problems.push(`${key}: present, inserted after the read`);
    if (record.check !== String(record.version))
      problems.push(`${key}: torn (${record.version}/${record.check})`);
    if (!allowed.versions.has(record.version))
      problems.push(`${key}: version ${record.version}, not one current during the read`);
  }
  expect(problems, store).toEqual([]);
  expect([...found.keys()], `${store}: records the writer never wrote`).toEqual([]);
  return {
    present: restored.length,
    absent: byKey(ops, store).size - restored.length,
    written: byKey(ops, store).size,
  };
}

describe('backup --all under load', () => {
  it('does not disturb the writer and holds exactly what the design says each part may hold', async () => {
    const initial = await dtcDescriptions();
    const writer = new LoadWriter(stores, 'w', [...initial.keys()], 7);
    await writer.prepare();
    writer.start();
    await sleep(1500);
    const backupFrom = Date.now();
    const result = await runCli(['backup', '--all', '--backup-dir', join(work, 'repo'), '--format', 'json']);
    const backupTo = Date.now();
    await sleep(300);
    await writer.stop();
    expect(result.code, result.stderr).toBe(0);
    expect(writer.errors()).toEqual([]);
    const figures = latencies(writer.ops, backupFrom, backupTo);
    for (const f of figures) expect(f.duringBackup.writes, f.store).toBeGreaterThan(5);
    console.log(JSON.stringify(figures));

    const id = (JSON.parse(result.stdout) as { id: string }).id;
    const manifest = JSON.parse(
      await readFile(join(work, 'repo', id, 'manifest.json'), 'utf8'),
    ) as LoadManifest;
    expect(manifest.consistency.postgresVisibility).toMatch(/^\d+:\d+:/);

    await emptyAll(stores);
    const restored = await runCli(['backup', '--backup-dir', join(work, 'repo'), '--restore', id]);
    expect(restored.code, restored.stderr).toBe(0);

    // PostgreSQL: exactly the snapshot, and the writer wrote on both sides of it.
    const pg = await expectedPostgres(initial, writer.ops, manifest.consistency.postgresVisibility);
    expect(pg.seen).toBeGreaterThan(0);
    expect(pg.unseen).toBeGreaterThan(0);
    expect(Object.fromEntries(await dtcDescriptions())).toEqual(Object.fromEntries(pg.expected));

    // Neo4j: each probe once, in a version current during the read, relationships only inside the part.
    const session = stores.neo4j.driver.session({ database: stores.neo4j.database });
    try {
      const nodes = await session.run(
        `MATCH (n:${LOAD_LABEL}) RETURN n.key AS key, n.version AS version, n.check AS check`,
      );
      const probes = nodes.records.map((r) => ({
        key: r.get('key') as string,
        version: Number(r.get('version')),
        check: r.get('check') as string,
      }));
      checkPart('neo4j', probes, writer.ops, manifest.stores.neo4j);
      const rels = await session.run(
        `MATCH (a:${LOAD_LABEL})-[:${LOAD_RELATIONSHIP}]->(b:${LOAD_LABEL}) RETURN a.key AS a, b.key AS b`,
      );
      const present = new Set(probes.map((p) => p.key));
      const links = writer.ops
        .filter((op) => op.store === 'neo4j' && op.linksTo && present.has(op.key) && present.has(op.linksTo))
        .map((op) => `${op.key}->${op.linksTo}`)
        .sort();
      // A node and its relationship are created together: the relationship is there iff both nodes are.
      expect(rels.records.map((r) => `${r.get('a')}->${r.get('b')}`).sort()).toEqual(links);
    } finally {
      await session.close();
    }

    // Qdrant: each point once (the file's records equal the distinct points restored), versions as above.
    const points: Array<{ key: string; version: number; check: string }> = [];
    for await (const page of stores.qdrant.scrollAll(writer.collection, { withVector: false }))
      for (const p of page) points.push(p.payload as { key: string; version: number; check: string });
    const dataset = manifest.stores.qdrant.datasets.find((d) => d.name === `${writer.collection}/points`);
    expect(dataset?.records).toBe(points.length);
    checkPart('qdrant', points, writer.ops, manifest.stores.qdrant);
  });

  it('lists the snapshot a running backup writes as running, not interrupted', async () => {
    const repo = join(work, 'listed');
    const listed = join(work, 'listed.json');
    // The post-hook runs after the stores are read and before the manifest: the run is still writing.
    const hook = `"${process.execPath}" "${BIN}" backup --list --backup-dir "$ACX_BACKUP_DIR" --format json > "${listed}"`;
    const result = await runCli([
      'backup',
      '--postgres',
      '--backup-dir',
      repo,
      '--post-hook',
      hook,
      '--format',
      'json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const id = (JSON.parse(result.stdout) as { id: string }).id;
    expect(JSON.parse(await readFile(listed, 'utf8'))).toMatchObject({
      snapshots: [],
      running: [id],
      incomplete: [],
    });
  });

  it('a GraphML export read while a node and its edge are created holds no edge to a node it lacks', async () => {
    const source = await new Neo4jExportSource(stores.neo4j, { dtcLabel: 'DTC' }).graph();
    const nodes = new Set<string>();
    for await (const node of source.nodes()) nodes.add(node.id);
    expect(nodes.size).toBeGreaterThan(10);
    // Written between the two reads, as the application may: a new node linked to an existing one.
    await stores.neo4j.driver.executeQuery(
      `MATCH (p) WITH p LIMIT 1 CREATE (n:${LOAD_LABEL} {key: 'between'})-[:${LOAD_RELATIONSHIP}]->(p)`,
      {},
      { database: stores.neo4j.database },
    );
    const outside: string[] = [];
    let edges = 0;
    for await (const edge of source.edges()) {
      edges++;
      if (!nodes.has(edge.source) || !nodes.has(edge.target)) outside.push(`${edge.type} ${edge.id}`);
    }
    expect(edges).toBeGreaterThan(10);
    expect(outside).toEqual([]);
  });
});
