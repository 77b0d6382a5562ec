/**
 * Independent readers of exported files, for tests: csv-parse, exceljs, node:sqlite, saxes and
 * zlib + JSON — none of them shares code with the writers.
 */
import { readFile } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { SaxesParser } from 'saxes';
import { parseExactJson } from '../../src/model/exact-json.ts';

export type Row = Record<string, unknown>;

/** CSV rows as text; an unquoted empty field is NULL (null), a quoted one the empty string. */
export async function readCsv(path: string): Promise<Row[]> {
  return parse(await readFile(path), {
    columns: true,
    cast: (value, context) => (value === '' && !context.quoting ? null : value),
  }) as Row[];
}

export async function readJson(path: string): Promise<unknown> {
  const bytes = await readFile(path);
  return parseExactJson((path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
}

/** A table's rows as plain objects: INTEGERs as bigint, BLOBs as Buffers. */
export function readSqlite(path: string, table: string): Row[] {
  const db = new DatabaseSync(path, { readOnly: true, readBigInts: true });
  try {
    return db
      .prepare(`SELECT * FROM "${table.replace(/"/g, '""')}"`)
      .all()
      .map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v) : v]),
        ),
      );
  } finally {
    db.close();
  }
}

export function sqliteTables(path: string): string[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{
        name: string;
      }>
    ).map((r) => r.name);
  } finally {
    db.close();
  }
}

/** Every sheet's rows as objects keyed by the header row; also every cell's text (for scans). */
export async function readXlsx(path: string): Promise<{ sheets: Record<string, Row[]>; text: string }> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(path);
  const sheets: Record<string, Row[]> = {};
  const text: string[] = [];
  workbook.eachSheet((sheet) => {
    const rows: Row[] = [];
    let header: string[] = [];
    sheet.eachRow({ includeEmpty: false }, (row, index) => {
      const values = (row.values as unknown[])
        .slice(1)
        .map((v) =>
          v && typeof v === 'object' && 'richText' in v
            ? (v as { richText: Array<{ text: string }> }).richText.map((r) => r.text).join('')
            : v,
        );
      for (const v of values)
        if (v !== null && v !== undefined) text.push(v instanceof Date ? v.toISOString() : String(v));
      if (index === 1) header = values.map(String);
      else rows.push(Object.fromEntries(header.map((h, i) => [h, values[i] ?? null])));
    });
    sheets[sheet.name] = rows;
  });
  return { sheets, text: text.join('\n') };
}

export interface GraphmlContent {
  keys: Array<{ id: string; for: string; name: string; type: string }>;
  nodes: Array<{ id: string; data: Record<string, string> }>;
  edges: Array<{ id: string; source: string; target: string; data: Record<string, string> }>;
}

export async function readGraphml(path: string): Promise<GraphmlContent> {
  const out: GraphmlContent = { keys: [], nodes: [], edges: [] };
  const parser = new SaxesParser({ xmlns: true });
  let current: { data: Record<string, string> } | undefined;
  let dataKey: string | undefined;
  let text = '';
  parser.on('opentag', (tag) => {
    const attr = (name: string) => String(tag.attributes[name]?.value ?? '');
    if (tag.local === 'key')
      out.keys.push({ id: attr('id'), for: attr('for'), name: attr('attr.name'), type: attr('attr.type') });
    else if (tag.local === 'node') {
      const node = { id: attr('id'), data: {} };
      out.nodes.push(node);
      current = node;
    } else if (tag.local === 'edge') {
      const edge = { id: attr('id'), source: attr('source'), target: attr('target'), data: {} };
      out.edges.push(edge);
      current = edge;
    } else if (tag.local === 'data') {
      dataKey = attr('key');
      text = '';
    }
  });
  parser.on('text', (t) => {
    if (dataKey) text += t;
  });
  parser.on('closetag', (tag) => {
    if (tag.local === 'data' && current && dataKey) {
      current.data[dataKey] = text;
      dataKey = undefined;
    }
  });
  parser.write((await readFile(path)).toString('utf8')).close();
  return out;
}
