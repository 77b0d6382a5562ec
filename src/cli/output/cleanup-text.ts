/** The text summary of `backup --cleanup`: snapshots deleted and kept, then the format-2 prune. */
import type { CleanupSummary } from '../../operations/cleanup.ts';
import type { PruneSummary } from '../../repository/prune.ts';
import { formatBytes } from './format.ts';

export function formatCleanup(s: CleanupSummary): string {
  const verb = s.dryRun ? 'would delete' : 'deleted';
  const lines = [
    `Retention: ${Object.entries(s.policy)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}${s.dryRun ? ' (dry run: nothing deleted)' : ''}`,
  ];
  for (const d of s.deleted) lines.push(`  ${verb} ${d.id} (${formatBytes(d.bytes)})`);
  for (const k of s.kept) lines.push(`  kept ${k.id}: ${k.reasons.join(', ')}`);
  for (const id of s.incompleteRemoved)
    lines.push(`  ${s.dryRun ? 'would remove' : 'removed'} incomplete ${id}`);
  if (s.deleted.length === 0) lines.push('  nothing to delete');
  if (s.prune) lines.push(formatPrune(s.prune));
  if (s.pruneSkipped) lines.push(`warning: ${s.pruneSkipped}`);
  return lines.join('\n');
}

function formatPrune(p: PruneSummary): string {
  const removed = p.packsObsolete + p.packsUnindexed;
  if (removed + p.packsRepacked === 0)
    return `Repository: ${p.packsBefore} packs (${formatBytes(p.bytesBefore)}), ${p.usedBlobs} blobs in use: nothing to reclaim`;
  const would = p.dryRun ? 'would ' : '';
  const parts = [
    `${would}remove ${removed} packs${p.packsUnindexed > 0 ? ` (${p.packsUnindexed} left by interrupted runs)` : ''}`,
    `${would}repack ${p.packsRepacked}${p.dryRun ? '' : ` into ${p.packsWritten} new`}`,
    `${p.blobsRemoved} unused blobs`,
  ];
  return [
    `Repository: ${p.packsBefore} packs (${formatBytes(p.bytesBefore)}), ${p.usedBlobs} blobs in use`,
    `  ${parts.join(', ')}: ${p.dryRun ? 'about ' : ''}${formatBytes(Math.max(0, p.bytesReclaimed))} ${p.dryRun ? 'to reclaim' : 'reclaimed'}`,
  ].join('\n');
}
