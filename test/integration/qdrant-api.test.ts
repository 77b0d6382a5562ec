/**
 * The Qdrant REST behaviour the toolkit relies on. Runs unchanged against whatever QDRANT_URL (and
 * QDRANT_API_KEY) names: the local stack's Qdrant double, or a real Qdrant. Against the double it also
 * checks that nothing this file sent or received broke Qdrant's OpenAPI document.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQdrantSettings } from '../../src/config/env.ts';
import { QdrantClient, type PointId, type QdrantPoint } from '../../src/stores/qdrant/qdrant-client.ts';
import { parseQdrantJson, stringifyQdrantJson } from '../../src/stores/qdrant/qdrant-json.ts';

const settings = readQdrantSettings();
const client = new QdrantClient(settings);
const created: string[] = [];
let isDouble = false;

const unique = (): string => `acx_test_${randomBytes(5).toString('hex')}`;
const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
  ...(settings.apiKey ? { 'api-key': settings.apiKey } : {}),
  ...extra,
});

async function raw(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(settings.url + path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : stringifyQdrantJson(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? parseQdrantJson(text) : {}) as Record<string, unknown> };
}

async function newCollection(config: unknown): Promise<string> {
  const name = unique();
  created.push(name);
  await client.createCollection(name, config);
  return name;
}

/** A random unit vector, already float32, as the production loaders write them. */
function unitVector(dim: number): number[] {
  const v = Array.from({ length: dim }, () => Math.random() - 0.5);
  const norm = Math.hypot(...v);
  return v.map((x) => Math.fround(x / norm));
}

const f32hex = (v: number[]): string => Buffer.from(Float32Array.from(v).buffer).toString('hex');

async function allPoints(name: string, pageSize = 64): Promise<QdrantPoint[]> {
  const out: QdrantPoint[] = [];
  for await (const page of client.scrollAll(name, { pageSize, withVector: true })) out.push(...page);
  return out;
}

