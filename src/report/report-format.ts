/** Numbers, sizes and times as the report prints them (UTC, like snapshot ids). */

/** `12345` → `12,345`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `2026-03-01 14:05 UTC`; an unparsable time is shown as written. */
export function formatTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `2026-03-01`. */
export const formatDay = (t: number): string => new Date(t).toISOString().slice(0, 10);

/** How long ago `iso` was at `now`: `35 min`, `30 h`, `12 days`. */
export function formatAge(iso: string, now: string): string {
  const ms = Date.parse(now) - Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 72) return `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/** `2026-03` → `March 2026`. */
export function formatMonth(month: string): string {
  const t = Date.parse(`${month}-01T00:00:00Z`);
  if (Number.isNaN(t)) return month;
  return new Date(t).toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}
