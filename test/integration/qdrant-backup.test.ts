/**
 * Qdrant backup and restore round trips. Runs unchanged against whatever QDRANT_URL (and
 * QDRANT_API_KEY) names — the stack's Qdrant double or a real Qdrant — and touches only its own
 * collections (`acx_bk_<random>_…`), which it deletes at the end. Against the double it also checks that
 * nothing sent or received broke Qdrant's OpenAPI document.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQdrantSettings } from '../../src/config/env.ts';
import { AcxError } from '../../src/errors.ts';
import { MultisetHash } from '../../src/model/content-hash.ts';
import { pointId } from '../../src/model/qdrant-model.ts';
import type { ProgressEvent, ProgressReporter } from '../../src/progress.ts';
import type { StoreSection } from '../../src/repository/manifest.ts';
import { backupQdrant } from '../../src/stores/qdrant/qdrant-backup.ts';
import { QdrantClient, type PointId, type QdrantPoint } from '../../src/stores/qdrant/qdrant-client.ts';
import { canonicalPoint, collectionConfigOf } from '../../src/stores/qdrant/qdrant-fingerprint.ts';
import { parseQdrantJson, stringifyQdrantJson } from '../../src/stores/qdrant/qdrant-json.ts';
import {
  planQdrantRestore,
  restoreQdrant,
  type QdrantRestoreOptions,
} from '../../src/stores/qdrant/qdrant-restore.ts';
import { snapshotOneStore, type StoreSnapshot } from '../support/snapshot.ts';

const settings = readQdrantSettings();
const client = new QdrantClient(settings);
const prefix = `acx_bk_${randomBytes(4).toString('hex')}`;
const PLAIN = `${prefix}_plain`;
const NAMED = `${prefix}_named`;
const ALIAS = `${prefix}_alias`;
const OURS = [NAMED, PLAIN];
const snapshots: StoreSnapshot[] = [];
let isDouble = false;

const headers = (): Record<string, string> => (settings.apiKey ? { 'api-key': settings.apiKey } : {});

function recorder(): ProgressReporter & { events: ProgressEvent[] } {
  const events: ProgressEvent[] = [];
  return { events, emit: (e) => events.push(e) };
}

/** Random float32 values (as Qdrant stores them). */
const f32 = (n: number, scale = 1): number[] =>
  Array.from({ length: n }, () => Math.fround((Math.random() - 0.5) * scale));

interface CollectionPrint {
  config: Record<string, unknown>;
  aliases: string[];
  points: { records: number; hash: string };
}

/** Configuration (as the fingerprint sees it), aliases, and a multiset hash of every point. */
async function printOf(name: string): Promise<CollectionPrint> {
  const config = collectionConfigOf(await client.getCollection(name));
  const aliases = (await client.listAliases(name)).map((a) => a.alias_name).sort();
  const hash = new MultisetHash();
  for await (const page of client.scrollAll(name, { pageSize: 500 }))
    for (const p of page) hash.add(canonicalPoint(p));
  return { config, aliases, points: { records: hash.count, hash: hash.digest() } };
}

async function printsOf(names: string[]): Promise<Record<string, CollectionPrint>> {
  const out: Record<string, CollectionPrint> = {};
  for (const name of names) out[name] = await printOf(name);
  return out;
}

async function dropAll(names: string[]): Promise<void> {
  for (const name of names) await client.deleteCollection(name).catch(() => undefined);
}

async function upsertAll(name: string, points: QdrantPoint[]): Promise<void> {
  for (let i = 0; i < points.length; i += 500) await client.upsert(name, points.slice(i, i + 500));
}

async function backup(
  options: { nativeSnapshots: boolean; collections?: string[] },
  compression: 'zstd' | 'gzip' = 'zstd',
): Promise<StoreSnapshot & { events: ProgressEvent[] }> {
  const reporter = recorder();
  const snap = await snapshotOneStore(
    'qdrant',
    (files) => backupQdrant(client, { files, reporter }, { collections: OURS, ...options }),
    compression,
  );
  snapshots.push(snap);
  return { ...snap, events: reporter.events };
}

function restore(
  snap: StoreSnapshot,
  replace: boolean,
  options: QdrantRestoreOptions = { fromNativeSnapshots: false },
  signal?: AbortSignal,
  reporter: ProgressReporter = recorder(),
): ReturnType<typeof restoreQdrant> {
  return restoreQdrant(
    client,
    { snapshot: snap.reader, section: snap.section, reporter, replace, signal },
    options,
  );
}

