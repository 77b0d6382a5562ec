/**
 * Content fingerprints of a Neo4j database, read in one read transaction: one per label (labels and
 * typed properties of every node; one for nodes without a label, when there are some), one per
 * relationship type (type, properties and both endpoints by their key: label + key value, or all
 * properties for labels without a known key), and the schema
 * (constraints and indexes with their definitions).
 *
 * Endpoints are named by the key of every known label scheme (`ENDPOINT_KEYS`), not only the configured
 * one: the fingerprint is then a property of the graph alone, and the backup, which knows no scheme,
 * records the same one while it writes (`GraphFingerprint`, design §5).
 */
import type { ManagedTransaction } from 'neo4j-driver';
import { canonicalJson, MultisetHash, type Fingerprint } from '../../model/content-hash.ts';
import { LABEL_SCHEMES, labelMap, NODE_KEYS, NODE_KINDS, type LabelMap } from '../../model/labels.ts';
import { cypherName, type Neo4jConnection } from './neo4j-connection.ts';
import { encodeNeo4jProperties, encodeNeo4jValue } from './neo4j-values.ts';

export function keyPropertiesByLabel(labels: LabelMap): Record<string, string> {
  return Object.fromEntries(NODE_KINDS.map((kind) => [labels.label(kind), NODE_KEYS[kind]]));
}

/** Key property by label, for the labels of every scheme: how the fingerprint names endpoints. */
export const ENDPOINT_KEYS: Readonly<Record<string, string>> = Object.fromEntries(
  LABEL_SCHEMES.flatMap((scheme) => Object.entries(keyPropertiesByLabel(labelMap(scheme)))),
);

// The key label is the alphabetically first of the node's labels that has a key (not `head(labels(n))`:
// labels() lists labels in the order of their internal ids, which differ between databases).
const KEY_LABEL = (v: string) =>
  `reduce(k = null, l IN labels(${v}) | CASE WHEN $keys[l] IS NOT NULL AND (k IS NULL OR l < k) THEN l ELSE k END)`;
const ENDPOINT = (v: string) =>
  `{labels: labels(${v}), key: CASE WHEN ${KEY_LABEL(v)} IS NULL THEN properties(${v}) ELSE ${v}[$keys[${KEY_LABEL(v)}]] END}`;

/**
 * `<a> AS a, <b> AS b`: the two endpoints as the relationship fingerprint names them, for a query that
 * binds the start and end nodes to `a` and `b` and passes `$keys` = ENDPOINT_KEYS.
 */
export const ENDPOINTS_RETURN = `${ENDPOINT('a')} AS a, ${ENDPOINT('b')} AS b`;

/** An endpoint with its labels sorted, for the same reason (keys in canonical order: no copy to sort). */
function endpoint(value: unknown): unknown {
  const e = value as { labels: string[]; key: unknown };
  const labels = e.labels.length > 1 ? [...e.labels].sort() : e.labels;
  return { key: encodeNeo4jValue(e.key), labels };
}

/** A node's canonical encoding: its labels (sorted) and its encoded properties (`encodeNeo4jProperties`). */
export function nodeRecord(sortedLabels: readonly string[], properties: unknown): string {
  return canonicalJson({ labels: sortedLabels, props: properties });
}

/** A relationship's canonical encoding: endpoints as ENDPOINTS_RETURN gives them, encoded properties. */
export function relationshipRecord(a: unknown, properties: unknown, b: unknown): string {
  return canonicalJson({ a: endpoint(a), b: endpoint(b), props: properties });
}

const NO_LABEL = '(no label)';
const entryOf = (hash: MultisetHash) => ({ records: hash.count, hash: hash.digest() });

function hashIn(map: Map<string, MultisetHash>, key: string): MultisetHash {
  let hash = map.get(key);
  if (!hash) map.set(key, (hash = new MultisetHash()));
  return hash;
}

/**
 * The graph's data fingerprints built record by record, as a backup writes them: the same keys and
 * values `fingerprintNeo4j` gives for nodes and relationships (not the schema). Memory: one hash per
 * label and per relationship type.
 */
export class GraphFingerprint {
  private readonly nodes = new Map<string, MultisetHash>();
  private readonly relationships = new Map<string, MultisetHash>();

