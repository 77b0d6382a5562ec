/** The text summaries of `acx-data sync` and `sync --verify`. */
import type { SyncSummary } from '../../operations/sync/sync.ts';
import { ISSUE_KINDS } from '../../operations/sync/sync-issues.ts';
import type { VerifyResult } from '../../operations/sync/sync-verify.ts';
import { formatTable } from './format.ts';

const SHOWN_IN_TEXT = 10;

export function formatSync(s: SyncSummary): string {
  const rows: Array<Array<string | number>> = [
    [
      'direction',
      'into',
      'checked',
      'created',
      'updated',
      'different',
      'unchanged',
      'extra',
      'embedded',
      'seconds',
    ],
  ];
  for (const d of s.directions)
    rows.push([
      d.direction,
      d.target,
      d.checked,
      d.created,
      d.updated,
      d.different,
      d.unchanged,
      d.extra,
      d.embeddings,
      d.seconds.toFixed(1),
    ]);
  const lines = [
    `${s.dryRun ? 'Dry run (nothing written)' : 'Sync'}${s.force ? ' with --force' : ''}${s.prune ? ' with --prune' : ''}:`,
    '',
    formatTable(rows, [2, 3, 4, 5, 6, 7, 8, 9]),
  ];
  for (const d of s.directions) {
    const links = d.linksCreated + d.extraLinks > 0;
    if (links)
      lines.push(
        `${d.direction}: RELATED_TO ${d.linksCreated} created, ${d.extraLinks} extra${s.prune ? `, ${d.linksDeleted} deleted` : ''}`,
      );
    if (d.extra > 0)
      lines.push(
        `${d.direction}: ${d.extra} records only in ${d.target}${s.prune ? ` (${d.pruned} ${s.dryRun ? 'would be ' : ''}deleted)` : ' (kept; --prune deletes them)'}: ${d.extraCodes.join(', ')}${d.extra > d.extraCodes.length ? ', …' : ''}`,
      );
    if (d.different > 0 && !s.force && d.direction !== 'neo4j-postgres')
      lines.push(
        `${d.direction}: ${d.different} records differ and were left as they are (--force rewrites them)`,
      );
    for (const r of d.rejected.slice(0, SHOWN_IN_TEXT))
      lines.push(`${d.direction}: ${r.code} not written: ${r.reason}`);
    if (d.rejectedCount > SHOWN_IN_TEXT)
      lines.push(`${d.direction}: … ${d.rejectedCount - SHOWN_IN_TEXT} more not written`);
    for (const r of d.skipped.slice(0, SHOWN_IN_TEXT))
      lines.push(`${d.direction}: ${r.code} skipped: ${r.reason}`);
    if (d.skippedCount > SHOWN_IN_TEXT)
      lines.push(`${d.direction}: … ${d.skippedCount - SHOWN_IN_TEXT} more skipped`);
    if (d.note) lines.push(`${d.direction}: ${d.note}`);
    if (d.failure)
      lines.push(
        `${d.direction}: FAILED: ${d.failure.message}${d.failure.hint ? ` (${d.failure.hint})` : ''}`,
      );
  }
  if (s.embeddingModel) lines.push(`Embedding model: ${s.embeddingModel}`);
  return lines.join('\n');
}

export function formatVerify(r: VerifyResult, reportPath?: string): string {
  const lines = [
    `Consistency: ${r.is_consistent ? 'consistent' : 'INCONSISTENT'} (${r.counts.postgres} codes in PostgreSQL, ${r.counts.neo4j} DTC nodes in Neo4j, ${r.counts.qdrant} DTC points in Qdrant; ${r.checked.fields} fields compared)`,
  ];
  for (const kind of ISSUE_KINDS) {
    const count = r.issue_counts[kind];
    if (count === 0) continue;
    const shown = r.issues[kind]
      .slice(0, SHOWN_IN_TEXT)
      .map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
    lines.push(`  ${kind}: ${count}`);
    for (const e of shown) lines.push(`    ${e}`);
    if (count > shown.length)
      lines.push(
        `    … ${count - shown.length} more${reportPath ? ' (all in the report)' : ' (--report FILE lists all)'}`,
      );
  }
  if (reportPath) lines.push(`Report: ${reportPath}`);
  return lines.join('\n');
}
