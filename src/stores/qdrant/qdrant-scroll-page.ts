/**
 * A scroll page read from the answer's bytes (`backup --qdrant`): the envelope, ids and payloads as
 * `parseQdrantJson` reads them, and each point's vectors as Float64Arrays (`ExactJsonReader`'s typed
 * arrays: the same doubles), which `encodeVectors` turns into binary float32 without an array of boxed
 * numbers per vector. Anything that is not a scroll answer in Qdrant's envelope gives undefined, and
 * the caller reads the text the general way (which names what is wrong). Each payload's own text is
 * kept beside its value (`payloadJson`), so the backup writes the server's number forms unchanged.
 */
import { ExactJsonReader } from '../../model/exact-json.ts';
import type { QdrantPoint, ScrollPage } from './qdrant-client.ts';

const QUOTE = 0x22;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** The page of a `POST …/points/scroll` answer, or undefined (see above). */
export function parseScrollPage(bytes: Uint8Array): ScrollPage | undefined {
  try {
    const reader = new ExactJsonReader(bytes);
    let page: ScrollPage | undefined;
    members(reader, (key) => {
      if (key !== 'result') return reader.value();
      page = readResult(reader);
      return page;
    });
    reader.end();
    return page;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Reads an object, handing each member's key to `read`, which reads its value. */
function members(reader: ExactJsonReader, read: (key: string) => unknown): void {
  reader.expect(OPEN_OBJECT);
  if (reader.space() === CLOSE_OBJECT) {
    reader.at++;
    return;
  }
  do {
    if (reader.space() !== QUOTE) reader.fail();
    const key = reader.string();
    reader.expect(0x3a);
    read(key);
  } while (reader.next(CLOSE_OBJECT));
}

function readResult(reader: ExactJsonReader): ScrollPage {
  if (reader.space() !== OPEN_OBJECT) reader.fail();
  const page = { next_page_offset: null } as { points?: QdrantPoint[]; next_page_offset: unknown };
  members(reader, (key) => {
    if (key === 'points') page.points = readPoints(reader);
    else if (key === 'next_page_offset') page.next_page_offset = reader.value();
    else reader.value();
  });
  if (!page.points) reader.fail();
  return page as ScrollPage;
}

const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The JSON text of bytes [start, end) on one line: a line break there can only be whitespace between
 * tokens (JSON strings hold escaped ones), so it becomes a space.
 */
function verbatim(bytes: Uint8Array, start: number, end: number): string {
  const text = UTF8.decode(bytes.subarray(start, end));
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, ' ') : text;
}

function readPoints(reader: ExactJsonReader): QdrantPoint[] {
  reader.expect(OPEN_ARRAY);
  const points: QdrantPoint[] = [];
  if (reader.space() === CLOSE_ARRAY) {
    reader.at++;
    return points;
  }
  do {
    if (reader.space() !== OPEN_OBJECT) reader.fail();
    const point: Record<string, unknown> = {};
    members(reader, (key) => {
      if (key === '__proto__') reader.fail();
      if (key === 'payload') {
        const start = (reader.space(), reader.at);
        point.payload = reader.value();
        point.payloadJson = verbatim(reader.bytes, start, reader.at);
      } else point[key] = reader.value(key === 'vector');
    });
    points.push(point as unknown as QdrantPoint);
  } while (reader.next(CLOSE_ARRAY));
  return points;
}
