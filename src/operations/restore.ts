/**
 * `--restore ID`: verify the snapshot, refuse non-empty targets unless forced (then take a safety
 * backup of them first), and restore each chosen store all-or-nothing. `--dry-run` returns the plan and
 * writes nothing. A failed store makes the whole run fail; it is never reported as success.
 */
import { AcxError } from '../errors.ts';
import type { ProgressReporter } from '../progress.ts';
import type { StoreSection } from '../repository/manifest.ts';
import type { Repository } from '../repository/repository.ts';
import type { SnapshotReader } from '../repository/snapshot-reader.ts';
import type { PlanStep, StoreRestoreSummary } from '../stores/snapshot-driver.ts';
import { listUserTables } from '../stores/postgres/postgres-ddl.ts';
import { planPostgresRestore, restorePostgres } from '../stores/postgres/postgres-restore.ts';
import { isNeo4jRestoreTargetEmpty, planNeo4jRestore, restoreNeo4j } from '../stores/neo4j/neo4j-restore.ts';
import { planQdrantRestore, restoreQdrant, snapshotCollections } from '../stores/qdrant/qdrant-restore.ts';
import type { OpenStores } from './open-stores.ts';
import { backupStores, type BackupOptions, type BackupSummary, type BackupTarget } from './backup.ts';
import { existingJsonFiles, restoreJsonFiles } from './json-files.ts';
import { verifyAndRecord, type VerifySummary } from './verify.ts';

export interface RestoreOptions {
  repository: Repository;
  snapshot: SnapshotReader;
  /** `--target`: the stores to restore (default: every one the snapshot holds). */
  targets?: readonly BackupTarget[];
  stores: Partial<Omit<OpenStores, 'close'>>;
  dryRun: boolean;
  force: boolean;
  qdrantSnapshots: boolean;
  dataDir: string;
  /** How to take the safety backup of non-empty targets under --force. */
  safetyBackup: Omit<BackupOptions, 'targets' | 'stores' | 'repository' | 'reporter' | 'qdrantCollections'>;
  reporter: ProgressReporter;
  signal?: AbortSignal;
}

export interface RestoreSummary {
  id: string;
  dryRun: boolean;
  targets: BackupTarget[];
  verification: Pick<VerifySummary, 'ok' | 'files' | 'problems'>;
  plan: Partial<Record<BackupTarget, PlanStep[]>>;
  safetySnapshot?: BackupSummary;
  restored: Partial<Record<BackupTarget, StoreRestoreSummary>>;
  seconds: number;
}

export function targetsOf(snapshot: SnapshotReader): BackupTarget[] {
  const held: BackupTarget[] = [];
  for (const store of ['postgres', 'neo4j', 'qdrant'] as const)
    if (snapshot.manifest.stores[store]) held.push(store);
  if (snapshot.manifest.jsonFiles) held.push('json');
  return held;
}

function need<T>(value: T | undefined, store: string): T {
  if (value === undefined)
    throw new AcxError('INTERNAL', `restore of ${store} was asked without an open ${store} connection`);
  return value;
}

