/** Vehicles, engines, users and their ids by index, shared by the PostgreSQL, Neo4j and Qdrant generators. */
import { rngFor } from './random.ts';
import { BODY_TYPES, FUEL_TYPES, MAKES, MODEL_NAMES, SEGMENTS } from './vocabulary.ts';
import type { SeedCounts } from './plan.ts';

export function makeOf(counts: SeedCounts, modelIndex: number): (typeof MAKES)[number] {
  return MAKES[modelIndex % counts.makes] ?? MAKES[0];
}

export interface ModelInfo {
  id: string;
  name: string;
  makeId: string;
  makeName: string;
  yearStart: number;
  yearEnd: number | null;
  bodyTypes: string[];
  engineIndexes: number[];
  platformIndex: number | null;
}

export function modelInfo(seed: number, counts: SeedCounts, m: number): ModelInfo {
  const rng = rngFor(seed, 'model', m);
  const make = makeOf(counts, m);
  const base = MODEL_NAMES[(Math.floor(m / counts.makes) + m) % MODEL_NAMES.length] ?? 'Model';
  const generation = Math.floor(m / (counts.makes * MODEL_NAMES.length)) + rng.int(1, 3);
  const yearStart = rng.int(2000, 2022);
  return {
    id: `${make[0]}_${base.toLowerCase().replace(/[^a-z0-9]+/g, '')}_${m}`,
    name: `${base} ${generation}`,
    makeId: make[0],
    makeName: make[1],
    yearStart,
    yearEnd: rng.chance(0.3) ? null : Math.min(2026, yearStart + rng.int(3, 9)),
    bodyTypes: rng.sample(BODY_TYPES, rng.int(0, 3)),
    engineIndexes: [...new Set([rng.int(0, counts.engines - 1), rng.int(0, counts.engines - 1)])].slice(
      0,
      rng.int(1, 2),
    ),
    platformIndex: rng.chance(0.2) ? null : rng.int(0, counts.platforms - 1),
  };
}

export interface EngineInfo {
  code: string;
  name: string;
  fuelType: string;
  displacementCc: number | null;
  powerKw: number;
  torqueNm: number | null;
  manufacturer: string;
}

export function engineInfo(seed: number, counts: SeedCounts, e: number): EngineInfo {
  const rng = rngFor(seed, 'engine', e);
  const fuelType = rng.pick(FUEL_TYPES);
  const cc = fuelType === 'elektromos' ? null : rng.pick([999, 1197, 1395, 1598, 1968, 2487, 2998]);
  const make = MAKES[e % counts.makes] ?? MAKES[0];
  return {
    code: `${rng
      .hex(4)
      .toUpperCase()
      .replace(/[0-9]/g, (d) => 'ABCDEFGHKL'[Number(d)] ?? 'X')}${e}`,
    name:
      cc === null
        ? `${rng.int(50, 250)} kW e-motor`
        : `${(cc / 1000).toFixed(1)} ${rng.pick(['TSI', 'TDI', 'VVT-i', 'EcoBoost', 'dCi', 'CDTI', 'MPI'])}`,
    fuelType,
    displacementCc: cc,
    powerKw: rng.int(44, 280),
    torqueNm: rng.chance(0.1) ? null : rng.int(90, 600),
    manufacturer: make[1],
  };
}

export function platformCode(p: number): string {
  return `PQ${(p + 10).toString(36).toUpperCase()}-${p}`;
}

export function platformSegment(seed: number, p: number): string {
  return rngFor(seed, 'platform', p).pick(SEGMENTS);
}

export const userId = (seed: number, u: number): string => rngFor(seed, 'user:id', u).uuid();
export const userVehicleId = (seed: number, v: number): string => rngFor(seed, 'user_vehicle:id', v).uuid();
export const sessionId = (seed: number, s: number): string => rngFor(seed, 'session:id', s).uuid();

const VIN_CHARS = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
export function vin(rng: { int(a: number, b: number): number }): string {
  return Array.from({ length: 17 }, () => VIN_CHARS[rng.int(0, VIN_CHARS.length - 1)]).join('');
}

export function licencePlate(rng: { int(a: number, b: number): number; chance(p: number): boolean }): string {
  const letter = (): string => 'ABCDEFGHIJKLMNOPRSTUVZ'[rng.int(0, 21)] ?? 'A';
  const digits = String(rng.int(1, 999)).padStart(3, '0');
  return rng.chance(0.5)
    ? `${letter()}${letter()}${letter()}-${digits}`
    : `AA ${letter()}${letter()}-${digits}`;
}
