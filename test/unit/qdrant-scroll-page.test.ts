/**
 * The backup's fast path (qdrant-scroll-page.ts, `pointLine`, the typed `encodeVectors`): a scroll page
 * read from its bytes, with vectors as Float64Arrays, gives the very `points.jsonl` lines the general
 * path gives (`parseQdrantJson` → `encodeVectors` → `stringifyQdrantJson`), for every vector shape and
 * for what must stay decimal; answers that are not a scroll page are left to the general path; and the
 * restore's decimal writer stays valid JSON for subnormal components.
 */
import { describe, expect, it } from 'vitest';
import { planCounts } from '../../src/seed/plan.ts';
import { POINT_SETS } from '../../src/seed/points.ts';
import { pointLine } from '../../src/stores/qdrant/qdrant-backup.ts';
import type { QdrantPoint } from '../../src/stores/qdrant/qdrant-client.ts';
import { memberSpan, parseQdrantJson, stringifyQdrantJson } from '../../src/stores/qdrant/qdrant-json.ts';
import { parseScrollPage } from '../../src/stores/qdrant/qdrant-scroll-page.ts';
import { decodePointLine, encodeVectors, float32Text } from '../../src/stores/qdrant/qdrant-vector-codec.ts';
import { seededRandom } from '../support/random.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The line the backup wrote before the fast path: the general reading of the page, encoded. */
function generalLines(pageText: string): string[] {
  const page = parseQdrantJson(pageText) as { result: { points: QdrantPoint[] } };
  return page.result.points.map((p) =>
    stringifyQdrantJson({ id: p.id, vector: encodeVectors(p.vector ?? {}), payload: p.payload ?? null }),
  );
}

function fastLines(pageText: string): string[] {
  const page = parseScrollPage(utf8(pageText));
  if (!page) throw new Error('not read as a scroll page');
  return page.points.map((p) => pointLine(p, true));
}

/** A scroll answer as a server writes it: `{"result":{"points":[…],"next_page_offset":…},…}`. */
function answer(points: string[], next = 'null', order: 'qdrant' | 'other' = 'qdrant'): string {
  const result =
    order === 'qdrant'
      ? `{"points":[${points.join(',')}],"next_page_offset":${next}}`
      : `{ "next_page_offset" : ${next} , "points" : [ ${points.join(' , ')} ] }`;
  return order === 'qdrant'
    ? `{"result":${result},"status":"ok","time":0.0017416070000035688}`
    : `{"time":1.5e-3,"status":"ok","result":${result}}`;
}

const SHAPES: Record<string, string> = {
  dense: '[0.013616182,-0.021094711,-0.0,0.6,1e-7,3.4028235e38]',
  denseIntegers: '[1,2,3,-4,0]',
  overflow: '[0.5,1e39]', // float32 rounding is Infinity: stays decimal
  empty: '[]',
  named: '{"":[0.25,0.5],"text":[1.5,2.5]}',
  sparse: '{"s":{"indices":[1,5,9],"values":[0.25,-0.5,0.125]}}',
  sparseOverflow: '{"s":{"indices":[1,5],"values":[0.25,1e40]}}',
  multi: '{"m":[[0.1,0.2],[0.3,0.4],[0.5,0.6]]}',
  multiTop: '[[0.1,0.2],[0.3,0.4]]',
  multiRagged: '{"m":[[0.1,0.2],[0.3]]}',
  namedIndices: '{"indices":[0.5,0.25],"values":[1,2]}',
  weird: '{"x":{"y":[0.5,0.25]}}',
  withBigint: '[0.5,9036396042225763098]',
  nul: 'null',
};

