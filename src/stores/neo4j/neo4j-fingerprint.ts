/**
 * Content fingerprints of a Neo4j database, read in one read transaction: one per label (labels and
 * typed properties of every node; one for nodes without a label, when there are some), one per
 * relationship type (type, properties and both endpoints by their key: label + key value, or all
 * properties for labels without a known key), and the schema
 * (constraints and indexes with their definitions).
 */
import type { ManagedTransaction } from 'neo4j-driver';
import { canonicalJson, MultisetHash, type Fingerprint } from '../../model/content-hash.ts';
import { NODE_KEYS, NODE_KINDS, type LabelMap } from '../../model/labels.ts';
import { cypherName, type Neo4jConnection } from './neo4j-connection.ts';
import { encodeNeo4jProperties, encodeNeo4jValue } from './neo4j-values.ts';

export function keyPropertiesByLabel(labels: LabelMap): Record<string, string> {
  return Object.fromEntries(NODE_KINDS.map((kind) => [labels.label(kind), NODE_KEYS[kind]]));
}

// The key label is the alphabetically first of the node's labels that has a key (not `head(labels(n))`:
// labels() lists labels in the order of their internal ids, which differ between databases).
const KEY_LABEL = (v: string) =>
  `reduce(k = null, l IN labels(${v}) | CASE WHEN $keys[l] IS NOT NULL AND (k IS NULL OR l < k) THEN l ELSE k END)`;
const ENDPOINT = (v: string) =>
  `{labels: labels(${v}), key: CASE WHEN ${KEY_LABEL(v)} IS NULL THEN properties(${v}) ELSE ${v}[$keys[${KEY_LABEL(v)}]] END}`;

/** An endpoint with its labels sorted, for the same reason. */
function endpoint(value: unknown): unknown {
  const e = value as { labels: string[]; key: unknown };
  return encodeNeo4jValue({ labels: [...e.labels].sort(), key: e.key });
}

export async function fingerprintNeo4j(connection: Neo4jConnection, labels: LabelMap): Promise<Fingerprint> {
  const session = connection.driver.session({ database: connection.database, defaultAccessMode: 'READ' });
  try {
    // A managed read transaction: a transient fault (a dropped connection, a leader switch) runs the
    // whole read again, from an empty fingerprint.
    return await session.executeRead(async (tx) => {
      const out: Fingerprint = {};
      await fingerprintNodes(tx, out);
      await fingerprintRelationships(tx, keyPropertiesByLabel(labels), out);
      await fingerprintSchema(tx, out);
      return out;
    });
  } finally {
    await session.close();
  }
}

const entryOf = (hash: MultisetHash) => ({ records: hash.count, hash: hash.digest() });

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
      hash.add(
        canonicalJson({
          labels: [...(record.get('labels') as string[])].sort(),
          props: encodeNeo4jProperties(record.get('props')),
        }),
      );
    }
    out[`neo4j/nodes/${label}`] = entryOf(hash);
  }
  // Nodes without any label (none in the AutoCognitix graph: the dataset appears only when some exist).
  const unlabelled = new MultisetHash();
  for await (const record of tx.run('MATCH (n) WHERE size(labels(n)) = 0 RETURN properties(n) AS props')) {
    unlabelled.add(canonicalJson({ labels: [], props: encodeNeo4jProperties(record.get('props')) }));
  }
  if (unlabelled.count > 0) out['neo4j/nodes/(no label)'] = entryOf(unlabelled);
}

/** One fingerprint per relationship type, endpoints named by their key (`keys`: key property by label). */
async function fingerprintRelationships(
  tx: ManagedTransaction,
  keys: Record<string, string>,
  out: Fingerprint,
): Promise<void> {
  const types = (
    await tx.run('CALL db.relationshipTypes() YIELD relationshipType AS t RETURN t')
  ).records.map((r) => r.get('t') as string);
  for (const type of types.sort()) {
    const hash = new MultisetHash();
    const query = `MATCH (a)-[r:${cypherName(type)}]->(b) RETURN ${ENDPOINT('a')} AS a, properties(r) AS props, ${ENDPOINT('b')} AS b`;
    for await (const record of tx.run(query, { keys })) {
      hash.add(
        canonicalJson({
          a: endpoint(record.get('a')),
          props: encodeNeo4jProperties(record.get('props')),
          b: endpoint(record.get('b')),
        }),
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
