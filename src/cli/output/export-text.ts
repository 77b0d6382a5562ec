/** The text summary of `acx-data export`. */
import type { ExportSummary } from '../../operations/export.ts';
import { formatBytes, formatTable } from './format.ts';

export function formatExport(s: ExportSummary): string {
  const rows: Array<Array<string | number>> = [['file', 'records', 'size']];
  for (const f of s.files)
    if (f.path !== 'manifest.json') rows.push([f.path, f.records, formatBytes(f.bytes)]);
  return [
    `Export ${s.id} written to ${s.dir}`,
    '',
    formatTable(rows, [1, 2]),
    '',
    `Done in ${s.seconds.toFixed(1)} s.`,
  ].join('\n');
}
