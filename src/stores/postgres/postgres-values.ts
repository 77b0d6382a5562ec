/**
 * Incoming values → PostgreSQL COPY text, checked against the column's type first, so that a COPY never
 * fails half-way on a bad value: a value that does not fit gives a reason instead (the record is
 * rejected and reported). Typed values (inputs that declare types, formats/dataset.ts) and raw text
 * (a hand-made CSV) are both accepted; raw text is read the way the export writes each type.
 */
import { isIP } from 'node:net';
import { isoToEpochNanos } from '../../model/conflict.ts';
import { parseExactJson, stringifyExactJson } from '../../model/exact-json.ts';
import { valueProblem } from '../../model/value-checks.ts';
import { escapeCopyText, quoteArrayElement } from './postgres-copy.ts';

export interface PgColumn {
  name: string;
  /** `format_type`: `character varying(10)`, `text[]`, `timestamp with time zone` … */
  type: string;
  /** `pg_type.typname` of the column (`_text` for text[]). */
  typname: string;
  /** `pg_type.typcategory`: N numeric, S string, B boolean, D date/time, U user (uuid, json, bytea), E enum, A array, I network. */
  category: string;
  /** For arrays: the element's typname and category. */
  element?: { typname: string; category: string };
  notNull: boolean;
  hasDefault: boolean;
  /** varchar(n)/char(n): n. */
  maxLength?: number;
  enumLabels?: string[];
}

export type Converted = { text: string } | { problem: string };

const INT_RANGE: Record<string, [bigint, bigint]> = {
  int2: [-32768n, 32767n],
  int4: [-2147483648n, 2147483647n],
  int8: [-9223372036854775808n, 9223372036854775807n],
};
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([+-]\d{2}(:?\d{2})?|Z)?$/i;

const describe = (v: unknown) =>
  typeof v === 'string' ? JSON.stringify(v.length > 60 ? v.slice(0, 57) + '…' : v) : String(v);

/** What a scalar conversion knows besides the value: the type, the column and how to say "not a …". */
interface ScalarContext {
  typname: string;
  col: PgColumn;
  typed: boolean;
  bad(what: string): Converted;
}

type Scalar = (value: unknown, c: ScalarContext) => Converted;

const integerText: Scalar = (value, { typname, bad }) => {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) n = BigInt(value.trim());
  else return bad('an integer');
  const [lo, hi] = INT_RANGE[typname] as [bigint, bigint];
  if (n < lo || n > hi) return { problem: `${n} is out of range for ${typname}` };
  return { text: n.toString() };
};

const floatText: Scalar = (value, { bad }) => {
  if (typeof value === 'number') return { text: Number.isNaN(value) ? 'NaN' : String(value) };
  if (
    typeof value === 'string' &&
    (DECIMAL.test(value.trim()) || /^[+-]?(NaN|Infinity|inf)$/i.test(value.trim()))
  )
    return { text: value.trim() };
  return bad('a number');
};

const numericText: Scalar = (value, { bad }) => {
  if (typeof value === 'number' && Number.isFinite(value)) return { text: String(value) };
  if (typeof value === 'bigint') return { text: value.toString() };
  if (typeof value === 'string' && (DECIMAL.test(value.trim()) || value.trim() === 'NaN'))
    return { text: value.trim() };
  return bad('a decimal number');
};

const booleanText: Scalar = (value, { bad }) => {
  if (typeof value === 'boolean') return { text: value ? 't' : 'f' };
  if (typeof value === 'number' && (value === 0 || value === 1)) return { text: value ? 't' : 'f' };
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['t', 'true', '1', 'yes', 'y'].includes(v)) return { text: 't' };
    if (['f', 'false', '0', 'no', 'n'].includes(v)) return { text: 'f' };
  }
  return bad('a boolean');
};

const uuidText: Scalar = (value, { bad }) =>
  typeof value === 'string' && UUID.test(value.trim()) ? { text: value.trim().toLowerCase() } : bad('a UUID');

/** A NUL escape in JSON text (an odd run of backslashes before `u0000`): jsonb refuses it. */
const JSON_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

const jsonText: Scalar = (value, { typname, typed, bad }) => {
  let parsed = value;
  if (!typed && typeof value === 'string') {
    try {
      parsed = parseExactJson(value);
    } catch {
      return bad('JSON');
    }
    const problem = valueProblem(parsed);
    if (problem !== undefined) return { problem: `JSON ${problem}` };
  }
  const text = stringifyExactJson(parsed);
  if (typname === 'jsonb' && JSON_NUL.test(text))
    return { problem: 'JSON holds a NUL character (\\u0000), which PostgreSQL jsonb cannot store' };
  return { text };
};

const byteaText: Scalar = (value, { bad }) => {
  if (Buffer.isBuffer(value)) return { text: `\\x${value.toString('hex')}` };
  if (typeof value === 'string') {
    if (/^\\x([0-9a-f]{2})*$/i.test(value)) return { text: value };
    if (/^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0)
      return { text: `\\x${Buffer.from(value, 'base64').toString('hex')}` };
  }
  return bad('bytes (base64 or \\x hex)');
};

