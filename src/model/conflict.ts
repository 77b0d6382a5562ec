/**
 * What `--on-conflict` means, the same in every store (docs/design.md §9). A record's identity is its
 * key ("Identity" in that section); a conflict is an incoming record whose key is already stored.
 *
 * - `skip` (default): the stored record stays as it is.
 * - `overwrite`: every field the input carries replaces the stored one, NULL included (in Neo4j a NULL
 *   removes the property); fields the input does not carry at all (a column left out of an export,
 *   such as personal data) keep their stored value.
 * - `merge`: stored fields that are non-NULL stay; stored NULL (or absent) fields take the incoming
 *   value. Arrays and JSON values are single values: a stored `[]` or `{}` is not NULL and stays, and
 *   they are never combined element by element.
 * - `newest`: the record with the later `updated_at` wins whole (as `overwrite`); on a tie the stored
 *   record stays; a record without a timestamp is older than one with a timestamp, and when neither
 *   has one the stored record stays. Times are compared as the target store keeps them (PostgreSQL:
 *   microseconds; Neo4j: nanoseconds), and a time without an offset is UTC.
 *
 * PostgreSQL applies these rules in SQL (stores/postgres/postgres-import.ts); Neo4j and Qdrant with
 * `resolveConflict` below.
 */

export const CONFLICT_STRATEGIES = ['skip', 'overwrite', 'merge', 'newest'] as const;
export type ConflictStrategy = (typeof CONFLICT_STRATEGIES)[number];

/** The field that decides `newest`. */
export const TIMESTAMP_FIELD = 'updated_at';

export type Decision =
  | { action: 'insert'; values: Record<string, unknown> }
  | { action: 'update'; values: Record<string, unknown> }
  | { action: 'skip' };

const isNull = (v: unknown) => v === null || v === undefined;

/**
 * The outcome for one incoming record. `existing` is the stored record (null: none); `fields` are the
 * fields the input carries; `timestamp` reads a record's `updated_at` as epoch nanoseconds (or null).
 * An update's `values` is the whole resulting record (stored fields included).
 */
export function resolveConflict(
  strategy: ConflictStrategy,
  existing: Record<string, unknown> | null,
  incoming: Record<string, unknown>,
  fields: readonly string[],
  timestamp: (record: Record<string, unknown>) => bigint | null,
): Decision {
  if (existing === null) return { action: 'insert', values: incoming };
  const replaced = () => {
    const values = { ...existing };
    for (const f of fields) values[f] = incoming[f] ?? null;
    return values;
  };
  switch (strategy) {
    case 'skip':
      return { action: 'skip' };
    case 'overwrite':
      return { action: 'update', values: replaced() };
    case 'merge': {
      const values = { ...existing };
      let changed = false;
      for (const f of fields) {
        if (isNull(existing[f]) && !isNull(incoming[f])) {
          values[f] = incoming[f];
          changed = true;
        }
      }
      return changed ? { action: 'update', values } : { action: 'skip' };
    }
    case 'newest': {
      const mine = timestamp(existing);
      const theirs = timestamp(incoming);
      if (theirs === null) return { action: 'skip' };
      if (mine === null || theirs > mine) return { action: 'update', values: replaced() };
      return { action: 'skip' };
    }
  }
}

const ISO =
  /^(-?\d{4,})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?(?:\[[^\]]+\])?$/i;

/**
 * An ISO 8601 date or date-time (PostgreSQL's `2024-01-05 10:20:30.123456+01`, JSON's `…Z`, Neo4j's
 * `…T10:20:30.123456789+01:00[Europe/Budapest]`) as epoch nanoseconds; a time without an offset is
 * read as UTC. Anything else: null.
 */
export function isoToEpochNanos(text: string): bigint | null {
  const m = ISO.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const millis = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(millis) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)) return null;
  let offsetSeconds = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(/:/g, '');
    offsetSeconds =
      Number(digits.slice(0, 2)) * 3600 +
      Number(digits.slice(2, 4) || 0) * 60 +
      Number(digits.slice(4, 6) || 0);
    if (zone.startsWith('-')) offsetSeconds = -offsetSeconds;
  }
  return (
    (BigInt(millis) / 1000n - BigInt(offsetSeconds)) * 1_000_000_000n + BigInt(frac.padEnd(9, '0') || '0')
  );
}
