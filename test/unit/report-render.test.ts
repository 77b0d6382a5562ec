/**
 * The HTML report's model → page (docs/design.md §13.5): what it says, that it can make no request,
 * that user data (sync report keys and entries, titles, hook names in problems) is shown as text, that
 * the charts aggregate, and that the page file and the sync report are read and written as promised.
 */
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReport as renderPage, REPORT_CSP } from '../../src/report/report-html.ts';
import type { ReportModel, ReportSnapshot } from '../../src/report/report-model.ts';
import {
  readSyncReport,
  summariseSyncReport,
  type SyncReportSummary,
} from '../../src/operations/sync/sync-report-file.ts';
import { writeFileAtomically } from '../../src/files.ts';
import { escapeHtml } from '../../src/report/html.ts';
import { formatSnapshotId } from '../../src/repository/repository.ts';
import { acxErrorOf } from '../support/acx-error.ts';
import { tempDirs } from '../support/small-repository.ts';

const writeReportFile = (path: string, text: string) =>
  writeFileAtomically(path, text, { doing: 'write the report', createFolder: true });

const HOUR = 3_600_000;

/** The page without the whitespace between tags (its markup is laid out by prettier), other runs made one space. */
const renderReport = (m: ReportModel): string =>
  renderPage(m)
    .replace(/\s+/g, ' ')
    .replace(/>\s+</g, '><')
    .replace(/\s+(\/?>)/g, '$1');
const tempDir = tempDirs('acx-report-');

function snapshot(
  time: number,
  kind: 'full' | 'incremental',
  extra: Partial<ReportSnapshot> = {},
): ReportSnapshot {
  const at = new Date(time).toISOString();
  return {
    id: formatSnapshotId(kind, new Date(time)),
    kind,
    parent: null,
    formatVersion: 2,
    encrypted: false,
    startedAt: at,
    completedAt: at,
    stores: [
      { store: 'postgres', records: 1200, bytes: 4096 + time / HOUR },
      { store: 'qdrant', records: 300, bytes: 2048 },
    ],
    bytes: 6144,
    addedBytes: 1000,
    uploads: [],
    ...extra,
  };
}

function model(snapshots: ReportSnapshot[], extra: Partial<ReportModel> = {}): ReportModel {
  return {
    title: 'acx-data backups',
    repository: '/srv/backups',
    generatedAt: '2026-03-05T12:00:00.000Z',
    tool: { name: 'acx-data', version: '9.9.9' },
    snapshots: [...snapshots].sort((a, b) => b.startedAt.localeCompare(a.startedAt)),
    running: [],
    incomplete: [],
    damaged: [],
    ...extra,
  };
}

/** Every match of `pattern`'s first group. */
const all = (text: string, pattern: RegExp): string[] => [...text.matchAll(pattern)].map((m) => m[1]!);

const T0 = Date.UTC(2026, 2, 1, 2);
const failedDrill = snapshot(T0 + 48 * HOUR, 'full', {
  verification: { at: '2026-03-03T03:00:00.000Z', ok: true, problems: [] },
  restoreTest: {
    at: '2026-03-03T03:00:00.000Z',
    ok: false,
    durationMs: 5000,
    targets: { postgres: 'acx_drill_x' },
    datasets: 4,
    mismatches: [],
    error: 'neo4j: scratch database not empty',
  },
  uploads: [{ url: 's3://bucket/backups', at: '2026-03-03T02:10:00.000Z', bytesSent: 5000 }],
});
const three = [
  snapshot(T0, 'full', { verification: { at: '2026-03-01T05:00:00.000Z', ok: true, problems: [] } }),
  snapshot(T0 + 8 * HOUR, 'incremental'),
  snapshot(T0 + 24 * HOUR, 'full', {
    verification: {
      at: '2026-03-02T05:00:00.000Z',
      ok: false,
      problems: ['postgres/a.jsonl: sha256 differs'],
    },
  }),
  failedDrill,
];

