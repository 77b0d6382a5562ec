/**
 * The AutoCognitix graph as pure functions of (seed, index): node properties carry Neo4j's own types
 * (Integer, DateTime, Date, Point, Duration), so what the seed writes is what a backup must preserve.
 */
import neo4j from 'neo4j-driver';
import { rngFor } from './random.ts';
import { dtcCode, dtcRecord } from './dtc.ts';
import type { NodeKind, RelationshipType } from '../model/labels.ts';
import type { SeedCounts } from './plan.ts';
import { complaintInfo, frequencyLink, recallInfo } from './postgres-rows.ts';
import { engineInfo, modelInfo, platformCode } from './vehicles.ts';
import {
  CATEGORIES,
  COMPONENTS_EN,
  COMPONENTS_HU,
  DIFFICULTIES,
  PARTS,
  REPAIRS_HU,
  SYMPTOMS_EN,
  SYMPTOMS_HU,
  SYSTEMS,
} from './vocabulary.ts';

export type GraphProps = Record<string, unknown>;
const int = (value: number) => neo4j.int(value);
const dateTime = (d: Date) => neo4j.types.DateTime.fromStandardDate(d, 0);
const date = (iso: string) => {
  const [y, m, d] = iso.split('-').map(Number);
  return new neo4j.types.Date(y ?? 2000, m ?? 1, d ?? 1);
};
const withoutNulls = (props: GraphProps): GraphProps =>
  Object.fromEntries(Object.entries(props).filter(([, v]) => v !== null && v !== undefined));

export interface NodeSet {
  kind: NodeKind;
  count: (counts: SeedCounts) => number;
  /** The node's properties, or null when index i has no node of this kind. */
  node: (seed: number, i: number, counts: SeedCounts) => GraphProps | null;
}

