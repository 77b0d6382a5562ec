/**
 * The export filters (`--category`, `--manufacturer`, `--translated`/`--untranslated`, `--since`,
 * `--until`). They select DTC codes, with one meaning everywhere:
 *
 * - category: the code's letter (P, B, C, U) is one of the given letters, and so is its `category`
 *   field's letter (powertrain, body, chassis, network);
 * - manufacturer: the code is manufacturer-specific for that make (`manufacturer_code`) or the make is in
 *   `applicable_makes`; case and accents do not matter (`skoda` finds `Škoda`);
 * - translated / untranslated: the Hungarian description is present and not blank / absent or blank;
 * - since / until: `updated_at`, falling back to `created_at`, inclusive; a date means that whole day (UTC).
 *
 * The selection is computed once, in PostgreSQL (the only store with every field); DTC nodes, their graph
 * neighbourhood and DTC points then follow that same set of codes.
 */
import { AcxError } from '../errors.ts';

export const CATEGORY_LETTERS = { P: 'powertrain', B: 'body', C: 'chassis', U: 'network' } as const;
export type CategoryLetter = keyof typeof CATEGORY_LETTERS;

export interface DtcFilter {
  categories?: CategoryLetter[];
  manufacturer?: string;
  translated?: boolean;
  since?: Date;
  until?: Date;
}

export function isFilterActive(filter: DtcFilter): boolean {
  return Object.values(filter).some((v) => v !== undefined);
}

export function parseCategories(text: string): CategoryLetter[] {
  const letters = text
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const bad = letters.filter((l) => !(l in CATEGORY_LETTERS));
  if (letters.length === 0 || bad.length > 0) {
    throw new AcxError('USAGE', `--category takes letters among P, B, C, U (e.g. P,B), got "${text}"`, {
      subject: '--category',
    });
  }
  return [...new Set(letters)] as CategoryLetter[];
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** `YYYY-MM-DD` (UTC day) or an ISO timestamp; `end` makes a bare date mean the end of that day. */
export function parseFilterTime(flag: string, text: string, end: boolean): Date {
  const value = DATE_ONLY.test(text) ? new Date(`${text}T00:00:00.000Z`) : new Date(text);
  if (Number.isNaN(value.getTime()) || (!DATE_ONLY.test(text) && !/^\d{4}-\d{2}-\d{2}T/.test(text))) {
    throw new AcxError('USAGE', `${flag} takes a date (2024-01-31) or an ISO timestamp, got "${text}"`, {
      subject: flag,
    });
  }
  if (end && DATE_ONLY.test(text)) return new Date(value.getTime() + 86_400_000 - 1);
  return value;
}

export function normaliseName(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .trim();
}

/** The SQL condition on `dtc_codes` (alias `d`) and its parameters, numbered from `$1`. */
export function dtcFilterSql(filter: DtcFilter): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.categories) {
    const letters = param(filter.categories);
    const ids = param(filter.categories.map((l) => CATEGORY_LETTERS[l]));
    conditions.push(`(left(d.code, 1) = ANY(${letters}::text[]) AND d.category = ANY(${ids}::text[]))`);
  }
  if (filter.manufacturer !== undefined) {
    // unaccent is not installed everywhere: fold accents with translate() over the Latin-1/Latin-2 letters.
    const fold = (sql: string) =>
      `lower(translate(${sql}, 'ÁÀÂÄÃÅČĆÇĎÉÈÊËĚÍÌÎÏŇÑÓÒÔÖŐÕŘŠŤÚÙÛÜŰŮÝŽáàâäãåčćçďéèêëěíìîïňñóòôöőõřšťúùûüűůýž', 'AAAAAACCCDEEEEEIIIINNOOOOOORSTUUUUUUYZaaaaaacccdeeeeeiiiinnoooooorstuuuuuuyz'))`;
    const name = param(normaliseName(filter.manufacturer));
    conditions.push(
      `(${fold("coalesce(d.manufacturer_code, '')")} = ${name} OR EXISTS (SELECT 1 FROM unnest(coalesce(d.applicable_makes, '{}')) AS m WHERE ${fold('m')} = ${name}))`,
    );
  }
  if (filter.translated === true)
    conditions.push(`(d.description_hu IS NOT NULL AND btrim(d.description_hu) <> '')`);
  if (filter.translated === false)
    conditions.push(`(d.description_hu IS NULL OR btrim(d.description_hu) = '')`);
  if (filter.since)
    conditions.push(
      `coalesce(d.updated_at, d.created_at) >= ${param(filter.since.toISOString())}::timestamptz`,
    );
  if (filter.until)
    conditions.push(
      `coalesce(d.updated_at, d.created_at) <= ${param(filter.until.toISOString())}::timestamptz`,
    );
  return { where: conditions.length > 0 ? conditions.join(' AND ') : 'TRUE', params };
}

/** A one-line description for summaries and manifests. */
export function describeFilter(filter: DtcFilter): string {
  const parts: string[] = [];
  if (filter.categories) parts.push(`category ${filter.categories.join(',')}`);
  if (filter.manufacturer !== undefined) parts.push(`manufacturer ${filter.manufacturer}`);
  if (filter.translated !== undefined) parts.push(filter.translated ? 'translated' : 'untranslated');
  if (filter.since) parts.push(`since ${filter.since.toISOString()}`);
  if (filter.until) parts.push(`until ${filter.until.toISOString()}`);
  return parts.length > 0 ? parts.join('; ') : 'none';
}
