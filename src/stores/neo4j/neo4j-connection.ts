import neo4j, { type Driver } from 'neo4j-driver';
import { AcxError, redactSecrets } from '../../errors.ts';
import type { Neo4jSettings } from '../../config/env.ts';

export interface Neo4jConnection {
  driver: Driver;
  database: string | undefined;
}

/** Opens a driver and proves the credentials with a real round trip. */
export async function openNeo4j(settings: Neo4jSettings): Promise<Neo4jConnection> {
  const driver = neo4j.driver(settings.uri, neo4j.auth.basic(settings.user, settings.password), {
    disableLosslessIntegers: false,
    maxConnectionPoolSize: 8,
    connectionAcquisitionTimeout: 60_000,
  });
  try {
    // neo4j-driver 6 answers false (instead of throwing) when the credentials are refused.
    if (!(await driver.verifyAuthentication({ database: settings.database }))) {
      throw new Error(`authentication failed for user "${settings.user}"`);
    }
  } catch (cause) {
    await driver.close().catch(() => undefined);
    const message = redactSecrets(String((cause as Error).message)).replace(
      settings.password || '\u0000',
      '***',
    );
    throw new AcxError(
      'CONNECTION',
      `cannot connect to Neo4j at ${redactSecrets(settings.uri)}: ${message}`,
      {
        subject: 'neo4j',
        cause,
        hint: 'check NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD and that Neo4j is running',
      },
    );
  }
  return { driver, database: settings.database };
}

export async function neo4jVersion(connection: Neo4jConnection): Promise<string> {
  const result = await connection.driver.executeQuery(
    'CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0] AS version, edition',
    {},
    { database: connection.database, routing: 'READ' },
  );
  const record = result.records[0];
  return record ? `${record.get('version')} ${record.get('edition')}` : 'unknown';
}

/** Backquotes a label, relationship type or property name for Cypher. */
export function cypherName(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** Groups rows by a key (label set, relationship type) so that each group is one UNWIND statement. */
export function groupBy<T>(rows: Array<{ key: string; row: T }>): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const { key, row } of rows) {
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}
