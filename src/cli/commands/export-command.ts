/**
 * `acx-data export`: the guide's export_data.py — the same format flags, filters and output folder.
 * Declares the flags and checks the filter; the export itself is src/cli/handlers/export-handler.ts,
 * loaded only when it runs.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { AcxError } from '../../errors.ts';
import type { LabelScheme } from '../../model/labels.ts';
import { parseCategories, parseFilterTime, type DtcFilter } from '../../model/dtc-filter.ts';
import type { ExportFormat } from '../../operations/export.ts';
import { globalOptions, type GlobalOptions } from '../output/global-options.ts';
import { labelSchemeOption } from '../options.ts';
import { isCheckOnly } from '../check-only.ts';

/** One boolean per format (`--csv`, `--excel`, …), and the filters. */
export interface ExportFlags extends Record<ExportFormat, boolean> {
  all: boolean;
  category?: string;
  manufacturer?: string;
  translated: boolean;
  untranslated: boolean;
  since?: string;
  until?: string;
  outputDir: string;
  includePii: boolean;
  includeDeleted: boolean;
  labelScheme: LabelScheme;
}

function parseFilter(flags: ExportFlags): DtcFilter {
  if (flags.translated && flags.untranslated)
    throw new AcxError('USAGE', 'choose --translated or --untranslated, not both');
  const filter: DtcFilter = {};
  if (flags.category !== undefined) filter.categories = parseCategories(flags.category);
  if (flags.manufacturer !== undefined) {
    if (flags.manufacturer.trim() === '')
      throw new AcxError('USAGE', '--manufacturer needs a name, e.g. Toyota');
    filter.manufacturer = flags.manufacturer;
  }
  if (flags.translated) filter.translated = true;
  if (flags.untranslated) filter.translated = false;
  if (flags.since !== undefined) filter.since = parseFilterTime('--since', flags.since, false);
  if (flags.until !== undefined) filter.until = parseFilterTime('--until', flags.until, true);
  if (filter.since && filter.until && filter.since > filter.until)
    throw new AcxError('USAGE', '--since is after --until');
  return filter;
}

/** One run of `acx-data export`, its filter checked. */
export interface ExportRun {
  flags: ExportFlags;
  global: GlobalOptions;
  filter: DtcFilter;
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      'export to CSV, Excel, JSON, SQLite, GraphML and vector files, with filters; personal data left out by default',
    )
    .option('--all', 'every format (the default when none is named)', false)
    .option(
      '--csv',
      'CSV files: csv/pg_<table>.csv, csv/neo4j_<Label>.csv, csv/neo4j_rel_<TYPE>.csv, csv/dtc_codes_full.csv',
      false,
    )
    .option('--excel', 'Excel workbook autocognitix_export.xlsx', false)
    .option('--json', 'JSON document autocognitix_export.json', false)
    .option('--sqlite', 'SQLite database autocognitix_export.db', false)
    .option('--graphml', 'Neo4j graph neo4j_graph.graphml', false)
    .option('--qdrant', 'Qdrant vectors qdrant_vectors.json.gz', false)
    .option('--translations', 'translations.json: code → English and Hungarian text', false)
    .option('--history', 'diagnosis_history.json: diagnosis sessions', false)
    .option('--category <letters>', 'only DTC codes of these categories: P, B, C, U (e.g. P,B,C)')
    .option('--manufacturer <name>', 'only DTC codes of this make (manufacturer-specific or applicable)')
    .option('--translated', 'only DTC codes with a Hungarian description', false)
    .option('--untranslated', 'only DTC codes without a Hungarian description', false)
    .option('--since <date>', 'only DTC codes updated (or created) on or after this date or ISO time')
    .option('--until <date>', 'only DTC codes updated (or created) on or before this date or ISO time')
    .option('--output-dir <dir>', 'where export folders are created', join('data', 'exports'))
    .option(
      '--include-pii',
      'also export personal data (emails, IPs, VINs, licence plates, user ids); never passwords or tokens',
      false,
    )
    .option('--include-deleted', 'with --history: also soft-deleted sessions', false)
    .addOption(labelSchemeOption())
    .addHelpText(
      'after',
      `
Examples (as in the operators' guide):
  acx-data export --all
  acx-data export --csv                      CSV files
  acx-data export --excel --category P       Powertrain only
  acx-data export --excel --category P,B,C   several categories
  acx-data export --csv --manufacturer Toyota
  acx-data export --json --translated
  acx-data export --json --untranslated
  acx-data export --csv --since 2024-01-01 --until 2024-06-30
  acx-data export --all --output-dir /path/to/exports`,
    )
    .action(async (flags: ExportFlags, command: Command) => {
      const run: ExportRun = { flags, global: globalOptions(command), filter: parseFilter(flags) };
      if (isCheckOnly(command)) return;
      const { handleExport } = await import('../handlers/export-handler.ts');
      await handleExport(run);
    });
}
