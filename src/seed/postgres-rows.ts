/**
 * The PostgreSQL tables the generator fills, in foreign-key order, each as a column list and a pure
 * function from a row index to its values. Values are JS values: null, string, number, boolean, Date,
 * string[] (text[]), Buffer (bytea) or a plain object (jsonb).
 */
import { DTC_FIELDS } from '../model/dtc-sync.ts';
import { rngFor } from './random.ts';
import { dtcCode, dtcRecord, timestampsFor } from './dtc.ts';
import { isComplaintInGraph, type SeedCounts } from './plan.ts';
import {
  engineInfo,
  licencePlate,
  makeOf,
  modelInfo,
  platformCode,
  platformSegment,
  sessionId,
  userId,
  userVehicleId,
  vin,
} from './vehicles.ts';
import {
  CAUSES_HU,
  CITIES,
  DIFFICULTIES,
  FIRST_NAMES,
  FUEL_TYPES,
  LAST_NAMES,
  MAKES,
  PARTS,
  RECALL_COMPONENTS,
  REMINDER_KINDS,
  REPAIRS_HU,
  STEPS_HU,
  SYMPTOMS_EN,
  SYMPTOMS_HU,
} from './vocabulary.ts';

export type PgValue =
  null | string | number | boolean | Date | string[] | Buffer | Record<string, unknown> | unknown[];

export interface SeedTable {
  table: string;
  count: (counts: SeedCounts) => number;
  columns: readonly string[];
  row: (seed: number, index: number, counts: SeedCounts) => PgValue[];
}

const ascii = (text: string): string =>
  text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
type R = ReturnType<typeof rngFor>;
const someCodes = (rng: R, seed: number, counts: SeedCounts, max: number): string[] => [
  ...new Set(Array.from({ length: rng.int(0, max) }, () => dtcCode(seed, rng.int(0, counts.dtc - 1)))),
];

function diagnosisResult(rng: R, codes: string[]): Record<string, unknown> {
  return {
    probable_causes: Array.from({ length: rng.int(1, 3) }, () => ({
      title: rng.pick(CAUSES_HU),
      description: `${rng.pick(SYMPTOMS_HU)} – ${rng.pick(CAUSES_HU).toLowerCase()}`,
      confidence: Math.round(rng.next() * 100) / 100,
      related_dtc_codes: codes.slice(0, rng.int(0, codes.length)),
      components: rng.sample(['MAF szenzor', 'Lambdaszonda', 'Gyújtótekercs', 'ABS jeladó'], rng.int(0, 2)),
    })),
    recommended_repairs: Array.from({ length: rng.int(0, 2) }, () => {
      const part = rng.pick(PARTS);
      return {
        title: rng.pick(REPAIRS_HU),
        estimated_cost_min: part[3],
        estimated_cost_max: part[3] * rng.int(2, 4),
        estimated_cost_currency: 'HUF',
        difficulty: rng.pick(DIFFICULTIES),
        parts_needed: [part[0]],
        estimated_time_minutes: rng.int(15, 480),
      };
    }),
    sources: rng.chance(0.5)
      ? []
      : [{ type: 'nhtsa', title: 'NHTSA panasz', url: null, relevance_score: rng.next() }],
    meta: {
      model: 'hubert-base-cc',
      pipeline: { steps: ['rag', 'rerank'], options: { top_k: rng.int(3, 10), hybrid: rng.chance(0.5) } },
    },
  };
}

