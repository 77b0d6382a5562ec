/**
 * Qdrant points of the unified `autocognitix` collection, as production's loaders shape them: ids from
 * md5("<type>_<key>"), payloads discriminated by `type`, unit-length 768-dim vectors. Vectors are
 * deterministic stand-ins for huBERT embeddings (no model is loaded), exact in float32.
 */
import { rngFor } from './random.ts';
import { dtcRecord } from './dtc.ts';
import { EMBEDDING_DIMENSION, pointId, type PointType } from '../model/qdrant-model.ts';
import type { SeedCounts } from './plan.ts';
import { complaintInfo, epaInfo, recallInfo } from './postgres-rows.ts';
import { modelInfo } from './vehicles.ts';

export interface SeedPoint {
  id: bigint;
  vector: number[];
  payload: Record<string, unknown>;
}

/** A unit vector in float32 precision: every component is exactly representable as float32. */
export function seedVector(seed: number, stream: string, index: number, dim = EMBEDDING_DIMENSION): number[] {
  const rng = rngFor(seed, `vector:${stream}`, index);
  const values = new Float64Array(dim);
  let norm = 0;
  for (let k = 0; k < dim; k++) {
    const v = rng.gaussian();
    values[k] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm) || 1;
  return Array.from(values, (v) => Math.fround(v / norm));
}

export interface PointSet {
  type: PointType;
  count: (counts: SeedCounts) => number;
  point: (seed: number, i: number, counts: SeedCounts) => SeedPoint;
}

export const POINT_SETS: readonly PointSet[] = [
  {
    type: 'dtc',
    count: (c) => c.dtc,
    point: (seed, i, counts) => {
      const d = dtcRecord(seed, i, counts.dtc);
      return {
        id: pointId('dtc', d.code),
        vector: seedVector(seed, 'dtc', i),
        payload: {
          type: 'dtc',
          source: d.sources?.[0] ?? 'generic',
          code: d.code,
          description: d.description_hu || d.description_en,
          description_en: d.description_en,
          category: d.category,
          severity: d.severity,
          system: d.system,
          is_generic: d.is_generic,
        },
      };
    },
  },
  {
    type: 'complaint',
    count: (c) => c.complaints,
    point: (seed, i, counts) => {
      const c = complaintInfo(seed, counts, i);
      return {
        id: pointId('complaint', c.odiNumber),
        vector: seedVector(seed, 'complaint', i),
        payload: {
          type: 'complaint',
          odi_number: c.odiNumber,
          make: c.make.toUpperCase(),
          model: c.model.toUpperCase(),
          year: c.modelYear,
          summary: c.summary,
          dtc_codes: c.dtcCodes,
          crash: c.crash,
        },
      };
    },
  },
  {
    type: 'recall',
    count: (c) => c.recalls,
    point: (seed, i, counts) => {
      const r = recallInfo(seed, counts, i);
      return {
        id: pointId('recall', r.campaignNumber),
        vector: seedVector(seed, 'recall', i),
        payload: {
          type: 'recall',
          campaign_number: r.campaignNumber,
          make: r.make,
          model: r.model,
          model_year: r.modelYear,
          component: r.component,
          summary: r.summary,
          dtc_codes: r.dtcCodes,
        },
      };
    },
  },
  {
    type: 'vehicle_spec',
    count: (c) => c.models,
    point: (seed, i, counts) => {
      const m = modelInfo(seed, counts, i);
      return {
        id: pointId('vehicle_spec', m.id),
        vector: seedVector(seed, 'vehicle_spec', i),
        payload: {
          type: 'vehicle_spec',
          vehicle_id: m.id,
          make: m.makeName,
          model: m.name,
          year_start: m.yearStart,
          year_end: m.yearEnd,
          body_types: m.bodyTypes,
        },
      };
    },
  },
  {
    type: 'epa_vehicle',
    count: (c) => c.epa,
    point: (seed, i, counts) => {
      const e = epaInfo(seed, counts, i);
      return {
        id: pointId('epa_vehicle', e.id),
        vector: seedVector(seed, 'epa_vehicle', i),
        payload: {
          type: 'epa_vehicle',
          epa_id: e.id,
          make: e.make,
          model: e.model,
          year: e.year,
          fuel_type: e.fuelType,
          city_mpg: e.cityMpg,
          highway_mpg: e.highwayMpg,
        },
      };
    },
  },
];
