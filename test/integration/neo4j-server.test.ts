// The local Neo4j of the stack (scripts/stack/neo4j.ts): the right server, authentication on, writes
// that read back, and APOC core loaded from the plugins directory.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import neo4j, { type Driver } from 'neo4j-driver';

const uri = process.env.NEO4J_URI ?? 'bolt://127.0.0.1:7687';
const user = process.env.NEO4J_USER ?? 'neo4j';
const password = process.env.NEO4J_PASSWORD ?? '';

describe('local Neo4j server', () => {
  let driver: Driver;

  beforeAll(() => {
    driver = neo4j.driver(uri, neo4j.auth.basic(user, password));
  });

  afterAll(async () => {
    await driver.close();
  });

  it('is Neo4j 5.26 Community edition', async () => {
    const { records } = await driver.executeQuery(
      'CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0] AS version, edition',
    );
    expect(records).toHaveLength(1);
    expect(records[0]?.get('name')).toBe('Neo4j Kernel');
    expect(String(records[0]?.get('version'))).toMatch(/^5\.26\.\d+$/);
    expect(records[0]?.get('edition')).toBe('community');
  });

  it('accepts the configured password and rejects a wrong one', async () => {
    expect(await driver.verifyAuthentication()).toBe(true);
    const wrong = neo4j.driver(uri, neo4j.auth.basic(user, `${password}-wrong`));
    try {
      // verifyAuthentication resolves to false (it does not throw) when the credentials are refused.
      expect(await wrong.verifyAuthentication()).toBe(false);
      await expect(wrong.executeQuery('RETURN 1')).rejects.toMatchObject({
        code: 'Neo.ClientError.Security.Unauthorized',
      });
    } finally {
      await wrong.close();
    }
  });

  it('reads back what it wrote', async () => {
    const marker = `neo4j-server-test-${process.pid}-${Date.now()}`;
    try {
      await driver.executeQuery('CREATE (:AcxServerProbe {marker: $marker, payload: $payload})', {
        marker,
        payload: 'héllo ✓',
      });
      const { records } = await driver.executeQuery(
        'MATCH (n:AcxServerProbe {marker: $marker}) RETURN n.payload AS payload',
        { marker },
        { routing: 'READ' },
      );
      expect(records.map((r) => r.get('payload'))).toEqual(['héllo ✓']);
    } finally {
      await driver.executeQuery('MATCH (n:AcxServerProbe {marker: $marker}) DELETE n', { marker });
    }
  });

  it('has APOC core', async () => {
    const { records } = await driver.executeQuery('RETURN apoc.version() AS version');
    const version = String(records[0]?.get('version'));
    console.log(`APOC ${version}`);
    expect(version).toMatch(/^5\.26\.\d+$/);
  });
});
