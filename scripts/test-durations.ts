/**
 * Refreshes test/setup/file-durations.json, the seconds each database test file takes, from the JSON report of
 * a vitest run (`--reporter=json --outputFile.json=REPORT.json`; `.ci/run` keeps its lanes' reports when
 * ACX_CI_REPORTS names a directory). CI's two database lanes are balanced with it (test/setup/balanced-sequencer.ts).
 * Files in the report replace their entry; entries of files that no longer exist are dropped.
 *
 *   node scripts/test-durations.ts REPORT.json [REPORT.json ...]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'test', 'setup', 'file-durations.json');

interface Report {
  testResults: { name: string; startTime: number; endTime: number }[];
}

const reports = process.argv.slice(2);
if (reports.length === 0) {
  console.error('usage: node scripts/test-durations.ts REPORT.json [REPORT.json ...]');
  process.exit(2);
}
const durations: Record<string, number> = existsSync(target)
  ? (JSON.parse(readFileSync(target, 'utf8')) as Record<string, number>)
  : {};
let updated = 0;
for (const file of reports) {
  const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  for (const result of report.testResults) {
    const key = relative(root, result.name).split('\\').join('/');
    durations[key] = Math.max(1, Math.round((result.endTime - result.startTime) / 1000));
    updated += 1;
  }
}
const kept = Object.fromEntries(
  Object.entries(durations)
    .filter(([key]) => existsSync(join(root, key)))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(target, `${JSON.stringify(kept, null, 2)}\n`);
console.log(`${updated} file(s) updated; ${Object.keys(kept).length} in ${relative(root, target)}`);
