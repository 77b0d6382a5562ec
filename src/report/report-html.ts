/**
 * `renderReport(model)`: one self-contained HTML page (docs/design.md §13.5). Inline CSS and SVG only;
 * the Content-Security-Policy allows no script, font, frame or request of any kind (images only as
 * data: URLs, of which there are none), so the page can be mailed or opened from a file and stays inert.
 */
import { html, raw, type Html } from './html.ts';
import { sizeChart, storeLegend, timelineChart, hasFailedCheck } from './report-charts.ts';
import type { ReportModel, ReportSnapshot } from './report-model.ts';
import { formatBytes } from '../bytes.ts';
import { formatAge, formatCount, formatTime } from './report-format.ts';
import {
  checksSection,
  copiesSection,
  leftoversSection,
  snapshotsSection,
  syncSection,
} from './report-sections.ts';

export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const CSS = `
:root{--ok:#1e7d32;--bad:#c62828;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#111827;background:var(--bg)}
header{background:#1f2937;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#d1d5db}
main{padding:16px 28px 40px;max-width:1240px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 18px;margin:14px 0}
h2{font-size:16px;margin:4px 0 10px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:20px;font-weight:600;margin:2px 0}
.card small{color:var(--muted)}
.ok{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}.none{color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}
td.num{text-align:right;white-space:nowrap}
tr.failed{background:#fdecea}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere}
code.id,#newest-id{white-space:nowrap;overflow-wrap:normal}
small{color:var(--muted)}
.pill{display:inline-block;background:#f3f4f6;border-radius:10px;padding:0 8px;margin:1px 0;font-size:12px;white-space:nowrap}
details.month{border-top:1px solid var(--line);padding:6px 0}
details.month summary{cursor:pointer}
.chart{width:100%;height:auto;display:block}
.chart text{font-size:11px;fill:var(--muted)}
.chart .axis line,.chart line.grid{stroke:#d1d5db}
.timeline .full{fill:#1f2937}.timeline .incremental{fill:#93c5fd}.timeline .failed{fill:var(--bad)}
.sizes .area{fill-opacity:.35}.sizes .series{fill:none;stroke-width:2}
.legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
.empty,.more{color:var(--muted)}
`;

const card = (label: string, value: Html | string, detail: Html | string = ''): Html =>
  html`<div class="card">
    <div class="label">${label}</div>
    <div class="value">${value}</div>
    <small>${detail}</small>
  </div>`;

const verdict = (ok: boolean | undefined, yes: string, no: string): Html =>
  ok === undefined
    ? html`<span class="none">never</span>`
    : ok
      ? html`<span class="ok">${yes}</span>`
      : html`<span class="bad">${no}</span>`;

function newestBy<T>(
  snapshots: readonly ReportSnapshot[],
  pick: (s: ReportSnapshot) => T | undefined,
  at: (t: T) => string,
) {
  let best: { snapshot: ReportSnapshot; value: T } | undefined;
  for (const snapshot of snapshots) {
    const value = pick(snapshot);
    if (value !== undefined && (!best || at(value) > at(best.value))) best = { snapshot, value };
  }
  return best;
}

function cards(model: ReportModel): Html {
  const s = model.snapshots;
  const newest = s[0];
  const full = s.filter((x) => x.kind === 'full').length;
  const stored = s.reduce((sum, x) => sum + x.addedBytes, 0);
  const verified = newestBy(
    s,
    (x) => x.verification,
    (v) => v.at,
  );
  const drill = newestBy(
    s,
    (x) => x.restoreTest,
    (t) => t.at,
  );
  const failed = s.filter(hasFailedCheck).length;
  const sync = model.sync && 'report' in model.sync ? model.sync.report : undefined;
  return html`<div class="cards">
    ${card('Snapshots', html`<span id="snapshot-count">${formatCount(s.length)}</span>`, `${full} full, ${s.length - full} incremental`)}
    ${card('Newest', newest ? html`<code id="newest-id">${newest.id}</code>` : html`<span class="none">none</span>`, newest ? `${formatTime(newest.startedAt)} (${formatAge(newest.startedAt, model.generatedAt)} ago)` : '')}
    ${card('Stored', formatBytes(stored), 'added by the snapshots listed')}
    ${card('Last verification', verdict(verified?.value.ok, 'passed', 'failed'), verified ? html`<code>${verified.snapshot.id}</code> ${formatTime(verified.value.at)}` : '')}
    ${card('Last restore drill', html`<span id="last-drill">${verdict(drill?.value.ok, 'passed', 'failed')}</span>`, drill ? html`<code>${drill.snapshot.id}</code> ${formatTime(drill.value.at)}` : '')}
    ${card('Failed checks', failed ? html`<span class="bad">${failed}</span>` : html`<span class="ok">0</span>`, 'snapshots whose verification or drill failed')}
    ${card('Sync', sync ? verdict(sync.isConsistent, 'consistent', 'inconsistent') : html`<span class="none">no report</span>`, sync ? formatTime(sync.timestamp) : '')}
    ${card('Cloud copies of the newest', newest ? formatCount(newest.uploads.length) : '—', newest?.uploads.map((u) => u.url).join(', ') ?? '')}
  </div>`;
}

/** The whole page. */
export function renderReport(model: ReportModel): string {
  const page = html`<!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="Content-Security-Policy" content="${raw(REPORT_CSP)}" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${model.title}</title>
        <style>
          ${raw(CSS)}
        </style>
      </head>
      <body>
        <header>
          <h1>${model.title}</h1>
          <p>
            Repository <code>${model.repository}</code> · generated ${formatTime(model.generatedAt)} by
            ${model.tool.name} ${model.tool.version}
          </p>
        </header>
        <main>
          ${cards(model)}
          <section id="timeline">
            <h2>Snapshot history</h2>
            ${timelineChart(model.snapshots)}
            <p class="legend">
              <span><i style="background:#1f2937"></i>full</span
              ><span><i style="background:#93c5fd"></i>incremental</span
              ><span><i style="background:#c62828;border-radius:5px"></i>a check failed</span>
            </p>
          </section>
          <section id="sizes">
            <h2>Stored size per store</h2>
            ${sizeChart(model.snapshots)}${storeLegend(model.snapshots)}
          </section>
          <section id="checks">
            <h2>Verification and restore drills</h2>
            ${checksSection(model.snapshots)}
          </section>
          <section id="sync">
            <h2>Sync consistency</h2>
            ${syncSection(model.sync)}
          </section>
          <section id="copies">
            <h2>Cloud copies</h2>
            ${copiesSection(model.snapshots)}
          </section>
          <section id="snapshots">
            <h2>Snapshots by month</h2>
            ${snapshotsSection(model.snapshots)}
          </section>
          ${leftoversSection(model)}
        </main>
      </body>
    </html> `;
  return page.text;
}