export async function restoreSnapshot(options: RestoreOptions): Promise<RestoreSummary> {
  const started = performance.now();
  const { snapshot, reporter, stores } = options;
  const manifest = snapshot.manifest;
  const held = targetsOf(snapshot);
  const targets = options.targets ? [...options.targets] : held;
  const missing = targets.filter((t) => !held.includes(t));
  if (missing.length > 0) {
    throw new AcxError(
      'NOT_FOUND',
      `snapshot ${snapshot.id} holds no ${missing.join(', ')} backup (it holds: ${held.join(', ') || 'nothing'})`,
      { subject: snapshot.id },
    );
  }
  if (targets.length === 0)
    throw new AcxError('NOT_FOUND', `snapshot ${snapshot.id} holds nothing to restore`, {
      subject: snapshot.id,
    });

  reporter.emit({ type: 'phase', store: 'repository', message: `verifying ${snapshot.id} before restoring` });
  const verification = await verifyAndRecord(options.repository, snapshot, reporter);
  if (!verification.ok) {
    const detail = verification.problems.map((p) => `${p.file}: ${p.problem}`).join('; ');
    throw new AcxError(
      'INTEGRITY',
      `snapshot ${snapshot.id} failed verification, nothing was restored: ${detail}`,
      { subject: snapshot.id },
    );
  }

  // Which targets hold data now; refuse before touching anything unless --force.
  const section = (t: Exclude<BackupTarget, 'json'>): StoreSection => {
    const found = manifest.stores[t];
    if (!found) throw new AcxError('INTERNAL', `snapshot ${snapshot.id} has no ${t} section`);
    return found;
  };
  const nonEmpty: BackupTarget[] = [];
  for (const target of targets) {
    if (target === 'postgres') {
      const client = await need(stores.postgres, 'postgres').connect();
      try {
        if ((await listUserTables(client)).length > 0) nonEmpty.push(target);
      } finally {
        client.release();
      }
    } else if (target === 'neo4j') {
      if (!(await isNeo4jRestoreTargetEmpty(need(stores.neo4j, 'neo4j')))) nonEmpty.push(target);
    } else if (target === 'qdrant') {
      // The driver's own refusal rule: a collection or alias of the snapshot already exists.
      try {
        await planQdrantRestore(need(stores.qdrant, 'qdrant'), section('qdrant'), false);
      } catch (error) {
        if (!(error instanceof AcxError && error.code === 'NOT_EMPTY')) throw error;
        nonEmpty.push(target);
      }
    } else if (
      manifest.jsonFiles &&
      (await existingJsonFiles(options.dataDir, manifest.jsonFiles)).length > 0
    ) {
      nonEmpty.push(target);
    }
  }
  if (nonEmpty.length > 0 && !options.force) {
    throw new AcxError(
      'NOT_EMPTY',
      `refusing to restore ${snapshot.id}: ${nonEmpty.join(', ')} already hold data; nothing was changed`,
      {
        subject: nonEmpty.join(', '),
        hint: 'restore into empty stores, or add --force: a safety backup of the current data is taken first',
      },
    );
  }

  const plan: RestoreSummary['plan'] = {};
  for (const target of targets) {
    const replace = options.force;
    if (target === 'postgres')
      plan.postgres = await planPostgresRestore(
        need(stores.postgres, 'postgres'),
        section('postgres'),
        replace,
      );
    else if (target === 'neo4j')
      plan.neo4j = await planNeo4jRestore(need(stores.neo4j, 'neo4j'), section('neo4j'), replace);
    else if (target === 'qdrant')
      plan.qdrant = await planQdrantRestore(need(stores.qdrant, 'qdrant'), section('qdrant'), replace, {
        fromNativeSnapshots: options.qdrantSnapshots,
      });
    else if (manifest.jsonFiles) {
      const existing = new Set(await existingJsonFiles(options.dataDir, manifest.jsonFiles));
      plan.json = manifest.jsonFiles.datasets
        .flatMap((d) => d.files)
        .map((f) => ({
          action: 'load' as const,
          object: f.replace(/^json\//, '').replace(/\.(zst|gz)$/, ''),
          detail: existing.size > 0 ? 'replaces the current file if present' : undefined,
        }));
    }
  }
  const base = {
    id: snapshot.id,
    targets,
    verification: { ok: verification.ok, files: verification.files, problems: verification.problems },
    plan,
  };
  if (options.dryRun)
    return { ...base, dryRun: true, restored: {}, seconds: (performance.now() - started) / 1000 };

  let safetySnapshot: BackupSummary | undefined;
  if (nonEmpty.length > 0) {
    reporter.emit({
      type: 'phase',
      store: 'repository',
      message: `taking a safety backup of ${nonEmpty.join(', ')} before replacing them`,
    });
    const qdrantCollections = nonEmpty.includes('qdrant')
      ? snapshotCollections(section('qdrant')).map((c) => c.name)
      : undefined;
    const liveCollections: string[] = [];
    for (const name of qdrantCollections ?? [])
      if (await need(stores.qdrant, 'qdrant').collectionExists(name)) liveCollections.push(name);
    safetySnapshot = await backupStores({
      ...options.safetyBackup,
      targets: nonEmpty,
      stores,
      repository: options.repository,
      reporter,
      qdrantCollections: qdrantCollections ? liveCollections : undefined,
    });
    reporter.emit({
      type: 'phase',
      store: 'repository',
      message: `safety backup ${safetySnapshot.id} written`,
    });
  }

  const restored: RestoreSummary['restored'] = {};
  const failures: Array<{ target: BackupTarget; error: unknown }> = [];
  for (const target of targets) {
    // Under --force every target is replaced, also one that only holds schema objects (which a restore would clash with).
    const ctx = { snapshot, reporter, signal: options.signal, replace: options.force };
    try {
      if (target === 'postgres')
        restored.postgres = await restorePostgres(need(stores.postgres, 'postgres'), {
          ...ctx,
          section: section('postgres'),
        });
      else if (target === 'neo4j')
        restored.neo4j = await restoreNeo4j(need(stores.neo4j, 'neo4j'), {
          ...ctx,
          section: section('neo4j'),
        });
      else if (target === 'qdrant')
        restored.qdrant = await restoreQdrant(
          need(stores.qdrant, 'qdrant'),
          { ...ctx, section: section('qdrant') },
          { fromNativeSnapshots: options.qdrantSnapshots },
        );
      else if (manifest.jsonFiles) {
        const t0 = performance.now();
        const files = await restoreJsonFiles(options.dataDir, snapshot, manifest.jsonFiles, ctx.replace);
        restored.json = {
          datasets: [{ name: 'json-files', records: files }],
          seconds: (performance.now() - t0) / 1000,
        };
      }
    } catch (error) {
      failures.push({ target, error });
      reporter.emit({
        type: 'warning',
        store: target,
        message: `restore failed (${target} left as it was before the restore): ${(error as Error).message}`,
      });
      if (error instanceof AcxError && error.code === 'INTERRUPTED') break;
    }
  }
  const summary: RestoreSummary = {
    ...base,
    dryRun: false,
    safetySnapshot,
    restored,
    seconds: (performance.now() - started) / 1000,
  };
  if (failures.length > 0) {
    const first = failures[0]?.error;
    const text = failures.map((f) => `${f.target}: ${(f.error as Error).message}`).join('; ');
    const restoredList = Object.keys(restored);
    throw new AcxError(
      failures.length === targets.length && first instanceof AcxError ? first.code : 'INCOMPLETE',
      `restore of ${snapshot.id} failed for ${failures.map((f) => f.target).join(', ')}${restoredList.length > 0 ? ` (restored: ${restoredList.join(', ')})` : ''}: ${text}`,
      {
        subject: snapshot.id,
        cause: first,
        hint: safetySnapshot
          ? `the data from before the restore is in safety snapshot ${safetySnapshot.id}`
          : undefined,
      },
    );
  }
  return summary;
}
