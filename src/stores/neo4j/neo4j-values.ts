/**
 * A lossless JSON encoding of Neo4j property values. JSON has no integers beyond 2^53, no dates and no
 * points, so those carry a one-key tag: `{"$int":"42"}`, `{"$date":"2025-03-01"}`,
 * `{"$datetime":{…}}`, `{"$point":{…}}`, `{"$duration":{…}}`, `{"$bytes":"<base64>"}`. Floats are plain
 * JSON numbers (non-finite ones tagged `$float`); strings, booleans and lists are themselves.
 */
import neo4j from 'neo4j-driver';

type Tagged = Record<string, unknown>;
const str = (v: unknown): string => String(v);

export function encodeNeo4jValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $float: String(value) };
  if (typeof value === 'bigint') return { $int: value.toString() };
  if (neo4j.isInt(value)) return { $int: value.toString() };
  if (Array.isArray(value)) return value.map(encodeNeo4jValue);
  if (value instanceof Int8Array || value instanceof Uint8Array)
    return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (neo4j.isPoint(value)) {
    const p = value as { srid: unknown; x: number; y: number; z?: number };
    return {
      $point: { srid: Number(str(p.srid)), x: p.x, y: p.y, ...(p.z === undefined ? {} : { z: p.z }) },
    };
  }
  if (neo4j.isDate(value)) return { $date: value.toString() };
  if (neo4j.isDateTime(value)) {
    const d = value as unknown as { timeZoneOffsetSeconds?: unknown; timeZoneId?: string | null };
    return {
      $datetime: {
        local: localPart(value),
        offset: d.timeZoneOffsetSeconds == null ? null : Number(str(d.timeZoneOffsetSeconds)),
        zone: d.timeZoneId ?? null,
      },
    };
  }
  if (neo4j.isLocalDateTime(value)) return { $localdatetime: value.toString() };
  if (neo4j.isLocalTime(value)) return { $localtime: value.toString() };
  if (neo4j.isTime(value)) {
    const t = value as unknown as {
      hour: unknown;
      minute: unknown;
      second: unknown;
      nanosecond: unknown;
      timeZoneOffsetSeconds: unknown;
    };
    return {
      $time: {
        hour: Number(str(t.hour)),
        minute: Number(str(t.minute)),
        second: Number(str(t.second)),
        nanosecond: Number(str(t.nanosecond)),
        offset: Number(str(t.timeZoneOffsetSeconds)),
      },
    };
  }
  if (neo4j.isDuration(value)) {
    const d = value as unknown as { months: unknown; days: unknown; seconds: unknown; nanoseconds: unknown };
    return {
      $duration: {
        months: str(d.months),
        days: str(d.days),
        seconds: str(d.seconds),
        nanoseconds: str(d.nanoseconds),
      },
    };
  }
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Tagged).map(([k, v]) => [k, encodeNeo4jValue(v)]));
  }
  throw new Error(`unsupported Neo4j value of type ${typeof value}`);
}

function localPart(value: unknown): string {
  const d = value as {
    year: unknown;
    month: unknown;
    day: unknown;
    hour: unknown;
    minute: unknown;
    second: unknown;
    nanosecond: unknown;
  };
  const pad = (v: unknown, n = 2) => str(v).padStart(n, '0');
  return `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}T${pad(d.hour)}:${pad(d.minute)}:${pad(d.second)}.${pad(d.nanosecond, 9)}`;
}

export function encodeNeo4jProperties(props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(props).sort()) out[key] = encodeNeo4jValue(props[key]);
  return out;
}
