/**
 * Generated data as the dataset generator (src/seed/) hands it to the stores: datasets whose records
 * are produced by index, so a store writes them in batches without the whole set ever in memory. Each
 * store takes its part (`Store.seed`).
 */
import type { LabelMap, NodeKind } from './labels.ts';

export interface SeedTableSource {
  table: string;
  columns: readonly string[];
  total: number;
  /** Row `i` (0 ≤ i < total), values in `columns` order. */
  row(i: number): unknown[];
}

export interface SeedNodeSource {
  kind: NodeKind;
  total: number;
  /** The properties of node `i`, or null when index `i` has no node. */
  node(i: number): Record<string, unknown> | null;
}

export interface SeedRelationshipSource {
  type: string;
  from: NodeKind;
  to: NodeKind;
  /** How many source indexes to walk; each gives zero or more relationships. */
  total: number;
  /** `start`/`end`: the key values of the end nodes (of kinds `from`/`to`). */
  rels(i: number): Array<{ start: unknown; end: unknown; props: Record<string, unknown> }>;
}

export interface SeedPointSource {
  type: string;
  total: number;
  point(i: number): { id: bigint; vector: number[]; payload: Record<string, unknown> };
}

export interface SeedSource {
  labels: LabelMap;
  collection: string;
  /** Records per write (graph nodes and relationships); stores choose their own default. */
  batchSize?: number;
  tables: readonly SeedTableSource[];
  nodes: readonly SeedNodeSource[];
  relationships: readonly SeedRelationshipSource[];
  points: readonly SeedPointSource[];
}
