/**
 * One content fingerprint over the three stores: the proof used by round-trip tests (backup → restore,
 * export → import), by the demo, and by "the same seed gives the same data".
 */
import type pg from 'pg';
import type { Fingerprint } from '../model/content-hash.ts';
import type { LabelMap } from '../model/labels.ts';
import type { Neo4jConnection } from '../stores/neo4j/neo4j-connection.ts';
import { fingerprintNeo4j } from '../stores/neo4j/neo4j-fingerprint.ts';
import { fingerprintPostgres } from '../stores/postgres/postgres-fingerprint.ts';
import type { QdrantClient } from '../stores/qdrant/qdrant-client.ts';
import { fingerprintQdrant } from '../stores/qdrant/qdrant-fingerprint.ts';

export async function fingerprintStores(
  targets: { postgres: pg.Pool; neo4j: Neo4jConnection; qdrant: QdrantClient },
  labels: LabelMap,
): Promise<Fingerprint> {
  const [postgres, neo4j, qdrant] = await Promise.all([
    fingerprintPostgres(targets.postgres),
    fingerprintNeo4j(targets.neo4j, labels),
    fingerprintQdrant(targets.qdrant),
  ]);
  return { ...postgres, ...neo4j, ...qdrant };
}
