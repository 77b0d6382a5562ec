/**
 * What the three stores hold: rows per table, nodes per label, relationships per type, points per
 * collection and per payload type, and whether the entities that live in several stores agree.
 */
import type pg from 'pg';
import type { LabelMap, NodeKind } from '../model/labels.ts';
import { POINT_TYPES } from '../model/qdrant-model.ts';
import { countRows, listPostgresTables } from '../stores/postgres/postgres-schema.ts';
import type { Neo4jConnection } from '../stores/neo4j/neo4j-connection.ts';
import { countGraph } from '../stores/neo4j/neo4j-schema.ts';
import type { QdrantClient } from '../stores/qdrant/qdrant-client.ts';
import { countPointsByType } from '../stores/qdrant/qdrant-schema.ts';

export interface Agreement {
  entity: string;
  postgres: number;
  neo4j?: number;
  qdrant?: number;
  agrees: boolean;
}

export interface StoreInventory {
  postgres: Record<string, number>;
  neo4j: { labels: Record<string, number>; types: Record<string, number> };
  qdrant: { collections: Record<string, number>; types: Record<string, number> };
  agreement: Agreement[];
}

/** Entities present in several stores: PostgreSQL table, graph node kind, Qdrant payload type. */
const CROSS_STORE: Array<{ entity: string; table: string; kind?: NodeKind; pointType?: string }> = [
  { entity: 'DTC codes', table: 'dtc_codes', kind: 'dtc', pointType: 'dtc' },
  { entity: 'vehicle models', table: 'vehicle_models', kind: 'vehicle', pointType: 'vehicle_spec' },
  { entity: 'engines', table: 'vehicle_engines', kind: 'engine' },
  { entity: 'recalls', table: 'vehicle_recalls', kind: 'recall', pointType: 'recall' },
  { entity: 'complaints', table: 'vehicle_complaints', pointType: 'complaint' },
  { entity: 'EPA vehicles', table: 'epa_vehicles', pointType: 'epa_vehicle' },
];

export async function inventoryStores(
  targets: { postgres: pg.Pool; neo4j: Neo4jConnection; qdrant: QdrantClient },
  collection: string,
  labels: LabelMap,
): Promise<StoreInventory> {
  const postgres: Record<string, number> = {};
  for (const table of await listPostgresTables(targets.postgres))
    postgres[table] = await countRows(targets.postgres, table);
  const neo4j = await countGraph(targets.neo4j);
  const collections: Record<string, number> = {};
  for (const name of await targets.qdrant.listCollections())
    collections[name] = await targets.qdrant.count(name);
  const types =
    collection in collections ? await countPointsByType(targets.qdrant, collection, POINT_TYPES) : {};
  const agreement = CROSS_STORE.map(({ entity, table, kind, pointType }) => {
    const row: Agreement = { entity, postgres: postgres[table] ?? 0, agrees: true };
    if (kind) row.neo4j = neo4j.labels[labels.label(kind)] ?? 0;
    if (pointType) row.qdrant = types[pointType] ?? 0;
    row.agrees = [row.neo4j, row.qdrant].every((n) => n === undefined || n === row.postgres);
    return row;
  });
  return { postgres, neo4j, qdrant: { collections, types }, agreement };
}
