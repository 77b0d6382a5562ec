/**
 * Tests of the Qdrant test double itself (test/qdrant-double/): each starts in-process on a free port.
 * What the toolkit relies on from Qdrant is in qdrant-api.test.ts, which also runs against real Qdrant.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQdrantJson, stringifyQdrantJson } from '../../src/stores/qdrant/qdrant-json.ts';
import { startQdrantDouble, type QdrantDouble } from '../qdrant-double/server.ts';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

function caller(double: () => QdrantDouble, headers: Record<string, string> = {}) {
  return async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(double().url + path, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : stringifyQdrantJson(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? parseQdrantJson(text) : {}) as Record<string, unknown> };
  };
}

const errorOf = (answer: Answer): string => (answer.body.status as { error: string }).error;
const resultOf = <T>(answer: Answer): T => answer.body.result as T;

let double: QdrantDouble;
const call = caller(() => double);

beforeAll(async () => {
  double = await startQdrantDouble({ port: 0 });
});

afterAll(async () => {
  await double?.close();
});

async function collection(name: string, config: unknown): Promise<void> {
  const created = await call('PUT', `/collections/${name}`, config);
  expect(created.status, JSON.stringify(created.body)).toBe(200);
}

describe('Qdrant double: OpenAPI checks', () => {
  it('refuses a request that breaks the OpenAPI document, in Qdrant error shape', async () => {
    const wrongType = await call('PUT', '/collections/c_bad', {
      vectors: { size: 'big', distance: 'Cosine' },
    });
    expect(wrongType.status).toBe(400);
    expect(errorOf(wrongType)).toMatch(
      /OpenAPI document at PUT \/collections\/\{collection_name\} \(create_collection\)/,
    );
    expect(errorOf(wrongType)).toMatch(/size/);
    expect(typeof wrongType.body.time).toBe('number');

    const unknownDistance = await call('PUT', '/collections/c_bad', {
      vectors: { size: 4, distance: 'Cosinus' },
    });
    expect(unknownDistance.status).toBe(400);
    expect(errorOf(unknownDistance)).toMatch(/OpenAPI/);

    const badQuery = await call('PUT', '/collections/c_bad/points?wait=maybe', { points: [] });
    expect(badQuery.status).toBe(400);
    expect(errorOf(badQuery)).toMatch(/query parameter `wait`/);

    const undeclaredQuery = await call('GET', '/collections?verbose=1');
    expect(undeclaredQuery.status).toBe(400);

    const zeroSize = await call('PUT', '/collections/c_bad', { vectors: { size: 0, distance: 'Dot' } });
    expect(zeroSize.status).toBe(422);
    expect(errorOf(zeroSize)).toMatch(/^Validation error/);

    expect((await call('GET', '/collections/c_bad/exists')).body.result).toEqual({ exists: false });
    // Refused requests are listed too (kind `request`), so a suite can assert its client never sent one.
    expect(double.violations().map((v) => v.kind)).toEqual([
      'request',
      'request',
      'request',
      'request',
      'request',
    ]);
    await call('DELETE', '/__double/violations');
    expect(double.violations()).toEqual([]);
  });

  it('replaces a response that breaks the document by a 500 and records it', async () => {
    const corrupting = await startQdrantDouble({
      corruptResponse: (operationId, body) =>
        operationId === 'collection_exists' ? { ...(body as object), result: { exists: 'yes' } } : body,
    });
    try {
      const response = await fetch(`${corrupting.url}/collections/anything/exists`);
      const body = (await response.json()) as { status: { error: string } };
      expect(response.status).toBe(500);
      expect(body.status.error).toMatch(/response breaks Qdrant's OpenAPI document .*collection_exists/);
      expect(corrupting.violations()).toHaveLength(1);
      expect(corrupting.violations()[0]).toMatchObject({
        kind: 'response',
        operationId: 'collection_exists',
      });
      const listed = (await (await fetch(`${corrupting.url}/__double/violations`)).json()) as {
        violations: unknown[];
      };
      expect(listed.violations).toHaveLength(1);
      // Other operations are untouched.
      expect((await fetch(`${corrupting.url}/collections`)).status).toBe(200);
    } finally {
      await corrupting.close();
    }
  });

  it('arms a one-shot malformed response with POST /__double/fault', async () => {
    expect(double.violations()).toEqual([]);
    await call('POST', '/__double/fault', { operationId: 'get_collections' });
    const broken = await call('GET', '/collections');
    expect(broken.status).toBe(500);
    expect(errorOf(broken)).toMatch(/get_collections/);
    expect((await call('GET', '/collections')).status).toBe(200);
    const listed = await call('GET', '/__double/violations');
    expect(listed.body.violations).toHaveLength(1);
    await call('DELETE', '/__double/violations');
  });

  it('answers unknown routes and missing collections in Qdrant error shape', async () => {
    const unknown = await call('GET', '/no/such/route');
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown)).toMatch(/Not found/);
    const missing = await call('GET', '/collections/c_missing');
    expect(missing.status).toBe(404);
    expect(errorOf(missing)).toBe("Not found: Collection `c_missing` doesn't exist!");
    await collection('c_dup', { vectors: { size: 2, distance: 'Dot' } });
    const again = await call('PUT', '/collections/c_dup', { vectors: { size: 2, distance: 'Dot' } });
    expect(again.status).toBe(409);
    expect(errorOf(again)).toBe('Wrong input: Collection `c_dup` already exists!');
    const wrongDim = await call('PUT', '/collections/c_dup/points?wait=true', {
      points: [{ id: 1, vector: [1, 2, 3] }],
    });
    expect(wrongDim.status).toBe(400);
    expect(errorOf(wrongDim)).toMatch(/Vector dimension error: expected dim: 2, got 3/);
    expect((await call('GET', '/cluster')).body.result).toEqual({ status: 'disabled' });
  });

  it('requires the API key when one is configured', async () => {
    const guarded = await startQdrantDouble({ apiKey: 'secret' });
    try {
      expect((await fetch(`${guarded.url}/collections`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/collections`, { headers: { 'api-key': 'wrong' } })).status).toBe(
        403,
      );
      expect((await fetch(`${guarded.url}/collections`, { headers: { 'api-key': 'secret' } })).status).toBe(
        200,
      );
      expect((await fetch(`${guarded.url}/`, { headers: { authorization: 'Bearer secret' } })).status).toBe(
        200,
      );
    } finally {
      await guarded.close();
    }
  });
});

describe('Qdrant double: behaviour', () => {
  it('normalises cosine vectors, keeps unit vectors bit for bit and returns float32 values', async () => {
    await collection('c_cos', { vectors: { size: 3, distance: 'Cosine' } });
    await collection('c_dot', { vectors: { size: 3, distance: 'Dot' } });
    const unit = Array.from(
      Float32Array.from([0.2, 0.3, 0.4]).map((x, _i, a) => Math.fround(x / Math.hypot(...a))),
    );
    await call('PUT', '/collections/c_cos/points?wait=true', {
      points: [
        { id: 1, vector: [3, 4, 0] },
        { id: 2, vector: unit },
        { id: 3, vector: [0, 0, 0] },
      ],
    });
    await call('PUT', '/collections/c_dot/points?wait=true', { points: [{ id: 1, vector: [3, 4, 0.1] }] });
    const cos = resultOf<{ points: { id: number; vector: number[] }[] }>(
      await call('POST', '/collections/c_cos/points/scroll', { with_vector: true, limit: 10 }),
    ).points;
    // Written as Qdrant (ryu) writes an f32: the shortest decimal that reads back as the same float32.
    expect(cos[0]!.vector).toEqual([0.6, 0.8, 0]);
    expect(Buffer.from(Float32Array.from(cos[1]!.vector).buffer)).toEqual(
      Buffer.from(Float32Array.from(unit).buffer),
    );
    expect(cos[2]!.vector).toEqual([0, 0, 0]);
    const dot = await fetch(`${double.url}/collections/c_dot/points/1`);
    expect(await dot.text()).toMatch(/"vector":\[3\.0,4\.0,0\.1\]/);
    const zero = await fetch(`${double.url}/collections/c_cos/points/scroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ with_vector: true, with_payload: false, offset: 3, limit: 1 }),
    });
    expect(await zero.text()).toMatch(/"vector":\[0\.0,0\.0,0\.0\]/);
  });

  it('orders integer ids before UUIDs, normalises UUID forms and refuses other ids', async () => {
    await collection('c_ids', { vectors: { size: 2, distance: 'Dot' } });
    const ids = [
      10,
      '{6BA7B810-9DAD-11D1-80B4-00C04FD430C8}',
      2,
      '550E8400E29B41D4A716446655440000',
      9036396042225763098n,
      'urn:uuid:00000000-0000-0000-0000-000000000001',
      0,
    ];
    const upserted = await call('PUT', '/collections/c_ids/points?wait=true', {
      batch: { ids, vectors: ids.map(() => [1, 0]) },
    });
    expect(upserted.status, JSON.stringify(upserted.body)).toBe(200);
    const page = resultOf<{ points: { id: unknown }[] }>(
      await call('POST', '/collections/c_ids/points/scroll', { limit: 100 }),
    );
    expect(page.points.map((p) => p.id)).toEqual([
      0,
      2,
      10,
      9036396042225763098n,
      '00000000-0000-0000-0000-000000000001',
      '550e8400-e29b-41d4-a716-446655440000',
      '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    ]);
    const fromUuid = resultOf<{ points: { id: unknown }[]; next_page_offset: unknown }>(
      await call('POST', '/collections/c_ids/points/scroll', {
        limit: 1,
        offset: '550e8400-e29b-41d4-a716-446655440000',
      }),
    );
    expect(fromUuid.points.map((p) => p.id)).toEqual(['550e8400-e29b-41d4-a716-446655440000']);
    expect(fromUuid.next_page_offset).toBe('6ba7b810-9dad-11d1-80b4-00c04fd430c8');
    for (const bad of ['abc', -1, 1.5, '550e8400-e29b-41d4-a716-44665544000']) {
      const refused = await call('PUT', '/collections/c_ids/points?wait=true', {
        points: [{ id: bad, vector: [1, 0] }],
      });
      expect(refused.status, String(bad)).toBe(400);
    }
    await call('DELETE', '/__double/violations');
  });

  it('keeps 63-bit ids exact through upsert, scroll offsets, retrieve and delete', async () => {
    await collection('c_big', { vectors: { size: 2, distance: 'Euclid' } });
    const big = 9036396042225763098n;
    const neighbours = [big - 1n, big, big + 1n];
    await call('PUT', '/collections/c_big/points?wait=true', {
      points: neighbours.map((id) => ({ id, vector: [1, 2], payload: { id: id.toString() } })),
    });
    const page = resultOf<{ points: { id: bigint }[]; next_page_offset: bigint }>(
      await call('POST', '/collections/c_big/points/scroll', { limit: 1, offset: big }),
    );
    expect(page.points[0]!.id).toBe(big);
    expect(page.next_page_offset).toBe(big + 1n);
    const one = resultOf<{ id: bigint; payload: { id: string } }>(
      await call('GET', `/collections/c_big/points/${big}`),
    );
    expect(one.id).toBe(big);
    expect(one.payload.id).toBe(big.toString());
    const retrieved = resultOf<{ id: bigint }[]>(
      await call('POST', '/collections/c_big/points', { ids: [big + 1n, 12345] }),
    );
    expect(retrieved.map((p) => p.id)).toEqual([big + 1n]);
    await call('POST', '/collections/c_big/points/delete?wait=true', { points: [big] });
    expect(
      resultOf<{ count: number }>(await call('POST', '/collections/c_big/points/count', { exact: true }))
        .count,
    ).toBe(2);
    expect((await call('GET', `/collections/c_big/points/${big}`)).status).toBe(404);
  });

  it('filters with must / should / must_not, match value / any and has_id', async () => {
    await collection('c_filter', { vectors: { size: 1, distance: 'Dot' } });
    const types = ['dtc', 'recall', 'complaint', 'dtc', 'recall'];
    await call('PUT', '/collections/c_filter/points?wait=true', {
      points: types.map((type, i) => ({
        id: i + 1,
        vector: [i],
        payload: { type, tags: [`t${i % 2}`], n: i },
      })),
    });
    const count = async (filter: unknown): Promise<number> =>
      resultOf<{ count: number }>(
        await call('POST', '/collections/c_filter/points/count', { exact: true, filter }),
      ).count;
    expect(await count({ must: [{ key: 'type', match: { value: 'dtc' } }] })).toBe(2);
    expect(await count({ should: [{ key: 'type', match: { any: ['dtc', 'recall'] } }] })).toBe(4);
    expect(await count({ must_not: [{ key: 'type', match: { value: 'dtc' } }] })).toBe(3);
    expect(await count({ must: [{ key: 'tags', match: { value: 't1' } }, { has_id: [1, 2, 4] }] })).toBe(2);
    expect(await count({ must: { key: 'n', range: { gte: 2, lt: 4 } } })).toBe(2);
    const scrolled = resultOf<{ points: { id: number; payload: Record<string, unknown> }[] }>(
      await call('POST', '/collections/c_filter/points/scroll', {
        filter: { must: [{ key: 'type', match: { value: 'recall' } }] },
        with_payload: ['type'],
      }),
    );
    expect(scrolled.points).toEqual([
      { id: 2, payload: { type: 'recall' } },
      { id: 5, payload: { type: 'recall' } },
    ]);
  });

  it('round-trips a collection through snapshot create, download, delete and upload', async () => {
    await collection('c_snap', {
      vectors: { dense: { size: 4, distance: 'Cosine' }, raw: { size: 2, distance: 'Dot', on_disk: true } },
      sparse_vectors: { words: {} },
      hnsw_config: { m: 32 },
      on_disk_payload: false,
    });
    await call('PUT', '/collections/c_snap/index?wait=true', { field_name: 'type', field_schema: 'keyword' });
    const points = Array.from({ length: 300 }, (_, i) => ({
      id: i % 3 === 0 ? `00000000-0000-0000-0000-${String(i).padStart(12, '0')}` : 2n ** 62n + BigInt(i),
      vector: {
        dense: [Math.sin(i), Math.cos(i), i / 7, 1],
        raw: [i, -i / 3],
        ...(i % 2 ? { words: { indices: [i, i + 5], values: [0.5, i / 9] } } : {}),
      },
      payload: { type: i % 2 ? 'dtc' : 'recall', nested: { i, list: [i, String(i)] } },
    }));
    await call('PUT', '/collections/c_snap/points?wait=true', { points });
    const everything = async (): Promise<unknown[]> => {
      const out: unknown[] = [];
      let offset: unknown = null;
      do {
        const page = resultOf<{ points: unknown[]; next_page_offset: unknown }>(
          await call('POST', '/collections/c_snap/points/scroll', {
            limit: 64,
            with_vector: true,
            with_payload: true,
            ...(offset === null ? {} : { offset }),
          }),
        );
        out.push(...page.points);
        offset = page.next_page_offset;
      } while (offset !== null);
      return out;
    };
    const before = await everything();
    expect(before).toHaveLength(300);
    const infoBefore = resultOf<Record<string, unknown>>(await call('GET', '/collections/c_snap'));

    const created = resultOf<{ name: string; size: number; checksum: string; creation_time: string }>(
      await call('POST', '/collections/c_snap/snapshots?wait=true'),
    );
    expect(created.name).toMatch(/^c_snap-\d+-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.snapshot$/);
    const listed = resultOf<{ name: string }[]>(await call('GET', '/collections/c_snap/snapshots'));
    expect(listed.map((s) => s.name)).toContain(created.name);
    const download = await fetch(`${double.url}/collections/c_snap/snapshots/${created.name}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(bytes.length).toBe(created.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(created.checksum);

    expect(resultOf<boolean>(await call('DELETE', '/collections/c_snap'))).toBe(true);
    const form = new FormData();
    form.append('snapshot', new Blob([bytes]), created.name);
    const uploaded = await fetch(
      `${double.url}/collections/c_snap/snapshots/upload?priority=snapshot&wait=true&checksum=${created.checksum}`,
      {
        method: 'POST',
        body: form,
      },
    );
    expect(uploaded.status, await uploaded.clone().text()).toBe(200);
    expect(await everything()).toEqual(before);
    const infoAfter = resultOf<Record<string, unknown>>(await call('GET', '/collections/c_snap'));
    expect(infoAfter.config).toEqual(infoBefore.config);
    expect(infoAfter.payload_schema).toEqual({ type: { data_type: 'keyword', points: 300 } });

    const badChecksum = new FormData();
    badChecksum.append('snapshot', new Blob([bytes]), created.name);
    const refused = await fetch(
      `${double.url}/collections/c_snap2/snapshots/upload?checksum=${'0'.repeat(64)}`,
      {
        method: 'POST',
        body: badChecksum,
      },
    );
    expect(refused.status).toBe(400);

    expect((await call('DELETE', `/collections/c_snap/snapshots/${created.name}`)).status).toBe(200);
    expect((await call('GET', `/collections/c_snap/snapshots/${created.name}`)).status).toBe(404);
  });

  it('recorded no violations during the well-formed tests', async () => {
    expect(double.violations()).toEqual([]);
  });
});
