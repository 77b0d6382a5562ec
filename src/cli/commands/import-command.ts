/**
 * `acx-data import`: the guide's import_data.py — the same source flags, `--on-conflict`, `--validate`
 * and `--dry-run` — plus `--vectors` for `qdrant_vectors.json.gz`. Declares the flags and checks them;
 * the import itself is src/cli/handlers/import-handler.ts, loaded only when it runs.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { Option, type Command } from 'commander';
import { AcxError } from '../../errors.ts';
import { CONFLICT_STRATEGIES, type ConflictStrategy } from '../../model/conflict.ts';
import type { LabelScheme } from '../../model/labels.ts';
import type { ImportInput, ImportMode, InputFormat } from '../../operations/import.ts';
import { globalOptions, type GlobalOptions } from '../output/global-options.ts';
import { labelSchemeOption } from '../options.ts';
import { isCheckOnly } from '../check-only.ts';

export interface ImportFlags {
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

/** One run of `acx-data import`, its flags checked. */
export interface ImportRun {
  flags: ImportFlags;
  global: GlobalOptions;
  inputs: ImportInput[];
  mode: ImportMode;
  batchSize: number;
}

const INPUT_FLAGS = ['json', 'csv', 'sqlite', 'graphml', 'vectors'] as const satisfies readonly InputFormat[];

/** Every `--json`/`--csv`/… input, in that order; each must exist. */
function inputsOf(flags: ImportFlags): ImportInput[] {
  const inputs: ImportInput[] = [];
  for (const format of INPUT_FLAGS)
    for (const path of flags[format] ?? []) {
      if (!existsSync(path))
        throw new AcxError(
          'NOT_FOUND',
          `--${format} ${path}: no such ${format === 'csv' ? 'directory' : 'file'}`,
          {
            subject: path,
            hint: isAbsolute(path) ? 'check the path' : `check the path (relative to ${process.cwd()})`,
          },
        );
      inputs.push({ format, path });
    }
  if (inputs.length === 0)
    throw new AcxError(
      'USAGE',
      'name at least one input: --json FILE, --csv DIR, --sqlite FILE, --graphml FILE or --vectors FILE',
    );
  return inputs;
}

function checkFlags(flags: ImportFlags, global: GlobalOptions): ImportRun {
  const inputs = inputsOf(flags);
  if (flags.validate && flags.dryRun) throw new AcxError('USAGE', 'choose --validate or --dry-run, not both');
  const batchSize = Number(flags.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000)
    throw new AcxError(
      'USAGE',
      `--batch-size must be a whole number from 1 to 100000, got ${flags.batchSize}`,
    );
  const mode: ImportMode = flags.validate ? 'validate' : flags.dryRun ? 'dry-run' : 'import';
  return { flags, global, inputs, mode, batchSize };
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
      const run = checkFlags(flags, globalOptions(command));
      if (isCheckOnly(command)) return;
      const { handleImport } = await import('../handlers/import-handler.ts');
      await handleImport(run);
    });
}