describe('the backup fast path (scroll page from bytes → points.jsonl line)', () => {
  it('writes the content of the general path for every vector shape, and the payload as the server wrote it', () => {
    const payload =
      '{"type":"dtc","score":1.0,"ratio":2.50,"e":1E3,"big":9036396042225763098,"note":"\\u0000bigint:1"}';
    for (const [shape, vector] of Object.entries(SHAPES)) {
      const text = answer([`{"id":9036396042225763098,"payload":${payload},"vector":${vector}}`]);
      const [fast] = fastLines(text);
      const [general] = generalLines(text);
      expect(parseQdrantJson(fast!), shape).toEqual(parseQdrantJson(general!));
      // The general path writes 1, 2.5 and 1000: the backup keeps the server's text (design §7.2).
      expect(fast, shape).toContain(`"payload":${payload}}`);
      expect(general, shape).not.toContain('1.0');
    }
  });

  it('keeps a payload spread over lines on one line, its strings untouched', () => {
    const text = answer(['{"id":1,"payload":{\n "a": 1.0,\r\n "s": "x\\ny"\n},"vector":[0.5]}']);
    const [line] = fastLines(text);
    expect(line).toBe('{"id":1,"vector":{"$f32":"AAAAPw=="},"payload":{  "a": 1.0,   "s": "x\\ny" }}');
  });

  it('writes the very lines of the general path for seeded pages, in both member orders and with UUID ids', () => {
    const counts = planCounts(1);
    const random = seededRandom(5);
    for (const order of ['qdrant', 'other'] as const) {
      const points = POINT_SETS.flatMap((set) =>
        [0, 1, 2].map((i) => {
          const p = set.point(1, i, counts);
          // The form Qdrant 1.18 writes: shortest float32 text of each component.
          const vector = (p.vector as number[]).map((v) => String(Math.fround(v)));
          return `{"id":${random() < 0.3 ? '"5c56c793-69f3-4fbf-87e6-c4bf54c28c26"' : stringifyQdrantJson(p.id)},"payload":${stringifyQdrantJson(p.payload)},"vector":[${vector.join(',')}]}`;
        }),
      );
      const text = answer(points, '3591187062793180964', order);
      const page = parseScrollPage(utf8(text))!;
      expect(page.next_page_offset).toBe(3591187062793180964n);
      expect(fastLines(text)).toEqual(generalLines(text));
    }
  });

  it('leaves answers that are not a scroll page to the general path', () => {
    for (const text of [
      '{"status":{"error":"Not found: Collection `x` doesn\'t exist!"},"time":0.1}',
      '{"result":null}',
      '{"result":{"next_page_offset":null}}',
      '<html>502</html>',
      '{"result":{"points":[{"id":1}],"next_page_offset":null}',
      '',
    ])
      expect(parseScrollPage(utf8(text)), text).toBeUndefined();
  });

  it('keeps the restore able to find a vector after payload strings full of escaped quotes', () => {
    const line = `{"id":1,"payload":{"a\\\\\\"":"x\\\\\\\\","b":"\\"}{"},"vector":{"$f32":"AACAPwAAAEA="}}`;
    const span = memberSpan(line, 'vector')!;
    expect(line.slice(span[0], span[1])).toBe('{"$f32":"AACAPwAAAEA="}');
    expect(decodePointLine(line, { where: 'test' })).toBe(
      `{"id":1,"payload":{"a\\\\\\"":"x\\\\\\\\","b":"\\"}{"},"vector":[100000000e-8,200000000e-8]}`,
    );
  });
});

describe('float32Text', () => {
  it('stays valid JSON, reading back bit for bit, for a vector of subnormals (each printed in up to 23 characters)', () => {
    const values = Float32Array.from(
      { length: 64 },
      (_, i) => (i % 2 ? -1 : 1) * 1.1754942106924411e-38 * ((i + 1) / 65),
    );
    const back = Float32Array.from(JSON.parse(float32Text(values)) as number[]);
    expect(Buffer.from(back.buffer).equals(Buffer.from(values.buffer))).toBe(true);
    const one = Float32Array.of(-1.1754942106924411e-38);
    expect(JSON.parse(float32Text(one))).toEqual([-1.1754942106924411e-38]);
  });

  it('writes the same text for a vector after a longer one (the reused buffer)', () => {
    const long = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i) / 7);
    const short = Float32Array.of(0.5, -0.25);
    const first = float32Text(short);
    float32Text(long);
    expect(float32Text(short)).toBe(first);
    expect(first).toBe('[500000000e-9,-250000000e-9]');
  });
});
