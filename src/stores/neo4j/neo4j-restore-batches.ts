/**
 * Loading a Neo4j snapshot's nodes and relationships (docs/design.md §7.5). Both files go through one
 * batching loop: lines are read as a stream, parsed into rows keyed by label set or relationship type,
 * and written in batches (one write transaction each, one UNWIND per key), so one batch is in memory.
 *
 * Each batch is a managed transaction, which the driver runs again when the connection drops — also
 * when the server committed and only its answer was lost. So that a second run finds the work done
 * instead of creating it twice, every batch also writes its file's progress marker (the last line it
 * holds) in the same transaction, and every run of a batch first reads that marker.
 */
import type { ManagedTransaction } from 'neo4j-driver';
import { AcxError } from '../../errors.ts';
import type { DatasetEntry } from '../../model/snapshot.ts';
import { reportDataset } from '../../model/report-dataset.ts';
import { cypherName, groupBy } from './neo4j-connection.ts';
import { H, HP, PROGRESS, type RestoreRun } from './neo4j-restore-helper.ts';
import {
  checkCount,
  nodeRow,
  relationshipRow,
  snapshotLines,
  type KeyedRow,
  type NodeRow,
  type RelationshipRow,
} from './neo4j-restore-lines.ts';

/** Rows per write transaction, and a cap on their JSON size so that huge properties do not pile up. */
const BATCH_ROWS = 5000;
const BATCH_CHARS = 8 * 1024 * 1024;
const PROGRESS_EVERY = 10_000;

/** One batch of rows, in file order, and the lines of the file it was read from. */
interface Batch<T> {
  rows: KeyedRow<T>[];
  firstLine: number;
  lastLine: number;
}

interface BatchLoad<T> {
  dataset: 'nodes' | 'relationships';
  entry: DatasetEntry;
  /** One non-empty line → its row (INTEGRITY when it cannot be restored). */
  parse(path: string, lineNumber: number, line: string): KeyedRow<T>;
  /** Writes one batch in one transaction; returns how many it created. */
  write(batch: Batch<T>, path: string): Promise<number>;
}

/**
 * Streams a dataset's file into `load.write` in batches of at most BATCH_ROWS rows or BATCH_CHARS
 * characters, with an abort check before each batch and progress every PROGRESS_EVERY records; then
 * checks the count against the manifest. Returns the records created.
 */
async function loadInBatches<T>(r: RestoreRun, load: BatchLoad<T>): Promise<number> {
  const { dataset, entry } = load;
  const path = entry.files[0] ?? '';
  return reportDataset(r.ctx.reporter, 'neo4j', dataset, entry.records, async () => {
    let batch: Batch<T> = { rows: [], firstLine: 1, lastLine: 0 };
    let chars = 0;
    let done = 0;
    const flush = async (): Promise<void> => {
      if (batch.rows.length === 0) return;
      r.checkAbort();
      const before = done;
      done += await load.write(batch, path);
      batch = { rows: [], firstLine: batch.lastLine + 1, lastLine: batch.lastLine };
      chars = 0;
      if (Math.floor(done / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY))
        r.ctx.reporter.emit({
          type: 'dataset-progress',
          store: 'neo4j',
          dataset,
          done,
          total: entry.records,
        });
    };
    for await (const { lineNumber, line } of snapshotLines(r.ctx.snapshot, path)) {
      batch.lastLine = lineNumber;
      batch.rows.push(load.parse(path, lineNumber, line));
      chars += line.length;
      if (batch.rows.length >= BATCH_ROWS || chars >= BATCH_CHARS) await flush();
    }
    await flush();
    checkCount(path, done, dataset, entry.records);
    return done;
  });
}

/** Nodes, in batches grouped by label set, each with the helper label and its snapshot id. */
export function loadNodes(r: RestoreRun, entry: DatasetEntry): Promise<number> {
  return loadInBatches<NodeRow>(r, {
    dataset: 'nodes',
    entry,
    parse: nodeRow,
    write: async (batch, path) => {
      await r.session.executeWrite(async (tx) => {
        if (await isCommitted(tx, path, batch)) return;
        for (const [key, rows] of groupBy(batch.rows)) {
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
        await markCommitted(tx, path, batch);
      });
      return batch.rows.length;
    },
  });
}

/** Relationships, in batches grouped by type, linked through the nodes' snapshot ids. */
export function loadRelationships(r: RestoreRun, entry: DatasetEntry): Promise<number> {
  return loadInBatches<RelationshipRow>(r, {
    dataset: 'relationships',
    entry,
    parse: relationshipRow,
    write: async (batch, path) => {
      const created = await r.session
        .executeWrite(async (tx) => {
          if (await isCommitted(tx, path, batch)) return batch.rows.length;
          let n = 0;
          for (const [type, rows] of groupBy(batch.rows)) {
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
          // A batch with dangling relationships is not committed (and not marked): it fails below.
          if (n !== batch.rows.length) throw new DanglingBatch(n);
          await markCommitted(tx, path, batch);
          return n;
        })
        .catch((error: unknown) => {
          if (error instanceof DanglingBatch) return error.created;
          throw error;
        });
      if (created !== batch.rows.length) throw await danglingRelationships(r, batch, created, path);
      return created;
    },
  });
}

/** Thrown inside a relationship batch's transaction to roll it back: only `created` found both endpoints. */
class DanglingBatch extends Error {
  readonly created: number;

  constructor(created: number) {
    super('relationships without endpoints');
    this.created = created;
  }
}

/**
 * True when an earlier run of this batch's transaction committed (its answer lost on the way): the
 * file's progress marker already holds the batch's last line. One label scan over at most two nodes.
 */
async function isCommitted<T>(tx: ManagedTransaction, path: string, batch: Batch<T>): Promise<boolean> {
  const result = await tx.run(`MATCH (m:${PROGRESS} {file: $path}) RETURN m.line AS line`, { path });
  const line = result.records[0]?.get('line') as unknown;
  return line !== undefined && line !== null && Number(line) >= batch.lastLine;
}

/**
 * Records in the batch's own transaction that the file is loaded through its last line. The marker
 * carries the helper label, so undoing a failed restore removes it with the nodes it created.
 */
async function markCommitted<T>(tx: ManagedTransaction, path: string, batch: Batch<T>): Promise<void> {
  await tx.run(`MERGE (m:${H}:${PROGRESS} {file: $path}) SET m.line = $line`, {
    path,
    line: batch.lastLine,
  });
}

/** INTEGRITY for a batch some of whose relationships found no endpoint: names up to three missing ids. */
async function danglingRelationships(
  r: RestoreRun,
  batch: Batch<RelationshipRow>,
  created: number,
  path: string,
): Promise<AcxError> {
  const ids = [...new Set(batch.rows.flatMap(({ row }) => [row.start, row.end]))];
  const missing = await r.session.executeRead(async (tx) => {
    const result = await tx.run(
      `UNWIND $ids AS id OPTIONAL MATCH (n:${H} {${HP}: id}) WITH id, n WHERE n IS NULL RETURN id LIMIT 3`,
      { ids },
    );
    return result.records.map((rec) => rec.get('id') as string);
  });
  return new AcxError(
    'INTEGRITY',
    `${path} lines ${batch.firstLine}–${batch.lastLine}: ${batch.rows.length - created} relationships point to nodes that are not in the snapshot (${missing.join(', ')})`,
    { subject: 'neo4j' },
  );
}
