/**
 * Content fingerprints of a Neo4j database, read in one read transaction: one per label (labels and
 * typed properties of every node), one per relationship type (type, properties and both endpoints by
 * their key: label + key value, or all properties for labels without a known key), and the schema
 * (constraints and indexes with their definitions).
 */
import { canonicalJson, MultisetHash, type Fingerprint } from '../../model/content-hash.ts';
import { NODE_KEYS, NODE_KINDS, type LabelMap } from '../../model/labels.ts';
import { cypherName, type Neo4jConnection } from './neo4j-connection.ts';
import { encodeNeo4jProperties, encodeNeo4jValue } from './neo4j-values.ts';

export function keyPropertiesByLabel(labels: LabelMap): Record<string, string> {
  return Object.fromEntries(NODE_KINDS.map((kind) => [labels.label(kind), NODE_KEYS[kind]]));
}

const ENDPOINT = (v: string) =>
  `{labels: labels(${v}), key: CASE WHEN $keys[head(labels(${v}))] IS NULL THEN properties(${v}) ELSE ${v}[$keys[head(labels(${v}))]] END}`;

export async function fingerprintNeo4j(connection: Neo4jConnection, labels: LabelMap): Promise<Fingerprint> {
  const out: Fingerprint = {};
  const session = connection.driver.session({ database: connection.database, defaultAccessMode: 'READ' });
  const tx = session.beginTransaction();
  try {
    const keys = keyPropertiesByLabel(labels);
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
      out[`neo4j/nodes/${label}`] = { records: hash.count, hash: hash.digest() };
    }
    const types = (
      await tx.run('CALL db.relationshipTypes() YIELD relationshipType AS t RETURN t')
    ).records.map((r) => r.get('t') as string);
    for (const type of types.sort()) {
      const hash = new MultisetHash();
      const query = `MATCH (a)-[r:${cypherName(type)}]->(b) RETURN ${ENDPOINT('a')} AS a, properties(r) AS props, ${ENDPOINT('b')} AS b`;
      for await (const record of tx.run(query, { keys })) {
        hash.add(
          canonicalJson({
            a: encodeNeo4jValue(record.get('a')),
            props: encodeNeo4jProperties(record.get('props')),
            b: encodeNeo4jValue(record.get('b')),
          }),
        );
      }
      out[`neo4j/relationships/${type}`] = { records: hash.count, hash: hash.digest() };
    }
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
    out['neo4j/schema'] = { records: schema.count, hash: schema.digest() };
    await tx.commit();
  } finally {
    await session.close();
  }
  return out;
}
