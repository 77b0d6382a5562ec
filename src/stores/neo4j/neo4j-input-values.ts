/**
 * Incoming values → Neo4j driver values, by the field's declared Neo4j type (`InputField.source`, the
 * exporter's `valueType`) or export type, so an imported property has the type it was exported with:
 * `INTEGER` → Integer, `ZONED DATETIME` → DateTime (nanoseconds and zone kept), `DATE`, `LOCAL …`,
 * `DURATION`, `POINT`, lists of those. Untyped raw text (a hand-made CSV) is read as an integer, a
 * float, a boolean or a JSON list when it looks like one, otherwise as a string (docs/design.md §9).
 */
import neo4j from 'neo4j-driver';
import type { InputField } from '../../model/input.ts';
import { parseExactJson } from '../../model/exact-json.ts';

export type Conversion = { value: unknown } | { problem: string };

const DATETIME =
  /^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}(?::\d{2})?)?(?:\[([^\]]+)\])?$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}(?::\d{2})?)?$/;
const DURATION =
  /^P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)W)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?\d+)(?:\.(\d{1,9}))?S)?)?$/;

const nanos = (frac: string | undefined) => Number((frac ?? '').padEnd(9, '0') || '0');
const offsetOf = (zone: string): number => {
  if (zone === 'Z') return 0;
  const [h = '0', m = '0', s = '0'] = zone.slice(1).split(':');
  const seconds = Number(h) * 3600 + Number(m) * 60 + Number(s);
  return zone.startsWith('-') ? -seconds : seconds;
};

function temporal(text: string, type: string): unknown {
  if (type === 'DATE') {
    const m = /^(-?\d{4,})-(\d{2})-(\d{2})$/.exec(text);
    if (!m) return undefined;
    return new neo4j.types.Date(Number(m[1]), Number(m[2]), Number(m[3]));
  }
  if (type === 'ZONED DATETIME' || type === 'LOCAL DATETIME') {
    const m = DATETIME.exec(text);
    if (!m) return undefined;
    const [, y, mo, d, h, mi, s = '0', frac, zone, zoneId] = m;
    const parts = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), nanos(frac)] as const;
    if (type === 'LOCAL DATETIME')
      return zone || zoneId ? undefined : new neo4j.types.LocalDateTime(...parts);
    if (!zone && !zoneId) return undefined;
    return new neo4j.types.DateTime(...parts, zoneId ? undefined : offsetOf(zone ?? 'Z'), zoneId);
  }
  if (type === 'LOCAL TIME' || type === 'ZONED TIME') {
    const m = TIME.exec(text);
    if (!m) return undefined;
    const [, h, mi, s = '0', frac, zone] = m;
    if (type === 'LOCAL TIME')
      return zone ? undefined : new neo4j.types.LocalTime(Number(h), Number(mi), Number(s), nanos(frac));
    if (!zone) return undefined;
    return new neo4j.types.Time(Number(h), Number(mi), Number(s), nanos(frac), offsetOf(zone));
  }
  if (type === 'DURATION') {
    const m = DURATION.exec(text);
    if (!m || text === 'P' || text.endsWith('T')) return undefined;
    const [, y = '0', mo = '0', w = '0', d = '0', h = '0', mi = '0', s = '0', frac] = m;
    const negative = s.startsWith('-');
    const fraction = nanos(frac);
    return new neo4j.types.Duration(
      Number(y) * 12 + Number(mo),
      Number(w) * 7 + Number(d),
      Number(h) * 3600 + Number(mi) * 60 + Number(s) - (negative && fraction > 0 ? 1 : 0),
      negative && fraction > 0 ? 1_000_000_000 - fraction : fraction,
    );
  }
  return undefined;
}

function toInteger(value: unknown): unknown {
  if (typeof value === 'bigint') return neo4j.int(value.toString());
  if (typeof value === 'number' && Number.isInteger(value)) return neo4j.int(value);
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) return neo4j.int(value.trim());
  return undefined;
}

function toFloat(value: unknown): unknown {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    const t = value.trim();
    if (t === 'NaN') return NaN;
    if (t === 'Infinity' || t === 'INF') return Infinity;
    if (t === '-Infinity' || t === '-INF') return -Infinity;
    const n = Number(t);
    if (t !== '' && !Number.isNaN(n)) return n;
  }
  return undefined;
}