/** Qdrant's scroll order: unsigned integers ascending, then UUIDs. */
function compareIds(a: PointId, b: PointId): number {
  const ka = typeof a === 'string' ? `u${a}` : `n${a.toString().padStart(20, '0')}`;
  const kb = typeof b === 'string' ? `u${b}` : `n${b.toString().padStart(20, '0')}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

beforeAll(async () => {
  const probe = await fetch(`${settings.url}/__double/violations`, { headers: headers() }).catch(
    () => undefined,
  );
  isDouble = probe?.status === 200;
  if (isDouble) await fetch(`${settings.url}/__double/violations`, { method: 'DELETE', headers: headers() });
});

afterAll(async () => {
  for (const name of created) await client.deleteCollection(name).catch(() => undefined);
  if (isDouble) {
    const answer = (await (
      await fetch(`${settings.url}/__double/violations`, { headers: headers() })
    ).json()) as {
      violations: unknown[];
    };
    expect(
      answer.violations,
      'the Qdrant double saw requests/responses that break the OpenAPI document',
    ).toEqual([]);
  }
});

describe(`Qdrant API at ${settings.url}`, () => {
  it('answers GET / with its title and version', async () => {
    expect(await client.version()).toMatch(/^\d+\.\d+/);
  });

  it('creates, finds, describes and deletes a collection', async () => {
    const name = await newCollection({
      vectors: { size: 8, distance: 'Cosine' },
      on_disk_payload: true,
      hnsw_config: { m: 24 },
    });
    expect(await client.collectionExists(name)).toBe(true);
    expect(await client.listCollections()).toContain(name);
    const info = await client.getCollection(name);
    const config = info.config as { params: Record<string, unknown>; hnsw_config: { m: number } };
    expect(config.params.vectors).toMatchObject({ size: 8, distance: 'Cosine' });
    expect(config.params.on_disk_payload).toBe(true);
    expect(config.hnsw_config.m).toBe(24);
    expect(info.points_count).toBe(0);
    const missing = await raw('GET', `/collections/${unique()}`);
    expect(missing.status).toBe(404);
    expect((missing.body.status as { error: string }).error).toMatch(/doesn't exist/);
    await client.deleteCollection(name);
    expect(await client.collectionExists(name)).toBe(false);
  });

  it('upserts with wait and scrolls every point exactly once, in id order', async () => {
    const name = await newCollection({ vectors: { size: 4, distance: 'Dot' } });
    const ids: PointId[] = [];
    for (let i = 0; i < 230; i++)
      ids.push(
        i % 5 === 0
          ? crypto.randomUUID()
          : (BigInt(i) * 7919n) % 100_000n === 0n
            ? i
            : Number((BigInt(i) * 104729n) % 1_000_003n),
      );
    const points = ids.map((id, i) => ({
      id,
      vector: [i, 1, 2, 3],
      payload: { i, type: i % 3 === 0 ? 'dtc' : 'recall' },
    }));
    for (let start = 0; start < points.length; start += 100)
      await client.upsert(name, points.slice(start, start + 100));
    const scrolled = await allPoints(name, 37);
    expect(scrolled).toHaveLength(points.length);
    expect(new Set(scrolled.map((p) => String(p.id))).size).toBe(points.length);
    const order = scrolled.map((p) => p.id);
    expect(order).toEqual([...order].sort(compareIds));
    const byId = new Map(points.map((p) => [String(p.id), p]));
    for (const p of scrolled) {
      const original = byId.get(String(p.id))!;
      expect(p.payload).toEqual(original.payload);
      expect(p.vector).toEqual(original.vector);
    }
  });

  it('counts with a filter, retrieves by id and deletes by id', async () => {
    const name = await newCollection({ vectors: { size: 2, distance: 'Euclid' } });
    await client.upsert(
      name,
      Array.from({ length: 30 }, (_, i) => ({
        id: i + 1,
        vector: [i, 0],
        payload: { type: i % 3 === 0 ? 'dtc' : 'recall', code: `P${i}` },
      })),
    );
    expect(await client.count(name)).toBe(30);
    expect(await client.count(name, { must: [{ key: 'type', match: { value: 'dtc' } }] })).toBe(10);
    expect(await client.count(name, { must_not: [{ key: 'type', match: { value: 'dtc' } }] })).toBe(20);
    expect(
      await client.count(name, { should: [{ key: 'code', match: { any: ['P1', 'P2', 'nope'] } }] }),
    ).toBe(2);
    const got = await client.request<QdrantPoint[]>('POST', `/collections/${name}/points`, {
      body: { ids: [3, 999, 5], with_payload: true, with_vector: true },
    });
    expect(got.map((p) => p.id).sort()).toEqual([3, 5]);
    expect(got.find((p) => p.id === 3)).toMatchObject({
      payload: { type: 'recall', code: 'P2' },
      vector: [2, 0],
    });
    const single = await client.request<QdrantPoint>('GET', `/collections/${name}/points/4`);
    expect(single).toMatchObject({ id: 4, payload: { type: 'dtc', code: 'P3' } });
    await client.request('POST', `/collections/${name}/points/delete`, {
      query: { wait: true },
      body: { points: [1, 2, 3] },
    });
    expect(await client.count(name)).toBe(27);
    expect((await raw('GET', `/collections/${name}/points/2`)).status).toBe(404);
    await client.request('POST', `/collections/${name}/points/delete`, {
      query: { wait: true },
      body: { filter: { must: [{ key: 'type', match: { value: 'dtc' } }] } },
    });
    expect(await client.count(name)).toBe(18);
  });

  it('shows payload indexes in payload_schema with their point counts', async () => {
    const name = await newCollection({ vectors: { size: 2, distance: 'Cosine' } });
    await client.upsert(name, [
      { id: 1, vector: [1, 0], payload: { type: 'dtc', category: 'engine' } },
      { id: 2, vector: [0, 1], payload: { type: 'recall' } },
    ]);
    await client.createPayloadIndex(name, 'type', 'keyword');
    await client.createPayloadIndex(name, 'category', 'keyword');
    const info = await client.getCollection(name);
    expect(info.payload_schema).toEqual({
      type: { data_type: 'keyword', points: 2 },
      category: { data_type: 'keyword', points: 1 },
    });
  });

  it('creates, renames, lists and deletes aliases', async () => {
    const name = await newCollection({ vectors: { size: 2, distance: 'Dot' } });
    const alias = unique();
    const renamed = unique();
    await client.request('POST', '/collections/aliases', {
      body: { actions: [{ create_alias: { collection_name: name, alias_name: alias } }] },
    });
    let own = await client.request<{ aliases: { alias_name: string; collection_name: string }[] }>(
      'GET',
      `/collections/${name}/aliases`,
    );
    expect(own.aliases).toEqual([{ alias_name: alias, collection_name: name }]);
    expect(await client.collectionExists(alias)).toBe(true);
    await client.request('POST', '/collections/aliases', {
      body: { actions: [{ rename_alias: { old_alias_name: alias, new_alias_name: renamed } }] },
    });
    const all = await client.request<{ aliases: { alias_name: string; collection_name: string }[] }>(
      'GET',
      '/aliases',
    );
    expect(all.aliases).toContainEqual({ alias_name: renamed, collection_name: name });
    expect(all.aliases.map((a) => a.alias_name)).not.toContain(alias);
    await client.request('POST', '/collections/aliases', {
      body: { actions: [{ delete_alias: { alias_name: renamed } }] },
    });
    own = await client.request('GET', `/collections/${name}/aliases`);
    expect(own.aliases).toEqual([]);
  });

  it('normalises cosine vectors and keeps already-unit float32 vectors bit for bit', async () => {
    const name = await newCollection({ vectors: { size: 768, distance: 'Cosine' } });
    const unit = unitVector(768);
    const scaled = unit.map((x) => x * 3);
    await client.upsert(name, [
      { id: 1, vector: unit },
      { id: 2, vector: scaled },
      { id: 3, vector: [3, 4, ...Array<number>(766).fill(0)] },
    ]);
    const [a, b, c] = await allPoints(name);
    expect(f32hex(a!.vector as number[])).toBe(f32hex(unit));
    const norm = Math.hypot(...(b!.vector as number[]));
    expect(Math.abs(norm - 1)).toBeLessThan(1e-5);
    (b!.vector as number[]).forEach((x, i) => expect(Math.abs(x - unit[i]!)).toBeLessThan(1e-6));
    // Compared as float32: Qdrant writes the shortest form (0.6), older doubles the float64 expansion.
    expect(Array.from(Float32Array.from((c!.vector as number[]).slice(0, 3)))).toEqual([
      Math.fround(0.6),
      Math.fround(0.8),
      0,
    ]);
  });

  it('keeps 63-bit point ids exact', async () => {
    const name = await newCollection({ vectors: { size: 2, distance: 'Dot' } });
    const id = 9036396042225763098n;
    await client.upsert(name, [
      { id, vector: [1, 2], payload: { note: 'big' } },
      { id: id + 1n, vector: [3, 4], payload: null },
    ]);
    const points = await allPoints(name, 1);
    expect(points.map((p) => p.id)).toEqual([id, id + 1n]);
    const single = await client.request<QdrantPoint>('GET', `/collections/${name}/points/${id}`);
    expect(single.id).toBe(id);
    expect(single.payload).toEqual({ note: 'big' });
  });

  it('creates, lists, downloads, uploads, recovers and deletes snapshots', async () => {
    const name = await newCollection({
      vectors: { size: 16, distance: 'Cosine' },
      sparse_vectors: { words: {} },
    });
    await client.createPayloadIndex(name, 'type', 'keyword');
    const source = Array.from({ length: 120 }, (_, i) => ({
      id: i % 4 === 0 ? crypto.randomUUID() : 2n ** 62n + BigInt(i),
      vector: {
        '': unitVector(16),
        ...(i % 2 ? { words: { indices: [i, i + 1], values: [0.25, 0.5] } } : {}),
      },
      payload: { type: i % 2 ? 'dtc' : 'recall', i },
    }));
    await client.upsert(name, source);
    const before = await allPoints(name);
    expect(before).toHaveLength(120);

    const snapshot = await client.request<{ name: string; size: number; checksum?: string | null }>(
      'POST',
      `/collections/${name}/snapshots`,
      {
        query: { wait: true },
      },
    );
    const listed = await client.request<{ name: string }[]>('GET', `/collections/${name}/snapshots`);
    expect(listed.map((s) => s.name)).toContain(snapshot.name);
    const download = await fetch(
      `${settings.url}/collections/${name}/snapshots/${encodeURIComponent(snapshot.name)}`,
      { headers: headers() },
    );
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(bytes.length).toBe(snapshot.size);
    if (snapshot.checksum) expect(createHash('sha256').update(bytes).digest('hex')).toBe(snapshot.checksum);

    // Upload into a new collection (priority=snapshot: the snapshot is the source of truth).
    const uploadedName = unique();
    created.push(uploadedName);
    const form = new FormData();
    form.append('snapshot', new Blob([bytes]), snapshot.name);
    const upload = await fetch(
      `${settings.url}/collections/${uploadedName}/snapshots/upload?priority=snapshot&wait=true`,
      {
        method: 'POST',
        headers: headers(),
        body: form,
      },
    );
    expect(upload.status, await upload.clone().text()).toBe(200);
    expect(await allPoints(uploadedName)).toEqual(before);
    expect((await client.getCollection(uploadedName)).payload_schema).toEqual(
      (await client.getCollection(name)).payload_schema,
    );

    // Recover from a URL the server can fetch: its own download endpoint.
    const recoveredName = unique();
    created.push(recoveredName);
    await client.request('PUT', `/collections/${recoveredName}/snapshots/recover`, {
      query: { wait: true },
      body: {
        location: `${settings.url}/collections/${name}/snapshots/${encodeURIComponent(snapshot.name)}`,
        priority: 'snapshot',
        ...(settings.apiKey ? { api_key: settings.apiKey } : {}),
      },
    });
    expect(await allPoints(recoveredName)).toEqual(before);

    // Upload over an existing collection replaces its points.
    await client.upsert(name, [{ id: 1, vector: { '': unitVector(16) }, payload: { type: 'extra' } }]);
    const again = new FormData();
    again.append('snapshot', new Blob([bytes]), snapshot.name);
    const overwrite = await fetch(`${settings.url}/collections/${name}/snapshots/upload?priority=snapshot`, {
      method: 'POST',
      headers: headers(),
      body: again,
    });
    expect(overwrite.status).toBe(200);
    expect(await allPoints(name)).toEqual(before);

    for (const owner of [name, uploadedName, recoveredName]) {
      const snaps = await client.request<{ name: string }[]>('GET', `/collections/${owner}/snapshots`);
      for (const s of snaps)
        await client.request('DELETE', `/collections/${owner}/snapshots/${encodeURIComponent(s.name)}`, {
          query: { wait: true },
        });
    }
    const after = await client.request<{ name: string }[]>('GET', `/collections/${name}/snapshots`);
    expect(after.map((s) => s.name)).not.toContain(snapshot.name);
  });
});