export const SEED_TABLES: readonly SeedTable[] = [
  {
    table: 'vehicle_makes',
    count: (c) => c.makes,
    columns: ['id', 'name', 'country', 'logo_url', 'nhtsa_make_id'],
    row: (seed, i) => {
      const make = MAKES[i] ?? MAKES[0];
      const rng = rngFor(seed, 'make', i);
      return [
        make[0],
        make[1],
        make[2],
        rng.chance(0.3) ? null : `https://cdn.example.hu/logos/${make[0]}.png`,
        rng.chance(0.1) ? null : 400 + i,
      ];
    },
  },
  {
    table: 'vehicle_platforms',
    count: (c) => c.platforms,
    columns: [
      'id',
      'code',
      'name',
      'manufacturer',
      'segment',
      'year_start',
      'year_end',
      'created_at',
      'updated_at',
    ],
    row: (seed, i, counts) => {
      const rng = rngFor(seed, 'platform:row', i);
      const start = rng.int(1998, 2020);
      return [
        i + 1,
        platformCode(i),
        `Platform ${platformCode(i)}`,
        makeOf(counts, i)[1],
        platformSegment(seed, i),
        start,
        rng.chance(0.3) ? null : start + rng.int(4, 10),
        ...timestampsFor(rng),
      ];
    },
  },
  {
    table: 'vehicle_models',
    count: (c) => c.models,
    columns: ['id', 'name', 'make_id', 'platform_id', 'year_start', 'year_end', 'body_types', 'engine_codes'],
    row: (seed, i, counts) => {
      const m = modelInfo(seed, counts, i);
      const engines = m.engineIndexes.map((e) => engineInfo(seed, counts, e).code);
      return [
        m.id,
        m.name,
        m.makeId,
        m.platformIndex === null ? null : m.platformIndex + 1,
        m.yearStart,
        m.yearEnd,
        m.bodyTypes,
        engines,
      ];
    },
  },
  {
    table: 'vehicle_engines',
    count: (c) => c.engines,
    columns: [
      'id',
      'code',
      'name',
      'manufacturer',
      'fuel_type',
      'displacement_cc',
      'power_kw',
      'torque_nm',
      'created_at',
      'updated_at',
    ],
    row: (seed, i, counts) => {
      const e = engineInfo(seed, counts, i);
      return [
        i + 1,
        e.code,
        e.name,
        e.manufacturer,
        e.fuelType,
        e.displacementCc,
        e.powerKw,
        e.torqueNm,
        ...timestampsFor(rngFor(seed, 'engine:ts', i)),
      ];
    },
  },
  {
    table: 'dtc_codes',
    count: (c) => c.dtc,
    columns: ['id', ...DTC_FIELDS],
    row: (seed, i, counts) => {
      const d = dtcRecord(seed, i, counts.dtc);
      return [
        i + 1,
        d.code,
        d.description_en,
        d.description_hu,
        d.category,
        d.severity,
        d.is_generic,
        d.system,
        d.symptoms,
        d.possible_causes,
        d.diagnostic_steps,
        d.related_codes,
        d.manufacturer_code,
        d.applicable_makes,
        d.sources,
        d.created_at,
        d.updated_at,
      ];
    },
  },
  {
    table: 'users',
    count: (c) => c.users,
    columns: [
      'id',
      'email',
      'hashed_password',
      'full_name',
      'role',
      'is_active',
      'email_verified',
      'verification_token',
      'reset_token',
      'reset_token_expires',
      'totp_secret',
      'last_login_ip',
      'created_at',
      'updated_at',
    ],
    row: (seed, i) => {
      const rng = rngFor(seed, 'user', i);
      const first = rng.pick(FIRST_NAMES);
      const last = rng.pick(LAST_NAMES);
      const [created, updated] = timestampsFor(rng);
      const resetting = rng.chance(0.1);
      return [
        userId(seed, i),
        `${ascii(first)}.${ascii(last)}${i}@example.hu`,
        `$2b$12$${rng.hex(53)}`,
        rng.chance(0.1) ? null : `${last} ${first}`,
        i === 0 ? 'admin' : 'user',
        rng.chance(0.95),
        rng.chance(0.8),
        rng.chance(0.2) ? `vt_${rng.hex(40)}` : null,
        resetting ? `rt_${rng.hex(40)}` : null,
        resetting ? new Date(updated.getTime() + 3600_000) : null,
        rng.chance(0.15) ? Buffer.from(rng.hex(40), 'hex') : null,
        rng.chance(0.3) ? null : `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`,
        created,
        updated,
      ];
    },
  },
  {
    table: 'user_vehicles',
    count: (c) => c.userVehicles,
    columns: [
      'id',
      'user_id',
      'make_id',
      'model_id',
      'year',
      'vin',
      'license_plate',
      'nickname',
      'mileage_km',
      'created_at',
      'updated_at',
    ],
    row: (seed, i, counts) => {
      const rng = rngFor(seed, 'user_vehicle', i);
      const m = modelInfo(seed, counts, rng.int(0, counts.models - 1));
      const nickname = rng.next();
      return [
        userVehicleId(seed, i),
        userId(seed, i % counts.users),
        m.makeId,
        m.id,
        rng.int(m.yearStart, m.yearEnd ?? 2026),
        rng.chance(0.1) ? null : vin(rng),
        rng.chance(0.05) ? null : licencePlate(rng),
        nickname < 0.3
          ? null
          : nickname < 0.4
            ? ''
            : rng.pick(['Családi autó', 'Céges', 'Hétvégi kocsi', 'Öreg Suzuki']),
        rng.int(0, 350_000),
        ...timestampsFor(rng),
      ];
    },
  },
  {
    table: 'maintenance_reminders',
    count: (c) => c.reminders,
    columns: [
      'id',
      'user_vehicle_id',
      'kind',
      'due_date',
      'due_mileage_km',
      'note',
      'is_done',
      'created_at',
      'updated_at',
    ],
    row: (seed, i, counts) => {
      const rng = rngFor(seed, 'reminder', i);
      const [created, updated] = timestampsFor(rng);
      return [
        rngFor(seed, 'reminder:id', i).uuid(),
        userVehicleId(seed, i % counts.userVehicles),
        rng.pick(REMINDER_KINDS),
        rng.chance(0.2)
          ? null
          : new Date(created.getTime() + rng.int(1, 400) * 86_400_000).toISOString().slice(0, 10),
        rng.chance(0.5) ? null : rng.int(10_000, 300_000),
        rng.chance(0.5) ? null : 'Műszaki vizsga előtt fékbetét csere',
        rng.chance(0.3),
        created,
        updated,
      ];
    },
  },
  {
    table: 'diagnosis_sessions',
    count: (c) => c.sessions,
    columns: [
      'id',
      'user_id',
      'vehicle_make',
      'vehicle_model',
      'vehicle_year',
      'vehicle_vin',
      'dtc_codes',
      'symptoms_text',
      'additional_context',
      'diagnosis_result',
      'confidence_score',
      'created_at',
      'updated_at',
      'is_deleted',
      'deleted_at',
    ],
    row: (seed, i, counts) => {
      const rng = rngFor(seed, 'session', i);
      const m = modelInfo(seed, counts, rng.int(0, counts.models - 1));
      const codes = someCodes(rng, seed, counts, 4);
      const [created, updated] = timestampsFor(rng);
      const deleted = rng.chance(0.08);
      const context = rng.next();
      return [
        sessionId(seed, i),
        rng.chance(0.1) ? null : userId(seed, rng.int(0, counts.users - 1)),
        m.makeName,
        m.name,
        rng.int(m.yearStart, m.yearEnd ?? 2026),
        rng.chance(0.4) ? null : vin(rng),
        codes,
        rng.sample(SYMPTOMS_HU, rng.int(1, 3)).join(', '),
        context < 0.4
          ? null
          : context < 0.5
            ? ''
            : `Városi használat, ${rng.int(1000, 30000)} km/év. Télen rosszabb.`,
        diagnosisResult(rng, codes),
        Math.round(rng.next() * 1000) / 1000,
        created,
        updated,
        deleted,
        deleted ? new Date(updated.getTime() + 1000) : null,
      ];
    },
  },
  {
    table: 'diagnosis_archive',
    count: (c) => c.archive,
    columns: [
      'id',
      'original_session_id',
      'user_id',
      'session_data',
      'dtc_codes',
      'vehicle_info',
      'original_created_at',
      'archived_at',
    ],
    row: (seed, i, counts) => {
      const rng = rngFor(seed, 'archive', i);
      const codes = someCodes(rng, seed, counts, 3);
      const [created, archived] = timestampsFor(rng);
      return [
        rngFor(seed, 'archive:id', i).uuid(),
        rngFor(seed, 'archive:orig', i).uuid(),
        rng.chance(0.2) ? null : userId(seed, rng.int(0, counts.users - 1)),
        { symptoms_text: rng.pick(SYMPTOMS_HU), result: diagnosisResult(rng, codes), notes: null },
        codes,
        rng.chance(0.2)
          ? null
          : {
              make: makeOf(counts, i)[1],
              year: rng.int(2000, 2025),
              fuel: rng.pick(FUEL_TYPES),
              vin: vin(rng),
            },
        created,
        archived,
      ];
    },
  },
  {
    table: 'vehicle_dtc_frequency',
    count: (c) => c.frequency,
    columns: [
      'id',
      'dtc_code',
      'make_id',
      'model_id',
      'engine_code',
      'year_start',
      'year_end',
      'occurrence_count',
      'frequency',
      'source',
      'created_at',
      'updated_at',
    ],
    row: (seed, i, counts) => {
      const rng = rngFor(seed, 'frequency', i);
      const link = frequencyLink(counts, i);
      const m = modelInfo(seed, counts, link.model);
      return [
        i + 1,
        dtcCode(seed, link.dtc),
        m.makeId,
        rng.chance(0.1) ? null : m.id,
        rng.chance(0.5) ? null : engineInfo(seed, counts, m.engineIndexes[0] ?? 0).code,
        m.yearStart,
        m.yearEnd,
        rng.int(1, 5000),
        rng.pick(['rare', 'occasional', 'common', 'very_common']),
        rng.pick(['nhtsa', 'forum', 'tsb']),
        ...timestampsFor(rng),
      ];
    },
  },
  {
    table: 'known_issues',
    count: (c) => c.knownIssues,
    columns: [
      'id',
      'title',
      'description',
      'symptoms',
      'causes',
      'solutions',
      'related_dtc_codes',
      'applicable_makes',
      'applicable_models',
      'year_start',
      'year_end',
      'confidence',
      'estimated_cost_huf',
      'source_type',
      'source_url',
      'created_at',
      'updated_at',
    ],
    row: (seed, i, counts) => {
      const rng = rngFor(seed, 'known_issue', i);
      const m = modelInfo(seed, counts, rng.int(0, counts.models - 1));
      return [
        i + 1,
        `${m.makeName} ${m.name}: ${rng.pick(SYMPTOMS_HU).toLowerCase()}`,
        `${rng.pick(CAUSES_HU)}. ${rng.pick(STEPS_HU)}.`,
        rng.sample(SYMPTOMS_HU, rng.int(0, 3)),
        rng.sample(CAUSES_HU, rng.int(0, 2)),
        rng.sample(REPAIRS_HU, rng.int(0, 2)),
        someCodes(rng, seed, counts, 3),
        [m.makeName],
        rng.chance(0.3) ? [] : [m.name],
        m.yearStart,
        m.yearEnd,
        rng.chance(0.1) ? null : Math.round(rng.next() * 100) / 100,
        rng.chance(0.2) ? null : `${rng.int(5, 900) * 1000}.${rng.pick(['00', '50', '99'])}`,
        rng.pick(['forum', 'tsb', 'nhtsa']),
        rng.chance(0.5) ? null : `https://forum.example.hu/t/${i}`,
        ...timestampsFor(rng),
      ];
    },
  },
  {
    table: 'vehicle_recalls',
    count: (c) => c.recalls,
    columns: [
      'id',
      'campaign_number',
      'manufacturer',
      'make',
      'model',
      'model_year',
      'recall_date',
      'component',
      'summary',
      'consequence',
      'remedy',
      'extracted_dtc_codes',
      'raw_response',
      'created_at',
      'updated_at',
    ],
    row: (seed, i, counts) => {
      const r = recallInfo(seed, counts, i);
      const rng = rngFor(seed, 'recall:row', i);
      return [
        i + 1,
        r.campaignNumber,
        `${r.make} Motor Corporation`,
        r.make,
        r.model,
        r.modelYear,
        r.recallDate,
        r.component,
        r.summary,
        'Increased risk of a crash.',
        'Dealers will update the software free of charge.',
        r.dtcCodes,
        {
          Manufacturer: r.make,
          NHTSACampaignNumber: r.campaignNumber,
          parkIt: rng.chance(0.05),
          Components: r.component.split(':'),
          overTheAirUpdate: rng.chance(0.2) ? true : null,
        },
        ...timestampsFor(rng),
      ];
    },
  },
  {
    table: 'vehicle_complaints',
    count: (c) => c.complaints,
    columns: [
      'id',
      'odi_number',
      'make',
      'model',
      'model_year',
      'crash',
      'fire',
      'injuries',
      'deaths',
      'complaint_date',
      'components',
      'summary',
      'extracted_dtc_codes',
      'created_at',
      'updated_at',
    ],
    row: (seed, i, counts) => {
      const c = complaintInfo(seed, counts, i);
      return [
        i + 1,
        c.odiNumber,
        c.make.toUpperCase(),
        c.model.toUpperCase(),
        c.modelYear,
        c.crash,
        c.fire,
        c.injuries,
        0,
        c.date,
        c.components,
        c.summary,
        c.dtcCodes,
        ...timestampsFor(rngFor(seed, 'complaint:ts', i)),
      ];
    },
  },
  {
    table: 'epa_vehicles',
    count: (c) => c.epa,
    columns: [
      'id',
      'make',
      'model',
      'year',
      'fuel_type',
      'city_mpg',
      'highway_mpg',
      'co2_g_per_km',
      'created_at',
    ],
    row: (seed, i, counts) => {
      const e = epaInfo(seed, counts, i);
      return [
        e.id,
        e.make,
        e.model,
        e.year,
        e.fuelType,
        e.cityMpg,
        e.highwayMpg,
        e.co2,
        timestampsFor(rngFor(seed, 'epa:ts', i))[0],
      ];
    },
  },
];

