/**
 * What sync carries for one DTC code, and how each store holds it (docs/design.md §10.2): the canonical
 * record (every `dtc_codes` column but `id`, in one normal form), its DTC-node and Qdrant-point forms,
 * the embedding text, and a PostgreSQL row made from a node. Pure functions: no store is touched here.
 */
import { createHash } from 'node:crypto';
import type { LabelScheme } from './labels.ts';
import { dtcCodeProblem } from './dtc-rules.ts';

export const DTC_TEXT_FIELDS = [
  'code',
  'description_en',
  'description_hu',
  'category',
  'severity',
  'system',
  'manufacturer_code',
] as const;
export const DTC_ARRAY_FIELDS = [
  'symptoms',
  'possible_causes',
  'diagnostic_steps',
  'related_codes',
  'applicable_makes',
  'sources',
] as const;
export const DTC_TIME_FIELDS = ['created_at', 'updated_at'] as const;

/** Every synced field, in `dtc_codes` column order. */
export const DTC_FIELDS = [
  'code',
  'description_en',
  'description_hu',
  'category',
  'severity',
  'is_generic',
  'system',
  'symptoms',
  'possible_causes',
  'diagnostic_steps',
  'related_codes',
  'manufacturer_code',
  'applicable_makes',
  'sources',
  'created_at',
  'updated_at',
] as const;
export type DtcField = (typeof DTC_FIELDS)[number];

/** Canonical values: text, boolean, arrays of text, timestamps as UTC ISO text with microseconds; null. */
export type CanonicalValue = string | boolean | string[] | null;
export type CanonicalDtc = Record<DtcField, CanonicalValue> & { code: string };

/** The relationship type `related_codes` becomes between DTC nodes. */
export const RELATED_TO = 'RELATED_TO';

const PG_TIME =
  /^(-?\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?(?::\d{2})?)?(?:\[[^\]]+\])?$/;

function offsetSeconds(zone: string | undefined): number {
  if (!zone || zone === 'Z') return 0;
  const digits = zone.slice(1).replace(/:/g, '');
  const seconds =
    Number(digits.slice(0, 2)) * 3600 +
    Number(digits.slice(2, 4) || '0') * 60 +
    Number(digits.slice(4, 6) || '0');
  return zone.startsWith('-') ? -seconds : seconds;
}

/**
 * A timestamp as UTC ISO text with exactly six fraction digits, from PostgreSQL's text
 * (`2025-03-01 10:00:00.123456+00`) or Neo4j's (`2025-03-01T11:00:00.123456789+01:00[Europe/Budapest]`);
 * a time without an offset is UTC; digits below the microsecond are dropped. Unparseable → the text itself.
 */
export function canonicalTimestamp(text: string): string {
  const m = PG_TIME.exec(text.trim());
  if (!m) return text;
  const [, y, mo, d, h, mi, s = '0', frac = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const utc = new Date(ms - offsetSeconds(zone) * 1000);
  if (Number(y) < 100) utc.setUTCFullYear(Number(y));
  return `${utc.toISOString().slice(0, 19)}.${frac.padEnd(6, '0').slice(0, 6)}Z`;
}

const asText = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function asArray(v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map((e) => String(e));
  return [String(v)];
}

function asBoolean(v: unknown): boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v;
  const t = String(v).trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  return null;
}

const asTime = (v: unknown): string | null =>
  v === null || v === undefined ? null : canonicalTimestamp(v instanceof Date ? v.toISOString() : String(v));

/** Any store's record (PostgreSQL row, node properties in export form) in canonical form. */
export function canonicalDtc(record: Record<string, unknown>): CanonicalDtc {
  const out: Record<string, CanonicalValue> = {};
  for (const f of DTC_TEXT_FIELDS) out[f] = asText(record[f]);
  for (const f of DTC_ARRAY_FIELDS) out[f] = asArray(record[f]);
  for (const f of DTC_TIME_FIELDS) out[f] = asTime(record[f]);
  out.is_generic = asBoolean(record.is_generic);
  return { ...out, code: String(record.code) } as CanonicalDtc;
}

/** A node's canonical record: `related_codes` from its `RELATED_TO` targets (`_links`) when it has no property. */
export function canonicalFromNode(props: Record<string, unknown>): CanonicalDtc {
  const record = canonicalDtc(props);
  if (record.related_codes === null && Array.isArray(props._links)) {
    record.related_codes = (props._links as unknown[]).map(String);
  }
  return record;
}

const same = (a: CanonicalValue, b: CanonicalValue): boolean =>
  Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((v, i) => v === b[i]) : a === b;

/** The fields whose canonical values differ (NULL and absent are equal; `''`, `[]` and NULL are not). */
export function differingFields(
  a: CanonicalDtc,
  b: CanonicalDtc,
  fields: readonly DtcField[] = DTC_FIELDS,
): DtcField[] {
  return fields.filter((f) => !same(a[f], b[f]));
}

/** The codes a batch's `related_codes` name, each once: the DTC nodes whose existence decides its `RELATED_TO`. */
export const relatedCodesOf = (records: readonly CanonicalDtc[]): string[] => [
  ...new Set(records.flatMap((r) => (r.related_codes as string[] | null) ?? [])),
];

/**
 * How a node's `RELATED_TO` targets (`links`, its `_links`) differ from what the record asks for:
 * `related_codes` that `exist` as DTC nodes. Both lists sorted.
 */
