/**
 * Neo4j label and relationship names of the AutoCognitix graph. Production uses bare labels (`DTC`,
 * `Symptom`, …: "scheme B"); older deployments use the neomodel class names (`DTCNode`, …: "scheme A").
 * The label names are configuration: every part of the toolkit asks this module instead of spelling them.
 */

export const LABEL_SCHEMES = ['production', 'legacy'] as const;
export type LabelScheme = (typeof LABEL_SCHEMES)[number];

export const NODE_KINDS = [
  'dtc',
  'symptom',
  'component',
  'repair',
  'part',
  'vehicle',
  'engine',
  'complaint',
  'recall',
  'category',
] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

const PRODUCTION_LABELS: Record<NodeKind, string> = {
  dtc: 'DTC',
  symptom: 'Symptom',
  component: 'Component',
  repair: 'Repair',
  part: 'Part',
  vehicle: 'Vehicle',
  engine: 'Engine',
  complaint: 'Complaint',
  recall: 'Recall',
  category: 'Category',
};

/** The uniqueness-constraint key of each kind of node: the node's identity everywhere in the toolkit. */
export const NODE_KEYS: Record<NodeKind, string> = {
  dtc: 'code',
  symptom: 'id',
  component: 'id',
  repair: 'id',
  part: 'id',
  vehicle: 'id',
  engine: 'code',
  complaint: 'odi_number',
  recall: 'campaign_number',
  category: 'id',
};

export const RELATIONSHIP_TYPES = [
  'CAUSES',
  'INDICATES_FAILURE_OF',
  'REPAIRED_BY',
  'USES_PART',
  'RELATED_TO',
  'BELONGS_TO',
  'USES_ENGINE',
  'HAS_COMMON_ISSUE',
  'HAS_COMPLAINT',
  'MENTIONS_DTC',
  'HAS_RECALL',
] as const;
export type RelationshipType = (typeof RELATIONSHIP_TYPES)[number];

export interface LabelMap {
  scheme: LabelScheme;
  label(kind: NodeKind): string;
}

export function labelMap(scheme: LabelScheme = 'production'): LabelMap {
  return {
    scheme,
    label: (kind) => (scheme === 'production' ? PRODUCTION_LABELS[kind] : `${PRODUCTION_LABELS[kind]}Node`),
  };
}

export function parseLabelScheme(value: string | undefined): LabelScheme {
  const scheme = value ?? 'production';
  if (!(LABEL_SCHEMES as readonly string[]).includes(scheme)) {
    throw new Error(`unknown label scheme "${scheme}" (expected ${LABEL_SCHEMES.join(' or ')})`);
  }
  return scheme as LabelScheme;
}
