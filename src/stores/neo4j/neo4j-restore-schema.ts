/**
 * The last load of a Neo4j restore: the saved constraints and indexes (`neo4j/schema.jsonl`), created
 * once the data is in (building them while loading would slow every batch), then waited for.
 */
import { AcxError } from '../../errors.ts';
import { reportDataset } from '../../model/report-dataset.ts';
import type { DatasetEntry } from '../../model/snapshot.ts';
import type { Neo4jSchemaLine } from './neo4j-backup.ts';
import type { RestoreRun } from './neo4j-restore-helper.ts';
import { checkCount, schemaLine, snapshotLines } from './neo4j-restore-lines.ts';

const INDEX_WAIT_SECONDS = 600;

const isAlreadyCreated = (error: unknown): boolean =>
  (error as { code?: unknown }).code === 'Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists';

/**
 * Creates every saved constraint and index in file order, appending each to `created` as soon as it
 * exists (what undoing a failed restore drops), then waits until all are online. Returns the count.
 */
export async function createSavedSchema(
  r: RestoreRun,
  entry: DatasetEntry,
  created: Neo4jSchemaLine[],
): Promise<number> {
  const path = entry.files[0] ?? '';
  return reportDataset(r.ctx.reporter, 'neo4j', 'schema', entry.records, async () => {
    for await (const { lineNumber, line } of snapshotLines(r.ctx.snapshot, path)) {
      r.checkAbort();
      const saved = schemaLine(path, lineNumber, line);
      try {
        await r.run(saved.statement);
      } catch (error) {
        // The target was emptied and names are unique in the file: an equivalent rule can only be this
        // one, created by an attempt whose answer was lost (the driver ran the statement again).
        if (isAlreadyCreated(error)) {
          created.push(saved);
          continue;
        }
        throw new AcxError(
          'STORE',
          `cannot create the ${saved.kind} ${saved.name}: ${(error as Error).message}`,
          {
            subject: 'neo4j',
            cause: error,
          },
        );
      }
      created.push(saved);
    }
    checkCount(path, created.length, 'constraints and indexes', entry.records);
    r.ctx.reporter.emit({ type: 'phase', store: 'neo4j', message: 'waiting for indexes to come online' });
    await r.run(`CALL db.awaitIndexes(${INDEX_WAIT_SECONDS})`);
    return created.length;
  });
}
