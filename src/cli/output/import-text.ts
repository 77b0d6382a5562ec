/** The text summary of `acx-data import`. */
import type { ImportSummary } from '../../operations/import.ts';
import { formatTable } from './format.ts';

export function formatImport(s: ImportSummary): string {
  const rows: Array<Array<string | number>> = [
    ['store', 'dataset', 'into', 'inserted', 'updated', 'skipped', 'rejected'],
  ];
  for (const d of s.datasets)
    rows.push([
      d.store,
      d.dataset,
      d.target,
      d.counts.inserted,
      d.counts.updated,
      d.counts.skipped,
      d.counts.rejected,
    ]);
  const t = s.totals;
  rows.push(['total', '', '', t.inserted, t.updated, t.skipped, t.rejected]);
  const verb = s.mode === 'validate' ? 'Validation' : s.mode === 'dry-run' ? 'Dry run' : 'Import';
  const outcome =
    s.outcome === 'written'
      ? t.rejected > 0
        ? `written without the ${t.rejected} invalid records (--skip-invalid)`
        : 'written'
      : s.outcome === 'refused'
        ? `nothing written: ${t.rejected} invalid records (fix them, or import the rest with --skip-invalid)`
        : s.mode === 'validate'
          ? t.rejected > 0
            ? `${t.rejected} invalid records; nothing written`
            : 'every record is valid; nothing written'
          : t.rejected === 0
            ? 'nothing written; a real import would do the above'
            : s.skipInvalid
              ? `nothing written; a real import would do the above and leave out the ${t.rejected} invalid records`
              : `nothing written; a real import would refuse (${t.rejected} invalid records) and write nothing, or do the above with --skip-invalid`;
  const lines = [
    `${verb} with --on-conflict ${s.strategy}: ${outcome}.`,
    '',
    formatTable(rows, [3, 4, 5, 6]),
  ];
  const recovered = (s.recovered ?? []).flatMap((r) => [
    `Rolled back first: an import interrupted since ${r.startedAt} (pid ${r.pid}):`,
    ...Object.entries(r.stores).map(([store, what]) => `  ${store}: ${what}`),
  ]);
  lines.unshift(...recovered);
  for (const input of s.inputs) for (const n of input.notices) lines.push(`note: ${n}`);
  for (const d of s.datasets) for (const n of d.notes ?? []) lines.push(`note: ${d.dataset}: ${n}`);
  if (s.rejectionsTotal > 0) {
    lines.push('', `Invalid records (${s.rejectionsTotal}):`);
    for (const r of s.rejections)
      lines.push(`  ${r.file}:${r.line}${r.field ? ` ${r.field}` : ''}: ${r.reason}`);
    if (s.rejectionsTotal > s.rejections.length)
      lines.push(
        `  … and ${s.rejectionsTotal - s.rejections.length} more (all are listed on stderr as they are found)`,
      );
  }
  lines.push('', `Done in ${s.seconds.toFixed(1)} s.`);
  return lines.join('\n');
}
