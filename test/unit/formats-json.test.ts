import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { getHeapSpaceStatistics } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportRecord, ExportValue, TabularDataset } from '../../src/model/dataset.ts';
import {
  JsonDocumentWriter,
  writeJsonDataset,
  writeJsonFile,
  writeNdjsonFile,
} from '../../src/formats/json/json-document.ts';
import { parseExactJson } from '../../src/model/exact-json.ts';
import { FIELDS, RECORDS, awkwardDataset, largeDataset } from '../support/awkward-records.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acx-json-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dataset = (records: Parameters<typeof awkwardDataset>[0], name?: string) =>
  awkwardDataset(records, name);

/**
 * What a JSON reader gets back: bytes as base64 text, `-0` as `0` (JSON has no negative zero), bigints
 * beyond 2^53 as bigint (through `parseExactJson`).
 */
function expected(record: ExportRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of FIELDS) {
    const value: ExportValue | undefined = record[field.name];
    out[field.name] =
      value === undefined
        ? null
        : Buffer.isBuffer(value)
          ? value.toString('base64')
          : Object.is(value, -0)
            ? 0
            : typeof value === 'bigint' && Number.isSafeInteger(Number(value))
              ? Number(value)
              : value;
  }
  return out;
}

/** The store-shaped document the exporter writes, built with the streaming writer. */
async function exportDocument(w: JsonDocumentWriter, ds: TabularDataset): Promise<void> {
  w.beginObject();
  w.property('export_time', '2025-03-30T01:30:00.123456+00:00');
  w.property('source', 'AutoCognitix');
  w.key('postgresql').beginObject();
  w.key(ds.name);
  await writeJsonDataset(w, ds);
  w.key('empty');
  await writeJsonDataset(w, dataset([], 'empty'));
  w.endObject();
  w.key('neo4j').beginObject().key('nodes').beginObject().key('DTCNode').beginArray();
  w.value({ code: 'P0101', név: 'Légtömegmérő ő' });
  w.endArray().endObject().key('relationships').beginArray().endArray().endObject();
  w.endObject();
}

