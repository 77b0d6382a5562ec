/**
 * DTC codes by index: `dtcCode(seed, i)` is unique for every i and computable on its own, so the other
 * generators can reference DTC i without holding the list. Letters follow production's mix (P 46 %,
 * B 31 %, C 14 %, U 9 %). Beyond the 16 384 SAE codes of a letter, and for 1 in 8 codes, the
 * manufacturer-specific UDS form with a failure-type byte is used (`P0A7F-87`); 1 in 64 codes has a
 * second character 4–F (`P93AF`, `UA80E`), as real AutoCognitix data does.
 */
import { rngFor } from './random.ts';
import {
  CATEGORIES,
  CAUSES_HU,
  COMPONENTS_EN,
  COMPONENTS_HU,
  FAULTS_EN,
  FAULTS_HU,
  MAKES,
  STEPS_HU,
  SYMPTOMS_HU,
  SYSTEMS,
} from './vocabulary.ts';
import { TIMELINE_END, YEAR_MS } from './plan.ts';

const LETTER_BUCKETS = [
  { letter: 'P', start: 0, width: 46 },
  { letter: 'B', start: 46, width: 31 },
  { letter: 'C', start: 77, width: 14 },
  { letter: 'U', start: 91, width: 9 },
] as const;
const CODES_PER_LETTER = 16384;

export function dtcCode(seed: number, index: number): string {
  const slot = index % 100;
  const bucket = LETTER_BUCKETS.find((b) => slot >= b.start && slot < b.start + b.width) ?? LETTER_BUCKETS[0];
  const letterIndex = Math.floor(index / 100) * bucket.width + (slot - bucket.start);
  const offset = (seed * 2654435761) % CODES_PER_LETTER;
  const base = (((letterIndex % CODES_PER_LETTER) * 9973 + offset) >>> 0) % CODES_PER_LETTER;
  const block = Math.floor(letterIndex / CODES_PER_LETTER);
  // 1 in 64 codes of the first block takes a second character 4–F, as real data holds (`P93AF`, `UA80E`):
  // its range is disjoint from the SAE digits 0–3, so codes stay unique.
  const wide = block === 0 && letterIndex % 64 === 13 ? 4 * (1 + ((letterIndex >> 6) % 3)) : 0;
  const second = ((base >> 12) + wide).toString(16).toUpperCase();
  const sae = `${bucket.letter}${second}${(base & 0xfff).toString(16).toUpperCase().padStart(3, '0')}`;
  let ftb: number | undefined;
  if (block > 0) ftb = block - 1;
  else if (letterIndex % 8 === 7) ftb = 0x80 + (letterIndex % 128);
  return ftb === undefined ? sae : `${sae}-${ftb.toString(16).toUpperCase().padStart(2, '0')}`;
}

export interface DtcRecord {
  code: string;
  description_en: string;
  description_hu: string | null;
  category: string;
  severity: string;
  is_generic: boolean;
  system: string | null;
  symptoms: string[];
  possible_causes: string[];
  diagnostic_steps: string[];
  related_codes: string[];
  manufacturer_code: string | null;
  applicable_makes: string[] | null;
  sources: string[] | null;
  created_at: Date;
  updated_at: Date;
}

export function timestampsFor(rng: {
  int(a: number, b: number): number;
  chance(p: number): boolean;
}): [Date, Date] {
  const created = TIMELINE_END - rng.int(1, YEAR_MS / 1000) * 1000 - rng.int(0, 999);
  const updated = rng.chance(0.3)
    ? created
    : created + rng.int(0, Math.floor((TIMELINE_END - created) / 1000)) * 1000;
  return [new Date(created), new Date(updated)];
}