async function expectAcxError(promise: Promise<unknown>, code: string, subject?: string): Promise<AcxError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the call to fail').toBeInstanceOf(AcxError);
  expect((error as AcxError).code, (error as Error).message).toBe(code);
  if (subject !== undefined) expect((error as AcxError).subject).toBe(subject);
  return error as AcxError;
}

let original: Record<string, CollectionPrint>;

beforeAll(async () => {
  const probe = await fetch(`${settings.url}/__double/violations`, { headers: headers() }).catch(
    () => undefined,
  );
  isDouble = probe?.status === 200;
  if (isDouble) await fetch(`${settings.url}/__double/violations`, { method: 'DELETE', headers: headers() });

  // An unnamed cosine collection like production's, with 63-bit and UUID ids and varied payloads.
  await client.createCollection(PLAIN, { vectors: { size: 16, distance: 'Cosine' }, on_disk_payload: true });
  await client.createPayloadIndex(PLAIN, 'type', 'keyword');
  await client.createPayloadIndex(PLAIN, 'n', 'integer');
  await client.createPayloadIndex(PLAIN, 'tenant', { type: 'keyword', is_tenant: true });
  const plain: QdrantPoint[] = [];
  for (let i = 0; i < 3000; i++) {
    const id: PointId = i % 10 === 3 ? randomUUID() : pointId('dtc', `P${String(i).padStart(4, '0')}`);
    const payload =
      i % 97 === 0
        ? {}
        : {
            type: ['dtc', 'complaint', 'recall'][i % 3],
            n: i,
            tenant: `t${i % 4}`,
            text: i % 2 ? 'Árvíztűrő tükörfúrógép — őrült ű' : '',
            nothing: null,
            list: i % 5 ? ['ő', 1, 2.5, null, { deep: [true, false] }] : [],
            nested: { a: { b: { c: [i, `x${i}`] } }, empty: {} },
          };
    plain.push({ id, vector: f32(16, i % 2 ? 1 : 7), payload });
  }
  await upsertAll(PLAIN, plain);
  await client.updateAliases([{ create_alias: { collection_name: PLAIN, alias_name: ALIAS } }]);

  // Named vectors (Euclid, Dot) plus a sparse one, with non-default HNSW, optimizer and quantization.
  await client.createCollection(NAMED, {
    vectors: {
      image: { size: 8, distance: 'Euclid', on_disk: true },
      text: { size: 4, distance: 'Dot', hnsw_config: { m: 8 } },
    },
    sparse_vectors: { keywords: { modifier: 'idf' } },
    hnsw_config: { m: 32, ef_construct: 200, full_scan_threshold: 5000 },
    optimizers_config: { default_segment_number: 2, deleted_threshold: 0.3, indexing_threshold: 50000 },
    quantization_config: { scalar: { type: 'int8', quantile: 0.95, always_ram: true } },
  });
  await client.createPayloadIndex(NAMED, 'score', 'float');
  const named: QdrantPoint[] = [];
  for (let i = 0; i < 700; i++) {
    const vector: Record<string, unknown> = { image: f32(8, 100) };
    if (i % 3 !== 0) vector.text = f32(4);
    if (i % 2 === 0) vector.keywords = { indices: [i % 7, 10 + (i % 13), 1000 + i], values: f32(3) };
    named.push({ id: i * 7 + 1, vector, payload: { score: i / 3, label: `pont ${i} ő` } });
  }
  await upsertAll(NAMED, named);

  original = await printsOf(OURS);
  expect(original[PLAIN]!.points.records).toBe(3000);
  expect(original[NAMED]!.points.records).toBe(700);
}, 300_000);

afterAll(async () => {
  await dropAll(OURS);
  for (const snap of snapshots) await snap.cleanup();
  if (isDouble) {
    const answer = (await (
      await fetch(`${settings.url}/__double/violations`, { headers: headers() })
    ).json()) as { violations: unknown[] };
    expect(
      answer.violations,
      'the Qdrant double saw requests/responses that break the OpenAPI document',
    ).toEqual([]);
  }
});

