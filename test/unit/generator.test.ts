import { describe, expect, it } from 'vitest';
import { dtcCode, dtcRecord, malformedDtcRecords } from '../../src/seed/dtc.ts';
import { planCounts } from '../../src/seed/plan.ts';
import { SEED_TABLES } from '../../src/seed/postgres-rows.ts';
import { NODE_SETS, RELATIONSHIP_SETS } from '../../src/seed/graph.ts';
import { POINT_SETS, seedVector } from '../../src/seed/points.ts';
import { canonicalJson } from '../../src/model/content-hash.ts';
import { DTC_CODE } from '../../src/model/dtc-rules.ts';

const DTC_PATTERN = DTC_CODE;

describe('DTC codes', () => {
  it('are unique, well formed and spread over P/B/C/U at scale 1', () => {
    const { dtc } = planCounts(1);
    expect(dtc).toBe(7000);
    const codes = Array.from({ length: dtc }, (_, i) => dtcCode(42, i));
    expect(new Set(codes).size).toBe(dtc);
    for (const code of codes) expect(code).toMatch(DTC_PATTERN);
    const byLetter: Record<string, string[]> = {};
    for (const c of codes) (byLetter[c[0] ?? '?'] ??= []).push(c);
    expect(byLetter.P?.length).toBeGreaterThan(byLetter.B?.length ?? 0);
    for (const letter of ['P', 'B', 'C', 'U']) expect(byLetter[letter]?.length ?? 0).toBeGreaterThan(100);
    expect(codes.some((c) => c.includes('-'))).toBe(true);
    // real data's codes beyond SAE's 0–3 second character (P93AF, UA80E), for every letter
    const wide = codes.filter((c) => /^[PBCU][4-9A-F]/.test(c));
    expect(wide.length).toBeGreaterThan(50);
    expect(new Set(wide.map((c) => c[0]))).toEqual(new Set(['P', 'B', 'C', 'U']));
    expect(dtcCode(42, 13)).toBe(dtcCode(42, 13));
  });

  it('stay unique at 1 M rows (scale 143)', () => {
    const seen = new Set<string>();
    const total = planCounts(143).dtc;
    for (let i = 0; i < total; i++) seen.add(dtcCode(7, i));
    expect(seen.size).toBe(total);
  });

  it('malformed records kept aside all break the code pattern or a rule', () => {
    const records = malformedDtcRecords();
    expect(records.length).toBeGreaterThan(5);
    for (const r of records) expect(r.reason).toBeTruthy();
  });
});

describe('realism of generated records', () => {
  const counts = planCounts(1);
  const records = Array.from({ length: counts.dtc }, (_, i) => dtcRecord(42, i, counts.dtc));

  it('has Hungarian accents, NULL and empty translations, empty and multi-element arrays', () => {
    const hu = records.map((r) => r.description_hu);
    expect(hu.some((t) => t === null)).toBe(true);
    expect(hu.some((t) => t === '')).toBe(true);
    expect(hu.some((t) => typeof t === 'string' && /[őű]/.test(t))).toBe(true);
    expect(records.some((r) => r.symptoms.length === 0)).toBe(true);
    expect(records.some((r) => r.symptoms.length > 1)).toBe(true);
    expect(records.some((r) => r.applicable_makes === null)).toBe(true);
    expect(records.some((r) => r.manufacturer_code !== null)).toBe(true);
    expect(new Set(records.map((r) => r.category)).size).toBe(4);
  });

  it('spreads timestamps over about a year', () => {
    const times = records.map((r) => r.created_at.getTime());
    const spanDays = (Math.max(...times) - Math.min(...times)) / 86_400_000;
    expect(spanDays).toBeGreaterThan(300);
    expect(spanDays).toBeLessThanOrEqual(366);
  });
});

describe('determinism', () => {
  const counts = planCounts(0.01);
  const snapshot = (seed: number): string => {
    const parts: string[] = [];
    for (const t of SEED_TABLES) {
      for (let i = 0; i < t.count(counts); i++) parts.push(canonicalJson(t.row(seed, i, counts)));
    }
    for (const n of NODE_SETS)
      for (let i = 0; i < n.count(counts); i++) parts.push(String(JSON.stringify(n.node(seed, i, counts))));
    for (const r of RELATIONSHIP_SETS) parts.push(String(r.type));
    for (const p of POINT_SETS)
      for (let i = 0; i < p.count(counts); i++) parts.push(canonicalJson(p.point(seed, i, counts)));
    return parts.join('\n');
  };

  it('same seed gives the same data, a different seed different data', () => {
    expect(snapshot(1)).toBe(snapshot(1));
    expect(snapshot(1)).not.toBe(snapshot(2));
  });

  it('vectors are unit length and exact in float32', () => {
    const v = seedVector(1, 'dtc', 3);
    expect(v).toHaveLength(768);
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    expect(Math.abs(norm - 1)).toBeLessThan(1e-6);
    for (const x of v) expect(Math.fround(x)).toBe(x);
  });
});
