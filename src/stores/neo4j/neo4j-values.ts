/**
 * A lossless JSON encoding of Neo4j property values, and its inverse. JSON has no integers beyond 2^53,
 * no dates and no points, so those carry a one-key tag: `{"$int":"42"}`, `{"$date":"2025-03-01"}`,
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
  if (neo4j.isTime(value)) return encodeTime(value);
  if (neo4j.isDuration(value)) return encodeDuration(value);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Tagged).map(([k, v]) => [k, encodeNeo4jValue(v)]));
  }
  throw new Error(`unsupported Neo4j value of type ${typeof value}`);
}

function encodeTime(value: unknown): Tagged {
  const t = value as {
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

function encodeDuration(value: unknown): Tagged {
  const d = value as { months: unknown; days: unknown; seconds: unknown; nanoseconds: unknown };
  return {
    $duration: {
      months: str(d.months),
      days: str(d.days),
      seconds: str(d.seconds),
      nanoseconds: str(d.nanoseconds),
    },
  };
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
  // Negative years keep their sign in front of the padding (`-0044`), as `Date.toString()` does.
  const year = str(d.year);
  const yearText = year.startsWith('-') ? `-${year.slice(1).padStart(4, '0')}` : year.padStart(4, '0');
  return `${yearText}-${pad(d.month)}-${pad(d.day)}T${pad(d.hour)}:${pad(d.minute)}:${pad(d.second)}.${pad(d.nanosecond, 9)}`;
}

export function encodeNeo4jProperties(props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(props).sort()) out[key] = encodeNeo4jValue(props[key]);
  return out;
}

const TAGS = [
  '$int',
  '$float',
  '$date',
  '$datetime',
  '$localdatetime',
  '$localtime',
  '$time',
  '$point',
  '$duration',
  '$bytes',
] as const;

const isTagged = (value: object): value is Record<(typeof TAGS)[number], unknown> => {
  const keys = Object.keys(value);
  return keys.length === 1 && (TAGS as readonly string[]).includes(keys[0] ?? '');
};

const DATE = /^([+-]?\d{4,})-(\d{2})-(\d{2})$/;
const LOCAL_TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const LOCAL_DATE_TIME = /^([+-]?\d{4,}-\d{2}-\d{2})T(.+)$/;

function malformed(tag: string, value: unknown): Error {
  return new Error(`malformed ${tag} value: ${JSON.stringify(value)}`);
}

function parseDate(text: unknown): [number, number, number] {
  const m = typeof text === 'string' ? DATE.exec(text) : null;
  if (!m) throw malformed('date', text);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function parseLocalTime(text: unknown): [number, number, number, number] {
  const m = typeof text === 'string' ? LOCAL_TIME.exec(text) : null;
  if (!m) throw malformed('local time', text);
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number((m[4] ?? '').padEnd(9, '0'))];
}

function parseLocalDateTime(text: unknown): [number, number, number, number, number, number, number] {
  const m = typeof text === 'string' ? LOCAL_DATE_TIME.exec(text) : null;
  if (!m) throw malformed('local date-time', text);
  return [...parseDate(m[1]), ...parseLocalTime(m[2])];
}

const field = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;

function decodeTagged(tag: (typeof TAGS)[number], v: unknown): unknown {
  switch (tag) {
    case '$int':
      if (typeof v !== 'string' && typeof v !== 'number') throw malformed(tag, v);
      return neo4j.int(v);
    case '$float':
      if (v !== 'NaN' && v !== 'Infinity' && v !== '-Infinity') throw malformed(tag, v);
      return Number(v);
    case '$date':
      return new neo4j.types.Date(...parseDate(v));
    case '$localdatetime':
      return new neo4j.types.LocalDateTime(...parseLocalDateTime(v));
    case '$localtime':
      return new neo4j.types.LocalTime(...parseLocalTime(v));
    case '$datetime': {
      const offset = field(v, 'offset');
      const zone = field(v, 'zone');
      if (offset != null && typeof offset !== 'number') throw malformed(tag, v);
      if (zone != null && typeof zone !== 'string') throw malformed(tag, v);
      // Both when the zone id is known: the offset settles ambiguous local times (clocks turned back).
      return new neo4j.types.DateTime(...parseLocalDateTime(field(v, 'local')), offset ?? undefined, zone);
    }
    case '$time': {
      const parts = ['hour', 'minute', 'second', 'nanosecond', 'offset'].map((k) => field(v, k));
      if (!parts.every((p) => typeof p === 'number')) throw malformed(tag, v);
      const [hour, minute, second, nanosecond, offset] = parts as number[];
      return new neo4j.types.Time(hour ?? 0, minute ?? 0, second ?? 0, nanosecond ?? 0, offset ?? 0);
    }
    case '$point': {
      const [srid, x, y, z] = ['srid', 'x', 'y', 'z'].map((k) => field(v, k));
      if (typeof srid !== 'number' || typeof x !== 'number' || typeof y !== 'number') throw malformed(tag, v);
      if (z !== undefined && typeof z !== 'number') throw malformed(tag, v);
      return new neo4j.types.Point(neo4j.int(srid), x, y, z);
    }
    case '$duration': {
      const parts = ['months', 'days', 'seconds', 'nanoseconds'].map((k) => field(v, k));
      if (!parts.every((p) => typeof p === 'string' || typeof p === 'number')) throw malformed(tag, v);
      const [months, days, seconds, nanoseconds] = (parts as Array<string | number>).map((p) => neo4j.int(p));
      return new neo4j.types.Duration(months ?? 0, days ?? 0, seconds ?? 0, nanoseconds ?? 0);
    }
    case '$bytes': {
      if (typeof v !== 'string') throw malformed(tag, v);
      const buffer = Buffer.from(v, 'base64');
      // The driver sends a byte array (Neo4j `byte[]`) for an Int8Array only.
      return new Int8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    }
  }
}

/**
 * The inverse of `encodeNeo4jValue`: tagged JSON back to the driver's values (`Integer`, `Date`,
 * `DateTime`, `Point`, `Duration`, `Int8Array` …), so that writing them stores the original Neo4j types.
 */
export function decodeNeo4jValue(tagged: unknown): unknown {
  if (tagged === null || tagged === undefined) return null;
  if (typeof tagged === 'string' || typeof tagged === 'boolean' || typeof tagged === 'number') return tagged;
  if (Array.isArray(tagged)) return tagged.map(decodeNeo4jValue);
  if (typeof tagged === 'object') {
    if (isTagged(tagged)) {
      const tag = Object.keys(tagged)[0] as (typeof TAGS)[number];
      return decodeTagged(tag, tagged[tag]);
    }
    return Object.fromEntries(Object.entries(tagged as Tagged).map(([k, v]) => [k, decodeNeo4jValue(v)]));
  }
  throw new Error(`cannot decode a Neo4j value of type ${typeof tagged}`);
}

export function decodeNeo4jProperties(tagged: unknown): Record<string, unknown> {
  if (tagged === null || tagged === undefined) return {};
  if (typeof tagged !== 'object' || Array.isArray(tagged))
    throw new Error(`properties must be a JSON object, got ${JSON.stringify(tagged)}`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tagged as Tagged)) out[key] = decodeNeo4jValue(value);
  return out;
}