/** Vehicle→DTC pairs of vehicle_dtc_frequency: unique by construction (one HAS_COMMON_ISSUE per pair). */
export function frequencyLink(counts: SeedCounts, f: number): { model: number; dtc: number } {
  const model = f % counts.models;
  const stride = counts.dtc % 7919 === 0 ? 7907 : 7919;
  return { model, dtc: (Math.floor(f / counts.models) * stride + model * 13) % counts.dtc };
}

export function recallInfo(seed: number, counts: SeedCounts, i: number) {
  const rng = rngFor(seed, 'recall', i);
  const modelIndex = rng.int(0, counts.models - 1);
  const m = modelInfo(seed, counts, modelIndex);
  const year = rng.int(m.yearStart, m.yearEnd ?? 2026);
  return {
    campaignNumber: `${String(year).slice(2)}V${String(i).padStart(6, '0')}`,
    modelIndex,
    make: m.makeName,
    model: m.name,
    modelYear: year,
    recallDate: `${Math.min(2025, year + rng.int(0, 3))}-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`,
    component: rng.pick(RECALL_COMPONENTS),
    summary: `${m.makeName} is recalling certain ${year} ${m.name} vehicles. ${rng.pick(SYMPTOMS_EN)} may occur.`,
    dtcCodes: someCodes(rng, seed, counts, 2),
  };
}