function toBoolean(value: unknown): unknown {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase();
    if (t === 'true' || t === '1') return true;
    if (t === 'false' || t === '0') return false;
  }
  return undefined;
}

/** One value by a Neo4j type name (scalar or `LIST<…>`). */
function byNeo4jType(value: unknown, type: string): unknown {
  const list = /^LIST<(.+)>$/.exec(type);
  if (list) {
    let items = value;
    if (typeof value === 'string') {
      try {
        items = parseExactJson(value);
      } catch {
        return undefined;
      }
    }
    if (!Array.isArray(items)) return undefined;
    const out = items.map((v) => (v === null ? undefined : byNeo4jType(v, list[1] ?? 'ANY')));
    return out.some((v) => v === undefined) ? undefined : out;
  }
  switch (type) {
    case 'STRING':
      return typeof value === 'string' ? value : undefined;
    case 'INTEGER':
      return toInteger(value);
    case 'FLOAT':
      return toFloat(value);
    case 'BOOLEAN':
      return toBoolean(value);
    case 'POINT': {
      let p = value;
      if (typeof value === 'string') {
        try {
          p = parseExactJson(value);
        } catch {
          return undefined;
        }
      }
      const point = p as { srid?: unknown; x?: unknown; y?: unknown; z?: unknown };
      if (
        typeof point !== 'object' ||
        point === null ||
        typeof point.x !== 'number' ||
        typeof point.y !== 'number'
      )
        return undefined;
      return new neo4j.types.Point(
        Number(point.srid),
        point.x,
        point.y,
        typeof point.z === 'number' ? point.z : undefined,
      );
    }
    case 'BYTES':
      if (Buffer.isBuffer(value)) return new Int8Array(value.buffer, value.byteOffset, value.byteLength);
      return typeof value === 'string' ? new Int8Array(Buffer.from(value, 'base64')) : undefined;
    default:
      return typeof value === 'string' ? temporal(value.trim(), type) : undefined;
  }
}

/** Raw text without a declared type: integer, float, boolean, JSON list, or the text itself. */
function inferred(value: unknown): unknown {
  if (typeof value !== 'string') return plain(value);
  const t = value.trim();
  if (/^[+-]?\d{1,18}$/.test(t)) return neo4j.int(t);
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  if (t.startsWith('[') && t.endsWith(']')) {
    try {
      const list = parseExactJson(t);
      if (Array.isArray(list) && list.every((v) => v !== null && typeof v !== 'object'))
        return list.map(plain);
    } catch {
      // not a list: the text itself
    }
  }
  return value;
}

/** A typed value without a Neo4j type name: by its JS type. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return neo4j.int(value.toString());
  if (Buffer.isBuffer(value)) return new Int8Array(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

const EXPORT_TYPE_TO_NEO4J: Record<string, string> = {
  text: 'STRING',
  uuid: 'STRING',
  integer: 'INTEGER',
  bigint: 'INTEGER',
  float: 'FLOAT',
  numeric: 'STRING',
  boolean: 'BOOLEAN',
  timestamp: 'ZONED DATETIME',
  date: 'DATE',
  bytes: 'BYTES',
};

/** An incoming property value as the driver value to write, or why it cannot be one. */
export function neo4jPropertyValue(value: unknown, field: InputField | undefined): Conversion {
  if (value === null || value === undefined) return { value: null };
  const type =
    field?.source && field.source !== 'ANY'
      ? field.source
      : field?.type
        ? EXPORT_TYPE_TO_NEO4J[field.type]
        : undefined;
  if (type === undefined) {
    if (field?.type === undefined) return { value: inferred(value) };
    // json/array without a Neo4j type: lists of scalars are fine, maps are not properties.
    if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object'))
      return { value: plain(value) };
    if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value))
      return { problem: 'a map cannot be a Neo4j property value' };
    return { value: plain(value) };
  }
  const converted = byNeo4jType(value, type);
  if (converted === undefined)
    return {
      problem: `${JSON.stringify(typeof value === 'bigint' ? value.toString() : value)?.slice(0, 60)} is not a ${type}`,
    };
  return { value: converted };
}
