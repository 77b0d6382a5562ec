/**
 * Reading a Neo4j snapshot's files (docs/design.md §7.2) for a restore: every line is one JSON object,
 * checked before anything is written from it. A line that cannot be restored means the snapshot is
 * damaged (or was not written by acx-data): INTEGRITY, naming the file and line.
 */
import { AcxError } from '../../errors.ts';
import type { SnapshotSource } from '../../model/snapshot.ts';
import type { Neo4jSchemaLine } from './neo4j-backup.ts';
import { HELPER_LABEL, HELPER_PROPERTY, PROGRESS_LABEL } from './neo4j-restore-helper.ts';
import { decodeNeo4jProperties } from './neo4j-values.ts';

export interface NodeRow {
  id: string;
  props: Record<string, unknown>;
}

export interface RelationshipRow {
  start: string;
  end: string;
  props: Record<string, unknown>;
}

/** A row of a batch and the key it is grouped by (label set, relationship type): one UNWIND per group. */
export interface KeyedRow<T> {
  key: string;
  row: T;
}

export function badLine(path: string, lineNumber: number, problem: string): AcxError {
  return new AcxError('INTEGRITY', `${path} line ${lineNumber}: ${problem}`, { subject: 'neo4j' });
}

/** The non-empty lines of a snapshot file, with their line numbers (counting empty lines too). */
export async function* snapshotLines(
  snapshot: SnapshotSource,
  path: string,
): AsyncGenerator<{ lineNumber: number; line: string }> {
  let lineNumber = 0;
  for await (const line of snapshot.lines(path)) {
    lineNumber++;
    if (line !== '') yield { lineNumber, line };
  }
}

/** INTEGRITY unless a file held as many records as the manifest lists. */
export function checkCount(path: string, found: number, what: string, listed: number): void {
  if (found !== listed)
    throw new AcxError('INTEGRITY', `${path} holds ${found} ${what}, the manifest lists ${listed}`, {
      subject: 'neo4j',
    });
}

function parseLine(path: string, lineNumber: number, line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw badLine(path, lineNumber, 'not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw badLine(path, lineNumber, 'not a JSON object');
  return value as Record<string, unknown>;
}

function properties(path: string, lineNumber: number, value: unknown): Record<string, unknown> {
  try {
    const props = decodeNeo4jProperties(value);
    if (HELPER_PROPERTY in props) throw new Error(`the property ${HELPER_PROPERTY} is reserved for restore`);
    return props;
  } catch (error) {
    if (error instanceof AcxError) throw error;
    throw badLine(path, lineNumber, (error as Error).message);
  }
}

const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** A line of `neo4j/nodes.jsonl`, keyed by its sorted label set (`\0`-separated). */
export function nodeRow(path: string, lineNumber: number, line: string): KeyedRow<NodeRow> {
  const record = parseLine(path, lineNumber, line);
  const { id, labels } = record;
  if (!isName(id)) throw badLine(path, lineNumber, 'the node has no id');
  if (!Array.isArray(labels) || !labels.every(isName))
    throw badLine(path, lineNumber, 'the node has no list of labels');
  for (const reserved of [HELPER_LABEL, PROGRESS_LABEL])
    if (labels.includes(reserved))
      throw badLine(path, lineNumber, `the label ${reserved} is reserved for restore`);
  const props = properties(path, lineNumber, record.properties);
  return { key: [...new Set(labels)].sort().join('\u0000'), row: { id, props } };
}

/** A line of `neo4j/relationships.jsonl`, keyed by its type. */
export function relationshipRow(path: string, lineNumber: number, line: string): KeyedRow<RelationshipRow> {
  const record = parseLine(path, lineNumber, line);
  const { type, start, end } = record;
  if (!isName(type)) throw badLine(path, lineNumber, 'the relationship has no type');
  if (!isName(start) || !isName(end))
    throw badLine(path, lineNumber, 'the relationship has no start or end node id');
  const props = properties(path, lineNumber, record.properties);
  return { key: type, row: { start, end, props } };
}

/** A line of `neo4j/schema.jsonl`. */
export function schemaLine(path: string, lineNumber: number, line: string): Neo4jSchemaLine {
  const { kind, name, type, statement } = parseLine(path, lineNumber, line);
  if ((kind !== 'constraint' && kind !== 'index') || !isName(name) || !isName(statement))
    throw badLine(path, lineNumber, 'not a constraint or index with a name and a statement');
  return { kind, name, type: String(type), statement };
}
