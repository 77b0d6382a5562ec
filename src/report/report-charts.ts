/**
 * The report's two inline SVG charts, drawn from the snapshots aggregated into time buckets (a day, a
 * week or a month, chosen by the time span so a chart never holds more than about a hundred marks,
 * whatever the number of snapshots): the timeline (one bar per bucket holding snapshots, fulls and
 * incrementals stacked, a red mark where a verification or drill failed) and the stored size per store
 * (a stacked area, one point per bucket: its newest snapshot).
 */
import { html, type Html } from './html.ts';
import { REPORT_STORES, type ReportSnapshot, type ReportStore } from './report-model.ts';
import { formatBytes } from '../bytes.ts';
import { formatDay } from './report-format.ts';

const DAY = 86_400_000;
export const BUCKET_UNITS = ['day', 'week', 'month'] as const;
export type BucketUnit = (typeof BUCKET_UNITS)[number];

export interface Bucket {
  start: number;
  end: number;
  /** Oldest first. */
  snapshots: ReportSnapshot[];
}

export const STORE_COLOURS: Record<ReportStore, string> = {
  postgres: '#336791',
  neo4j: '#2a9d8f',
  qdrant: '#dc6b2f',
  json: '#8d7bb8',
};

const timeOf = (s: ReportSnapshot): number => Date.parse(s.startedAt);

/** Day buckets up to 62 days of history, weeks (Monday, UTC) up to two years, months beyond. */
export function bucketUnitFor(spanMs: number): BucketUnit {
  if (spanMs <= 62 * DAY) return 'day';
  if (spanMs <= 730 * DAY) return 'week';
  return 'month';
}

