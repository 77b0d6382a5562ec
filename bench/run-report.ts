/**
 * The report of `npm run bench` (bench/run.ts): one table of figures (ratios acx-data / peer and the
 * rates the targets name: median, min, max over the rounds, the target, met or not), the peak
 * RSS of every process, the notes of each pair and the machine. Written as Markdown and JSON.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineNotesMarkdown, markdownTable, prettierWrite, type MachineNotes } from './lib.ts';
import { PAIRS, type Figure, type PairResult, type Target } from './run-pairs.ts';
import type { StoreCounts } from './stores.ts';

export interface BenchRun {
  scale: number;
  rounds: number;
  counts: StoreCounts;
  machine: MachineNotes;
  qdrantServer: string;
  pairs: PairResult[];
}

/** Acx-data processes may not exceed this peak RSS at any scale (issue #15). */
const RSS_LIMIT_MIB = 300;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const number = (value: number, unit: string): string => {
  if (!Number.isFinite(value)) return '–';
  if (unit === '×') return value.toFixed(2);
  if (value >= 1000) return Math.round(value).toLocaleString('en-US').replace(/,/g, ' ');
  return value.toFixed(value < 10 ? 2 : 1);
};

const met = (value: number, target: Target | undefined): string =>
  !target ? '' : (target.op === '<=' ? value <= target.value : value >= target.value) ? 'met' : 'not met';

function figureRows(pairs: PairResult[]): string[][] {
  return pairs.flatMap((p) =>
    p.figures.map((f: Figure) => {
      const m = median(f.values);
      return [
        p.pair,
        f.label,
        f.unit,
        number(m, f.unit),
        number(Math.min(...f.values), f.unit),
        number(Math.max(...f.values), f.unit),
        f.target?.text ?? '',
        met(m, f.target),
      ];
    }),
  );
}

function rssRows(pairs: PairResult[]): string[][] {
  return pairs.flatMap((p) => {
    const tools = [...new Set(p.samples.map((s) => s.tool))];
    return tools.map((tool) => {
      const runs = p.samples.filter((s) => s.tool === tool);
      const peak = Math.max(...runs.map((s) => s.maxRssKiB)) / 1024;
      const isAcx = runs[0]?.isAcx ?? false;
      return [
        p.pair,
        tool,
        number(median(runs.map((s) => s.seconds)), 's'),
        number(median(runs.map((s) => s.cpuSeconds)), 's'),
        peak.toFixed(0),
        isAcx ? `≤ ${RSS_LIMIT_MIB} MiB: ${peak <= RSS_LIMIT_MIB ? 'met' : 'not met'}` : '',
      ];
    });
  });
}

export function renderReport(run: BenchRun): string {
  const c = run.counts;
  return [
    `# npm run bench: acx-data against its peers, scale ${run.scale} (${run.machine.date.slice(0, 10)})`,
    '',
    `Produced by \`npm run bench -- --scale ${run.scale} --rounds ${run.rounds}${onlyOption(run)}\` (bench/run.ts, bench/README.md). ` +
      `Seeded once (\`acx-data seed --scale ${run.scale} --seed 1 --force\`): ${c.postgresRows} PostgreSQL rows in ` +
      `${c.postgresTables} tables, ${c.neo4jNodes} nodes and ${c.neo4jRelationships} relationships, ${c.qdrantPoints} ` +
      `points in ${c.qdrantCollections} collection(s). Each pair ran ${run.rounds} round(s), acx-data and the peer ` +
      'alternating (the order reversed every other round), each process under `/usr/bin/time -v`; every restore and ' +
      "import was counted, and acx-data's restores also compared by the store's content fingerprint. Ratios are " +
      'acx-data / peer wall time per round (1.00 is parity, lower is better for acx-data); every acx-data figure ' +
      'includes its start-up. "met" is judged on the median.',
    '',
    `Qdrant server: ${run.qdrantServer}.`,
    '',
    '## Figures and targets',
    '',
    markdownTable(
      ['pair', 'figure', 'unit', 'median', 'min', 'max', 'target (issue #15)', ''],
      figureRows(run.pairs),
    ),
    '',
    '## Processes: median wall and CPU seconds, peak RSS',
    '',
    markdownTable(
      ['pair', 'process', 'wall s (median)', 'CPU s user + sys (median)', 'peak RSS MiB (max)', 'target'],
      rssRows(run.pairs),
    ),
    '',
    '## Notes',
    '',
    ...run.pairs.flatMap((p) => p.notes.map((n) => `- ${p.pair}: ${n}`)),
    '',
    '## Machine',
    '',
    machineNotesMarkdown(run.machine),
    '',
  ].join('\n');
}

/** ` --only a,b` when the run measured some of the pairs, else nothing. */
function onlyOption(run: BenchRun): string {
  const names = run.pairs.map((p) => p.pair);
  return names.length < PAIRS.length ? ` --only ${names.join(',')}` : '';
}

/**
 * Writes `bench-scale<S>-<date>.md` and `.json` into `outDir` (`…-2`, `…-3` when a run of that scale and
 * day is already there: a second run never replaces the first); returns the Markdown.
 */
export function writeReport(outDir: string, run: BenchRun): string {
  const markdown = renderReport(run);
  mkdirSync(outDir, { recursive: true });
  const first = join(outDir, `bench-scale${run.scale}-${run.machine.date.slice(0, 10)}`);
  let base = first;
  for (let n = 2; existsSync(`${base}.md`) || existsSync(`${base}.json`); n++) base = `${first}-${n}`;
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.json`, `${JSON.stringify(run, null, 2)}\n`);
  prettierWrite([`${base}.md`, `${base}.json`]);
  console.error(`written: ${base}.md, ${base}.json`);
  return markdown;
}