const timestampText: Scalar = (value, { bad }) =>
  typeof value === 'string' && isoToEpochNanos(value) !== null
    ? { text: value.trim() }
    : bad('an ISO 8601 timestamp');

const dateText: Scalar = (value, { bad }) =>
  typeof value === 'string' && DATE.test(value.trim()) && isoToEpochNanos(value) !== null
    ? { text: value.trim() }
    : bad('a date (YYYY-MM-DD)');

const timeText: Scalar = (value, { bad }) =>
  typeof value === 'string' && TIME.test(value.trim()) ? { text: value.trim() } : bad('a time of day');

const inetText: Scalar = (value, { bad }) => {
  if (typeof value === 'string') {
    const [address, bits, extra] = value.trim().split('/');
    const family = isIP(address ?? '');
    const max = family === 4 ? 32 : 128;
    if (
      family !== 0 &&
      extra === undefined &&
      (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max))
    )
      return { text: value.trim() };
  }
  return bad('an IP address');
};

const enumText: Scalar = (value, { col }) =>
  typeof value === 'string' && (col.enumLabels ?? []).includes(value)
    ? { text: value }
    : { problem: `${describe(value)} is not one of ${(col.enumLabels ?? []).join(', ')}` };

/** Any other type (text, varchar, citext …): text as it is, numbers and booleans spelled, objects as JSON. */
const plainText: Scalar = (value, { bad }) => {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    text = String(value);
  else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value))
    text = stringifyExactJson(value);
  else return bad('text');
  if (text.includes('\u0000'))
    return { problem: 'text holds a NUL character, which PostgreSQL cannot store' };
  return { text };
};

/** Numeric types by typname: checked before the boolean category. */
const NUMBERS = new Map<string, Scalar>([
  ['int2', integerText],
  ['int4', integerText],
  ['int8', integerText],
  ['float4', floatText],
  ['float8', floatText],
  ['numeric', numericText],
]);

/** The other types with a checked text form, by typname: checked after the boolean category. */
const OTHERS = new Map<string, Scalar>([
  ['uuid', uuidText],
  ['json', jsonText],
  ['jsonb', jsonText],
  ['bytea', byteaText],
  ['timestamptz', timestampText],
  ['timestamp', timestampText],
  ['date', dateText],
  ['time', timeText],
  ['timetz', timeText],
  ['inet', inetText],
  ['cidr', inetText],
]);

/** A scalar (non-array) value as PostgreSQL input text, or a problem. */
function scalarText(
  value: unknown,
  typname: string,
  category: string,
  col: PgColumn,
  typed: boolean,
): Converted {
  const bad = (what: string): Converted => ({ problem: `${describe(value)} is not ${what}` });
  const convert =
    NUMBERS.get(typname) ??
    (category === 'B' ? booleanText : undefined) ??
    OTHERS.get(typname) ??
    (category === 'E' ? enumText : plainText);
  return convert(value, { typname, col, typed, bad });
}

function arrayLiteral(elements: unknown[], col: PgColumn, typed: boolean): Converted {
  const element = col.element ?? { typname: 'text', category: 'S' };
  const parts: string[] = [];
  for (const e of elements) {
    if (e === null || e === undefined) {
      parts.push('NULL');
      continue;
    }
    if (Array.isArray(e)) return { problem: 'nested arrays are not supported (text[] is one-dimensional)' };
    const c = scalarText(e, element.typname, element.category, { ...col, maxLength: undefined }, typed);
    if ('problem' in c) return { problem: `element ${c.problem}` };
    parts.push(quoteArrayElement(c.text));
  }
  return { text: `{${parts.join(',')}}` };
}

/**
 * One incoming value for a column, as COPY text (escaped, `\N` for NULL), or the reason it does not
 * fit. `typed`: the input declared the field's type (a string is then a string, never JSON text).
 */
export function pgCopyText(value: unknown, col: PgColumn, typed: boolean): Converted {
  if (value === null || value === undefined) {
    if (col.notNull) return { problem: 'is required (NOT NULL)' };
    return { text: '\\N' };
  }
  // Too deep for the recursive steps below, or a string UTF-8 cannot carry (pg would send U+FFFD).
  const refused = valueProblem(value);
  if (refused !== undefined) return { problem: refused };
  let converted: Converted;
  if (col.category === 'A') {
    let elements: unknown = value;
    if (typeof value === 'string') {
      const t = value.trim();
      try {
        elements = t.startsWith('[') ? parseExactJson(t) : undefined;
      } catch {
        elements = undefined;
      }
      if (elements === undefined) return { problem: `${describe(value)} is not an array (a JSON array)` };
      const problem = valueProblem(elements);
      if (problem !== undefined) return { problem: `array ${problem}` };
    }
    if (!Array.isArray(elements)) return { problem: `${describe(value)} is not an array` };
    converted = arrayLiteral(elements, col, typed);
  } else {
    converted = scalarText(value, col.typname, col.category, col, typed);
  }
  if ('problem' in converted) return converted;
  if (col.maxLength !== undefined && col.category === 'S' && [...converted.text].length > col.maxLength)
    return { problem: `is longer than ${col.maxLength} characters (${col.type})` };
  return { text: escapeCopyText(converted.text) };
}
