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
 */
import neo4j from 'neo4j-driver';
import { AcxError } from '../../errors.ts';
import type { DatasetEntry, StoreSection } from '../../model/snapshot.ts';
import type { PlanStep, RestoreContext, StoreRestoreSummary } from '../snapshot-driver.ts';
import { cypherName, groupBy, type Neo4jConnection } from './neo4j-connection.ts';
import type { Neo4jSchemaLine } from './neo4j-backup.ts';
import { emptyNeo4j } from './neo4j-schema.ts';
import { decodeNeo4jProperties } from './neo4j-values.ts';

export const HELPER_LABEL = '__AcxRestore';
export const HELPER_PROPERTY = '__acx_id';
export const HELPER_CONSTRAINT = '__acx_restore_id';

/** Rows per write transaction, and a cap on their JSON size so that huge properties do not pile up. */
const BATCH_ROWS = 5000;
const BATCH_CHARS = 8 * 1024 * 1024;
const FINALIZE_ROWS = 10_000;
const PROGRESS_EVERY = 10_000;
const INDEX_WAIT_SECONDS = 600;

const H = cypherName(HELPER_LABEL);
const HP = cypherName(HELPER_PROPERTY);

interface TargetState {
  nodes: number;
  relationships: number;
  schema: Array<{ kind: 'constraint' | 'index'; name: string; type: string }>;
}

interface NodeRow {
  id: string;
  props: Record<string, unknown>;
}

interface RelationshipRow {
  start: string;
  end: string;
  props: Record<string, unknown>;
}

type Phase = 'nodes' | 'relationships' | 'finalize' | 'schema' | 'verify';

