/**
 * `acx-data sync`: opens the stores the chosen directions need (all three for `--verify`) and the
 * embedding provider, runs the directions, then the verification, prints the summary and exits by it: a
 * failed direction → INCOMPLETE (or its own code when all failed); inconsistent stores → INCONSISTENT.
 */
import { resolve } from 'node:path';
import { AcxError } from '../../errors.ts';
import type { EmbeddingProvider } from '../../embeddings/embedding-provider.ts';
import { providerFromEnv } from '../../embeddings/from-env.ts';
import { labelMap } from '../../model/labels.ts';
import { openStores } from '../../operations/open-stores.ts';
import { needsEmbeddings, runSync, storesFor, type SyncSummary } from '../../operations/sync/sync.ts';
import { writeVerifyReport } from '../../operations/sync/sync-report.ts';
import { verifyStores, type VerifyResult } from '../../operations/sync/sync-verify.ts';
import type { SyncRun } from '../commands/sync-command.ts';
import { onInterrupt } from '../interrupt.ts';
import { printResult } from '../output/global-options.ts';
import { errorForOutcome } from '../output/outcome-exit.ts';
import { createReporter } from '../output/reporters.ts';
import { formatSync, formatVerify } from '../output/sync-text.ts';
import { openRunStores } from './run-stores.ts';
import { readStateDir } from '../../config/state.ts';
import { lockSync, type SyncLock } from '../../operations/sync/sync-lock.ts';
import { checkStateDir } from '../path-checks.ts';

/** The provider the directions need, or the CONFIG error that says how to configure one (before any connection). */
function embeddingsFor(run: SyncRun): EmbeddingProvider | undefined {
  if (!needsEmbeddings(run.directions)) return undefined;
  const provider = providerFromEnv(process.env);
  if (provider) return provider;
  throw new AcxError(
    'CONFIG',
    `sync ${run.directions.includes('translations') ? '--translations' : '--postgres-qdrant'} needs an embedding provider to compute vectors, and none is configured`,
    {
      subject: 'EMBEDDING_PROVIDER',
      hint: 'set EMBEDDING_PROVIDER=local with EMBEDDING_MODEL_DIR (a huBERT ONNX export), or EMBEDDING_PROVIDER=http with EMBEDDING_URL (README, "Embeddings")',
    },
  );
}

interface SyncResults {
  sync?: SyncSummary;
  verify?: VerifyResult;
  /** What ended the run early (a store lost during --verify, Ctrl-C): thrown after the summary is printed. */
  error?: unknown;
}

async function runAll(run: SyncRun, embeddings: EmbeddingProvider | undefined): Promise<SyncResults> {
  const { flags, global } = run;
  const reporter = createReporter(global);
  const names = flags.verify ? (['postgres', 'neo4j', 'qdrant'] as const) : storesFor(run.directions);
  const lock = await takeSyncLock(run, reporter);
  let stores;
  try {
    stores = await openRunStores(reporter, (options) => openStores(process.env, [...names], options));
  } catch (error) {
    await lock?.release();
    throw error;
  }
  const interrupt = onInterrupt();
  const base = {
    stores,
    labels: labelMap(flags.labelScheme),
    batchSize: run.batchSize,
    dataDir: resolve(flags.dataDir),
    reporter,
    signal: interrupt.signal,
  };
  const results: SyncResults = {};
  try {
    if (run.directions.length > 0)
      results.sync = await runSync({
        ...base,
        directions: run.directions,
        force: flags.force,
        dryRun: flags.dryRun,
        prune: flags.prune,
        cacheOptional: flags.all && !flags.translations,
        embeddings,
      });
    if (flags.verify) {
      const report = flags.report === undefined ? undefined : resolve(flags.report);
      results.verify = await verifyStores(
        base,
        report === undefined ? undefined : (result, log) => writeVerifyReport(report, result, log),
      );
    }
  } catch (error) {
    results.error = interrupt.explain(
      error,
      'batches already written stay written; a new run continues from there',
    );
  } finally {
    reporter.close();
    interrupt.dispose();
    await stores.close();
    await lock?.release();
  }
  return results;
}

/**
 * A sync that writes takes `sync.lock` in the state directory (design §13.6) before any connection,
 * waiting for a live holder under `--lock-wait`; Ctrl-C during that wait ends the run (INTERRUPTED).
 */
async function takeSyncLock(
  run: SyncRun,
  reporter: ReturnType<typeof createReporter>,
): Promise<SyncLock | undefined> {
  if (run.directions.length === 0 || run.flags.dryRun) return undefined;
  await checkStateDir();
  const interrupt = onInterrupt();
  try {
    const command = `sync ${run.flags.all ? '--all' : run.directions.map((d) => `--${d}`).join(' ')}${run.flags.force ? ' --force' : ''}`;
    return await lockSync(
      readStateDir(process.env),
      command,
      run.flags.lockWait === undefined
        ? undefined
        : {
            ms: run.flags.lockWait,
            signal: interrupt.signal,
            onWait: (holder) =>
              reporter.emit({
                type: 'phase',
                message: `waiting for the sync lock held by pid ${holder.pid} on ${holder.host} ("${holder.command}") since ${holder.since}`,
              }),
          },
    );
  } catch (error) {
    reporter.close();
    throw error;
  } finally {
    interrupt.dispose();
  }
}

export async function handleSync(run: SyncRun): Promise<void> {
  const embeddings = embeddingsFor(run);
  let results: SyncResults;
  try {
    results = await runAll(run, embeddings);
  } finally {
    await embeddings?.close();
  }
  const { sync, verify } = results;
  if (!sync && !verify) throw results.error;
  const text = [sync ? formatSync(sync) : '', verify ? formatVerify(verify, run.flags.report) : '']
    .filter((t) => t !== '')
    .join('\n\n');
  printResult(run.global, sync && verify ? { sync, verify } : (sync ?? verify), text);
  if (results.error) throw results.error;
  if (sync && sync.failures.length > 0)
    throw errorForOutcome(sync, 'sync finished with failures', {
      hint: sync.failures.find((f) => f.hint !== undefined)?.hint,
    });
  if (sync && sync.rejected > 0)
    throw new AcxError(
      'INCOMPLETE',
      `sync finished, but ${sync.rejected} source records could not be written`,
      {
        hint: 'each is listed with its reason; fix them at the source and run the sync again',
      },
    );
  if (verify && !verify.is_consistent)
    throw new AcxError('INCONSISTENT', 'the stores are not consistent', {
      hint: 'sync --all --force brings Neo4j and Qdrant in step with PostgreSQL; --report FILE lists every difference',
    });
}
