/**
 * Sync at several scales: the guide's partial recovery (PostgreSQL seeded, Neo4j and Qdrant emptied,
 * `sync --postgres-neo4j --postgres-qdrant --force`), then an unchanged re-sync, then `sync --verify`;
 * each under `/usr/bin/time -v` (wall clock, peak RSS), with the embeddings each run computed.
 *
 *   npx node bench/sync.ts --scales 1,5 [--embed-scales 1] [--out bench/results] [--allow-default-stack]
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

const SYNC = ['--batch-size', '500', '--format', 'json', '-q'];

/**
 * One scale: on the seeded stores, a sync that compares everything and writes nothing (the seeded points
 * are kept: their vectors' origin is unknown and there is no --force), `--verify`, then the partial
 * recovery into emptied stores and an unchanged re-sync. Qdrant is emptied and rebuilt (every DTC text
 * embedded) only at the scales of `--embed-scales`: with a CPU model that is the slow part.
 */
async function benchScale(scale: number, embed: boolean, env: NodeJS.ProcessEnv): Promise<Row[]> {
  await measureAcx(['seed', '--scale', String(scale), '--seed', '1', '--force', '-q'], env);
  const rows: Row[] = [];
  const step = async (name: string, args: string[]) =>
    rows.push(summarise(scale, name, await measureAcx([...args, ...SYNC], env)));
  await step('compare all (seeded, nothing to write)', [
    'sync',
    '--neo4j-postgres',
    '--postgres-neo4j',
    '--postgres-qdrant',
  ]);
  await step('sync --verify', ['sync', '--verify']);
  const targets = embed ? ['--postgres-neo4j', '--postgres-qdrant'] : ['--postgres-neo4j'];
  await emptyStores(env, embed ? ['neo4j', 'qdrant'] : ['neo4j']);
  await step(`into empty ${embed ? 'Neo4j + Qdrant' : 'Neo4j'}`, ['sync', ...targets, '--force']);
  await step('unchanged re-sync', ['sync', ...targets, '--force']);
  return rows;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const scales = (option(argv, '--scales') ?? '1').split(',').map(Number);
  const out = resolve(option(argv, '--out') ?? join(root, 'bench/results'));
  const stack = guardStack(process.env, argv.includes('--allow-default-stack'));
  const rows: Row[] = [];
  const embedScales = (option(argv, '--embed-scales') ?? '1').split(',').filter(Boolean).map(Number);
  for (const scale of scales)
    rows.push(...(await benchScale(scale, embedScales.includes(scale), process.env)));
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
  prettierWrite([`${base}.md`, `${base}.json`]);
  process.stderr.write(`wrote ${base}.md\n`);
}

await main();
