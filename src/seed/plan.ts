/** How many records of each kind a given `--scale` produces (scale 1 ≈ production size). */

const BASE_COUNTS = {
  dtc: 7000,
  makes: 24,
  platforms: 60,
  models: 400,
  engines: 300,
  users: 500,
  userVehicles: 700,
  reminders: 1000,
  sessions: 5000,
  archive: 500,
  frequency: 10000,
  knownIssues: 1000,
  recalls: 3000,
  complaints: 20000,
  epa: 4600,
  symptoms: 2000,
  components: 1200,
  repairs: 1500,
  parts: 600,
} as const;

export type SeedCounts = { -readonly [K in keyof typeof BASE_COUNTS]: number };

export function planCounts(scale: number): SeedCounts {
  if (!(scale > 0) || !Number.isFinite(scale))
    throw new Error(`scale must be a positive number, got ${scale}`);
  const counts = {} as SeedCounts;
  for (const [name, base] of Object.entries(BASE_COUNTS) as [keyof SeedCounts, number][]) {
    counts[name] = Math.max(4, Math.round(base * scale));
  }
  counts.makes = Math.min(BASE_COUNTS.makes, counts.makes);
  return counts;
}

/** Complaints that also exist as graph nodes (production loads only part of the NHTSA feed into Neo4j). */
export function isComplaintInGraph(index: number): boolean {
  return index % 5 < 3;
}

/** The fixed start of the generated timeline: every timestamp falls in the year before it. */
export const TIMELINE_END = Date.UTC(2026, 0, 1);
export const YEAR_MS = 365 * 24 * 3600 * 1000;
