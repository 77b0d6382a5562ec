import { describe, expect, it } from 'vitest';
import { planRetention, type RetentionCandidate } from '../../src/repository/retention.ts';

const at = (
  iso: string,
  verified = false,
  id = `full_${iso.replace(/[-:T]/g, '').slice(0, 8)}_${iso.replace(/[-:T]/g, '').slice(8, 14)}`,
): RetentionCandidate => ({
  id,
  time: new Date(`${iso}Z`),
  verified,
});

// Two snapshots a day (02:00 and 14:00) for 70 days, ending 2026-03-11.
const history: RetentionCandidate[] = [];
for (let d = 0; d < 70; d++) {
  const day = new Date(Date.UTC(2026, 0, 1 + d)).toISOString().slice(0, 10);
  history.push(at(`${day}T02:00:00`), at(`${day}T14:00:00`));
}
const kept = (policy: Parameters<typeof planRetention>[1], candidates = history) =>
  planRetention(candidates, policy)
    .filter((d) => d.keep)
    .map((d) => d.id);

describe('retention rules', () => {
  it('--keep N keeps the N newest', () => {
    expect(kept({ keep: 3 })).toEqual([
      'full_20260311_140000',
      'full_20260311_020000',
      'full_20260310_140000',
    ]);
  });

  it('--keep-daily keeps the newest of each of the last N days', () => {
    expect(kept({ daily: 3 })).toEqual([
      'full_20260311_140000',
      'full_20260310_140000',
      'full_20260309_140000',
    ]);
  });

  it('--keep-weekly keeps the newest of each of the last N ISO weeks', () => {
    // 2026-03-11 is a Wednesday (week 11); Sunday 2026-03-08 ends week 10; Sunday 2026-03-01 ends week 9.
    expect(kept({ weekly: 3 })).toEqual([
      'full_20260311_140000',
      'full_20260308_140000',
      'full_20260301_140000',
    ]);
  });

  it('--keep-monthly keeps the newest of each of the last N months', () => {
    expect(kept({ monthly: 2 })).toEqual(['full_20260311_140000', 'full_20260228_140000']);
  });

  it('combines rules as a union, as the guide policy 7/4/12 does', () => {
    const ids = kept({ daily: 7, weekly: 4, monthly: 12 });
    const days = ['11', '10', '09', '08', '07', '06', '05'].map((d) => `full_202603${d}_140000`);
    // Weeks 11 and 10 fall among the days; weeks 9 and 8 end on Sundays 1 March and 22 February.
    // March is among the days; February ends on the 28th, January on the 31st (only 70 days of history).
    expect(ids).toEqual([
      ...days,
      'full_20260301_140000',
      'full_20260228_140000',
      'full_20260222_140000',
      'full_20260131_140000',
    ]);
  });

  it('never deletes the newest verified snapshot', () => {
    const candidates = history.map((c) => (c.id === 'full_20260101_020000' ? { ...c, verified: true } : c));
    const ids = kept({ keep: 1 }, candidates);
    expect(ids).toEqual(['full_20260311_140000', 'full_20260101_020000']);
    const reasons = planRetention(candidates, { keep: 1 }).find(
      (d) => d.id === 'full_20260101_020000',
    )?.reasons;
    expect(reasons).toEqual(['newest verified snapshot']);
  });

  it('--keep 0 with no verified snapshot deletes everything', () => {
    expect(kept({ keep: 0 })).toEqual([]);
  });
});
