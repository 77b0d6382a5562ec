/**
 * `acx-data import`: the guide's import_data.py — the same source flags, `--on-conflict`, `--validate`
 * and `--dry-run` — plus `--vectors` for `qdrant_vectors.json.gz`.
 */
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { AcxError } from '../../errors.ts';
import { CONFLICT_STRATEGIES, type ConflictStrategy } from '../../model/conflict.ts';
import { labelMap, type LabelScheme } from '../../model/labels.ts';
import {
  importData,
  type ImportInput,
  type ImportMode,
  type ImportStores,
  type ImportSummary,
} from '../../operations/import.ts';
import { openStores, type SomeStores } from '../../operations/open-stores.ts';
import type { StoreName } from '../../progress.ts';
import { createReporter } from '../output/reporters.ts';
import { globalOptions, printResult } from '../output/global-options.ts';
import { formatTable } from '../output/format.ts';
import { onInterrupt } from '../interrupt.ts';
import { labelSchemeOption } from '../options.ts';

interface ImportFlags {
  json?: string[];
  csv?: string[];
  sqlite?: string[];
  graphml?: string[];
  vectors?: string[];
  onConflict: ConflictStrategy;
  validate: boolean;
  dryRun: boolean;
  skipInvalid: boolean;
  batchSize: string;
  labelScheme: LabelScheme;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function formatSummary(s: ImportSummary): string {
  const rows: Array<Array<string | number>> = [
    ['store', 'dataset', 'into', 'inserted', 'updated', 'skipped', 'rejected'],
  ];
  for (const d of s.datasets)
    rows.push([
      d.store,
      d.dataset,
      d.target,
      d.counts.inserted,
      d.counts.updated,
      d.counts.skipped,
      d.counts.rejected,
    ]);
  const t = s.totals;
  rows.push(['total', '', '', t.inserted, t.updated, t.skipped, t.rejected]);
  const verb = s.mode === 'validate' ? 'Validation' : s.mode === 'dry-run' ? 'Dry run' : 'Import';
  const outcome =
    s.outcome === 'written'
      ? t.rejected > 0
        ? `written without the ${t.rejected} invalid records (--skip-invalid)`
        : 'written'
      : s.outcome === 'refused'
        ? `nothing written: ${t.rejected} invalid records (fix them, or import the rest with --skip-invalid)`
        : s.mode === 'validate'
          ? t.rejected > 0
            ? `${t.rejected} invalid records; nothing written`
            : 'every record is valid; nothing written'
          : t.rejected === 0
            ? 'nothing written; a real import would do the above'
            : s.skipInvalid
              ? `nothing written; a real import would do the above and leave out the ${t.rejected} invalid records`
              : `nothing written; a real import would refuse (${t.rejected} invalid records) and write nothing, or do the above with --skip-invalid`;
  const lines = [
    `${verb} with --on-conflict ${s.strategy}: ${outcome}.`,
    '',
    formatTable(rows, [3, 4, 5, 6]),
  ];
  for (const input of s.inputs) for (const n of input.notices) lines.push(`note: ${n}`);
  for (const d of s.datasets) for (const n of d.notes ?? []) lines.push(`note: ${d.dataset}: ${n}`);
  if (s.rejectionsTotal > 0) {
    lines.push('', `Invalid records (${s.rejectionsTotal}):`);
    for (const r of s.rejections)
      lines.push(`  ${r.file}:${r.line}${r.field ? ` ${r.field}` : ''}: ${r.reason}`);
    if (s.rejectionsTotal > s.rejections.length)
      lines.push(
        `  … and ${s.rejectionsTotal - s.rejections.length} more (all are listed on stderr as they are found)`,
      );
  }
  lines.push('', `Done in ${s.seconds.toFixed(1)} s.`);
  return lines.join('\n');
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description(
      'import exports (JSON, CSV, SQLite, GraphML, vectors) with a conflict strategy; all or nothing per store',
    )
    .option('--json <file>', 'autocognitix_export.json (also .json.gz)', collect)
    .option(
      '--csv <dir>',
      'a CSV directory: pg_<table>.csv, neo4j_<Label>.csv, neo4j_rel_<TYPE>.csv',
      collect,
    )
    .option('--sqlite <file>', 'autocognitix_export.db', collect)
    .option('--graphml <file>', 'neo4j_graph.graphml (nodes and edges into Neo4j)', collect)
    .option('--vectors <file>', 'qdrant_vectors.json.gz (points with vectors into Qdrant)', collect)
    .addOption(
      new Option('--on-conflict <strategy>', 'when a record already exists: skip, overwrite, merge or newest')
        .choices(CONFLICT_STRATEGIES)
        .default('skip'),
    )
    .option('--validate', 'check every record against the stores; write nothing', false)
    .option('--dry-run', 'count what would be inserted, updated, skipped and rejected; write nothing', false)
    .option('--skip-invalid', 'write the valid records even if some are invalid (exit 3)', false)
    .option('--batch-size <n>', 'records per write batch', '1000')
    .addOption(labelSchemeOption())
    .addHelpText(
      'after',
      `
Conflict strategies (a record's identity: dtc_codes by code, other tables by primary key, nodes by
their key property, relationships by type and endpoints, points by id):
  skip       keep the stored record (default)
  overwrite  the input's fields replace the stored ones (fields the input lacks are kept)
  merge      keep stored non-NULL fields, fill only the NULL/missing ones (arrays and JSON whole)
  newest     the record with the later updated_at wins; ties and records without one keep the stored

By default one invalid record means nothing is written (exit 9); every one is listed with file, line,
field and reason. --validate and --dry-run do the whole import and roll it back.

Examples (as in the operators' guide):
  acx-data import --json path/to/export.json
  acx-data import --csv path/to/csv/directory
  acx-data import --sqlite path/to/export.db
  acx-data import --graphml path/to/graph.graphml
  acx-data import --vectors path/to/qdrant_vectors.json.gz
  acx-data import --json export.json --on-conflict overwrite
  acx-data import --json export.json --on-conflict merge
  acx-data import --json export.json --on-conflict newest
  acx-data import --json export.json --validate
  acx-data import --json export.json --dry-run`,
    )
    .action(async (flags: ImportFlags, command: Command) => {
      const global = globalOptions(command);
      const inputs: ImportInput[] = [];
      for (const format of ['json', 'csv', 'sqlite', 'graphml', 'vectors'] as const)
        for (const path of flags[format] ?? []) {
          if (!existsSync(path))
            throw new AcxError(
              'NOT_FOUND',
              `--${format} ${path}: no such ${format === 'csv' ? 'directory' : 'file'}`,
              {
                subject: path,
              },
            );
          inputs.push({ format, path });
        }
      if (inputs.length === 0)
        throw new AcxError(
          'USAGE',
          'name at least one input: --json FILE, --csv DIR, --sqlite FILE, --graphml FILE or --vectors FILE',
        );
      if (flags.validate && flags.dryRun)
        throw new AcxError('USAGE', 'choose --validate or --dry-run, not both');
      const batchSize = Number(flags.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000)
        throw new AcxError(
          'USAGE',
          `--batch-size must be a whole number from 1 to 100000, got ${flags.batchSize}`,
        );
      const mode: ImportMode = flags.validate ? 'validate' : flags.dryRun ? 'dry-run' : 'import';

      // Each store is connected to only when an input holds data for it, and once.
      const connections = new Map<StoreName, Promise<SomeStores>>();
      const get = (name: StoreName): Promise<SomeStores> => {
        const known = connections.get(name);
        if (known) return known;
        const opening = openStores(process.env, [name]);
        connections.set(name, opening);
        return opening;
      };
      const stores: ImportStores = {
        postgres: async () => (await get('postgres')).postgres!,
        neo4j: async () => (await get('neo4j')).neo4j!,
        qdrant: async () => (await get('qdrant')).qdrant!,
      };
      const reporter = createReporter(global);
      const interrupt = onInterrupt();
      try {
        const summary = await importData({
          inputs,
          stores,
          strategy: flags.onConflict,
          mode,
          skipInvalid: flags.skipInvalid,
          batchSize,
          labels: labelMap(flags.labelScheme),
          reporter,
          signal: interrupt.signal,
        });
        reporter.close();
        printResult(global, summary, formatSummary(summary));
        if (summary.rejectionsTotal > 0) {
          const where = summary.rejections[0];
          const first = where ? ` (first: ${where.file}:${where.line}: ${where.reason})` : '';
          if (summary.outcome === 'written' || (mode === 'dry-run' && flags.skipInvalid))
            throw new AcxError(
              'INCOMPLETE',
              `${summary.rejectionsTotal} invalid records were not imported${first}`,
            );
          throw new AcxError(
            'INVALID_INPUT',
            `${summary.rejectionsTotal} invalid records${summary.outcome === 'refused' ? '; nothing was written' : ''}${first}`,
            {
              hint:
                summary.outcome === 'refused'
                  ? 'fix them, or import the valid records with --skip-invalid'
                  : undefined,
            },
          );
        }
      } catch (error) {
        throw interrupt.explain(error, 'the import was rolled back; nothing was written');
      } finally {
        reporter.close();
        interrupt.dispose();
        await Promise.allSettled([...connections.values()].map(async (opening) => (await opening).close()));
      }
    });
}
