/**
 * What the three stores hold: rows per table, nodes per label, relationships per type, points per
 * collection and per payload type, and whether the entities that live in several stores agree.
 */
import type { LabelMap, NodeKind } from '../model/labels.ts';
import type { Store } from '../stores/store.ts';
import type { OpenStores } from './open-stores.ts';

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
  stores: OpenStores,
  collection: string,
  labels: LabelMap,
): Promise<StoreInventory> {
  const [pg, graph, vectors] = await Promise.all(
    ([stores.postgres, stores.neo4j, stores.qdrant] as Store[]).map((store) =>
      store.counts({ labels, collection }),
    ),
  );
  const postgres = pg?.tables ?? {};
  const neo4j = { labels: graph?.labels ?? {}, types: graph?.types ?? {} };
  const qdrant = { collections: vectors?.collections ?? {}, types: vectors?.types ?? {} };
  const agreement = CROSS_STORE.map(({ entity, table, kind, pointType }) => {
    const row: Agreement = { entity, postgres: postgres[table] ?? 0, agrees: true };
    if (kind) row.neo4j = neo4j.labels[labels.label(kind)] ?? 0;
    if (pointType) row.qdrant = qdrant.types[pointType] ?? 0;
    row.agrees = [row.neo4j, row.qdrant].every((n) => n === undefined || n === row.postgres);
    return row;
  });
  return { postgres, neo4j, qdrant, agreement };
}