describe('renderReport', () => {
  it('states the snapshots, the newest one, the checks and the copies', () => {
    const page = renderReport(model(three));
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}"/>`);
    expect(page).toMatch(/<span id="snapshot-count">4<\/span>/);
    expect(page).toContain(`<code id="newest-id">${failedDrill.id}</code>`);
    expect(page).toMatch(/<span id="last-drill"><span class="bad">failed<\/span><\/span>/);
    const drillRow = all(
      page,
      /<table class="checks">[\s\S]*?(<tr class="failed"><td><code>full_20260303_020000[\s\S]*?<\/tr>)/g,
    )[0];
    expect(drillRow).toContain(
      '<span class="bad">failed</span><small>2026-03-03 03:00 UTC · 4 datasets · 5 s · neo4j: scratch database not empty',
    );
    expect(page).toContain('postgres/a.jsonl: sha256 differs');
    expect(page).toMatch(
      /<code>s3:\/\/bucket\/backups<\/code><\/td><td class="num">1<\/td><td><code>full_20260303_020000<\/code><span class="ok">newest<\/span>/,
    );
    expect(page).toContain('2 failed a check');
  });

  it('can make no request: no script, no external reference, no URL but data:', () => {
    const page = renderReport(model(three));
    expect(page).not.toMatch(/<script|<link|<iframe|<img|@import|url\(/i);
    expect(all(page, /(?:src|href)="([^"]*)"/g)).toEqual([]);
  });

  it('shows user data as text: a sync report key, an entry, a title and a problem holding markup', () => {
    const summary = summariseSyncReport({
      timestamp: '2026-03-05T01:00:00Z',
      is_consistent: false,
      counts: { postgres: 10, '<b>neo4j</b>': 9 },
      issues: { '<script>alert(1)</script>': ['<img src=x onerror=alert(2)>'], missing_in_qdrant: ['P0001'] },
      issue_counts: { '<script>alert(1)</script>': 1, missing_in_qdrant: 1 },
    }) as SyncReportSummary;
    const hostile = snapshot(T0, 'full', {
      verification: {
        at: '2026-03-01T05:00:00.000Z',
        ok: false,
        problems: ['pre-hook "<svg onload=alert(3)>" failed'],
      },
    });
    const page = renderReport(
      model([hostile], {
        title: 'Backups </title><script>alert(4)</script>',
        repository: 's3://b/"><script>alert(5)</script>',
        sync: { path: '/reports/<x>.json', modifiedAt: '2026-03-05T01:00:00Z', report: summary },
      }),
    );
    expect(page).not.toMatch(/<script|<img|<svg onload|<b>neo4j/);
    expect(page).toContain('<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>');
    expect(page).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(page).toContain('pre-hook &quot;&lt;svg onload=alert(3)&gt;&quot; failed');
    expect(page).toContain('<title>Backups &lt;/title&gt;&lt;script&gt;alert(4)&lt;/script&gt;</title>');
    expect(page).toContain('s3://b/&quot;&gt;&lt;script&gt;alert(5)&lt;/script&gt;');
    expect(page).toContain('<span class="bad">inconsistent</span>');
    expect(escapeHtml(`<a href='x'>&</a>`)).toBe('&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('draws one timeline bar and one size point per day when the history is short', () => {
    const page = renderReport(model(three));
    expect(all(page, /<svg class="chart timeline"[^>]*data-unit="(\w+)"/g)).toEqual(['day']);
    expect(all(page, /<g class="tl-bucket" data-snapshots="(\d+)"/g)).toEqual(['2', '1', '1']);
    const series = all(page, /<g class="layer" data-store="(\w+)"/g);
    expect(series).toEqual(['postgres', 'qdrant']);
    for (const points of all(page, /<polyline class="series" stroke="[^"]+" points="([^"]*)"/g))
      expect(points.split(' ')).toHaveLength(3);
    // Stacked: qdrant's line lies above (smaller y) postgres's at every point.
    const [pg, qd] = all(page, /<polyline class="series" stroke="[^"]+" points="([^"]*)"/g).map((p) =>
      p.split(' ').map((xy) => Number(xy.split(',')[1])),
    );
    pg!.forEach((y, i) => expect(qd![i]!).toBeLessThan(y));
  });

  it('aggregates 1 000 snapshots over a year into weeks and months', () => {
    const many = Array.from({ length: 1000 }, (_, i) =>
      snapshot(
        Date.UTC(2025, 0, 6, 2) + Math.floor(i / 3) * 24 * HOUR + (i % 3) * 8 * HOUR,
        i % 3 ? 'incremental' : 'full',
        {
          verification: { at: '2025-01-01T00:00:00.000Z', ok: i !== 600, problems: [] },
        },
      ),
    );
    const page = renderReport(model(many));
    // 334 days from Monday 6 January 2025: 48 weeks, 11 months (January … the start of December).
    expect(all(page, /<svg class="chart timeline"[^>]*data-unit="(\w+)"/g)).toEqual(['week']);
    expect(all(page, /<g class="tl-bucket" data-snapshots="(\d+)"/g)).toHaveLength(48);
    for (const points of all(page, /<polyline class="series" stroke="[^"]+" points="([^"]*)"/g))
      expect(points.split(' ')).toHaveLength(48);
    const months = all(page, /<details class="month" data-month="([\d-]+)"/g);
    expect(months[0]).toBe('2025-12');
    expect(months.at(-1)).toBe('2025-01');
    expect(months).toHaveLength(12);
    expect(all(page, /<details class="month"[^>]*?( open)?>/g).filter((m) => m === ' open')).toHaveLength(1);
    expect(all(page, /<table class="checks">([\s\S]*?)<\/table>/g)[0]!.match(/<tr class/g)).toHaveLength(11);
    expect(page).toContain('989 older checked snapshots passed and are not listed.');
  });

  it('says there is nothing yet at 0 snapshots, with no chart', () => {
    const page = renderReport(model([], { incomplete: ['full_20260301_020000'] }));
    expect(page).toMatch(/<span id="snapshot-count">0<\/span>/);
    expect(page).not.toContain('<svg');
    expect(page).toContain('No snapshots yet');
    expect(page).toContain('<code>full_20260301_020000</code>: incomplete');
  });
});

describe('the sync report and the page file', () => {
  it('reads the newest *.json of a folder, and tells a file that is no report', async () => {
    const dir = await tempDir();
    const report = {
      timestamp: 't',
      is_consistent: true,
      counts: { postgres: 1 },
      issues: {},
      issue_counts: {},
    };
    await writeFile(join(dir, 'sync-2026-03-02.json'), JSON.stringify({ ...report, timestamp: 'newer' }));
    await writeFile(join(dir, 'sync-2026-03-01.json'), JSON.stringify(report));
    await writeFile(join(dir, 'notes.txt'), 'x');
    await utimes(join(dir, 'sync-2026-03-01.json'), new Date('2026-03-01'), new Date('2026-03-01'));
    await utimes(join(dir, 'sync-2026-03-02.json'), new Date('2026-03-02'), new Date('2026-03-02'));
    const found = await readSyncReport(dir);
    expect(found).toMatchObject({
      path: join(dir, 'sync-2026-03-02.json'),
      report: { timestamp: 'newer', isConsistent: true },
    });
    await writeFile(join(dir, 'z.json'), '{"not": "a report"}');
    expect(await readSyncReport(join(dir, 'z.json'))).toMatchObject({
      problem: expect.stringContaining('is_consistent'),
    });
    const empty = join(dir, 'empty');
    await mkdir(empty);
    expect(await readSyncReport(empty)).toEqual({ path: empty, none: true });
    const missing = await acxErrorOf(readSyncReport(join(dir, 'missing.json')));
    expect([missing.code, missing.message]).toEqual(['NOT_FOUND', expect.stringContaining('missing.json')]);
  });

  it('writes the page whole and leaves no temporary file, also when the write fails', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out', 'report.html');
    expect(await writeReportFile(path, 'é<p>')).toBe(5);
    await writeReportFile(path, 'second');
    expect(await readFile(path, 'utf8')).toBe('second');
    expect(await readdir(join(dir, 'out'))).toEqual(['report.html']);
    await mkdir(join(dir, 'out', 'a-folder.html'));
    const refused = await acxErrorOf(writeReportFile(join(dir, 'out', 'a-folder.html'), 'x'));
    expect([refused.code, refused.message]).toEqual(['STORAGE', expect.stringContaining('a-folder.html')]);
    expect((await readdir(join(dir, 'out'))).sort()).toEqual(['a-folder.html', 'report.html']);
  });
});
