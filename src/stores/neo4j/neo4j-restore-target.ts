/**
 * The Neo4j a restore writes into: what it holds before (it must be empty, or be emptied under
 * `--force`) and after (exactly what the snapshot lists, with no helper left).
 */
import { AcxError } from '../../errors.ts';
import type { DatasetEntry } from '../../model/snapshot.ts';
import type { RestoreContext } from '../snapshot-driver.ts';
import type { Neo4jConnection } from './neo4j-connection.ts';
import { countHelperNodes, type RestoreRun } from './neo4j-restore-helper.ts';
import { emptyNeo4j } from './neo4j-schema.ts';

export interface TargetState {
  nodes: number;
  relationships: number;
  schema: Array<{ kind: 'constraint' | 'index'; name: string; type: string }>;
}

export async function targetState(connection: Neo4jConnection): Promise<TargetState> {
  const run = (q: string) =>
    connection.driver.executeQuery(q, {}, { database: connection.database, routing: 'READ' });
  const nodes = Number((await run('MATCH (n) RETURN count(n) AS n')).records[0]?.get('n') ?? 0);
  const relationships = Number(
    (await run('MATCH ()-[r]->() RETURN count(r) AS n')).records[0]?.get('n') ?? 0,
  );
  const schema: TargetState['schema'] = [];
  for (const r of (await run('SHOW CONSTRAINTS YIELD name, type RETURN name, type ORDER BY name')).records)
    schema.push({ kind: 'constraint', name: r.get('name') as string, type: r.get('type') as string });
  const indexes = await run(
    "SHOW INDEXES YIELD name, type, owningConstraint WHERE type <> 'LOOKUP' AND owningConstraint IS NULL RETURN name, type ORDER BY name",
  );
  for (const r of indexes.records)
    schema.push({ kind: 'index', name: r.get('name') as string, type: r.get('type') as string });
  return { nodes, relationships, schema };
}

/** No nodes and no constraints or indexes (LOOKUP ones and those a constraint owns aside). */
export const isEmpty = (state: TargetState): boolean => state.nodes === 0 && state.schema.length === 0;

/**
 * Records to lose: nodes (relationships need nodes). Constraints and indexes without nodes (the
 * application's empty schema) are not data: a restore replaces them without --force.
 */
export const holdsData = (state: TargetState): boolean => state.nodes > 0;

export function describeTarget(state: TargetState): string {
  return `${state.nodes} nodes, ${state.relationships} relationships, ${state.schema.length} constraints and indexes`;
}

/** Refuses a target that is not empty (NOT_EMPTY), or empties it when the restore replaces (`--force`). */
export async function prepareTarget(connection: Neo4jConnection, ctx: RestoreContext): Promise<void> {
  const db = connection.database ?? 'neo4j';
  const state = await targetState(connection);
  if (isEmpty(state)) return;
  if (!ctx.replace && holdsData(state)) {
    throw new AcxError('NOT_EMPTY', `Neo4j database ${db} is not empty (${describeTarget(state)})`, {
      subject: 'neo4j',
      hint: 'restore into an empty database, or use --force (a safety backup of the target is taken first)',
    });
  }
  ctx.reporter.emit({
    type: 'phase',
    store: 'neo4j',
    message: holdsData(state)
      ? `emptying the target (${describeTarget(state)}, --force)`
      : `replacing the schema of the target (${describeTarget(state)}: schema only, no data)`,
  });
  await emptyNeo4j(connection);
  const after = await targetState(connection);
  if (!isEmpty(after))
    throw new AcxError('STORE', `Neo4j database ${db} could not be emptied (${describeTarget(after)})`, {
      subject: 'neo4j',
    });
}

/** INTEGRITY unless the restored graph holds the snapshot's node and relationship counts, helper gone. */
export async function verifyRestored(
  r: RestoreRun,
  nodes: DatasetEntry,
  relationships: DatasetEntry,
): Promise<void> {
  const after = await targetState(r.connection);
  const helpers = await countHelperNodes(r);
  if (after.nodes !== nodes.records || after.relationships !== relationships.records || helpers > 0) {
    throw new AcxError(
      'INTEGRITY',
      `Neo4j after restore holds ${after.nodes} nodes and ${after.relationships} relationships (${helpers} with the helper label); the snapshot lists ${nodes.records} and ${relationships.records}`,
      { subject: 'neo4j' },
    );
  }
}