export function linkDifference(
  record: CanonicalDtc,
  links: unknown,
  exist: { has(code: string): boolean },
): { missing: string[]; extra: string[] } {
  const expected = new Set(((record.related_codes as string[] | null) ?? []).filter((c) => exist.has(c)));
  const actual = new Set(((links as unknown[] | undefined) ?? []).map(String));
  return {
    missing: [...expected].filter((c) => !actual.has(c)).sort(),
    extra: [...actual].filter((c) => !expected.has(c)).sort(),
  };
}

/** The fields a DTC node holds: all but `related_codes` under the legacy scheme (relationships carry it). */
export function nodeFields(scheme: LabelScheme): DtcField[] {
  return DTC_FIELDS.filter((f) => scheme === 'production' || f !== 'related_codes');
}

/**
 * The node's properties for `writeByKey`, in the tagged form of the Neo4j store: every node field, NULL
 * where the canonical value is NULL (removing the property). Legacy nodes hold `is_generic` as text.
 */
export function nodeProperties(record: CanonicalDtc, scheme: LabelScheme): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const f of nodeFields(scheme)) {
    const v = record[f];
    if (v === null) props[f] = null;
    else if ((DTC_TIME_FIELDS as readonly string[]).includes(f))
      props[f] = { $datetime: { local: String(v).slice(0, -1), offset: 0, zone: null } };
    else if (f === 'is_generic' && scheme === 'legacy') props[f] = String(v);
    else props[f] = v;
  }
  // Legacy nodes hold related_codes only as relationships: a stale property is removed.
  if (scheme === 'legacy') props.related_codes = null;
  return props;
}

/** What production embeds for a DTC code: `"{code}: {description}"`, then up to 5 symptoms and 5 causes. */
export function embeddingText(record: CanonicalDtc): string {
  let text = `${record.code}: ${pointDescription(record)}`;
  const symptoms = (record.symptoms as string[] | null) ?? [];
  const causes = (record.possible_causes as string[] | null) ?? [];
  if (symptoms.length > 0) text += `. Tunetek: ${symptoms.slice(0, 5).join(', ')}`;
  if (causes.length > 0) text += `. Lehetseges okok: ${causes.slice(0, 5).join(', ')}`;
  return text;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

function pointDescription(record: CanonicalDtc): string {
  const hu = record.description_hu as string | null;
  return hu !== null && hu !== '' ? hu : ((record.description_en as string | null) ?? '');
}

/** Bookkeeping keys of a synced point's payload: which model embedded which text. */
export const EMBEDDING_MODEL_KEY = '_embedding_model_version';
export const EMBEDDING_TEXT_KEY = '_embedding_text_sha256';

/** Production's DTC payload (design §10.2), without the bookkeeping keys. */
export function pointPayload(record: CanonicalDtc): Record<string, unknown> {
  return {
    type: 'dtc',
    source: (record.sources as string[] | null)?.[0] ?? 'generic',
    code: record.code,
    description: pointDescription(record),
    description_en: record.description_en,
    category: record.category,
    severity: record.severity,
    system: record.system,
    is_generic: record.is_generic,
  };
}

/** The payload keys compared by sync and verify (bookkeeping keys excluded). */
export const PAYLOAD_FIELDS = Object.keys(pointPayload(canonicalDtc({ code: '' }))) as readonly string[];

/** Payload keys whose values differ (absent and null are equal). */
export function differingPayload(
  expected: Record<string, unknown>,
  actual: Record<string, unknown>,
): string[] {
  return PAYLOAD_FIELDS.filter(
    (k) => JSON.stringify(expected[k] ?? null) !== JSON.stringify(actual[k] ?? null),
  );
}

const CANONICAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Why a record's timestamps cannot be carried (`infinity`, a text that is no time), or null. */
export function timestampProblem(record: CanonicalDtc): string | null {
  for (const f of DTC_TIME_FIELDS) {
    const v = record[f];
    if (typeof v === 'string' && !CANONICAL_TIME.test(v))
      return `${f} ${JSON.stringify(v)} is not a time Neo4j can hold`;
  }
  return null;
}

/** `dtc_codes` column widths (varchar(n)). */
const COLUMN_LIMITS: Partial<Record<DtcField, number>> = {
  code: 10,
  category: 20,
  severity: 20,
  system: 100,
  manufacturer_code: 50,
};

function rowProblem(node: CanonicalDtc): string | null {
  const code = dtcCodeProblem(node.code);
  if (code !== null) return `code ${code}`;
  for (const [field, limit] of Object.entries(COLUMN_LIMITS) as [DtcField, number][]) {
    const v = node[field];
    if (typeof v === 'string' && v.length > limit)
      return `${field} is longer than dtc_codes allows (${limit})`;
  }
  return timestampProblem(node);
}

const CATEGORY_BY_LETTER: Record<string, string> = { P: 'powertrain', B: 'body', C: 'chassis', U: 'network' };

/**
 * A `dtc_codes` row for a code PostgreSQL lacks, from its node (design §10.2): a valid value for every
 * NOT NULL column, or the reason there is none. `now`: the sync's time, canonical.
 */
export function rowFromNode(
  node: CanonicalDtc,
  now: string,
): { row: Record<string, unknown> } | { problem: string } {
  const problem = rowProblem(node);
  if (problem !== null) return { problem };
  if (node.description_en === null)
    return { problem: 'the node has no description_en (NOT NULL in dtc_codes)' };
  const category = node.category ?? CATEGORY_BY_LETTER[node.code.charAt(0)] ?? null;
  if (category === null) return { problem: 'the node has no category and its code names none' };
  return {
    row: {
      ...node,
      category,
      severity: node.severity ?? 'medium',
      is_generic: node.is_generic ?? true,
      created_at: node.created_at ?? now,
      updated_at: node.updated_at ?? now,
    },
  };
}
