/**
 * `--cleanup`: applies the retention rules (`--keep`, `--keep-daily`, `--keep-weekly`, `--keep-monthly`;
 * the guide's default is `--keep 5`), never deleting the newest verified snapshot, and removes what
 * killed runs left behind. `--dry-run` only reports.
 *
 * Two phases under the repository lock (docs/design.md §11.9): the dropped snapshots' manifests and
 * directories are deleted (format 1 snapshots are gone with their directories), then, when the
 * repository holds format-2 content, the blobs no remaining snapshot uses are pruned
 * (repository/prune.ts).
 */
import type { ProgressReporter } from '../progress.ts';
import type { Manifest } from '../repository/manifest.ts';
import { pruneRepository, type PruneSummary } from '../repository/prune.ts';
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
  /** Format 2: the packs removed or rewritten and the bytes reclaimed (absent without format-2 content). */
  prune?: PruneSummary;
  /** Why the format-2 prune did not run (a manifest it cannot read could need any blob). */
  pruneSkipped?: string;
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
    // Opened first: an encrypted repository without its key is CONFIG before anything is deleted.
    const blobs = await repository.blobs();
    const { snapshots, incomplete, damaged: damagedBefore } = await repository.list();
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
    const summary: CleanupSummary = {
      dryRun,
      policy: effective,
      kept: decisions.filter((d) => d.keep),
      deleted,
      incompleteRemoved,
    };
    if (!blobs) return summary;
    // The manifests that remain: read again after the deletions (a dry run: the ones it would keep).
    const remaining = dryRun ? undefined : await repository.list();
    const damaged = remaining?.damaged ?? damagedBefore;
    if (damaged.length > 0) {
      summary.pruneSkipped = `unused blobs were not removed: the manifest of ${damaged.map((d) => d.id).join(', ')} cannot be read, and it may need any of them`;
      reporter.emit({ type: 'warning', store: 'repository', message: summary.pruneSkipped });
      return summary;
    }
    const keptIds = new Set(summary.kept.map((k) => k.id));
    const manifests: Manifest[] = (remaining?.snapshots ?? snapshots.filter((s) => keptIds.has(s.id)))
      .map((s) => s.manifest)
      .filter((m) => m.formatVersion === 2);
    summary.prune = await pruneRepository(blobs, manifests, reporter, { dryRun });
    return summary;
  } finally {
    await lock?.release();
  }
}