export function complaintInfo(seed: number, counts: SeedCounts, i: number) {
  const rng = rngFor(seed, 'complaint', i);
  const modelIndex = rng.int(0, counts.models - 1);
  const m = modelInfo(seed, counts, modelIndex);
  const city = rng.pick(CITIES);
  return {
    odiNumber: 10_000_000 + i * 3 + (i % 3),
    modelIndex,
    make: m.makeName,
    model: m.name,
    modelYear: rng.int(m.yearStart, m.yearEnd ?? 2026),
    crash: rng.chance(0.03),
    fire: rng.chance(0.01),
    injuries: rng.chance(0.95) ? 0 : rng.int(1, 3),
    date: `20${rng.int(15, 25)}-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`,
    components: rng.pick(RECALL_COMPONENTS).split(':')[0] ?? 'UNKNOWN',
    summary:
      `${rng.pick(SYMPTOMS_EN)}. ${rng.chance(0.3) ? 'Ügyfél szerint: ' + rng.pick(SYMPTOMS_HU).toLowerCase() + '.' : ''}`.trim(),
    dtcCodes: someCodes(rng, seed, counts, 2),
    city: city[0],
    latitude: city[1],
    longitude: city[2],
    hasLocation: rng.chance(0.5),
    inGraph: isComplaintInGraph(i),
  };
}

export function epaInfo(seed: number, counts: SeedCounts, i: number) {
  const rng = rngFor(seed, 'epa', i);
  const m = modelInfo(seed, counts, rng.int(0, counts.models - 1));
  const fround2 = (v: number): number => Math.fround(Math.round(v * 10) / 10);
  return {
    id: 30_000 + i,
    make: m.makeName,
    model: m.name,
    year: rng.int(2000, 2026),
    fuelType: rng.pick(FUEL_TYPES),
    cityMpg: fround2(15 + rng.next() * 40),
    highwayMpg: fround2(20 + rng.next() * 45),
    co2: rng.chance(0.1) ? null : fround2(80 + rng.next() * 200),
  };
}
