/**
 * The HTML report in a real browser (Debian's chromium through puppeteer-core, no browser download):
 * the page the real CLI writes from real repositories of 0, 1 and 1 000 snapshots renders its counts,
 * its newest snapshot, a failed drill as failed and charts with one mark per week; it makes no request
 * but its own and logs no error. The 1 000-snapshot page is screenshotted (docs/images/report-1000.png
 * when ACX_UPDATE_SCREENSHOT=1).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'puppeteer-core';
import { runCli, stateEnv } from '../support/cli.ts';
import { buildReportRepository, type BuiltSnapshot } from '../support/report-repository.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`report-browser.test.ts skipped: ${CHROMIUM} is absent (apt-get install chromium)`);
const SCREENSHOT = fileURLToPath(new URL('../../docs/images/report-1000.png', import.meta.url));
const WEEK = 7 * 86_400_000;
const MONDAY = Date.UTC(1970, 0, 5);

/** Weeks (Monday to Sunday, UTC) holding at least one snapshot. */
const weeksOf = (plan: BuiltSnapshot[]): number =>
  new Set(plan.map((s) => Math.floor((s.time.getTime() - MONDAY) / WEEK))).size;

/** The slice of the browser's DOM the test reads. */
interface PageDocument {
  body: { innerText: string };
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): Array<{ points?: { numberOfItems: number } }>;
}

interface Seen {
  requests: string[];
  errors: string[];
  text: string;
  count: string;
  newest: string;
  drill: string;
  bars: number;
  series: number[];
  scripts: number;
}

describe.skipIf(!hasChromium)('the HTML report in chromium', () => {
  let work: string;
  let browser: Browser;
  const plans = new Map<number, BuiltSnapshot[]>();

  async function report(n: number, extra: string[] = []): Promise<string> {
    const repo = join(work, `repo-${n}`);
    await mkdir(repo, { recursive: true });
    plans.set(n, n === 0 ? [] : await buildReportRepository(repo, n));
    const file = join(work, `report-${n}.html`);
    const result = await runCli(
      ['report', '--html', file, '--backup-dir', repo, '--format', 'json', ...extra],
      stateEnv(work),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ path: file, snapshots: n });
    return file;
  }

  async function open(file: string, screenshot?: string): Promise<Seen> {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const seen = await page.evaluate(() => {
      // The page's DOM, typed here: the project compiles without the DOM library.
      const document = (globalThis as unknown as { document: PageDocument }).document;
      const text = (selector: string) => document.querySelector(selector)?.textContent ?? '';
      return {
        text: document.body.innerText,
        count: text('#snapshot-count'),
        newest: text('#newest-id'),
        drill: text('#last-drill'),
        bars: document.querySelectorAll('svg.timeline g.tl-bucket').length,
        series: [...document.querySelectorAll('svg.sizes polyline.series')].map(
          (p) => p.points!.numberOfItems,
        ),
        scripts: document.querySelectorAll('script').length,
      };
    });
    if (screenshot) await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
    await page.close();
    return { requests, errors, ...seen };
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'acx-report-browser-'));
    const { default: puppeteer } = await import('puppeteer-core');
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('0 snapshots: says so, draws no chart, makes no request', async () => {
    const file = await report(0);
    const seen = await open(file);
    expect(seen.requests).toEqual([pathToFileURL(file).href]);
    expect(seen.errors).toEqual([]);
    expect([seen.count, seen.newest, seen.drill, seen.bars, seen.series]).toEqual(['0', '', 'never', 0, []]);
    expect(seen.text).toContain('No snapshots yet');
  }, 60_000);

  it('1 snapshot: its id, its failed drill, one point per store', async () => {
    const file = await report(1);
    const seen = await open(file);
    const [only] = plans.get(1)!;
    expect(seen.requests).toEqual([pathToFileURL(file).href]);
    expect(seen.errors).toEqual([]);
    expect([seen.count, seen.newest, seen.drill, seen.bars, seen.series]).toEqual([
      '1',
      only!.id,
      'failed',
      1,
      [1, 1, 1],
    ]);
    expect(seen.text).toMatch(
      /failed\s+2025-01-01 03:00 UTC · 3 datasets · 61 s · differs: postgres\/dtc_codes/,
    );
  }, 60_000);

  it('1 000 snapshots: aggregated by week, the sync report shown as text, a screenshot', async () => {
    const syncDir = join(work, 'sync');
    await mkdir(syncDir);
    const hostile = '<script>alert(1)</script>';
    await writeFile(
      join(syncDir, 'sync-2025-12-01.json'),
      JSON.stringify({
        timestamp: '2025-12-01T03:00:00Z',
        is_consistent: false,
        counts: { postgres: 120, neo4j: 119, qdrant: 120 },
        issues: { [hostile]: [`<img src=x onerror=alert(2)>`], missing_in_neo4j: ['P0420'] },
        issue_counts: { [hostile]: 1, missing_in_neo4j: 1 },
      }),
    );
    const file = await report(1000, ['--sync-report', syncDir, '--title', 'AutoCognitix production']);
    const shot = join(work, 'report-1000.png');
    const seen = await open(file, shot);
    const plan = plans.get(1000)!;
    expect(seen.requests).toEqual([pathToFileURL(file).href]);
    expect(seen.errors).toEqual([]);
    expect([seen.count, seen.newest, seen.drill]).toEqual(['1,000', plan.at(-1)!.id, 'failed']);
    const weeks = weeksOf(plan);
    expect(weeks).toBeGreaterThan(40);
    expect(seen.bars).toBe(weeks);
    expect(seen.series).toEqual([weeks, weeks, weeks]);
    expect(seen.scripts).toBe(0);
    expect(seen.text).toContain(hostile);
    expect(seen.text).toContain('<img src=x onerror=alert(2)>');
    expect(seen.text).toContain('inconsistent');
    expect(existsSync(shot)).toBe(true);
    if (process.env.ACX_UPDATE_SCREENSHOT === '1') {
      await mkdir(join(SCREENSHOT, '..'), { recursive: true });
      await open(file, SCREENSHOT);
    }
  }, 120_000);
});
