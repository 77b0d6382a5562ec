/**
 * Store helpers of the benchmarks: empty stores (what `acx-data seed` cannot do alone) and count what
 * they hold (to check that a restore being timed really restored everything).
 *
 *   npx node bench/stores.ts empty [postgres] [neo4j] [qdrant]   (none named: all three)
 *   npx node bench/stores.ts counts
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openAllStores } from '../src/operations/open-stores.ts';
import { connectionsOf } from '../test/support/stores.ts';
import { emptyPostgres, listPostgresTables, countRows } from '../src/stores/postgres/postgres-schema.ts';
import { emptyNeo4j } from '../src/stores/neo4j/neo4j-schema.ts';
import { emptyQdrant } from '../src/stores/qdrant/qdrant-schema.ts';
import { labelMap } from '../src/model/labels.ts';

export type BenchStore = 'postgres' | 'neo4j' | 'qdrant';
export const ALL_STORES: readonly BenchStore[] = ['postgres', 'neo4j', 'qdrant'];

export interface StoreCounts {
  postgresRows: number;
  postgresTables: number;
  neo4jNodes: number;
  neo4jRelationships: number;
  qdrantPoints: number;
  qdrantCollections: number;
}

export async function emptyStores(
  env: NodeJS.ProcessEnv,
  which: readonly BenchStore[] = ALL_STORES,
): Promise<void> {
  const stores = connectionsOf(await openAllStores(env));
  try {
    if (which.includes('postgres')) await emptyPostgres(stores.postgres);
    if (which.includes('neo4j')) await emptyNeo4j(stores.neo4j);
    if (which.includes('qdrant')) await emptyQdrant(stores.qdrant);
  } finally {
    await stores.close();
  }
}

export async function countStores(env: NodeJS.ProcessEnv): Promise<StoreCounts> {
  const stores = connectionsOf(await openAllStores(env));
  try {
    const tables = await listPostgresTables(stores.postgres);
    let postgresRows = 0;
    for (const table of tables) postgresRows += await countRows(stores.postgres, table);
    const { driver, database } = stores.neo4j;
    const single = async (query: string): Promise<number> => {
      const result = await driver.executeQuery(query, {}, { database, routing: 'READ' });
      return Number(result.records[0]?.get('n') ?? 0);
    };
    const collections = await stores.qdrant.listCollections();
    let qdrantPoints = 0;
    for (const name of collections) qdrantPoints += await stores.qdrant.count(name);
    return {
      postgresRows,
      postgresTables: tables.length,
      neo4jNodes: await single('MATCH (n) RETURN count(n) AS n'),
      neo4jRelationships: await single('MATCH ()-[r]->() RETURN count(r) AS n'),
      qdrantPoints,
      qdrantCollections: collections.length,
    };
  } finally {
    await stores.close();
  }
}

/** The content fingerprint of one store (section 5 of the design): what a restore must give back. */
export async function fingerprintStore(env: NodeJS.ProcessEnv, store: BenchStore): Promise<string> {
  const stores = await openAllStores(env);
  try {
    return JSON.stringify(await stores[store].fingerprint(labelMap('production')));
  } finally {
    await stores.close();
  }
}

/** Throws unless `actual` matches `expected` on the stores named (the ones a restore was asked for). */
export function assertCounts(
  what: string,
  expected: StoreCounts,
  actual: StoreCounts,
  stores: readonly BenchStore[] = ALL_STORES,
): void {
  const keys: Record<BenchStore, Array<keyof StoreCounts>> = {
    postgres: ['postgresRows', 'postgresTables'],
    neo4j: ['neo4jNodes', 'neo4jRelationships'],
    qdrant: ['qdrantPoints', 'qdrantCollections'],
  };
  const wrong = stores.flatMap((s) => keys[s]).filter((k) => expected[k] !== actual[k]);
  if (wrong.length > 0) {
    const detail = wrong.map((k) => `${k}: expected ${expected[k]}, got ${actual[k]}`).join('; ');
    throw new Error(`${what}: the stores do not hold what was seeded (${detail})`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, ...rest] = process.argv.slice(2);
  const run = async (): Promise<void> => {
    if (command === 'counts') console.log(JSON.stringify(await countStores(process.env), null, 2));
    else if (command === 'empty') {
      const which = rest.length > 0 ? (rest as BenchStore[]) : ALL_STORES;
      const unknown = which.filter((s) => !ALL_STORES.includes(s));
      if (unknown.length > 0) throw new Error(`unknown store: ${unknown.join(', ')}`);
      await emptyStores(process.env, which);
      console.error(`emptied: ${which.join(', ')}`);
    } else {
      console.error('usage: node bench/stores.ts empty [postgres|neo4j|qdrant…] | counts');
      process.exitCode = 2;
    }
  };
  run().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}
