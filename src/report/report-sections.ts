/**
 * The report's tables: verification and restore drills, the latest sync report, cloud copies, the
 * snapshots grouped by month (one collapsible block each, the newest open) and the runs that never
 * finished. Every value goes through `html`, which escapes it.
 */
import { html, type Html } from './html.ts';
import { hasFailedCheck } from './report-charts.ts';
import type { ReportModel, ReportSnapshot } from './report-model.ts';
import type { SyncReportFile } from '../operations/sync/sync-report-file.ts';
import { formatBytes } from '../bytes.ts';
import { formatCount, formatMonth, formatTime } from './report-format.ts';

/** Rows of the verification table beyond the failed ones. */
export const CHECKS_SHOWN = 10;

const status = (ok: boolean | undefined, yes = 'passed', no = 'failed'): Html =>
  ok === undefined
    ? html`<span class="none">—</span>`
    : ok
      ? html`<span class="ok">${yes}</span>`
      : html`<span class="bad">${no}</span>`;

function drillCell(s: ReportSnapshot): Html {
  const t = s.restoreTest;
  if (!t) return status(undefined);
  const why = t.error ?? (t.mismatches.length > 0 ? `differs: ${t.mismatches.join(', ')}` : '');
  return html`${status(t.ok)}
    <small
      >${formatTime(t.at)} · ${t.datasets} datasets · ${Math.round(t.durationMs / 1000)}
      s${why ? html` · ${why}` : ''}</small
    >`;
}

function verifyCell(s: ReportSnapshot): Html {
  const v = s.verification;
  if (!v) return status(undefined);
  const first = v.problems[0];
  return html`${status(v.ok)}
    <small
      >${formatTime(v.at)}${first ? html` · ${first}${v.problems.length > 1 ? ` (+${v.problems.length - 1})` : ''}` : ''}</small
    >`;
}

/** Snapshots verified or drilled: every failed one, then the newest others up to CHECKS_SHOWN. */
export function checksSection(snapshots: readonly ReportSnapshot[]): Html {
  const checked = snapshots.filter((s) => s.verification || s.restoreTest);
  if (checked.length === 0)
    return html`<p class="empty">
      No snapshot has been verified yet: <code>acx-data backup --verify ID --restore-test</code>.
    </p>`;
  const failed = checked.filter(hasFailedCheck);
  const passed = checked.filter((s) => !hasFailedCheck(s));
  const shown = [...failed, ...passed.slice(0, CHECKS_SHOWN)];
  const hidden = passed.length - Math.min(passed.length, CHECKS_SHOWN);
  return html`<table class="checks">
      <thead>
        <tr>
          <th>Snapshot</th>
          <th>Verification</th>
          <th>Restore drill</th>
        </tr>
      </thead>
      <tbody>
        ${shown.map(
          (s) =>
            html`<tr class="${hasFailedCheck(s) ? 'failed' : ''}">
              <td><code>${s.id}</code></td>
              <td>${verifyCell(s)}</td>
              <td>${drillCell(s)}</td>
            </tr> `,
        )}
      </tbody>
    </table>
    ${hidden > 0 ? html`<p class="more">${formatCount(hidden)} older checked snapshots passed and are not listed.</p>` : ''}`;
}

/** The latest `sync --verify` report. */
export function syncSection(sync: SyncReportFile | undefined): Html {
  if (!sync)
    return html`<p class="empty">
      Not asked for: add <code>--sync-report FILE|DIR</code> (the reports of
      <code>acx-data sync --verify --report</code>).
    </p>`;
  if ('none' in sync)
    return html`<p class="empty">No sync report (<code>*.json</code>) in <code>${sync.path}</code> yet.</p>`;
  if ('problem' in sync)
    return html`<p class="bad">
      The sync report <code>${sync.path}</code> could not be read: ${sync.problem}
    </p>`;
  const r = sync.report;
  const issues = r.issues.filter((i) => i.count > 0);
  return html`<p>
      ${status(r.isConsistent, 'consistent', 'inconsistent')} — checked ${formatTime(r.timestamp)}, file
      <code>${sync.path}</code>
    </p>
    <p>
      ${Object.entries(r.counts).map(([store, n]) => html`<span class="pill">${store}: ${formatCount(n)}</span> `)}
    </p>
    ${
      issues.length === 0
        ? ''
        : html`<table class="sync">
            <thead>
              <tr>
                <th>Issue</th>
                <th>Count</th>
                <th>First entries</th>
              </tr>
            </thead>
            <tbody>
              ${issues.map(
                (i) =>
                  html`<tr>
                    <td><code>${i.kind}</code></td>
                    <td class="num">${formatCount(i.count)}</td>
                    <td>${i.examples.map((e) => html`<code class="entry">${e}</code> `)}</td>
                  </tr> `,
              )}
            </tbody>
          </table>`
    }`;
}

