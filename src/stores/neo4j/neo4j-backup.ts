/**
 * Neo4j backup (docs/design.md §7.2): the schema (constraints and indexes, LOOKUP indexes and indexes
 * owned by constraints left out), every node and every relationship, read in one read transaction and
 * streamed page by page (the driver pulls `fetchSize` records at a time and pauses while the file writer
 * is behind), so memory does not grow with the graph. Property values keep their Neo4j types through the
 * tagged encoding of `neo4j-values.ts`; nodes and relationships are linked by the source's element ids.
 */
import type { ManagedTransaction, Transaction } from 'neo4j-driver';
import { AcxError } from '../../errors.ts';
import type { DatasetEntry, StoreSection } from '../../model/snapshot.ts';
import type { DataFileWriter } from '../../model/snapshot.ts';
import { nowIso, type BackupContext } from '../snapshot-driver.ts';
import type { Neo4jConnection } from './neo4j-connection.ts';
import { encodeNeo4jProperties } from './neo4j-values.ts';

/** Records the driver pulls per round trip: the most the backup holds in memory at once (about). */
export const NEO4J_FETCH_SIZE = 2000;
const PROGRESS_EVERY = 10_000;

export const NEO4J_FILES = {
  schema: 'neo4j/schema',
  nodes: 'neo4j/nodes',
  relationships: 'neo4j/relationships',
} as const;

/** One line of `neo4j/schema.jsonl`. */
export interface Neo4jSchemaLine {
  kind: 'constraint' | 'index';
  name: string;
  type: string;
  statement: string;
}

const count = (value: unknown): number => Number(value ?? 0);

async function readSchema(tx: Transaction | ManagedTransaction): Promise<Neo4jSchemaLine[]> {
  const lines: Neo4jSchemaLine[] = [];
  const constraints = await tx.run(
    'SHOW CONSTRAINTS YIELD name, type, createStatement RETURN name, type, createStatement ORDER BY name',
  );
  for (const r of constraints.records) {
    lines.push({
      kind: 'constraint',
      name: r.get('name') as string,
      type: r.get('type') as string,
      statement: r.get('createStatement') as string,
    });
  }
  const indexes = await tx.run(
    `SHOW INDEXES YIELD name, type, createStatement, owningConstraint
     WHERE type <> 'LOOKUP' AND owningConstraint IS NULL
     RETURN name, type, createStatement ORDER BY name`,
  );
  for (const r of indexes.records) {
    lines.push({
      kind: 'index',
      name: r.get('name') as string,
      type: r.get('type') as string,
      statement: r.get('createStatement') as string,
    });
  }
  return lines;
}

export async function backupNeo4j(connection: Neo4jConnection, ctx: BackupContext): Promise<StoreSection> {
  const { files, reporter, signal } = ctx;
  const session = connection.driver.session({
    database: connection.database,
    defaultAccessMode: 'READ',
    fetchSize: NEO4J_FETCH_SIZE,
  });
  const open: DataFileWriter[] = [];
  const datasets: DatasetEntry[] = [];
  const labels: Record<string, number> = {};
  const relationshipTypes: Record<string, number> = {};
  let tx: Transaction | undefined;
  try {
    tx = session.beginTransaction();
    const readStartedAt = nowIso();
    const components = await tx.run(
      "CALL dbms.components() YIELD name, versions, edition WHERE name = 'Neo4j Kernel' RETURN versions[0] AS version, edition",
    );
    const serverVersion = String(components.records[0]?.get('version') ?? 'unknown');
    const edition = String(components.records[0]?.get('edition') ?? 'unknown');
    const database = String(
      (await tx.run('CALL db.info() YIELD name RETURN name')).records[0]?.get('name') ??
        connection.database ??
        'neo4j',
    );
    // Counts from the count store (instant): progress totals only, the files count what they hold.
    const totalNodes = count((await tx.run('MATCH (n) RETURN count(n) AS n')).records[0]?.get('n'));
    const totalRels = count((await tx.run('MATCH ()-[r]->() RETURN count(r) AS n')).records[0]?.get('n'));

    const stream = async (
      dataset: 'schema' | 'nodes' | 'relationships',
      total: number | undefined,
      rows: AsyncIterable<string>,
    ): Promise<void> => {
      signal?.throwIfAborted();
      const started = performance.now();
      reporter.emit({
        type: 'dataset-start',
        store: 'neo4j',
        dataset,
        ...(total === undefined ? {} : { total }),
      });
      const writer = await files.createFile(`${NEO4J_FILES[dataset]}.jsonl`, { records: true });
      open.push(writer);
      let done = 0;
      for await (const line of rows) {
        await writer.writeLine(line);
        done++;
        if (done % PROGRESS_EVERY === 0) {
          signal?.throwIfAborted();
          reporter.emit({
            type: 'dataset-progress',
            store: 'neo4j',
            dataset,
            done,
            ...(total === undefined ? {} : { total }),
          });
        }
      }
      const entry = await files.closeFile(writer);
      open.splice(open.indexOf(writer), 1);
      const records = entry.records ?? done;
      datasets.push({ name: dataset, kind: dataset, records, files: [writer.path] });
      reporter.emit({
        type: 'dataset-done',
        store: 'neo4j',
        dataset,
        records,
        seconds: (performance.now() - started) / 1000,
      });
    };

    const schema = await readSchema(tx);
    await stream(
      'schema',
      schema.length,
      (async function* () {
        for (const line of schema) yield JSON.stringify(line);
      })(),
    );

    const nodeQuery = tx.run(
      'MATCH (n) RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props',
    );
    await stream(
      'nodes',
      totalNodes,
      (async function* () {
        for await (const record of nodeQuery) {
          const nodeLabels = [...(record.get('labels') as string[])].sort();
          for (const label of nodeLabels) labels[label] = (labels[label] ?? 0) + 1;
          yield JSON.stringify({
            id: record.get('id') as string,
            labels: nodeLabels,
            properties: encodeNeo4jProperties(record.get('props') as Record<string, unknown>),
          });
        }
      })(),
    );

    const relationshipQuery = tx.run(
      'MATCH ()-[r]->() RETURN type(r) AS type, elementId(startNode(r)) AS start, elementId(endNode(r)) AS end, properties(r) AS props',
    );
    await stream(
      'relationships',
      totalRels,
      (async function* () {
        for await (const record of relationshipQuery) {
          const type = record.get('type') as string;
          relationshipTypes[type] = (relationshipTypes[type] ?? 0) + 1;
          yield JSON.stringify({
            type,
            start: record.get('start') as string,
            end: record.get('end') as string,
            properties: encodeNeo4jProperties(record.get('props') as Record<string, unknown>),
          });
        }
      })(),
    );

    await tx.commit();
    tx = undefined;
    const sorted = (counts: Record<string, number>) =>
      Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return {
      serverVersion,
      edition,
      database,
      readStartedAt,
      readFinishedAt: nowIso(),
      datasets,
      labels: sorted(labels),
      relationshipTypes: sorted(relationshipTypes),
    };
  } catch (error) {
    for (const writer of open) writer.abort();
    if (tx) await tx.rollback().catch(() => undefined);
    if (error instanceof AcxError || signal?.aborted) throw error;
    throw new AcxError('STORE', `Neo4j backup failed: ${(error as Error).message}`, {
      subject: 'neo4j',
      cause: error,
    });
  } finally {
    await session.close();
  }
}
