/**
 * Neo4j restore (docs/design.md §7.5), all or nothing. The target must be empty (no nodes, no
 * constraints or indexes besides the LOOKUP ones) unless `replace`, which empties it first. Nodes are
 * created in batches carrying a helper label and their snapshot id (`__AcxRestore.__acx_id`, made unique
 * by a temporary constraint), relationships are linked through that id, then the helper is removed and
 * the saved constraints and indexes are created. Files are read as streams: one batch is in memory.
 *
 * Neo4j cannot hold millions of writes in one transaction, so "all or nothing" is by compensation: on
 * any failure everything this restore created is deleted again (while nodes still carry the helper
 * label, only those; afterwards every node, since the target was empty), and the error is rethrown.
 *
 * The phases live in their own files: `neo4j-restore-target.ts` (before and after),
 * `neo4j-restore-helper.ts` (the helper label, undo), `neo4j-restore-batches.ts` (nodes and
 * relationships), `neo4j-restore-schema.ts` (constraints and indexes), `neo4j-restore-lines.ts` (parsing).
 */
import { AcxError } from '../../errors.ts';
import type { DatasetEntry, StoreSection } from '../../model/snapshot.ts';
import type { PlanStep, RestoreContext, StoreRestoreSummary } from '../snapshot-driver.ts';
import type { Neo4jSchemaLine } from './neo4j-backup.ts';
import type { Neo4jConnection } from './neo4j-connection.ts';
import { loadNodes, loadRelationships } from './neo4j-restore-batches.ts';
import {
  createHelperConstraint,
  openRestoreRun,
  removeHelper,
  undo,
  type Phase,
} from './neo4j-restore-helper.ts';
import { createSavedSchema } from './neo4j-restore-schema.ts';
import {
  describeTarget as describe,
  holdsData,
  isEmpty,
  prepareTarget,
  targetState,
  verifyRestored,
} from './neo4j-restore-target.ts';

export { HELPER_CONSTRAINT, HELPER_LABEL, HELPER_PROPERTY } from './neo4j-restore-helper.ts';

function datasetOf(section: StoreSection, kind: 'schema' | 'nodes' | 'relationships'): DatasetEntry {
  const dataset = section.datasets.find((d) => d.kind === kind);
  if (!dataset || dataset.files.length === 0)
    throw new AcxError('INTEGRITY', `the snapshot's Neo4j section has no ${kind} dataset`, {
      subject: 'neo4j',
    });
  return dataset;
}

const countsOf = (value: unknown): Record<string, number> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === 'number'))
    : {};

const summarize = (counts: Record<string, number>): string | undefined => {
  const entries = Object.entries(counts);
  return entries.length === 0 ? undefined : entries.map(([k, v]) => `${k} ${v}`).join(', ');
};

export async function planNeo4jRestore(
  connection: Neo4jConnection,
  section: StoreSection,
  replace: boolean,
): Promise<PlanStep[]> {
  const state = await targetState(connection);
  const steps: PlanStep[] = [];
  if (!isEmpty(state)) {
    if (!replace && holdsData(state))
      return [
        {
          action: 'keep',
          object: describe(state),
          detail: 'target is not empty: restore refuses without --force',
        },
      ];
    steps.push({ action: 'drop', object: 'nodes', records: state.nodes });
    steps.push({ action: 'drop', object: 'relationships', records: state.relationships });
    for (const s of state.schema)
      steps.push({ action: 'drop', object: `${s.kind} ${s.name}`, detail: s.type.toLowerCase() });
  }
  const nodes = datasetOf(section, 'nodes');
  const relationships = datasetOf(section, 'relationships');
  const schema = datasetOf(section, 'schema');
  const labels = summarize(countsOf(section.labels));
  const types = summarize(countsOf(section.relationshipTypes));
  steps.push({
    action: 'load',
    object: 'nodes',
    records: nodes.records,
    ...(labels ? { detail: labels } : {}),
  });
  steps.push({
    action: 'load',
    object: 'relationships',
    records: relationships.records,
    ...(types ? { detail: types } : {}),
  });
  steps.push({ action: 'create', object: 'constraints and indexes', records: schema.records });
  return steps;
}

export async function restoreNeo4j(
  connection: Neo4jConnection,
  ctx: RestoreContext,
): Promise<StoreRestoreSummary> {
  const started = performance.now();
  const nodes = datasetOf(ctx.section, 'nodes');
  const relationships = datasetOf(ctx.section, 'relationships');
  const schema = datasetOf(ctx.section, 'schema');

  // 1. The target is empty, or emptied under --force.
  await prepareTarget(connection, ctx);
  const r = openRestoreRun(connection, ctx);
  const progress: RestoreProgress = { phase: 'nodes', createdSchema: [] };
  try {
    // 2. The helper constraint, so that relationships find their nodes' snapshot ids fast.
    await createHelperConstraint(r);
    // 3. Nodes, in batches grouped by label set.
    const nodeCount = await loadNodes(r, nodes);
    // 4. Relationships, in batches grouped by type, linked through the nodes' snapshot ids.
    progress.phase = 'relationships';
    const relationshipCount = await loadRelationships(r, relationships);
    // 5. The helper constraint, then the helper label and property, go.
    progress.phase = 'finalize';
    await removeHelper(r);
    // 6. The saved constraints and indexes, then wait for them to come online.
    progress.phase = 'schema';
    const schemaCount = await createSavedSchema(r, schema, progress.createdSchema);
    // 7. The graph holds what the snapshot lists.
    progress.phase = 'verify';
    await verifyRestored(r, nodes, relationships);
    return {
      datasets: [
        { name: 'nodes', records: nodeCount },
        { name: 'relationships', records: relationshipCount },
        { name: 'schema', records: schemaCount },
      ],
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    throw await undoFailedRestore(connection, ctx, progress, error);
  } finally {
    await r.session.close();
  }
}

/** How far a restore got, and the constraints and indexes it created: what undoing it removes. */
interface RestoreProgress {
  phase: Phase;
  createdSchema: Neo4jSchemaLine[];
}

/**
 * Removes what a failed restore created and returns the error to throw: the failure as an AcxError
 * (INTERRUPTED when the signal fired), noting when the removal failed too.
 */
async function undoFailedRestore(
  connection: Neo4jConnection,
  ctx: RestoreContext,
  progress: RestoreProgress,
  error: unknown,
): Promise<AcxError> {
  const failure =
    error instanceof AcxError
      ? error
      : ctx.signal?.aborted
        ? new AcxError('INTERRUPTED', 'Neo4j restore interrupted', { subject: 'neo4j', cause: error })
        : new AcxError('STORE', `Neo4j restore failed: ${(error as Error).message}`, {
            subject: 'neo4j',
            cause: error,
          });
  ctx.reporter.emit({ type: 'phase', store: 'neo4j', message: 'restore failed: removing what it created' });
  try {
    await undo(connection, progress.phase, progress.createdSchema);
  } catch (cleanupError) {
    ctx.reporter.emit({
      type: 'warning',
      store: 'neo4j',
      message: `could not remove the partly restored data: ${(cleanupError as Error).message}`,
    });
    failure.message += ` (and removing the partly restored data failed: ${(cleanupError as Error).message}; empty the database before retrying)`;
  }
  return failure;
}

/** True unless the target holds nodes: a schema alone (constraints, indexes) is replaced without --force. */
export async function isNeo4jRestoreTargetEmpty(connection: Neo4jConnection): Promise<boolean> {
  return !holdsData(await targetState(connection));
}