  node(sortedLabels: readonly string[], properties: unknown): void {
    const record = nodeRecord(sortedLabels, properties);
    if (sortedLabels.length === 0) hashIn(this.nodes, NO_LABEL).add(record);
    for (const label of sortedLabels) hashIn(this.nodes, label).add(record);
  }

  relationship(type: string, a: unknown, properties: unknown, b: unknown): void {
    hashIn(this.relationships, type).add(relationshipRecord(a, properties, b));
  }

  result(): Fingerprint {
    const out: Fingerprint = {};
    for (const [label, hash] of this.nodes) out[`neo4j/nodes/${label}`] = entryOf(hash);
    for (const [type, hash] of this.relationships) out[`neo4j/relationships/${type}`] = entryOf(hash);
    return out;
  }
}

/** `_labels`: unused, endpoints are named by the keys of every scheme (see the header). */
export async function fingerprintNeo4j(
  connection: Neo4jConnection,
  _labels?: LabelMap,
): Promise<Fingerprint> {
  const session = connection.driver.session({ database: connection.database, defaultAccessMode: 'READ' });
  try {
    // A managed read transaction: a transient fault (a dropped connection, a leader switch) runs the
    // whole read again, from an empty fingerprint.
    return await session.executeRead(async (tx) => {
      const out: Fingerprint = {};
      await fingerprintNodes(tx, out);
      await fingerprintRelationships(tx, out);
      await fingerprintSchema(tx, out);
      return out;
    });
  } finally {
    await session.close();
  }
}

/** One fingerprint per label, and one for nodes without a label when there are some. */
async function fingerprintNodes(tx: ManagedTransaction, out: Fingerprint): Promise<void> {
  const labelNames = (await tx.run('CALL db.labels() YIELD label RETURN label')).records.map(
    (r) => r.get('label') as string,
  );
  for (const label of labelNames.sort()) {
    const hash = new MultisetHash();
    const result = tx.run(
      `MATCH (n:${cypherName(label)}) RETURN labels(n) AS labels, properties(n) AS props`,
    );
    for await (const record of result) {
      const sorted = [...(record.get('labels') as string[])].sort();
      hash.add(nodeRecord(sorted, encodeNeo4jProperties(record.get('props'))));
    }
    out[`neo4j/nodes/${label}`] = entryOf(hash);
  }
  // Nodes without any label (none in the AutoCognitix graph: the dataset appears only when some exist).
  const unlabelled = new MultisetHash();
  for await (const record of tx.run('MATCH (n) WHERE size(labels(n)) = 0 RETURN properties(n) AS props')) {
    unlabelled.add(nodeRecord([], encodeNeo4jProperties(record.get('props'))));
  }
  if (unlabelled.count > 0) out[`neo4j/nodes/${NO_LABEL}`] = entryOf(unlabelled);
}

/** One fingerprint per relationship type, endpoints named by their key (ENDPOINT_KEYS). */
async function fingerprintRelationships(tx: ManagedTransaction, out: Fingerprint): Promise<void> {
  const types = (
    await tx.run('CALL db.relationshipTypes() YIELD relationshipType AS t RETURN t')
  ).records.map((r) => r.get('t') as string);
  for (const type of types.sort()) {
    const hash = new MultisetHash();
    const query = `MATCH (a)-[r:${cypherName(type)}]->(b) RETURN ${ENDPOINTS_RETURN}, properties(r) AS props`;
    for await (const record of tx.run(query, { keys: ENDPOINT_KEYS })) {
      hash.add(
        relationshipRecord(record.get('a'), encodeNeo4jProperties(record.get('props')), record.get('b')),
      );
    }
    out[`neo4j/relationships/${type}`] = entryOf(hash);
  }
}

/** One fingerprint for every constraint and index with its definition. */
async function fingerprintSchema(tx: ManagedTransaction, out: Fingerprint): Promise<void> {
  const schema = new MultisetHash();
  for (const record of (
    await tx.run('SHOW CONSTRAINTS YIELD name, type, entityType, labelsOrTypes, properties RETURN *')
  ).records) {
    schema.add(canonicalJson({ constraint: record.toObject() }));
  }
  const indexes = await tx.run(
    'SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, indexProvider, options RETURN *',
  );
  for (const record of indexes.records) {
    const index = record.toObject() as Record<string, unknown>;
    schema.add(canonicalJson({ index: encodeNeo4jValue(index) }));
  }
  out['neo4j/schema'] = entryOf(schema);
}
