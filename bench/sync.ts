/**
 * Sync at several scales: the guide's partial recovery (PostgreSQL seeded, Neo4j and Qdrant emptied,
 * `sync --postgres-neo4j --postgres-qdrant --force`), then an unchanged re-sync, then `sync --verify`;
 * each under `/usr/bin/time -v` (wall clock, peak RSS), with the embeddings each run computed.
 *
 *   npx tsx bench/sync.ts --scales 1,5 [--out bench/results] [--allow-default-stack]
 *
 * Needs the stack's embedding configuration (`eval "$(npm run -s stack:env)"` exports the tiny model's);
 * with a real huBERT the embedding time dominates and scales with the codes embedded.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  guardStack,
  machineNotes,
  machineNotesMarkdown,
  markdownTable,
  measureAcx,
  mib,
  option,
  prettierWrite,
  root,
  secs,
  today,
  type Measured,
} from './lib.ts';
import { emptyStores } from './stores.ts';

interface SyncJson {
  directions: { direction: string; checked: number; created: number; updated: number; embeddings: number }[];
}

interface Row {
  scale: number;
  codes: number;
  step: string;
  run: Omit<Measured, 'stdout'>;
  written: number;
  embeddings: number;
}

function summarise(scale: number, step: string, m: Measured): Row {
  const { stdout, ...run } = m;
  const parsed = JSON.parse(stdout) as SyncJson | { sync: SyncJson } | { counts: { postgres: number } };
  const sync = 'directions' in parsed ? parsed : 'sync' in parsed ? parsed.sync : undefined;
  const codes = 'counts' in parsed ? parsed.counts.postgres : (sync?.directions[0]?.checked ?? 0);
  return {
    scale,
    codes,
    step,
    run,
    written: sync?.directions.reduce((n, d) => n + d.created + d.updated, 0) ?? 0,
    embeddings: sync?.directions.reduce((n, d) => n + d.embeddings, 0) ?? 0,
  };
}

async function benchScale(scale: number, env: NodeJS.ProcessEnv): Promise<Row[]> {
  await measureAcx(['seed', '--scale', String(scale), '--seed', '1', '--force', '-q'], env);
  await emptyStores(env, ['neo4j', 'qdrant']);
  const args = [
    'sync',
    '--postgres-neo4j',
    '--postgres-qdrant',
    '--force',
    '--batch-size',
    '500',
    '--format',
    'json',
    '-q',
  ];
  const rows = [summarise(scale, 'sync into empty Neo4j + Qdrant', await measureAcx(args, env))];
  rows.push(summarise(scale, 'unchanged re-sync', await measureAcx(args, env)));
  rows.push(
    summarise(
      scale,
      'sync --verify',
      await measureAcx(['sync', '--verify', '--batch-size', '500', '--format', 'json', '-q'], env),
    ),
  );
  return rows;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const scales = (option(argv, '--scales') ?? '1').split(',').map(Number);
  const out = resolve(option(argv, '--out') ?? join(root, 'bench/results'));
  const stack = guardStack(process.env, argv.includes('--allow-default-stack'));
  const rows: Row[] = [];
  for (const scale of scales) rows.push(...(await benchScale(scale, process.env)));
  mkdirSync(out, { recursive: true });
  const base = join(out, `sync-${today()}`);
  writeFileSync(`${base}.json`, JSON.stringify({ machine: machineNotes(stack), rows }, null, 2));
  const table = markdownTable(
    ['scale', 'DTC codes', 'step', 'wall s', 'user s', 'peak RSS MiB', 'records written', 'embeddings'],
    rows.map((r) => [
      String(r.scale),
      String(r.codes),
      r.step,
      secs(r.run.seconds),
      secs(r.run.userSeconds),
      mib(r.run.maxRssKiB),
      String(r.written),
      String(r.embeddings),
    ]),
  );
  writeFileSync(
    `${base}.md`,
    `# Sync — ${today()}\n\n${machineNotesMarkdown(machineNotes(stack))}\n\n${table}\n\nEmbedding model: ${process.env.HUBERT_MODEL ?? '(stack default)'} via ${process.env.EMBEDDING_PROVIDER ?? '?'}.\n`,
  );
  prettierWrite([`${base}.md`]);
  process.stderr.write(`wrote ${base}.md\n`);
}

await main();
