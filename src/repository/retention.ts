/**
 * Which snapshots `--cleanup` keeps (pure). `keep` keeps the N newest; `daily`/`weekly`/`monthly` keep
 * the newest snapshot of each of the N most recent days/ISO weeks/months that have one (as restic's
 * `forget` does). The rules combine: a snapshot any rule keeps is kept. The newest verified snapshot is
 * always kept, whatever the rules say.
 */
export interface RetentionPolicy {
  keep?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
}

export interface RetentionCandidate {
  id: string;
  /** When the snapshot was taken (UTC). */
  time: Date;
  verified: boolean;
}

export interface RetentionDecision {
  id: string;
  keep: boolean;
  reasons: string[];
}

const day = (d: Date): string => d.toISOString().slice(0, 10);
const month = (d: Date): string => d.toISOString().slice(0, 7);
function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const weekday = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return [policy.keep, policy.daily, policy.weekly, policy.monthly].every((n) => n === undefined);
}

/** Decisions for every candidate, newest first. */
export function planRetention(
  candidates: readonly RetentionCandidate[],
  policy: RetentionPolicy,
): RetentionDecision[] {
  const sorted = [...candidates].sort(
    (a, b) => b.time.getTime() - a.time.getTime() || b.id.localeCompare(a.id),
  );
  const decisions = sorted.map((c) => ({ id: c.id, keep: false, reasons: [] as string[] }));
  sorted.forEach((_, i) => {
    if (policy.keep !== undefined && i < policy.keep)
      decisions[i]?.reasons.push(`one of the ${policy.keep} newest`);
  });
  const buckets: Array<[number | undefined, string, (d: Date) => string]> = [
    [policy.daily, 'daily', day],
    [policy.weekly, 'weekly', isoWeek],
    [policy.monthly, 'monthly', month],
  ];
  for (const [count, name, bucketOf] of buckets) {
    if (count === undefined) continue;
    const seen = new Set<string>();
    sorted.forEach((c, i) => {
      const bucket = bucketOf(c.time);
      if (seen.has(bucket) || seen.size >= count) return;
      seen.add(bucket);
      decisions[i]?.reasons.push(`${name} ${bucket}`);
    });
  }
  const newestVerified = sorted.findIndex((c) => c.verified);
  if (newestVerified >= 0) decisions[newestVerified]?.reasons.push('newest verified snapshot');
  for (const d of decisions) d.keep = d.reasons.length > 0;
  return decisions;
}
