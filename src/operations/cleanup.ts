/**
 * `--cleanup`: applies the retention rules (`--keep`, `--keep-daily`, `--keep-weekly`, `--keep-monthly`;
 * the guide's default is `--keep 5`), never deleting the newest verified snapshot, and removes what
 * killed runs left behind. `--dry-run` only reports.
 */
import type { ProgressReporter } from '../progress.ts';
import type { Repository } from '../repository/repository.ts';
import {
  isEmptyPolicy,
  planRetention,
  type RetentionDecision,
  type RetentionPolicy,
} from '../repository/retention.ts';

export const DEFAULT_KEEP = 5;

export interface CleanupSummary {
  dryRun: boolean;
  policy: RetentionPolicy;
  kept: RetentionDecision[];
  deleted: Array<{ id: string; bytes: number }>;
  incompleteRemoved: string[];
}

export async function cleanupSnapshots(
  repository: Repository,
  policy: RetentionPolicy,
  dryRun: boolean,
  reporter: ProgressReporter,
): Promise<CleanupSummary> {
  const effective = isEmptyPolicy(policy) ? { keep: DEFAULT_KEEP } : policy;
  const lock = dryRun ? undefined : await repository.lock('cleanup');
  try {
    const { snapshots, incomplete } = await repository.list();
    const decisions = planRetention(
      snapshots.map((s) => ({
        id: s.id,
        time: new Date(s.manifest.startedAt),
        verified: s.verification?.ok === true,
      })),
      effective,
    );
    const bytesOf = new Map(snapshots.map((s) => [s.id, s.bytes]));
    const deleted: CleanupSummary['deleted'] = [];
    for (const d of decisions.filter((x) => !x.keep)) {
      if (!dryRun) {
        reporter.emit({ type: 'phase', store: 'repository', message: `deleting ${d.id}` });
        await repository.delete(d.id);
      }
      deleted.push({ id: d.id, bytes: bytesOf.get(d.id) ?? 0 });
    }
    const incompleteRemoved = dryRun ? incomplete : await repository.removeIncomplete();
    return { dryRun, policy: effective, kept: decisions.filter((d) => d.keep), deleted, incompleteRemoved };
  } finally {
    await lock?.release();
  }
}