function bucketBounds(t: number, unit: BucketUnit): { start: number; end: number } {
  const d = new Date(t);
  if (unit === 'month') {
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    return { start, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
  }
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (unit === 'day') return { start: day, end: day + DAY };
  const start = day - ((d.getUTCDay() + 6) % 7) * DAY;
  return { start, end: start + 7 * DAY };
}

/** The non-empty buckets of `snapshots` (any order), oldest first, and the unit chosen. */
export function bucketsOf(snapshots: readonly ReportSnapshot[]): { unit: BucketUnit; buckets: Bucket[] } {
  const timed = snapshots.filter((s) => !Number.isNaN(timeOf(s))).sort((a, b) => timeOf(a) - timeOf(b));
  if (timed.length === 0) return { unit: 'day', buckets: [] };
  const unit = bucketUnitFor(timeOf(timed.at(-1)!) - timeOf(timed[0]!));
  const buckets: Bucket[] = [];
  for (const s of timed) {
    const last = buckets.at(-1);
    if (last && timeOf(s) < last.end) last.snapshots.push(s);
    else buckets.push({ ...bucketBounds(timeOf(s), unit), snapshots: [s] });
  }
  return { unit, buckets };
}

/** Whether a snapshot's last verification or restore drill failed. */
export const hasFailedCheck = (s: ReportSnapshot): boolean =>
  s.verification?.ok === false || s.restoreTest?.ok === false;

const W = 960;
const LEFT = 64;
const RIGHT = 16;
const TOP = 16;
const BOTTOM = 28;

/** The x scale over the buckets' time range. */
function xScale(buckets: Bucket[]): (t: number) => number {
  const from = buckets[0]!.start;
  const to = buckets.at(-1)!.end;
  return (t) => LEFT + ((t - from) / (to - from)) * (W - LEFT - RIGHT);
}

/** Up to six date labels on the x axis, at bucket starts. */
function xAxis(buckets: Bucket[], x: (t: number) => number, height: number): Html {
  const step = Math.max(1, Math.ceil(buckets.length / 6));
  const ticks = buckets.filter((_, i) => i % step === 0);
  return html`<g class="axis"
    >${ticks.map(
      (b) =>
        html`<text x="${x(b.start).toFixed(1)}" y="${height - 8}" text-anchor="start"
          >${formatDay(b.start)}</text
        >`,
    )}<line x1="${LEFT}" y1="${height - BOTTOM}" x2="${W - RIGHT}" y2="${height - BOTTOM}"
  /></g>`;
}

function bucketTitle(b: Bucket, unit: BucketUnit): string {
  const full = b.snapshots.filter((s) => s.kind === 'full').length;
  const failed = b.snapshots.filter(hasFailedCheck).length;
  const when = unit === 'month' ? formatDay(b.start).slice(0, 7) : `${unit} of ${formatDay(b.start)}`;
  return `${when}: ${b.snapshots.length} snapshots (${full} full, ${b.snapshots.length - full} incremental)${failed ? `, ${failed} failed a check` : ''}`;
}

/** The timeline: one `g.tl-bucket` per bucket holding snapshots. */
export function timelineChart(snapshots: readonly ReportSnapshot[]): Html {
  const { unit, buckets } = bucketsOf(snapshots);
  if (buckets.length === 0) return html`<p class="empty">No snapshots yet.</p>`;
  const height = 170;
  const x = xScale(buckets);
  const max = Math.max(...buckets.map((b) => b.snapshots.length));
  const plot = height - TOP - BOTTOM;
  const y = (n: number) => (n / max) * plot;
  const bars = buckets.map((b) => {
    const full = b.snapshots.filter((s) => s.kind === 'full').length;
    const incremental = b.snapshots.length - full;
    const left = x(b.start);
    const width = Math.max(1.5, x(b.end) - left - 1);
    const base = height - BOTTOM;
    const failed = b.snapshots.some(hasFailedCheck);
    return html`<g class="tl-bucket" data-snapshots="${b.snapshots.length}"
      ><title>${bucketTitle(b, unit)}</title
      ><rect
        class="full"
        x="${left.toFixed(1)}"
        y="${(base - y(full)).toFixed(1)}"
        width="${width.toFixed(1)}"
        height="${y(full).toFixed(1)}"
      /><rect
        class="incremental"
        x="${left.toFixed(1)}"
        y="${(base - y(b.snapshots.length)).toFixed(1)}"
        width="${width.toFixed(1)}"
        height="${y(incremental).toFixed(1)}"
      />${failed ? html`<circle class="failed" cx="${(left + width / 2).toFixed(1)}" cy="${(base - y(b.snapshots.length) - 6).toFixed(1)}" r="4" />` : ''}</g
    >`;
  });
  return html`<svg
    class="chart timeline"
    viewBox="0 0 ${W} ${height}"
    role="img"
    aria-label="snapshots per ${unit}"
    data-unit="${unit}"
  >
    <g class="axis">
      <text x="${LEFT - 8}" y="${TOP + 4}" text-anchor="end">${max}</text>
      <text x="${LEFT - 8}" y="${height - BOTTOM}" text-anchor="end">0</text>
    </g>
    ${bars} ${xAxis(buckets, x, height)}
  </svg>`;
}

/** The smallest of 1, 2, 5 × 10^k (in bytes) at or above `value`. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 5, 10]) if (m * power >= value) return m * power;
  return 10 * power;
}

/** The stored bytes per store of each bucket's newest snapshot, stores in REPORT_STORES order. */
export function sizeSeries(buckets: Bucket[]): { stores: ReportStore[]; values: number[][] } {
  const present = new Set(buckets.flatMap((b) => b.snapshots.flatMap((s) => s.stores.map((u) => u.store))));
  const stores = REPORT_STORES.filter((s) => present.has(s));
  const values = buckets.map((b) => {
    const newest = b.snapshots.at(-1)!;
    return stores.map((store) => newest.stores.find((u) => u.store === store)?.bytes ?? 0);
  });
  return { stores, values };
}

/** Stored size per store: per store one `polygon.area` and one `polyline.series` with a point per bucket. */
export function sizeChart(snapshots: readonly ReportSnapshot[]): Html {
  const { unit, buckets } = bucketsOf(snapshots);
  if (buckets.length === 0) return html`<p class="empty">No snapshots yet.</p>`;
  const { stores, values } = sizeSeries(buckets);
  const height = 240;
  const x = xScale(buckets);
  const xs = buckets.map((b) => x((b.start + b.end) / 2));
  const top = niceCeiling(Math.max(1, ...values.map((v) => v.reduce((a, b) => a + b, 0))));
  const base = height - BOTTOM;
  const y = (bytes: number) => base - (bytes / top) * (base - TOP);
  const lower = values.map(() => 0);
  const layers = stores.map((store, k) => {
    const upper = values.map((v, i) => lower[i]! + v[k]!);
    const line = upper.map((v, i) => `${xs[i]!.toFixed(1)},${y(v).toFixed(1)}`);
    const back = lower.map((v, i) => `${xs[i]!.toFixed(1)},${y(v).toFixed(1)}`).reverse();
    upper.forEach((v, i) => (lower[i] = v));
    const colour = STORE_COLOURS[store];
    const dots =
      buckets.length === 1
        ? html`<circle cx="${xs[0]!.toFixed(1)}" cy="${y(upper[0]!).toFixed(1)}" r="5" fill="${colour}" />`
        : '';
    return html`<g class="layer" data-store="${store}"
      ><title>${store}</title
      ><polygon class="area" fill="${colour}" points="${[...line, ...back].join(' ')}" /><polyline
        class="series"
        stroke="${colour}"
        points="${line.join(' ')}"
      />${dots}</g
    >`;
  });
  return html`<svg
    class="chart sizes"
    viewBox="0 0 ${W} ${height}"
    role="img"
    aria-label="stored size per store, per ${unit}"
    data-unit="${unit}"
    data-points="${buckets.length}"
  >
    <g class="axis">
      <text x="${LEFT - 8}" y="${TOP + 4}" text-anchor="end">${formatBytes(top)}</text>
      <text x="${LEFT - 8}" y="${(TOP + base) / 2 + 4}" text-anchor="end">${formatBytes(top / 2)}</text>
      <text x="${LEFT - 8}" y="${base}" text-anchor="end">0</text>
      <line class="grid" x1="${LEFT}" y1="${TOP}" x2="${W - RIGHT}" y2="${TOP}" />
      <line class="grid" x1="${LEFT}" y1="${(TOP + base) / 2}" x2="${W - RIGHT}" y2="${(TOP + base) / 2}" />
    </g>
    ${layers} ${xAxis(buckets, x, height)}
  </svg>`;
}

/** The legend of the size chart, as HTML. */
export function storeLegend(snapshots: readonly ReportSnapshot[]): Html {
  const { stores } = sizeSeries(bucketsOf(snapshots).buckets);
  return html`<p class="legend">
    ${stores.map((s) => html`<span><i style="background:${STORE_COLOURS[s]}"></i>${s}</span>`)}
  </p>`;
}
