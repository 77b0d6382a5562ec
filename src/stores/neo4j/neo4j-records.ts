/**
 * Reads and writes of one label's nodes by key (the Store's `readByKey`, `scanByKey`, `prepareDataset`,
 * `writeByKey`; sync, docs/design.md §10). Nodes are read as `properties(n)` in export form
 * (`neo4jToExport`), plus `_links` when the dataset names a relationship type; they are written from the
 * tagged JSON form of neo4j-values.ts.
 */
import neo4j, { type ManagedTransaction, type Record as Neo4jRecord } from 'neo4j-driver';
import { AcxError } from '../../errors.ts';
import { LABEL_SCHEMES, NODE_KEYS, NODE_KINDS, labelMap } from '../../model/labels.ts';
import type { KeyedRecords, RecordPage, RecordWrites } from '../store.ts';
import { cypherName, type Neo4jConnection } from './neo4j-connection.ts';
import { neo4jToExport } from './neo4j-export.ts';
import { decodeNeo4jProperties } from './neo4j-values.ts';

export interface Neo4jRecordDataset {
  label: string;
  key: string;
  /** Outgoing relationships of this type to nodes of the same label: read as `_links`, written by link/unlink. */
  links?: string;
}

/** The field of a record read with `links` that holds them (never written as a property). */
const LINKS = '_links';

/** The RETURN clause: key text, properties and, with `links`, the key texts of the linked nodes. */
function returning(dataset: Neo4jRecordDataset): string {
  const key = cypherName(dataset.key);
  const links = dataset.links
    ? `, [(n)-[:${cypherName(dataset.links)}]->(m:${cypherName(dataset.label)}) | toString(m.${key})] AS links`
    : '';
  return `RETURN toString(n.${key}) AS k, properties(n) AS p${links}`;
}

function toRecord(dataset: Neo4jRecordDataset, row: Neo4jRecord): Record<string, unknown> {
  const properties = row.get('p') as Record<string, unknown>;
  const record = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, neo4jToExport(v)]));
  if (dataset.links) {
    const texts = (row.get('links') as Array<string | null>).filter((t): t is string => t !== null);
    // Distinct nodes, in code-unit order (Cypher's and JavaScript's string order).
    record[LINKS] = [...new Set(texts)].sort();
  }
  return record;
}

/**
 * The values a key text may be stored as: the text, and the Integer it spells when it spells one. Matching
 * `n.key IN $values` lets Neo4j seek the key's index (a `toString(n.key)` comparison would read every node
 * of the label on each batch).
 */
function keyValues(keys: readonly string[]): unknown[] {
  const values: unknown[] = [...keys];
  for (const k of keys) if (/^-?\d{1,18}$/.test(k)) values.push(neo4j.int(k));
  return values;
}

/** The nodes whose key, as text, is one of `keys` (a String key, or an Integer key written in digits). */
export async function readNeo4jByKey(
  connection: Neo4jConnection,
  dataset: Neo4jRecordDataset,
  keys: readonly string[],
): Promise<KeyedRecords> {
  const result = await connection.driver.executeQuery(
    `MATCH (n:${cypherName(dataset.label)}) WHERE n.${cypherName(dataset.key)} IN $values ${returning(dataset)}`,
    { values: keyValues(keys) },
    { database: connection.database, routing: 'READ' },
  );
  return { found: new Map(result.records.map((row) => [row.get('k') as string, toRecord(dataset, row)])) };
}

/**
 * One page of nodes in key order, after `cursor` (the last key of the previous page; keys are compared
 * as the property values, so the key should be a String property, as DTC `code` is). Nodes without the
 * key are not scanned.
 */
export async function scanNeo4jByKey(
  connection: Neo4jConnection,
  dataset: Neo4jRecordDataset,
  cursor: string | null,
  limit: number,
): Promise<RecordPage> {
  const key = `n.${cypherName(dataset.key)}`;
  const where = cursor === null ? `${key} IS NOT NULL` : `${key} > $cursor`;
  const result = await connection.driver.executeQuery(
    `MATCH (n:${cypherName(dataset.label)}) WHERE ${where} ${returning(dataset)} ORDER BY ${key} LIMIT $limit`,
    { cursor, limit: neo4j.int(limit) },
    { database: connection.database, routing: 'READ' },
  );
  const records = result.records.map((row) => toRecord(dataset, row));
  const last = records.length === limit ? records[records.length - 1] : undefined;
  return { records, cursor: last === undefined ? null : String(last[dataset.key]) };
}

/**
 * The name of the uniqueness constraint on (label, key): the schema's own (`dtc_code_unique`,
 * neo4j-schema.ts) when the label is one of the application's node kinds in either label scheme, else
 * `<label>_<key>_unique`.
 */
