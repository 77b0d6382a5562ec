/** Small text formatters shared by command summaries. */

export { formatBytes } from '../../bytes.ts';

/** A plain text table: the first row is the header; columns padded to their widest cell. */
export function formatTable(
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
  rightAligned: readonly number[] = [],
): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0))) ?? [];
  return cells
    .map((r) =>
      r
        .map((c, i) => (rightAligned.includes(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
