/**
 * The restore helper (docs/design.md §7.5) and what every phase of one Neo4j restore shares. While the
 * graph loads, each node the restore creates carries the label `__AcxRestore` and its snapshot id in
 * `__acx_id` (unique by a temporary constraint), so relationships find their endpoints by it and a
 * failed restore knows which nodes are its own. Once everything is linked, the helper is removed.
 */
import neo4j, { type EagerResult, type Session } from 'neo4j-driver';
import { throwIfAborted } from '../../model/abort.ts';
import type { RestoreContext } from '../snapshot-driver.ts';
import type { Neo4jSchemaLine } from './neo4j-backup.ts';
import { cypherName, type Neo4jConnection } from './neo4j-connection.ts';
import { detachDeleteInBatches, dropStatement } from './neo4j-schema.ts';

export const HELPER_LABEL = '__AcxRestore';
export const HELPER_PROPERTY = '__acx_id';
export const HELPER_CONSTRAINT = '__acx_restore_id';
/**
 * The label of a file's progress marker (`neo4j-restore-batches.ts`): one node per snapshot file, also
 * carrying the helper label, holding the last line whose batch committed.
 */
export const PROGRESS_LABEL = '__AcxRestoreProgress';

/** The helper label and property, quoted for Cypher. */
export const H = cypherName(HELPER_LABEL);
export const HP = cypherName(HELPER_PROPERTY);
export const PROGRESS = cypherName(PROGRESS_LABEL);

/** Nodes per transaction when the helper is removed. */
const FINALIZE_ROWS = 10_000;

/** How far a restore got: what undoing it has to remove. */
export type Phase = 'nodes' | 'relationships' | 'finalize' | 'schema' | 'verify';

/** One running restore: its session, its context and its two shortcuts. */
export interface RestoreRun {
  connection: Neo4jConnection;
  /** The session the batches are written in (closed by `restoreNeo4j`). */
  session: Session;
  ctx: RestoreContext;
  /** One auto-commit query on the restore's database. */
  run(query: string, params?: Record<string, unknown>): Promise<EagerResult>;
  /** Throws INTERRUPTED ("Neo4j restore interrupted") when the restore's signal has fired. */
  checkAbort(): void;
}

export function openRestoreRun(connection: Neo4jConnection, ctx: RestoreContext): RestoreRun {
  return {
    connection,
    session: connection.driver.session({ database: connection.database }),
    ctx,
    run: (query, params = {}) =>
      connection.driver.executeQuery(query, params, { database: connection.database }),
    checkAbort: () => throwIfAborted(ctx.signal, 'Neo4j restore', 'neo4j'),
  };
}

/** The temporary uniqueness constraint on the snapshot ids, online before the first node is created. */
export async function createHelperConstraint(r: RestoreRun): Promise<void> {
  await r.run(
    `CREATE CONSTRAINT ${cypherName(HELPER_CONSTRAINT)} IF NOT EXISTS FOR (n:${H}) REQUIRE n.${HP} IS UNIQUE`,
  );
  await r.run('CALL db.awaitIndexes(300)');
}

/**
 * Deletes the progress markers, drops the helper constraint (removing the helper then updates no
 * index), then removes the helper itself. Each step can run again after a lost answer.
 */
export async function removeHelper(r: RestoreRun): Promise<void> {
  r.checkAbort();
  r.ctx.reporter.emit({ type: 'phase', store: 'neo4j', message: 'removing the restore helper label' });
  await r.run(`MATCH (m:${PROGRESS}) DELETE m`);
  await r.run(dropStatement('constraint', HELPER_CONSTRAINT));
  for (;;) {
    r.checkAbort();
    const result = await r.session.executeWrite((tx) =>
      tx.run(`MATCH (n:${H}) WITH n LIMIT $limit REMOVE n:${H} REMOVE n.${HP} RETURN count(*) AS n`, {
        limit: neo4j.int(FINALIZE_ROWS),
      }),
    );
    if (Number(result.records[0]?.get('n') ?? 0) === 0) break;
  }
}

/** Nodes that still carry the helper label (none once a restore has finished). */
export async function countHelperNodes(r: RestoreRun): Promise<number> {
  return Number((await r.run(`MATCH (n:${H}) RETURN count(n) AS n`)).records[0]?.get('n') ?? 0);
}

/** Removes what a failed restore created. The target was empty (or emptied) when it began. */
export async function undo(
  connection: Neo4jConnection,
  phase: Phase,
  createdSchema: Neo4jSchemaLine[],
): Promise<void> {
  // While every created node still carries the helper label, delete only those; later, all nodes.
  await detachDeleteInBatches(
    connection,
    phase === 'nodes' || phase === 'relationships' ? `MATCH (n:${H})` : 'MATCH (n)',
  );
  const run = (query: string) => connection.driver.executeQuery(query, {}, { database: connection.database });
  await run(dropStatement('constraint', HELPER_CONSTRAINT));
  for (const s of createdSchema) await run(dropStatement(s.kind, s.name));
}
