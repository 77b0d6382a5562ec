/**
 * One text rendering of export values, shared by the text-based formats (CSV cells, GraphML data,
 * XLSX cells of types Excel lacks), so a value reads the same in every format:
 *
 * - text, uuid, timestamp, date, numeric: the string itself;
 * - integer, float: `String(n)` (shortest round-trip form); bigint: decimal digits;
 * - boolean: `true` / `false`;
 * - json and array: compact JSON (`ensure_ascii`-free: accents stay as they are), bigint inside as digits;
 * - bytes: base64.
 *
 * `null` has no text rendering: each format marks it its own documented way.
 */
import type { ExportValue } from '../model/dataset.ts';
import { stringifyExactJson } from '../model/exact-json.ts';

/** Compact JSON; bigint values are written as bare integers. */
export const jsonText = stringifyExactJson;

export function valueText(value: Exclude<ExportValue, null>): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return jsonText(value);
}
