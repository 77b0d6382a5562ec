/**
 * The AutoCognitix graph schema: a uniqueness constraint on every node kind's key, range indexes on the
 * properties the application filters on, a relationship-property index and the full-text index over DTC
 * descriptions. Names follow production (`dtc_code_unique`, `dtc_description_hu_idx`).
 */
import { NODE_KEYS, NODE_KINDS, type LabelMap } from '../../model/labels.ts';
import { cypherName, type Neo4jConnection } from './neo4j-connection.ts';

export function neo4jSchemaStatements(labels: LabelMap): string[] {
  const l = (kind: Parameters<LabelMap['label']>[0]) => cypherName(labels.label(kind));
  const statements = NODE_KINDS.map(
    (kind) =>
      `CREATE CONSTRAINT ${kind}_${NODE_KEYS[kind]}_unique IF NOT EXISTS FOR (n:${l(kind)}) REQUIRE n.${cypherName(NODE_KEYS[kind])} IS UNIQUE`,
  );
  const ranges: Array<[string, string, string]> = [
    ['dtc_category_idx', l('dtc'), 'n.category'],
    ['dtc_severity_idx', l('dtc'), 'n.severity'],
    ['symptom_name_idx', l('symptom'), 'n.name'],
    ['component_name_idx', l('component'), 'n.name'],
    ['component_system_idx', l('component'), 'n.system'],
    ['repair_name_idx', l('repair'), 'n.name'],
    ['part_name_idx', l('part'), 'n.name'],
    ['part_number_idx', l('part'), 'n.part_number'],
    ['vehicle_make_model_idx', l('vehicle'), 'n.make, n.model'],
  ];
  for (const [name, label, props] of ranges)
    statements.push(`CREATE INDEX ${name} IF NOT EXISTS FOR (n:${label}) ON (${props})`);
  statements.push(
    'CREATE INDEX has_common_issue_frequency_idx IF NOT EXISTS FOR ()-[r:HAS_COMMON_ISSUE]-() ON (r.frequency)',
  );
  statements.push(
    `CREATE FULLTEXT INDEX dtc_description_hu_idx IF NOT EXISTS FOR (n:${l('dtc')}) ON EACH [n.description_hu, n.description_en]`,
  );
  return statements;
}

export async function applyNeo4jSchema(connection: Neo4jConnection, labels: LabelMap): Promise<void> {
  for (const statement of neo4jSchemaStatements(labels)) {
    await connection.driver.executeQuery(statement, {}, { database: connection.database });
  }
  await connection.driver.executeQuery('CALL db.awaitIndexes(300)', {}, { database: connection.database });
}

export async function isNeo4jEmpty(connection: Neo4jConnection): Promise<boolean> {
  const result = await connection.driver.executeQuery(
    'MATCH (n) RETURN n LIMIT 1',
    {},
    { database: connection.database, routing: 'READ' },
  );
  return result.records.length === 0;
}

/** Deletes every node and relationship (in batches), then every constraint and index. */
export async function emptyNeo4j(connection: Neo4jConnection): Promise<void> {
  await detachDeleteInBatches(connection, 'MATCH (n)');
  const run = (q: string) => connection.driver.executeQuery(q, {}, { database: connection.database });
  for (const record of (await run('SHOW CONSTRAINTS YIELD name RETURN name')).records) {
    await run(dropStatement('constraint', record.get('name') as string));
  }
  const indexes = await run("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name");
  for (const record of indexes.records) await run(dropStatement('index', record.get('name') as string));
}

/** Deletes the nodes `match` binds to `n` (`MATCH (n:Label)`), with their relationships, 10 000 per transaction. */
export async function detachDeleteInBatches(connection: Neo4jConnection, match: string): Promise<void> {
  const session = connection.driver.session({ database: connection.database });
  try {
    await session.run(`${match} CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS`);
  } finally {
    await session.close();
  }
}

/** `DROP CONSTRAINT name IF EXISTS` or `DROP INDEX name IF EXISTS`. */
export const dropStatement = (kind: 'constraint' | 'index', name: string): string =>
  `DROP ${kind === 'constraint' ? 'CONSTRAINT' : 'INDEX'} ${cypherName(name)} IF EXISTS`;

/** Node counts per label and relationship counts per type (from the count store: instant). */
export async function countGraph(
  connection: Neo4jConnection,
): Promise<{ labels: Record<string, number>; types: Record<string, number> }> {
  const run = (q: string) =>
    connection.driver.executeQuery(q, {}, { database: connection.database, routing: 'READ' });
  const labels: Record<string, number> = {};
  for (const r of (await run('CALL db.labels() YIELD label RETURN label')).records) {
    const label = r.get('label') as string;
    const counted = await run(`MATCH (n:${cypherName(label)}) RETURN count(n) AS n`);
    labels[label] = Number(counted.records[0]?.get('n') ?? 0);
  }
  const types: Record<string, number> = {};
  for (const r of (
    await run('CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType AS t')
  ).records) {
    const type = r.get('t') as string;
    const counted = await run(`MATCH ()-[r:${cypherName(type)}]->() RETURN count(r) AS n`);
    types[type] = Number(counted.records[0]?.get('n') ?? 0);
  }
  return { labels, types };
}