async function targetState(connection: Neo4jConnection): Promise<TargetState> {
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

const isEmpty = (state: TargetState): boolean => state.nodes === 0 && state.schema.length === 0;

function describe(state: TargetState): string {
  return `${state.nodes} nodes, ${state.relationships} relationships, ${state.schema.length} constraints and indexes`;
}

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
    if (!replace)
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

/** A snapshot line that cannot be restored: the snapshot is damaged (or was not written by acx-data). */
function badLine(path: string, lineNumber: number, problem: string): AcxError {
  return new AcxError('INTEGRITY', `${path} line ${lineNumber}: ${problem}`, { subject: 'neo4j' });
}

function parseLine(path: string, lineNumber: number, line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw badLine(path, lineNumber, 'not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw badLine(path, lineNumber, 'not a JSON object');
  return value as Record<string, unknown>;
}

function properties(path: string, lineNumber: number, value: unknown): Record<string, unknown> {
  try {
    const props = decodeNeo4jProperties(value);
    if (HELPER_PROPERTY in props) throw new Error(`the property ${HELPER_PROPERTY} is reserved for restore`);
    return props;
  } catch (error) {
    if (error instanceof AcxError) throw error;
    throw badLine(path, lineNumber, (error as Error).message);
  }
}

const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

export async function restoreNeo4j(
  connection: Neo4jConnection,
  ctx: RestoreContext,
): Promise<StoreRestoreSummary> {
  const { snapshot, section, reporter, signal } = ctx;
  const started = performance.now();
  const db = connection.database ?? 'neo4j';
  const nodesDataset = datasetOf(section, 'nodes');
  const relationshipsDataset = datasetOf(section, 'relationships');
  const schemaDataset = datasetOf(section, 'schema');

  const state = await targetState(connection);
  if (!isEmpty(state)) {
    if (!ctx.replace) {
      throw new AcxError('NOT_EMPTY', `Neo4j database ${db} is not empty (${describe(state)})`, {
        subject: 'neo4j',
        hint: 'restore into an empty database, or use --force (a safety backup of the target is taken first)',
      });
    }
    reporter.emit({
      type: 'phase',
      store: 'neo4j',
      message: `emptying the target (${describe(state)}, --force)`,
    });
    await emptyNeo4j(connection);
    const after = await targetState(connection);
    if (!isEmpty(after))
      throw new AcxError('STORE', `Neo4j database ${db} could not be emptied (${describe(after)})`, {
        subject: 'neo4j',
      });
  }

  const session = connection.driver.session({ database: connection.database });
  const run = (query: string, params: Record<string, unknown> = {}) =>
    connection.driver.executeQuery(query, params, { database: connection.database });
  let phase: Phase = 'nodes';
  const createdSchema: Neo4jSchemaLine[] = [];
  const checkAbort = (): void => {
    if (signal?.aborted)
      throw new AcxError('INTERRUPTED', 'Neo4j restore interrupted', {
        subject: 'neo4j',
        cause: signal.reason,
      });
  };

  try {
    await run(
      `CREATE CONSTRAINT ${cypherName(HELPER_CONSTRAINT)} IF NOT EXISTS FOR (n:${H}) REQUIRE n.${HP} IS UNIQUE`,
    );
    await run('CALL db.awaitIndexes(300)');

    // Nodes, in batches grouped by label set.
    const nodesPath = nodesDataset.files[0] ?? '';
    let nodes = 0;
    {
      const t0 = performance.now();
      reporter.emit({ type: 'dataset-start', store: 'neo4j', dataset: 'nodes', total: nodesDataset.records });
      let batch: Array<{ key: string; row: NodeRow }> = [];
      let chars = 0;
      let lineNumber = 0;
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        checkAbort();
        const groups = groupBy(batch);
        await session.executeWrite(async (tx) => {
          for (const [key, rows] of groups) {
            const labels =
              key === ''
                ? ''
                : key
                    .split('\u0000')
                    .map((l) => `:${cypherName(l)}`)
                    .join('');
            await tx.run(`UNWIND $rows AS row CREATE (n:${H}${labels} {${HP}: row.id}) SET n += row.props`, {
              rows,
            });
          }
        });
        const before = nodes;
        nodes += batch.length;
        batch = [];
        chars = 0;
        if (Math.floor(nodes / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY))
          reporter.emit({
            type: 'dataset-progress',
            store: 'neo4j',
            dataset: 'nodes',
            done: nodes,
            total: nodesDataset.records,
          });
      };
      for await (const line of snapshot.lines(nodesPath)) {
        lineNumber++;
        if (line === '') continue;
        const record = parseLine(nodesPath, lineNumber, line);
        const { id, labels } = record;
        if (!isName(id)) throw badLine(nodesPath, lineNumber, 'the node has no id');
        if (!Array.isArray(labels) || !labels.every(isName))
          throw badLine(nodesPath, lineNumber, 'the node has no list of labels');
        if (labels.includes(HELPER_LABEL))
          throw badLine(nodesPath, lineNumber, `the label ${HELPER_LABEL} is reserved for restore`);
        const props = properties(nodesPath, lineNumber, record.properties);
        batch.push({ key: [...new Set(labels)].sort().join('\u0000'), row: { id, props } });
        chars += line.length;
        if (batch.length >= BATCH_ROWS || chars >= BATCH_CHARS) await flush();
      }
      await flush();
      if (nodes !== nodesDataset.records)
        throw new AcxError(
          'INTEGRITY',
          `${nodesPath} holds ${nodes} nodes, the manifest lists ${nodesDataset.records}`,
          {
            subject: 'neo4j',
          },
        );
      reporter.emit({
        type: 'dataset-done',
        store: 'neo4j',
        dataset: 'nodes',
        records: nodes,
        seconds: (performance.now() - t0) / 1000,
      });
    }

    // Relationships, in batches grouped by type, linked through the nodes' snapshot ids.
    phase = 'relationships';
    const relationshipsPath = relationshipsDataset.files[0] ?? '';
    let relationships = 0;
    {
      const t0 = performance.now();
      reporter.emit({
        type: 'dataset-start',
        store: 'neo4j',
        dataset: 'relationships',
        total: relationshipsDataset.records,
      });
      let batch: Array<{ key: string; row: RelationshipRow }> = [];
      let chars = 0;
      let lineNumber = 0;
      let firstLine = 1;
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        checkAbort();
        const groups = groupBy(batch);
        const created = await session.executeWrite(async (tx) => {
          let n = 0;
          for (const [type, rows] of groups) {
            const result = await tx.run(
              `UNWIND $rows AS row
               MATCH (a:${H} {${HP}: row.start})
               MATCH (b:${H} {${HP}: row.end})
               CREATE (a)-[r:${cypherName(type)}]->(b) SET r = row.props
               RETURN count(r) AS created`,
              { rows },
            );
            n += Number(result.records[0]?.get('created') ?? 0);
          }
          return n;
        });
        if (created !== batch.length) {
          const ids = [...new Set(batch.flatMap(({ row }) => [row.start, row.end]))];
          const missing = await session.executeRead(async (tx) => {
            const result = await tx.run(
              `UNWIND $ids AS id OPTIONAL MATCH (n:${H} {${HP}: id}) WITH id, n WHERE n IS NULL RETURN id LIMIT 3`,
              { ids },
            );
            return result.records.map((r) => r.get('id') as string);
          });
          throw new AcxError(
            'INTEGRITY',
            `${relationshipsPath} lines ${firstLine}–${lineNumber}: ${batch.length - created} relationships point to nodes that are not in the snapshot (${missing.join(', ')})`,
            { subject: 'neo4j' },
          );
        }
        const before = relationships;
        relationships += created;
        batch = [];
        chars = 0;
        firstLine = lineNumber + 1;
        if (Math.floor(relationships / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY))
          reporter.emit({
            type: 'dataset-progress',
            store: 'neo4j',
            dataset: 'relationships',
            done: relationships,
            total: relationshipsDataset.records,
          });
      };
      for await (const line of snapshot.lines(relationshipsPath)) {
        lineNumber++;
        if (line === '') continue;
        const record = parseLine(relationshipsPath, lineNumber, line);
        const { type, start, end } = record;
        if (!isName(type)) throw badLine(relationshipsPath, lineNumber, 'the relationship has no type');
        if (!isName(start) || !isName(end))
          throw badLine(relationshipsPath, lineNumber, 'the relationship has no start or end node id');
        const props = properties(relationshipsPath, lineNumber, record.properties);
        batch.push({ key: type, row: { start, end, props } });
        chars += line.length;
        if (batch.length >= BATCH_ROWS || chars >= BATCH_CHARS) await flush();
      }
      await flush();
      if (relationships !== relationshipsDataset.records)
        throw new AcxError(
          'INTEGRITY',
          `${relationshipsPath} holds ${relationships} relationships, the manifest lists ${relationshipsDataset.records}`,
          { subject: 'neo4j' },
        );
      reporter.emit({
        type: 'dataset-done',
        store: 'neo4j',
        dataset: 'relationships',
        records: relationships,
        seconds: (performance.now() - t0) / 1000,
      });
    }

    // The helper constraint goes first (removing the helper then updates no index), then the helper.
    phase = 'finalize';
    checkAbort();
    reporter.emit({ type: 'phase', store: 'neo4j', message: 'removing the restore helper label' });
    await run(`DROP CONSTRAINT ${cypherName(HELPER_CONSTRAINT)} IF EXISTS`);
    for (;;) {
      checkAbort();
      const result = await session.executeWrite((tx) =>
        tx.run(`MATCH (n:${H}) WITH n LIMIT $limit REMOVE n:${H} REMOVE n.${HP} RETURN count(*) AS n`, {
          limit: neo4j.int(FINALIZE_ROWS),
        }),
      );
      if (Number(result.records[0]?.get('n') ?? 0) === 0) break;
    }

    // The saved constraints and indexes, then wait for them to come online.
    phase = 'schema';
    const schemaPath = schemaDataset.files[0] ?? '';
    {
      const t0 = performance.now();
      reporter.emit({
        type: 'dataset-start',
        store: 'neo4j',
        dataset: 'schema',
        total: schemaDataset.records,
      });
      let lineNumber = 0;
      for await (const line of snapshot.lines(schemaPath)) {
        lineNumber++;
        if (line === '') continue;
        checkAbort();
        const record = parseLine(schemaPath, lineNumber, line);
        const { kind, name, type, statement } = record;
        if ((kind !== 'constraint' && kind !== 'index') || !isName(name) || !isName(statement))
          throw badLine(schemaPath, lineNumber, 'not a constraint or index with a name and a statement');
        try {
          await run(statement);
        } catch (error) {
          throw new AcxError('STORE', `cannot create the ${kind} ${name}: ${(error as Error).message}`, {
            subject: 'neo4j',
            cause: error,
          });
        }
        createdSchema.push({ kind, name, type: String(type), statement });
      }
      if (createdSchema.length !== schemaDataset.records)
        throw new AcxError(
          'INTEGRITY',
          `${schemaPath} holds ${createdSchema.length} constraints and indexes, the manifest lists ${schemaDataset.records}`,
          { subject: 'neo4j' },
        );
      reporter.emit({ type: 'phase', store: 'neo4j', message: 'waiting for indexes to come online' });
      await run(`CALL db.awaitIndexes(${INDEX_WAIT_SECONDS})`);
      reporter.emit({
        type: 'dataset-done',
        store: 'neo4j',
        dataset: 'schema',
        records: createdSchema.length,
        seconds: (performance.now() - t0) / 1000,
      });
    }

    phase = 'verify';
    const after = await targetState(connection);
    const helpers = Number((await run(`MATCH (n:${H}) RETURN count(n) AS n`)).records[0]?.get('n') ?? 0);
    if (
      after.nodes !== nodesDataset.records ||
      after.relationships !== relationshipsDataset.records ||
      helpers > 0
    ) {
      throw new AcxError(
        'INTEGRITY',
        `Neo4j after restore holds ${after.nodes} nodes and ${after.relationships} relationships (${helpers} with the helper label); the snapshot lists ${nodesDataset.records} and ${relationshipsDataset.records}`,
        { subject: 'neo4j' },
      );
    }
    return {
      datasets: [
        { name: 'nodes', records: nodes },
        { name: 'relationships', records: relationships },
        { name: 'schema', records: createdSchema.length },
      ],
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    const failure =
      error instanceof AcxError
        ? error
        : signal?.aborted
          ? new AcxError('INTERRUPTED', 'Neo4j restore interrupted', { subject: 'neo4j', cause: error })
          : new AcxError('STORE', `Neo4j restore failed: ${(error as Error).message}`, {
              subject: 'neo4j',
              cause: error,
            });
    reporter.emit({ type: 'phase', store: 'neo4j', message: 'restore failed: removing what it created' });
    try {
      await undo(connection, phase, createdSchema);
    } catch (cleanupError) {
      reporter.emit({
        type: 'warning',
        store: 'neo4j',
        message: `could not remove the partly restored data: ${(cleanupError as Error).message}`,
      });
      failure.message += ` (and removing the partly restored data failed: ${(cleanupError as Error).message}; empty the database before retrying)`;
    }
    throw failure;
  } finally {
    await session.close();
  }
}

/** Removes what a failed restore created. The target was empty (or emptied) when it began. */
async function undo(
  connection: Neo4jConnection,
  phase: Phase,
  createdSchema: Neo4jSchemaLine[],
): Promise<void> {
  const session = connection.driver.session({ database: connection.database });
  try {
    // While every created node still carries the helper label, delete only those; later, all nodes.
    const match = phase === 'nodes' || phase === 'relationships' ? `MATCH (n:${H})` : 'MATCH (n)';
    await session.run(`${match} CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF ${FINALIZE_ROWS} ROWS`);
  } finally {
    await session.close();
  }
  const run = (query: string) => connection.driver.executeQuery(query, {}, { database: connection.database });
  await run(`DROP CONSTRAINT ${cypherName(HELPER_CONSTRAINT)} IF EXISTS`);
  for (const s of createdSchema) {
    await run(`DROP ${s.kind === 'constraint' ? 'CONSTRAINT' : 'INDEX'} ${cypherName(s.name)} IF EXISTS`);
  }
}

/** Whether a restore would find the target empty: no nodes and no constraints or indexes (LOOKUP aside). */
export async function isNeo4jRestoreTargetEmpty(connection: Neo4jConnection): Promise<boolean> {
  return isEmpty(await targetState(connection));
}