export function neo4jKeyConstraintName(label: string, key: string): string {
  for (const scheme of LABEL_SCHEMES) {
    const labels = labelMap(scheme);
    const kind = NODE_KINDS.find((k) => labels.label(k) === label && NODE_KEYS[k] === key);
    if (kind) return `${kind}_${key}_unique`;
  }
  return `${label}_${key}_unique`;
}

/**
 * Makes sure a uniqueness constraint holds (label, key) — what MERGE by key relies on — creating it
 * when missing and `create` is true (false: only report, as a dry run does). `exists`: the constraint
 * (under any name) was there before the call.
 */
export async function prepareNeo4jDataset(
  connection: Neo4jConnection,
  dataset: Neo4jRecordDataset,
  create: boolean,
): Promise<{ exists: boolean }> {
  const found = await connection.driver.executeQuery(
    `SHOW CONSTRAINTS YIELD name, type, entityType, labelsOrTypes, properties
     WHERE entityType = 'NODE' AND labelsOrTypes = [$label] AND properties = [$key]
       AND type IN ['UNIQUENESS', 'NODE_PROPERTY_UNIQUENESS', 'NODE_KEY']
     RETURN name`,
    { label: dataset.label, key: dataset.key },
    { database: connection.database, routing: 'READ' },
  );
  if (found.records.length > 0) return { exists: true };
  if (create) {
    const name = cypherName(neo4jKeyConstraintName(dataset.label, dataset.key));
    await connection.driver.executeQuery(
      `CREATE CONSTRAINT ${name} IF NOT EXISTS FOR (n:${cypherName(dataset.label)}) REQUIRE n.${cypherName(dataset.key)} IS UNIQUE`,
      {},
      { database: connection.database },
    );
  }
  return { exists: false };
}

/** Upsert rows: the key value and the decoded properties to merge (`_links` left out). */
function upsertRows(dataset: Neo4jRecordDataset, records: readonly Record<string, unknown>[]) {
  return records.map((record) => {
    const { [LINKS]: _links, ...tagged } = record;
    let props: Record<string, unknown>;
    try {
      props = decodeNeo4jProperties(tagged);
    } catch (error) {
      throw new AcxError('INVALID_INPUT', `a ${dataset.label} record: ${(error as Error).message}`, {
        subject: 'neo4j',
        cause: error,
      });
    }
    const key = props[dataset.key];
    if (key === null || key === undefined)
      throw new AcxError('INVALID_INPUT', `a ${dataset.label} record has no key ${dataset.key}`, {
        subject: 'neo4j',
      });
    return { key, props };
  });
}

/**
 * Applies one batch in ONE write transaction, in this order: upserts (`MERGE` by key, `SET n += props`:
 * a null value removes the property, properties not carried are kept), links (`MERGE`: an existing
 * relationship is kept, a missing endpoint skipped), unlinks, removes (`DETACH DELETE`). The driver may
 * run the transaction function again after a transient fault, also when the server committed and only
 * its answer was lost (design §2 "Retries"): every statement is idempotent (MERGE, SET, DELETE of what
 * matches), so a second run leaves the same graph.
 */
export async function writeNeo4jByKey(
  connection: Neo4jConnection,
  dataset: Neo4jRecordDataset,
  writes: RecordWrites,
): Promise<void> {
  if ((writes.link?.length || writes.unlink?.length) && !dataset.links)
    throw new TypeError(`link/unlink need a relationship type (dataset ${dataset.label} has no links)`);
  const rows = upsertRows(dataset, writes.upsert ?? []);
  const label = cypherName(dataset.label);
  const key = cypherName(dataset.key);
  const type = cypherName(dataset.links ?? '');
  const statements: Array<[string, Record<string, unknown>, number]> = [
    [`UNWIND $p AS row MERGE (n:${label} {${key}: row.key}) SET n += row.props`, { p: rows }, rows.length],
    [
      `UNWIND $p AS p MATCH (a:${label} {${key}: p[0]}) MATCH (b:${label} {${key}: p[1]}) MERGE (a)-[:${type}]->(b)`,
      { p: writes.link ?? [] },
      writes.link?.length ?? 0,
    ],
    [
      `UNWIND $p AS p MATCH (a:${label} {${key}: p[0]})-[r:${type}]->(b:${label} {${key}: p[1]}) DELETE r`,
      { p: writes.unlink ?? [] },
      writes.unlink?.length ?? 0,
    ],
    [
      `MATCH (n:${label}) WHERE n.${key} IN $p DETACH DELETE n`,
      { p: writes.remove ?? [] },
      writes.remove?.length ?? 0,
    ],
  ];
  const session = connection.driver.session({ database: connection.database });
  try {
    await session.executeWrite(async (tx: ManagedTransaction) => {
      for (const [query, params, count] of statements) if (count > 0) await tx.run(query, params);
    });
  } finally {
    await session.close();
  }
}
