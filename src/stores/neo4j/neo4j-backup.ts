/**
 * Neo4j backup (docs/design.md §7.2): the schema (constraints and indexes, LOOKUP indexes and indexes
 * owned by constraints left out), every node and every relationship, read in one read transaction and
 * streamed page by page (the driver pulls `fetchSize` records at a time and pauses while the file writer
 * is behind), so memory does not grow with the graph. Property values keep their Neo4j types through the
 * tagged encoding of `neo4j-values.ts`; nodes and relationships are linked by the source's element ids.
 *
 * Neo4j Community's read transaction is read committed, not a snapshot (design §7.8): writes committed
 * while it runs may or may not be seen. The relationships file therefore keeps only relationships whose
 * two nodes are in the nodes file (`NodeIdSet`); one created with a node the node scan had already
 * passed is left out, as its node is.
 */
import { isRetryableError, type ManagedTransaction, type Result, type Transaction } from 'neo4j-driver';
import { AcxError } from '../../errors.ts';
import { reportDataset } from '../../model/report-dataset.ts';
import type { DataFileWriter, DatasetEntry, ParentSnapshot, StoreSection } from '../../model/snapshot.ts';
import { nowIso, type BackupContext } from '../snapshot-driver.ts';
import { retry } from '../../retry.ts';
import { faultName, neo4jError, type Neo4jConnection } from './neo4j-connection.ts';
import { ENDPOINT_KEYS, ENDPOINTS_RETURN, GraphFingerprint } from './neo4j-fingerprint.ts';
import { NodeIdSet } from './neo4j-node-ids.ts';
import { encodeNeo4jProperties } from './neo4j-values.ts';

/** Records the driver pulls per round trip: the most the backup holds in memory at once (about). */
export const NEO4J_FETCH_SIZE = 2000;
const PROGRESS_EVERY = 10_000;
/** Characters of lines handed to the file writer at once. */
const WRITE_BATCH = 64 * 1024;

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

/** What the backup records of the server, and the counts it shows as progress totals. */
interface ServerInfo {
  serverVersion: string;
  edition: string;
  database: string;
  totalNodes: number;
  totalRels: number;
}

async function readServerInfo(tx: Transaction, connection: Neo4jConnection): Promise<ServerInfo> {
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
  return { serverVersion, edition, database, totalNodes, totalRels };
}

/** The files of one backup: the writers still open (aborted on failure) and the datasets written. */
interface BackupFiles {
  ctx: BackupContext;
  open: DataFileWriter[];
  datasets: DatasetEntry[];
}

