/**
 * What exports never contain, and what they contain only with `--include-pii`. Column names are exact
 * (the original matched substrings, which both leaked and over-stripped). Nested JSON is scrubbed by
 * exact key names too.
 */

/** Never exported, whatever the flags: credentials and secrets. */
export const SECRET_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  users: ['hashed_password', 'verification_token', 'reset_token', 'reset_token_expires', 'totp_secret'],
};

/** Personal data: exported only with `--include-pii`. */
export const PII_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  users: ['id', 'email', 'full_name', 'last_login_ip'],
  user_vehicles: ['user_id', 'vin', 'license_plate', 'nickname'],
  diagnosis_sessions: ['user_id', 'vehicle_vin'],
  diagnosis_archive: ['user_id'],
};

/** Tables that hold nothing but account data: left out entirely unless `--include-pii`. */
export const PII_TABLES: readonly string[] = ['users'];

/** Keys removed from JSON values (JSONB columns, payloads) unless `--include-pii`; secrets always. */
export const PII_JSON_KEYS: readonly string[] = [
  'vin',
  'vehicle_vin',
  'license_plate',
  'user_id',
  'email',
  'ip',
  'ip_address',
  'full_name',
];
export const SECRET_JSON_KEYS: readonly string[] = [
  'password',
  'hashed_password',
  'token',
  'access_token',
  'refresh_token',
  'api_key',
  'secret',
];

export interface PrivacyOptions {
  includePii: boolean;
}

/** The columns of a table an export may contain. */
export function exportableColumns(
  table: string,
  columns: readonly string[],
  options: PrivacyOptions,
): string[] {
  const secret = new Set(SECRET_COLUMNS[table] ?? []);
  const pii = new Set(options.includePii ? [] : (PII_COLUMNS[table] ?? []));
  return columns.filter((c) => !secret.has(c) && !pii.has(c));
}

export function isExportableTable(table: string, options: PrivacyOptions): boolean {
  return options.includePii || !PII_TABLES.includes(table);
}

/** A copy of a JSON value without secret keys (and PII keys unless included), at any depth. */
export function scrubJson(value: unknown, options: PrivacyOptions): unknown {
  const drop = new Set([...SECRET_JSON_KEYS, ...(options.includePii ? [] : PII_JSON_KEYS)]);
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (!drop.has(k)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value);
}
