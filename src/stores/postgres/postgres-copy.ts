/**
 * Bulk writes with `COPY … FROM STDIN` (text format): the fast path for large tables. Rows are encoded
 * lazily from an iterable, so memory stays bounded whatever the row count.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type pg from 'pg';
import { quoteIdent } from './postgres-connection.ts';

/** Escapes text for one field of COPY's text format (backslash, newline, carriage return, tab). */
export const escapeCopyText = (text: string): string =>
  text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');

/** One element of an array literal (`{"a","b\\"c"}`), double-quoted with its quotes and backslashes escaped. */
export const quoteArrayElement = (text: string): string =>
  `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  return quoteArrayElement(String(value));
}

/** One value in COPY text format (without the field-level escaping for arrays' inner quoting). */
export function encodeCopyValue(value: unknown, jsonColumn: boolean): string {
  if (value === null || value === undefined) return '\\N';
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return escapeCopyText(value);
  if (Array.isArray(value) && !jsonColumn) return escapeCopyText(`{${value.map(arrayElement).join(',')}}`);
  return escapeCopyText(JSON.stringify(value));
}

export interface CopyTarget {
  table: string;
  columns: readonly string[];
  /** Columns whose values are written as JSON even when they are arrays (json/jsonb). */
  jsonColumns?: ReadonlySet<string>;
}

/** Streams rows into a table with COPY; returns the number of rows written. */
export async function copyRowsIn(
  client: pg.ClientBase,
  target: CopyTarget,
  rows: Iterable<readonly unknown[]>,
): Promise<number> {
  const isJson = target.columns.map((c) => target.jsonColumns?.has(c) ?? false);
  let count = 0;
  function* lines(): Generator<string> {
    let chunk = '';
    for (const row of rows) {
      chunk += row.map((v, i) => encodeCopyValue(v, isJson[i] ?? false)).join('\t') + '\n';
      count++;
      if (chunk.length > 256 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  const columns = target.columns.map(quoteIdent).join(', ');
  const sink = client.query(copyFrom(`COPY public.${quoteIdent(target.table)} (${columns}) FROM STDIN`));
  await pipeline(Readable.from(lines()), sink);
  return count;
}