/** Writes one dataset's lines into its file, with progress every PROGRESS_EVERY lines. */
async function writeDataset(
  out: BackupFiles,
  dataset: keyof typeof NEO4J_FILES,
  total: number | undefined,
  rows: AsyncIterable<string>,
): Promise<void> {
  const { files, reporter, signal } = out.ctx;
  signal?.throwIfAborted();
  let path = '';
  const records = await reportDataset(reporter, 'neo4j', dataset, total, async () => {
    const writer = await files.createFile(`${NEO4J_FILES[dataset]}.jsonl`, { records: true });
    out.open.push(writer);
    path = writer.path;
    let done = 0;
    // Lines go to the writer WRITE_BATCH characters at a time: each write hashes, counts and chunks
    // what it is given, and that costs per call, not per byte.
    let batch = '';
    for await (const line of rows) {
      batch += `${line}\n`;
      if (batch.length >= WRITE_BATCH) {
        await writer.write(batch);
        batch = '';
      }
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
    if (batch) await writer.write(batch);
    const entry = await files.closeFile(writer);
    out.open.splice(out.open.indexOf(writer), 1);
    return entry.records ?? done;
  });
  out.datasets.push({ name: dataset, kind: dataset, records, files: [path] });
}

async function* schemaLines(schema: Neo4jSchemaLine[]): AsyncGenerator<string> {
  for (const line of schema) yield JSON.stringify(line);
}

/** Every node as a line, counting its labels into `labels`, its id into `written`, its content into `graph`. */
async function* nodeLines(
  query: Result,
  labels: Record<string, number>,
  written: NodeIdSet,
  graph: GraphFingerprint,
): AsyncGenerator<string> {
  for await (const record of query) {
    written.add(record.get('id') as string);
    const nodeLabels = [...(record.get('labels') as string[])].sort();
    for (const label of nodeLabels) labels[label] = (labels[label] ?? 0) + 1;
    const properties = encodeNeo4jProperties(record.get('props') as Record<string, unknown>);
    graph.node(nodeLabels, properties);
    yield JSON.stringify({ id: record.get('id') as string, labels: nodeLabels, properties });
  }
}

/**
 * Every relationship between two written nodes as a line, counting its type into `types` and its
 * content into `graph` (the query returns the endpoints as the fingerprint names them: `a`, `b`).
 */
async function* relationshipLines(
  query: Result,
  types: Record<string, number>,
  written: NodeIdSet,
  graph: GraphFingerprint,
): AsyncGenerator<string> {
  for await (const record of query) {
    if (!written.has(record.get('start') as string) || !written.has(record.get('end') as string)) continue;
    const type = record.get('type') as string;
    types[type] = (types[type] ?? 0) + 1;
    const properties = encodeNeo4jProperties(record.get('props') as Record<string, unknown>);
    graph.relationship(type, record.get('a'), properties, record.get('b'));
    yield JSON.stringify({
      type,
      start: record.get('start') as string,
      end: record.get('end') as string,
      properties,
    });
  }
}

const sortedCounts = (counts: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Attempts of a whole backup read (the first included): a transient fault restarts the read. */
export const NEO4J_BACKUP_ATTEMPTS = 3;

/**
 * The backup's unit of work is the whole graph's read: one transaction is what makes the part
 * consistent, and a transaction cannot be resumed on another connection. So a fault the driver classes
 * as retryable (a lost connection, `ServiceUnavailable`, `SessionExpired`, `Neo.TransientError.*`)
 * discards the files written so far and reads again from the start, at most NEO4J_BACKUP_ATTEMPTS
 * times, reporting each retry. Nothing is written to Neo4j, so reading again is always safe.
 */
/**
 * What tells whether the graph changed since a snapshot (design §11.8): the bookmark of a read
 * transaction (it names the last committed transaction; any committed write, schema changes included,
 * changes it) and the database's id. Taken before the graph is read, so a write during the read makes
 * the next incremental read everything again. Undefined when the server gives no bookmark.
 */
export interface Neo4jChangeMark {
  bookmark: string;
  databaseId: string;
}

async function readChangeMark(connection: Neo4jConnection): Promise<Neo4jChangeMark | undefined> {
  const session = connection.driver.session({ database: connection.database, defaultAccessMode: 'READ' });
  try {
    const id = await session.executeRead(async (tx) =>
      String((await tx.run('CALL db.info() YIELD id RETURN id')).records[0]?.get('id') ?? ''),
    );
    const bookmarks = session.lastBookmarks();
    if (bookmarks.length !== 1 || !bookmarks[0] || !id) return undefined;
    return { bookmark: bookmarks[0], databaseId: id };
  } finally {
    await session.close();
  }
}

/** The parent's section with its files reused, when the graph is provably as the parent read it. */
function reuseGraph(
  ctx: BackupContext,
  parent: ParentSnapshot | undefined,
  mark: Neo4jChangeMark | undefined,
): StoreSection | undefined {
  if (!parent || !mark || !ctx.files.reuse) return undefined;
  const before = parent.section.changeMark as Partial<Neo4jChangeMark> | undefined;
  if (before?.bookmark !== mark.bookmark || before.databaseId !== mark.databaseId) return undefined;
  const paths = parent.section.datasets.flatMap((d) => d.files);
  if (paths.some((p) => !parent.files[p])) return undefined;
  for (const path of paths) ctx.files.reuse(path, parent.files[path]!);
  const now = nowIso();
  for (const d of parent.section.datasets)
    ctx.reporter.emit({
      type: 'dataset-done',
      store: 'neo4j',
      dataset: d.name,
      records: d.records,
      seconds: 0,
    });
  return {
    ...parent.section,
    readStartedAt: now,
    readFinishedAt: now,
    datasets: parent.section.datasets.map((d) => ({ ...d, reused: parent.id })),
  };
}

export async function backupNeo4j(
  connection: Neo4jConnection,
  ctx: BackupContext,
  parent?: ParentSnapshot,
): Promise<StoreSection> {
  try {
    const mark = ctx.files.formatVersion === 2 ? await readChangeMark(connection) : undefined;
    const reused = reuseGraph(ctx, parent, mark);
    if (reused) return reused;
    const section = await readGraphRetried(connection, ctx);
    return mark ? { ...section, changeMark: mark } : section;
  } catch (error) {
    if (error instanceof AcxError || ctx.signal?.aborted) throw error;
    throw (
      neo4jError(error, 'the backup') ??
      new AcxError('STORE', `Neo4j backup failed: ${(error as Error).message}`, {
        subject: 'neo4j',
        cause: error,
      })
    );
  }
}

function readGraphRetried(connection: Neo4jConnection, ctx: BackupContext): Promise<StoreSection> {
  return retry(() => readGraph(connection, ctx), {
    attempts: NEO4J_BACKUP_ATTEMPTS,
    baseMs: 1000,
    // The budget bounds no read, only how many start: a large graph takes as long as it takes.
    maxElapsedMs: Number.POSITIVE_INFINITY,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    isRetryable: (error) => !ctx.signal?.aborted && isRetryableError(error),
    onRetry: ({ attempt, delayMs, error }) =>
      ctx.reporter.emit({
        type: 'retry',
        store: 'neo4j',
        attempt: attempt + 1,
        delayMs,
        message: `reading the Neo4j graph again from the start (attempt ${attempt + 1}, in ${delayMs} ms): ${faultName(error)}`,
      }),
  });
}

/** One attempt: the whole graph in one read transaction; on failure the files it opened are aborted. */
async function readGraph(connection: Neo4jConnection, ctx: BackupContext): Promise<StoreSection> {
  const session = connection.driver.session({
    database: connection.database,
    defaultAccessMode: 'READ',
    fetchSize: NEO4J_FETCH_SIZE,
  });
  const out: BackupFiles = { ctx, open: [], datasets: [] };
  const labels: Record<string, number> = {};
  const relationshipTypes: Record<string, number> = {};
  const graph = new GraphFingerprint();
  let tx: Transaction | undefined;
  try {
    // One read transaction (read committed: see the header), the relationships limited to its nodes.
    tx = session.beginTransaction();
    const readStartedAt = nowIso();
    const server = await readServerInfo(tx, connection);
    const schema = await readSchema(tx);
    await writeDataset(out, 'schema', schema.length, schemaLines(schema));
    const nodeQuery = tx.run(
      'MATCH (n) RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props',
    );
    const written = new NodeIdSet();
    await writeDataset(out, 'nodes', server.totalNodes, nodeLines(nodeQuery, labels, written, graph));
    const relationshipQuery = tx.run(
      `MATCH (a)-[r]->(b) RETURN type(r) AS type, elementId(a) AS start, elementId(b) AS end, properties(r) AS props, ${ENDPOINTS_RETURN}`,
      { keys: ENDPOINT_KEYS },
    );
    const rels = relationshipLines(relationshipQuery, relationshipTypes, written, graph);
    await writeDataset(out, 'relationships', server.totalRels, rels);
    await tx.commit();
    tx = undefined;
    return {
      serverVersion: server.serverVersion,
      edition: server.edition,
      database: server.database,
      readStartedAt,
      readFinishedAt: nowIso(),
      datasets: out.datasets,
      labels: sortedCounts(labels),
      relationshipTypes: sortedCounts(relationshipTypes),
      fingerprints: graph.result(),
    };
  } catch (error) {
    // An aborted file stores nothing; the next attempt writes the same paths anew (closed ones too).
    for (const writer of out.open) writer.abort();
    if (tx) await tx.rollback().catch(() => undefined);
    throw error;
  } finally {
    await session.close();
  }
}