export const NODE_SETS: readonly NodeSet[] = [
  {
    kind: 'category',
    count: () => CATEGORIES.length,
    node: (_seed, i) => {
      const c = CATEGORIES[i] ?? CATEGORIES[0];
      return { id: c.id, letter: c.letter, name_hu: c.name_hu, name_en: c.name_en };
    },
  },
  {
    kind: 'dtc',
    count: (c) => c.dtc,
    node: (seed, i, counts) => {
      const d = dtcRecord(seed, i, counts.dtc);
      return withoutNulls({
        code: d.code,
        description_en: d.description_en,
        description_hu: d.description_hu,
        category: d.category,
        severity: d.severity,
        is_generic: d.is_generic,
        system: d.system,
        symptoms: d.symptoms,
        possible_causes: d.possible_causes,
        diagnostic_steps: d.diagnostic_steps,
        related_codes: d.related_codes,
        manufacturer_code: d.manufacturer_code,
        applicable_makes: d.applicable_makes,
        sources: d.sources,
        created_at: dateTime(d.created_at),
        updated_at: dateTime(d.updated_at),
      });
    },
  },
  {
    kind: 'symptom',
    count: (c) => c.symptoms,
    node: (seed, i) => {
      const rng = rngFor(seed, 'symptom', i);
      const s = i % SYMPTOMS_HU.length;
      return withoutNulls({
        id: `sym_${i}`,
        name: `${SYMPTOMS_HU[s]}${i >= SYMPTOMS_HU.length ? ` #${i}` : ''}`,
        name_en: SYMPTOMS_EN[s],
        description_hu: rng.chance(0.3) ? null : `${SYMPTOMS_HU[s]} – jellemzően terhelés alatt jelentkezik.`,
        severity: rng.pick(['low', 'medium', 'high']),
        keywords: rng.sample(['motor', 'fék', 'füst', 'zaj', 'lámpa', 'rezgés'], rng.int(0, 3)),
      });
    },
  },
  {
    kind: 'component',
    count: (c) => c.components,
    node: (seed, i) => {
      const rng = rngFor(seed, 'component', i);
      const k = i % COMPONENTS_EN.length;
      return withoutNulls({
        id: `comp_${i}`,
        name: COMPONENTS_EN[k],
        name_hu: COMPONENTS_HU[k],
        system: rng.pick(Object.values(SYSTEMS).flat()),
        part_number: rng.chance(0.4)
          ? null
          : `${rng.hex(3).toUpperCase()}-${rng.int(100, 999)}-${rng.hex(3).toUpperCase()}`,
      });
    },
  },
  {
    kind: 'repair',
    count: (c) => c.repairs,
    node: (seed, i) => {
      const rng = rngFor(seed, 'repair', i);
      const minutes = rng.int(15, 480);
      const min = rng.int(5, 200) * 1000;
      return {
        id: `rep_${i}`,
        name: rng.pick(REPAIRS_HU),
        description_hu: `${rng.pick(REPAIRS_HU)} és ellenőrzés.`,
        difficulty: rng.pick(DIFFICULTIES),
        estimated_time_minutes: int(minutes),
        estimated_cost_min: int(min),
        estimated_cost_max: int(min * rng.int(1, 3)),
        typical_duration: new neo4j.types.Duration(0, 0, minutes * 60, 0),
      };
    },
  },
  {
    kind: 'part',
    count: (c) => c.parts,
    node: (seed, i) => {
      const rng = rngFor(seed, 'part', i);
      const p = PARTS[i % PARTS.length] ?? PARTS[0];
      return {
        id: `part_${i}`,
        name: p[2],
        name_hu: p[1],
        part_number: `${p[0].toUpperCase()}-${i}`,
        price_min: p[3] * 0.6,
        price_max: p[3] * rng.int(2, 4) + 0.5,
        currency: 'HUF',
        oem_required: rng.chance(0.3),
      };
    },
  },
  {
    kind: 'engine',
    count: (c) => c.engines,
    node: (seed, i, counts) => {
      const e = engineInfo(seed, counts, i);
      return withoutNulls({
        code: e.code,
        name: e.name,
        fuel_type: e.fuelType,
        manufacturer: e.manufacturer,
        power_kw: int(e.powerKw),
        displacement_cc: e.displacementCc === null ? null : int(e.displacementCc),
        displacement_l: e.displacementCc === null ? null : Math.round(e.displacementCc / 100) / 10,
      });
    },
  },
  {
    kind: 'vehicle',
    count: (c) => c.models,
    node: (seed, i, counts) => {
      const m = modelInfo(seed, counts, i);
      return withoutNulls({
        id: m.id,
        make: m.makeName,
        model: m.name,
        year_start: int(m.yearStart),
        year_end: m.yearEnd === null ? null : int(m.yearEnd),
        body_types: m.bodyTypes,
        engine_codes: m.engineIndexes.map((e) => engineInfo(seed, counts, e).code),
        platform: m.platformIndex === null ? null : platformCode(m.platformIndex),
        country: 'HU',
      });
    },
  },
  {
    kind: 'complaint',
    count: (c) => c.complaints,
    node: (seed, i, counts) => {
      const c = complaintInfo(seed, counts, i);
      if (!c.inGraph) return null;
      return withoutNulls({
        odi_number: int(c.odiNumber),
        make: c.make.toUpperCase(),
        model: c.model.toUpperCase(),
        year: int(c.modelYear),
        summary: c.summary,
        complaint_date: date(c.date),
        crash: c.crash,
        city: c.hasLocation ? c.city : null,
        location: c.hasLocation ? new neo4j.types.Point(4326, c.longitude, c.latitude) : null,
      });
    },
  },
  {
    kind: 'recall',
    count: (c) => c.recalls,
    node: (seed, i, counts) => {
      const r = recallInfo(seed, counts, i);
      return {
        campaign_number: r.campaignNumber,
        make: r.make,
        model: r.model,
        model_year: int(r.modelYear),
        recall_date: date(r.recallDate),
        component: r.component,
        summary: r.summary,
      };
    },
  },
];

export interface GraphRelationship {
  start: unknown;
  end: unknown;
  props: GraphProps;
}

export interface RelationshipSet {
  type: RelationshipType;
  from: NodeKind;
  to: NodeKind;
  /** How many source indexes to walk; each yields zero or more relationships. */
  count: (counts: SeedCounts) => number;
  rels: (seed: number, i: number, counts: SeedCounts) => GraphRelationship[];
}

const sampleIndexes = (
  seed: number,
  stream: string,
  i: number,
  n: number,
  min: number,
  max: number,
): number[] => {
  const rng = rngFor(seed, stream, i);
  return rng.sample(
    Array.from({ length: n }, (_, k) => k),
    rng.int(min, max),
  );
};