describe(`Qdrant backup and restore at ${settings.url}`, () => {
  let snap: StoreSnapshot & { events: ProgressEvent[] };

  it('backs up configuration, aliases and every point, then restores them identically', async () => {
    snap = await backup({ nativeSnapshots: false });
    const section = snap.section;
    expect(section.consistency).toBe('scroll');
    const byName = Object.fromEntries(section.datasets.map((d) => [d.name, d]));
    expect(Object.keys(byName)).toEqual([NAMED, `${NAMED}/points`, PLAIN, `${PLAIN}/points`]);
    expect(byName[PLAIN]).toMatchObject({ kind: 'collection', records: 1, aliases: [ALIAS] });
    expect(byName[`${PLAIN}/points`]).toMatchObject({
      kind: 'points',
      records: 3000,
      pointsCountAtStart: 3000,
      files: [`qdrant/${PLAIN}/points.jsonl.zst`],
    });
    for (const d of section.datasets) {
      const sum = d.files.reduce((n, f) => n + (snap.reader.entry(f).records ?? 0), 0);
      expect(sum, d.name).toBe(d.records);
    }

    // collection.json: one line, the server's config, payload indexes without counts, aliases.
    const saved = parseQdrantJson(await snap.reader.text(`qdrant/${PLAIN}/collection.json.zst`)) as {
      name: string;
      config: Record<string, unknown>;
      payload_schema: Record<string, unknown>;
      aliases: string[];
    };
    expect(saved.name).toBe(PLAIN);
    expect(saved.aliases).toEqual([ALIAS]);
    expect(saved.config).toEqual((await client.getCollection(PLAIN)).config);
    expect(saved.payload_schema).toMatchObject({
      n: { data_type: 'integer' },
      tenant: { data_type: 'keyword', params: { type: 'keyword', is_tenant: true } },
      type: { data_type: 'keyword' },
    });
    expect(saved.payload_schema.n).not.toHaveProperty('points');

    // points.jsonl: ids in scroll order, 63-bit ids written as bare integers.
    const expectedId = pointId('dtc', 'P0000');
    let sawBig = false;
    for await (const line of snap.reader.lines(`qdrant/${PLAIN}/points.jsonl.zst`)) {
      if (line.includes(`{"id":${expectedId},`)) sawBig = true;
    }
    expect(sawBig).toBe(true);
    expect(snap.events.filter((e) => e.type === 'dataset-done').map((e) => e.dataset)).toEqual([
      `${NAMED}/points`,
      `${PLAIN}/points`,
    ]);

    await dropAll(OURS);
    const reporter = recorder();
    const summary = await restore(snap, false, { fromNativeSnapshots: false }, undefined, reporter);
    expect(summary.datasets).toEqual([
      { name: NAMED, records: 1 },
      { name: `${NAMED}/points`, records: 700 },
      { name: PLAIN, records: 1 },
      { name: `${PLAIN}/points`, records: 3000 },
    ]);
    expect((await client.getCollection(PLAIN)).status).toBe('green');
    expect(await printsOf(OURS)).toEqual(original);
    expect(reporter.events.some((e) => e.type === 'dataset-progress')).toBe(true);
  });

  it('refuses a target holding the collections unless replace, and replaces them when told', async () => {
    const plan = planQdrantRestore(client, snap.section, false);
    await expectAcxError(plan, 'NOT_EMPTY', NAMED);
    await expectAcxError(restore(snap, false), 'NOT_EMPTY', NAMED);
    expect(await printsOf(OURS)).toEqual(original);

    // Change the target: an extra point, a lost alias. Replace restores the snapshot exactly.
    await client.upsert(PLAIN, [{ id: 5, vector: f32(16), payload: { extra: true } }]);
    await client.updateAliases([{ delete_alias: { alias_name: ALIAS } }]);
    const steps = await planQdrantRestore(client, snap.section, true);
    expect(steps).toContainEqual({ action: 'drop', object: `qdrant collection ${PLAIN}`, records: 3001 });
    expect(steps).toContainEqual({
      action: 'load',
      object: `qdrant collection ${PLAIN} points`,
      records: 3000,
    });
    expect(steps).toContainEqual({
      action: 'create',
      object: `qdrant alias ${ALIAS}`,
      detail: `on ${PLAIN}`,
    });
    await restore(snap, true);
    expect(await printsOf(OURS)).toEqual(original);
  });

  it('refuses when an alias of the snapshot already exists elsewhere', async () => {
    await dropAll([PLAIN]);
    await client.updateAliases([{ create_alias: { collection_name: NAMED, alias_name: ALIAS } }]);
    await dropAll([NAMED]); // the alias goes with it: now make one that points at another collection
    const other = `${prefix}_other`;
    OURS.push(other);
    await client.createCollection(other, { vectors: { size: 2, distance: 'Dot' } });
    await client.updateAliases([{ create_alias: { collection_name: other, alias_name: ALIAS } }]);
    await expectAcxError(restore(snap, false), 'NOT_EMPTY', ALIAS);
    expect(await client.collectionExists(PLAIN)).toBe(false);
    await restore(snap, true);
    expect(await printsOf([NAMED, PLAIN])).toEqual(original);
    expect(await client.listAliases(other)).toEqual([]);
    await dropAll([other]);
    OURS.pop();
  });

  it('backs up the server snapshots (gzip data files) and restores by uploading them', async () => {
    const native = await backup({ nativeSnapshots: true }, 'gzip');
    const nativeSets = native.section.datasets.filter((d) => d.kind === 'native-snapshot');
    expect(nativeSets.map((d) => d.name)).toEqual([`${NAMED}/native`, `${PLAIN}/native`]);
    for (const d of nativeSets) {
      expect(d.records).toBe(0);
      const entry = native.reader.entry(d.files[0]!);
      expect(entry.compression).toBe('none');
      expect(entry.records).toBeUndefined();
      expect(d.checksum).toBe(entry.sha256);
    }
    expect(native.reader.entry(`qdrant/${PLAIN}/points.jsonl.gz`).records).toBe(3000);
    expect(await client.listSnapshots(PLAIN)).toEqual([]);

    await dropAll(OURS);
    const summary = await restore(native, false, { fromNativeSnapshots: true });
    expect(summary.datasets).toContainEqual({ name: `${PLAIN}/native`, records: 3000 });
    expect(await printsOf(OURS)).toEqual(original);

    // The same snapshot restores from its points too (gzip path).
    await dropAll(OURS);
    await restore(native, false, { fromNativeSnapshots: false });
    expect(await printsOf(OURS)).toEqual(original);
  });

  it('is all or nothing: a bad point deletes every collection the restore created', async () => {
    const good = `${prefix}_a_good`;
    const bad = `${prefix}_b_bad`;
    const crafted = await snapshotOneStore('qdrant', async (files): Promise<StoreSection> => {
      const datasets: StoreSection['datasets'] = [];
      for (const [name, n, broken] of [
        [good, 300, -1],
        [bad, 900, 700],
      ] as const) {
        const config = {
          params: { vectors: { size: 4, distance: 'Dot' } },
          hnsw_config: {},
          optimizer_config: {},
        };
        const c = await files.writeLines(`qdrant/${name}/collection.json`, [
          stringifyQdrantJson({ name, config, payload_schema: {}, aliases: [`${name}_alias`] }),
        ]);
        const lines: string[] = [];
        for (let i = 0; i < n; i++)
          lines.push(
            stringifyQdrantJson({ id: pointId('x', i), vector: f32(i === broken ? 5 : 4), payload: { i } }),
          );
        const p = await files.writeLines(`qdrant/${name}/points.jsonl`, lines);
        datasets.push({ name, kind: 'collection', records: 1, files: [c], aliases: [`${name}_alias`] });
        datasets.push({ name: `${name}/points`, kind: 'points', records: n, files: [p] });
      }
      return { serverVersion: 'test', readStartedAt: '', readFinishedAt: '', datasets };
    });
    snapshots.push(crafted);
    const error = await expectAcxError(restore(crafted, false), 'STORE', bad);
    expect(error.message).toMatch(/dimension/i);
    expect(await client.collectionExists(good)).toBe(false);
    expect(await client.collectionExists(bad)).toBe(false);
    expect((await client.listAliases()).map((a) => a.alias_name)).not.toContain(`${good}_alias`);

    // Interrupted between batches: the same, with INTERRUPTED.
    const controller = new AbortController();
    const reporter: ProgressReporter = {
      emit: (e) => {
        if (e.type === 'dataset-progress' && e.dataset === `${good}/points`) controller.abort();
      },
    };
    await expectAcxError(
      restore(crafted, false, { fromNativeSnapshots: false, batchSize: 50 }, controller.signal, reporter),
      'INTERRUPTED',
      good,
    );
    expect(await client.collectionExists(good)).toBe(false);
    expect(await printsOf(OURS)).toEqual(original);
  });
});