/** Per destination: how many snapshots it holds a copy of, the newest copy, bytes sent. */
export function copiesSection(snapshots: readonly ReportSnapshot[]): Html {
  const byUrl = new Map<string, { count: number; bytes: number; newest?: ReportSnapshot; at: string }>();
  for (const s of snapshots)
    for (const u of s.uploads) {
      const entry = byUrl.get(u.url) ?? { count: 0, bytes: 0, at: '' };
      entry.count++;
      entry.bytes += u.bytesSent;
      if (!entry.newest) entry.newest = s;
      if (u.at > entry.at) entry.at = u.at;
      byUrl.set(u.url, entry);
    }
  if (byUrl.size === 0)
    return html`<p class="empty">
      No copies recorded (<code>acx-data backup --upload-s3|--upload-gcs|--upload-azure</code>).
    </p>`;
  const newest = snapshots[0];
  return html`<table class="copies">
    <thead>
      <tr>
        <th>Destination</th>
        <th>Snapshots copied</th>
        <th>Newest copy</th>
        <th>Last upload</th>
        <th>Bytes sent</th>
      </tr>
    </thead>
    <tbody>
      ${[...byUrl].map(
        ([url, e]) =>
          html`<tr>
            <td><code>${url}</code></td>
            <td class="num">${formatCount(e.count)}</td>
            <td>
              <code>${e.newest?.id}</code>${e.newest === newest ? html` <span class="ok">newest</span>` : ''}
            </td>
            <td>${formatTime(e.at)}</td>
            <td class="num">${formatBytes(e.bytes)}</td>
          </tr> `,
      )}
    </tbody>
  </table>`;
}

function snapshotRow(s: ReportSnapshot): Html {
  const stores = s.stores.map(
    (u) => html`<span class="pill">${u.store} ${formatCount(u.records)} · ${formatBytes(u.bytes)}</span> `,
  );
  const copies = s.uploads.map((u) => html`<code>${u.url}</code> `);
  return html`<tr class="${hasFailedCheck(s) ? 'failed' : ''}">
    <td><code>${s.id}</code></td>
    <td>${s.kind}</td>
    <td>${formatTime(s.startedAt)}</td>
    <td>${stores}</td>
    <td class="num">${formatBytes(s.bytes)}</td>
    <td>${status(s.verification?.ok)}</td>
    <td>${status(s.restoreTest?.ok)}</td>
    <td>${copies.length ? copies : status(undefined)}</td>
  </tr> `;
}

/** The snapshots grouped by month (of their start, UTC), newest first; only the newest month open. */
export function snapshotsSection(snapshots: readonly ReportSnapshot[]): Html {
  if (snapshots.length === 0)
    return html`<p class="empty">No snapshots yet: <code>acx-data backup --all</code> writes the first.</p>`;
  const months = new Map<string, ReportSnapshot[]>();
  for (const s of snapshots) {
    const month = s.startedAt.slice(0, 7);
    months.set(month, [...(months.get(month) ?? []), s]);
  }
  return html`${[...months].map(([month, list], i) => {
    const full = list.filter((s) => s.kind === 'full').length;
    const failed = list.filter(hasFailedCheck).length;
    const added = list.reduce((sum, s) => sum + s.addedBytes, 0);
    return html`<details class="month" data-month="${month}" ${i === 0 ? html` open` : ''}>
      <summary>
        <strong>${formatMonth(month)}</strong> — ${formatCount(list.length)} snapshots (${full} full,
        ${list.length - full} incremental), ${formatBytes(added)}
        added${failed ? html` · <span class="bad">${failed} failed a check</span>` : ''}
      </summary>
      <table class="snapshots">
        <thead>
          <tr>
            <th>Snapshot</th>
            <th>Kind</th>
            <th>Started</th>
            <th>Stores (records · stored)</th>
            <th>Stored</th>
            <th>Verified</th>
            <th>Drill</th>
            <th>Copies</th>
          </tr>
        </thead>
        <tbody>
          ${list.map(snapshotRow)}
        </tbody>
      </table>
    </details> `;
  })}`;
}

/** Runs that never finished and snapshots whose manifest could not be read. */
export function leftoversSection(model: ReportModel): Html {
  const items = [
    ...model.running.map((id) => html`<li><code>${id}</code>: being written now</li>`),
    ...model.incomplete.map(
      (id) =>
        html`<li>
          <code>${id}</code>: incomplete (a run that never finished;
          <code>acx-data backup --cleanup</code> removes it)
        </li>`,
    ),
    ...model.damaged.map((d) => html`<li class="bad"><code>${d.id}</code>: ${d.problem}</li>`),
  ];
  return items.length === 0
    ? html``
    : html`<section>
        <h2>Unfinished and damaged</h2>
        <ul>
          ${items}
        </ul>
      </section>`;
}