describe('JSON documents', () => {
  for (const indent of [0, 2] as const) {
    it(`writes a streamed document that JSON.parse reads back record for record (indent ${indent})`, async () => {
      const path = join(dir, `export-${indent}.json`);
      await writeJsonFile(path, (w) => exportDocument(w, dataset(RECORDS)), { indent });
      const text = await readFile(path, 'utf8');
      expect(() => JSON.parse(text) as unknown).not.toThrow();
      const doc = parseExactJson(text) as {
        export_time: string;
        postgresql: Record<
          string,
          {
            columns: string[];
            fields: Array<{ name: string; type: string }>;
            data: Array<Record<string, unknown>>;
            row_count: number;
          }
        >;
        neo4j: unknown;
      };
      expect(Object.keys(doc)).toEqual(['export_time', 'source', 'postgresql', 'neo4j']);
      const table = doc.postgresql.awkward!;
      expect(Object.keys(table)).toEqual(['columns', 'fields', 'data', 'row_count']);
      expect(table.columns).toEqual(FIELDS.map((f) => f.name));
      expect(table.fields).toEqual(FIELDS.map((f) => ({ name: f.name, type: f.type })));
      expect(table.row_count).toBe(RECORDS.length);
      expect(table.data).toEqual(RECORDS.map(expected));
      expect(table.data[0]!.big).toBe(9036396042225763098n);
      expect(doc.postgresql.empty).toEqual({
        columns: FIELDS.map((f) => f.name),
        fields: FIELDS.map((f) => ({ name: f.name, type: f.type })),
        data: [],
        row_count: 0,
      });
      expect(doc.neo4j).toEqual({
        nodes: { DTCNode: [{ code: 'P0101', név: 'Légtömegmérő ő' }] },
        relationships: [],
      });
      // accents are written as they are, not as \\u escapes
      expect(text).toContain('Gyújtás ő/ű é');
      expect(text).not.toContain('\\u0151');
      if (indent === 0) {
        expect(text.split('\n')).toHaveLength(2); // one line and the final newline
      } else {
        expect(text).toContain('\n  "postgresql": {\n    "awkward": {\n      "columns": [');
        // one record per line inside "data"
        expect(text).toContain('"data": [\n        {"id":"0b7e3f52-8a6c-4c55-9f1e-2d1f3b5a9c01","label":');
        expect(text).toContain('"relationships": []');
      }
      expect(await readdir(dir)).not.toContain(`export-${indent}.json.partial`);
    });
  }

  it('writes gzip when asked', async () => {
    const path = join(dir, 'export.json.gz');
    await writeJsonFile(path, (w) => exportDocument(w, dataset(RECORDS)), { gzip: true });
    const doc = parseExactJson(gunzipSync(await readFile(path)).toString('utf8')) as {
      postgresql: { awkward: { data: unknown[] } };
    };
    expect(doc.postgresql.awkward.data).toEqual(RECORDS.map(expected));
  });

  it('refuses a malformed document and leaves no file', async () => {
    const path = join(dir, 'bad.json');
    await expect(
      writeJsonFile(path, async (w) => {
        w.beginObject().value(1);
      }),
    ).rejects.toThrow(/without a key/);
    await expect(
      writeJsonFile(path, async (w) => {
        w.beginObject().key('a').beginArray();
      }),
    ).rejects.toThrow(/incomplete/);
    await expect(
      writeJsonFile(path, async (w) => {
        w.beginArray().endObject();
      }),
    ).rejects.toThrow(/out of order/);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.partial`)).toBe(false);
  });

  it('leaves no file when the records fail or the signal aborts', async () => {
    const path = join(dir, 'failing.json');
    await expect(
      writeJsonFile(path, async (w) => {
        w.beginObject().key('t');
        await writeJsonDataset(
          w,
          dataset(async function* () {
            yield RECORDS[0]!;
            throw new Error('store went away');
          }),
        );
        w.endObject();
      }),
    ).rejects.toThrow('store went away');
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.partial`)).toBe(false);

    const controller = new AbortController();
    const aborted = join(dir, 'aborted.ndjson');
    await expect(
      writeNdjsonFile(
        aborted,
        dataset(async function* () {
          for (let i = 0; i < 5000; i++) {
            if (i === 1500) controller.abort();
            yield RECORDS[2]!;
          }
        }),
        { signal: controller.signal },
      ),
    ).rejects.toThrow(/abort/i);
    expect(existsSync(aborted)).toBe(false);
    expect(existsSync(`${aborted}.partial`)).toBe(false);
  });

  it('writes NDJSON, one record per line', async () => {
    const path = join(dir, 'awkward.ndjson');
    expect(await writeNdjsonFile(path, dataset(RECORDS))).toEqual({ records: RECORDS.length });
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => parseExactJson(line))).toEqual(RECORDS.map(expected));
  });

  it('streams 64-bit integers (Neo4j integers, bigint columns) exactly, without garbage outliving the young generation', async () => {
    // Issue #15: each record holding a bigint compiled a RegExp of its own (a marker with a nonce per
    // call), which outlived young-generation GCs: `export --json` reached 719 MiB peak RSS at scale 1.
    const path = join(dir, 'integers.ndjson');
    const rows = 30_000;
    const big = 2n ** 63n - 1n;
    const integers: TabularDataset = {
      name: 'neo4j_DTC',
      kind: 'nodes',
      fields: [
        { name: '_element_id', type: 'text' },
        { name: 'count', type: 'bigint' },
        { name: 'ids', type: 'array' },
        { name: 'meta', type: 'json' },
      ],
      records: async function* () {
        for (let i = 0; i < rows; i++)
          yield {
            _element_id: `4:db:${i}`,
            count: BigInt(i),
            ids: [big - BigInt(i), -1n],
            meta: { year: 2019n },
          };
      },
    };
    // Old-generation bytes, summed over increases only: a major GC on the way cannot hide what was promoted.
    const oldBytes = () =>
      getHeapSpaceStatistics()
        .filter((space) => !space.space_name.startsWith('new'))
        .reduce((sum, space) => sum + space.space_used_size, 0);
    let promoted = 0;
    let last = oldBytes();
    const sampled: TabularDataset = {
      ...integers,
      records: async function* () {
        for await (const record of integers.records()) {
          const now = oldBytes();
          promoted += Math.max(0, now - last);
          last = now;
          yield record;
        }
      },
    };
    expect(await writeNdjsonFile(path, sampled)).toEqual({ records: rows });
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(rows);
    expect(lines[7]).toBe(`{"_element_id":"4:db:7","count":7,"ids":[${big - 7n},-1],"meta":{"year":2019}}`);
    expect(parseExactJson(lines[rows - 1]!)).toEqual({
      _element_id: `4:db:${rows - 1}`,
      count: rows - 1,
      ids: [big - BigInt(rows - 1), -1],
      meta: { year: 2019 },
    });
    // Measured: about 1 MiB now, 75 MiB with a RegExp per record.
    expect(promoted / 2 ** 20).toBeLessThan(16);
  }, 60_000);

  it('streams 200k records into one document in bounded memory', async () => {
    const path = join(dir, 'large.json');
    const rows = 200_000;
    const large = largeDataset(rows);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let peakHeap = heapBefore;
    const started = performance.now();
    let records = 0;
    await writeJsonFile(
      path,
      async (w) => {
        w.beginObject().key('postgresql').beginObject().key('large');
        const sampled: TabularDataset = {
          ...large,
          records: async function* () {
            for await (const record of large.records()) {
              if ((record.id as number) % 10_000 === 0) {
                peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
              }
              yield record;
            }
          },
        };
        records = (await writeJsonDataset(w, sampled)).records;
        w.endObject().endObject();
      },
      { indent: 2 },
    );
    const seconds = (performance.now() - started) / 1000;
    const growth = (peakHeap - heapBefore) / 2 ** 20;
    console.log(
      `JSON: ${rows} records in ${seconds.toFixed(2)} s (${Math.round(rows / seconds)} records/s), ` +
        `peak heap +${growth.toFixed(1)} MiB`,
    );
    expect(records).toBe(rows);
    expect(growth).toBeLessThan(50);
    const doc = JSON.parse(await readFile(path, 'utf8')) as {
      postgresql: { large: { data: Array<{ id: number }>; row_count: number } };
    };
    expect(doc.postgresql.large.row_count).toBe(rows);
    expect(doc.postgresql.large.data[rows - 1]!.id).toBe(rows - 1);
  }, 60_000);
});