export function dtcRecord(seed: number, index: number, total: number): DtcRecord {
  const rng = rngFor(seed, 'dtc', index);
  const code = dtcCode(seed, index);
  const letter = code[0] ?? 'P';
  const category = CATEGORIES.find((c) => c.letter === letter) ?? CATEGORIES[0];
  const manufacturerSpecific = code.includes('-') || code[1] === '1' || code[1] === '3';
  const component = rng.int(0, COMPONENTS_EN.length - 1);
  const fault = rng.int(0, FAULTS_EN.length - 1);
  const bank = rng.chance(0.2) ? ` (Bank ${rng.int(1, 2)})` : '';
  const translated = rng.next();
  const make = rng.pick(MAKES);
  const severityRoll = rng.next();
  const [created_at, updated_at] = timestampsFor(rng);
  const systemRoll = rng.next();
  const related = Array.from({ length: rng.int(0, 3) }, () => dtcCode(seed, rng.int(0, total - 1))).filter(
    (c, i, all) => c !== code && all.indexOf(c) === i,
  );
  return {
    code,
    description_en: `${COMPONENTS_EN[component]} ${FAULTS_EN[fault]}${bank}`,
    description_hu:
      translated < 0.3
        ? null
        : translated < 0.32
          ? ''
          : `${COMPONENTS_HU[component]} ${FAULTS_HU[fault]}${bank}`,
    category: category.id,
    severity:
      severityRoll < 0.01 ? 'low' : severityRoll < 0.6 ? 'medium' : severityRoll < 0.79 ? 'high' : 'critical',
    is_generic: !manufacturerSpecific && code[1] === '0',
    system: systemRoll < 0.05 ? null : systemRoll < 0.07 ? '' : rng.pick(SYSTEMS[letter] ?? ['Powertrain']),
    symptoms: rng.sample(SYMPTOMS_HU, rng.int(0, 4)),
    possible_causes: rng.sample(CAUSES_HU, rng.int(0, 3)),
    diagnostic_steps: rng.sample(STEPS_HU, rng.int(0, 4)),
    related_codes: related,
    manufacturer_code: manufacturerSpecific ? make[1].toUpperCase() : null,
    applicable_makes: manufacturerSpecific
      ? [make[1]]
      : rng.chance(0.1)
        ? null
        : rng.chance(0.25)
          ? rng.sample(MAKES, rng.int(1, 3)).map((m) => m[1])
          : [],
    sources: rng.chance(0.05) ? null : rng.sample(['generic', 'klavkarr', 'mytrile', 'nhtsa'], rng.int(1, 2)),
    created_at,
    updated_at,
  };
}

/** Records that break the data model's rules, kept aside (never written) for validation tests. */
export function malformedDtcRecords(): Array<Partial<Record<keyof DtcRecord, unknown>> & { reason: string }> {
  return [
    {
      code: 'PACEG',
      description_en: 'Not a hex digit',
      category: 'powertrain',
      severity: 'medium',
      reason: 'code has a character that is not a hex digit',
    },
    {
      code: 'P93AF1',
      description_en: 'Too long',
      category: 'powertrain',
      severity: 'medium',
      reason: 'code too long',
    },
    {
      code: 'X0100',
      description_en: 'Unknown letter',
      category: 'powertrain',
      severity: 'medium',
      reason: 'letter not in PBCU',
    },
    {
      code: 'P010',
      description_en: 'Too short',
      category: 'powertrain',
      severity: 'medium',
      reason: 'code too short',
    },
    {
      code: 'p0100',
      description_en: 'Lower case',
      category: 'powertrain',
      severity: 'medium',
      reason: 'code not upper case',
    },
    { code: 'P0101', category: 'powertrain', severity: 'medium', reason: 'description_en missing' },
    {
      code: 'P0102',
      description_en: 'Bad severity',
      category: 'powertrain',
      severity: 'extreme',
      reason: 'severity not in enum',
    },
    {
      code: 'B0103',
      description_en: 'Bad category',
      category: 'engine',
      severity: 'low',
      reason: 'category not in enum',
    },
    {
      code: 'C0104',
      description_en: 'Category disagrees with letter',
      category: 'body',
      severity: 'low',
      reason: 'category does not match the code letter',
    },
    {
      code: 'U0105',
      description_en: 'Symptoms not a list',
      category: 'network',
      severity: 'high',
      symptoms: 'Nehéz indulás',
      reason: 'symptoms is not an array',
    },
    {
      code: 'P0106-XY',
      description_en: 'Bad failure-type byte',
      category: 'powertrain',
      severity: 'medium',
      reason: 'suffix is not two hex digits',
    },
  ];
}
