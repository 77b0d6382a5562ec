/**
 * Export format rates: one synthetic AutoCognitix-shaped table (DTC rows: text with accents, arrays,
 * JSON, timestamps, NULLs) of N rows written by the CSV, XLSX, SQLite and JSON writers, each in its own
 * process under /usr/bin/time -v, at two sizes so memory flatness shows. No store is involved: this
 * measures the writers. Peer: the same rows through a plain `fs` write of their JSON lines (the floor
 * any writer pays for producing the text).
 *
 *   npx node bench/export-formats.ts [--rows 1000000] [--small 200000]
 *   npx node bench/export-formats.ts --child <format> <rows> <dir>      (internal)
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { TabularDataset, ExportRecord } from '../src/model/dataset.ts';
import { writeCsvFile } from '../src/formats/csv/csv-format.ts';
import { XlsxExportWriter } from '../src/formats/xlsx/xlsx-format.ts';
import { SqliteExportWriter } from '../src/formats/sqlite/sqlite-format.ts';
import { writeNdjsonFile } from '../src/formats/json/json-document.ts';
import { jsonText } from '../src/formats/text-values.ts';
import { dtcRecord } from '../src/seed/dtc.ts';
import { machineNotes, machineNotesMarkdown, measure, mib, root, today } from './lib.ts';

const FORMATS = ['plain-ndjson', 'csv', 'json', 'sqlite', 'xlsx'] as const;
type Format = (typeof FORMATS)[number];

// Generating a DTC record costs more than writing it: cycle through a precomputed set instead.
const SAMPLE = Array.from({ length: 2000 }, (_, i) => dtcRecord(1, i, 7000));

function dataset(rows: number): TabularDataset {
  return {
    name: 'dtc_codes',
    kind: 'table',
    key: ['id'],
    indexed: ['code'],
    fields: [
      { name: 'id', type: 'integer' },
      { name: 'code', type: 'text' },
      { name: 'description_hu', type: 'text' },
      { name: 'symptoms', type: 'array' },
      { name: 'meta', type: 'json' },
      { name: 'updated_at', type: 'timestamp' },
    ],
    async *records(): AsyncGenerator<ExportRecord> {
      for (let i = 0; i < rows; i++) {
        const d = SAMPLE[i % SAMPLE.length] ?? SAMPLE[0]!;
        yield {
          id: i + 1,
          code: `${d.code}-${i}`,
          description_hu: d.description_hu,
          symptoms: d.symptoms,
          meta: { severity: d.severity, system: d.system, sources: d.sources },
          updated_at: d.updated_at.toISOString(),
        };
      }
    },
  };
}

async function child(format: Format, rows: number, dir: string): Promise<void> {
  const ds = dataset(rows);
  const path = join(dir, `out.${format}`);
  if (format === 'plain-ndjson') {
    const out = createWriteStream(path);
    for await (const r of ds.records()) if (!out.write(jsonText(r) + '\n')) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
  } else if (format === 'csv') await writeCsvFile(path, ds);
  else if (format === 'json') await writeNdjsonFile(path, ds);
  else if (format === 'sqlite') {
    const w = new SqliteExportWriter();
    await w.open(path);
    await w.writeDataset(ds);
    await w.close();
  } else {
    const w = new XlsxExportWriter();
    await w.open(path);
    await w.writeDataset(ds);
    await w.close();
  }
  process.stdout.write(String(statSync(path).size));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1] as Format, Number(args[2]), args[3] ?? tmpdir());
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const big = flag('--rows', 1_000_000);
  const small = flag('--small', 200_000);
  const notes = machineNotes('none (format writers only)');
  const results: Array<{ format: Format; rows: number; seconds: number; rss: number; bytes: number }> = [];
  for (const format of FORMATS) {
    for (const rows of [small, big]) {
      const dir = mkdtempSync(join(tmpdir(), 'acx-bench-export-'));
      try {
        const m = await measure(
          process.execPath,
          [join(root, 'bench/export-formats.ts'), '--child', format, String(rows), dir],
          {
            env: process.env,
            label: `${format} ${rows} rows`,
          },
        );
        results.push({ format, rows, seconds: m.seconds, rss: m.maxRssKiB, bytes: Number(m.stdout) });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const floor = results.find((r) => r.format === 'plain-ndjson' && r.rows === big);
  const lines = [
    `# Export format rates (${today()})`,
    '',
    'Produced by `npx node bench/export-formats.ts`. One synthetic `dtc_codes`-shaped table (6 columns: integer key, code,',
    'Hungarian text with NULLs, text array, JSON object, timestamp), each format in its own process under `/usr/bin/time -v`.',
    '`plain-ndjson` is the floor: the same records serialised to JSON lines with no format logic.',
    '',
    '| format | rows | seconds | rows/s | peak RSS MiB | RSS big / small | file MB | time vs plain-ndjson |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const smallRun = results.find((x) => x.format === r.format && x.rows === small);
    lines.push(
      `| ${r.format} | ${r.rows} | ${r.seconds.toFixed(1)} | ${Math.round(r.rows / r.seconds)} | ${mib(r.rss)} | ${r.rows === big && smallRun ? (r.rss / smallRun.rss).toFixed(2) : ''} | ${(r.bytes / 1e6).toFixed(1)} | ${r.rows === big && floor ? (r.seconds / floor.seconds).toFixed(2) : ''} |`,
    );
  }
  lines.push('', machineNotesMarkdown(notes));
  const md = lines.join('\n') + '\n';
  writeFileSync(join(root, 'bench/results', `export-formats-${today()}.md`), md);
  writeFileSync(
    join(root, 'bench/results', `export-formats-${today()}.json`),
    JSON.stringify({ notes, results }, null, 2),
  );
  process.stdout.write(md);
}

await main();