export const RELATIONSHIP_SETS: readonly RelationshipSet[] = [
  {
    type: 'BELONGS_TO',
    from: 'dtc',
    to: 'category',
    count: (c) => c.dtc,
    rels: (seed, i, counts) => [
      { start: dtcCode(seed, i), end: dtcRecord(seed, i, counts.dtc).category, props: {} },
    ],
  },
  {
    type: 'CAUSES',
    from: 'dtc',
    to: 'symptom',
    count: (c) => c.dtc,
    rels: (seed, i, counts) => {
      const rng = rngFor(seed, 'causes:props', i);
      return sampleIndexes(seed, 'causes', i, Math.min(counts.symptoms, 400), 1, 3)
        .map((s) => ({
          start: dtcCode(seed, i),
          end: `sym_${(s * 7 + i) % counts.symptoms}`,
          props: {
            confidence: Math.round(rng.next() * 100) / 100,
            data_source: rng.pick(['generic', 'forum', 'nhtsa']),
          },
        }))
        .filter((r, k, all) => all.findIndex((o) => o.end === r.end) === k);
    },
  },
  {
    type: 'INDICATES_FAILURE_OF',
    from: 'dtc',
    to: 'component',
    count: (c) => c.dtc,
    rels: (seed, i, counts) => {
      const rng = rngFor(seed, 'ifo:props', i);
      return [...new Set([rng.int(0, counts.components - 1), rng.int(0, counts.components - 1)])]
        .slice(0, rng.int(1, 2))
        .map((k) => ({
          start: dtcCode(seed, i),
          end: `comp_${k}`,
          props: {
            confidence: Math.round(rng.next() * 100) / 100,
            failure_mode: rng.pick(['elektromos', 'mechanikai', 'szoftver']),
          },
        }));
    },
  },
  {
    type: 'RELATED_TO',
    from: 'dtc',
    to: 'dtc',
    count: (c) => c.dtc,
    rels: (seed, i, counts) =>
      dtcRecord(seed, i, counts.dtc).related_codes.map((code) => ({
        start: dtcCode(seed, i),
        end: code,
        props: {},
      })),
  },
  {
    type: 'REPAIRED_BY',
    from: 'component',
    to: 'repair',
    count: (c) => c.components,
    rels: (seed, i, counts) => {
      const rng = rngFor(seed, 'repaired_by', i);
      return [...new Set([rng.int(0, counts.repairs - 1), rng.int(0, counts.repairs - 1)])].map((r) => ({
        start: `comp_${i}`,
        end: `rep_${r}`,
        props: { difficulty: rng.pick(DIFFICULTIES), estimated_time_minutes: int(rng.int(10, 300)) },
      }));
    },
  },
  {
    type: 'USES_PART',
    from: 'repair',
    to: 'part',
    count: (c) => c.repairs,
    rels: (seed, i, counts) => {
      const rng = rngFor(seed, 'uses_part', i);
      return [...new Set(Array.from({ length: rng.int(0, 3) }, () => rng.int(0, counts.parts - 1)))].map(
        (p) => ({
          start: `rep_${i}`,
          end: `part_${p}`,
          props: { quantity: int(rng.int(1, 4)), optional: rng.chance(0.2) },
        }),
      );
    },
  },
  {
    type: 'USES_ENGINE',
    from: 'vehicle',
    to: 'engine',
    count: (c) => c.models,
    rels: (seed, i, counts) => {
      const m = modelInfo(seed, counts, i);
      return m.engineIndexes.map((e, k) => ({
        start: m.id,
        end: engineInfo(seed, counts, e).code,
        props: withoutNulls({
          year_start: int(m.yearStart),
          year_end: m.yearEnd === null ? null : int(m.yearEnd),
          is_base_engine: k === 0,
        }),
      }));
    },
  },
  {
    type: 'HAS_COMMON_ISSUE',
    from: 'vehicle',
    to: 'dtc',
    count: (c) => c.frequency,
    rels: (seed, i, counts) => {
      const link = frequencyLink(counts, i);
      const rng = rngFor(seed, 'frequency', i);
      return [
        {
          start: modelInfo(seed, counts, link.model).id,
          end: dtcCode(seed, link.dtc),
          props: {
            occurrence_count: int(rng.int(1, 5000)),
            frequency: rng.pick(['rare', 'occasional', 'common', 'very_common']),
            data_source: 'vehicle_dtc_frequency',
          },
        },
      ];
    },
  },
  {
    type: 'HAS_COMPLAINT',
    from: 'vehicle',
    to: 'complaint',
    count: (c) => c.complaints,
    rels: (seed, i, counts) => {
      const c = complaintInfo(seed, counts, i);
      return c.inGraph
        ? [{ start: modelInfo(seed, counts, c.modelIndex).id, end: int(c.odiNumber), props: {} }]
        : [];
    },
  },
  {
    type: 'MENTIONS_DTC',
    from: 'complaint',
    to: 'dtc',
    count: (c) => c.complaints,
    rels: (seed, i, counts) => {
      const c = complaintInfo(seed, counts, i);
      return c.inGraph ? c.dtcCodes.map((code) => ({ start: int(c.odiNumber), end: code, props: {} })) : [];
    },
  },
  {
    type: 'HAS_RECALL',
    from: 'vehicle',
    to: 'recall',
    count: (c) => c.recalls,
    rels: (seed, i, counts) => {
      const r = recallInfo(seed, counts, i);
      return [
        {
          start: modelInfo(seed, counts, r.modelIndex).id,
          end: r.campaignNumber,
          props: { model_year: int(r.modelYear) },
        },
      ];
    },
  },
];
