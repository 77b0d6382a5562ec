/**
 * Import into Neo4j, all or nothing: one write transaction holds the whole import (Neo4j keeps its
 * changes in the server's memory until the commit). Records go in batches (`--batch-size`): each batch
 * reads the stored records it names, decides with the conflict strategy (model/conflict.ts) and writes.
 * A dry run does the same and rolls back, so its counts are the real ones.
 *
 * Identity: a node by its key label's uniqueness-constraint key (`DTC.code`, `Engine.code`,
 * `Complaint.odi_number`, `Recall.campaign_number`, the other labels `id`); the key label is the
 * alphabetically first of a node's labels that has a key. A relationship by (type, start node, end
 * node): it is never created twice. Endpoints are found by their input id (a node imported earlier in
 * the same input) or by label and key; one that is neither in the input nor in the store rejects the
 * relationship.
 *
 * `neo4j-import-records.ts` checks each record; this file decides and writes, batch by batch.
 */
import { randomUUID } from 'node:crypto';
import neo4j, { isRetryableError, type Session, type Transaction } from 'neo4j-driver';
import { AcxError } from '../../errors.ts';
import type { InputDataset, InputField, InputRecord } from '../../model/input.ts';
import { isoToEpochNanos, resolveConflict, TIMESTAMP_FIELD } from '../../model/conflict.ts';
import type { LabelMap } from '../../model/labels.ts';
import {
  datasetDone,
  forEachBatch,
  secondsSince,
  zeroCounts,
  type DatasetCounts,
  type DatasetResult,
  type ImportContext,
  type ImportLedger,
} from '../../model/import.ts';
import { cypherName, groupBy, type Neo4jConnection } from './neo4j-connection.ts';
import { keyPropertiesByLabel } from './neo4j-fingerprint.ts';
import {
  describeKey,
  keyText,
  Neo4jRecordChecks,
  NODE_META,
  REL_META,
  rejectOne,
  type PendingNode,
  type PendingRel,
} from './neo4j-import-records.ts';

/**
 * The label of an import's commit token: one node created in the import's transaction just before its
 * COMMIT and deleted right after. When the COMMIT's answer is lost (the connection dropped after the
 * server may have committed), the token says which happened.
 */
export const COMMIT_TOKEN_LABEL = '__AcxImportCommit';
const TOKEN = cypherName(COMMIT_TOKEN_LABEL);

/** Epoch nanoseconds of a record's `updated_at` (a DateTime, or ISO text), or null. */
function timestampOf(record: Record<string, unknown>): bigint | null {
  const v = record[TIMESTAMP_FIELD];
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return isoToEpochNanos(v);
  if (neo4j.isDateTime(v) || neo4j.isLocalDateTime(v) || neo4j.isDate(v)) return isoToEpochNanos(String(v));
  return null;
}

export class Neo4jImport {
  private session: Session | undefined;
  private tx: Transaction | undefined;
  private readonly keys: Record<string, string>;
  private readonly results: DatasetResult[] = [];
  private readonly checks: Neo4jRecordChecks;

  private readonly connection: Neo4jConnection;
  private readonly ctx: ImportContext;
  private readonly ledger: ImportLedger;

  constructor(connection: Neo4jConnection, ctx: ImportContext, labels: LabelMap, ledger: ImportLedger) {
    this.connection = connection;
    this.ctx = ctx;
    this.ledger = ledger;

    this.keys = keyPropertiesByLabel(labels);
    this.checks = new Neo4jRecordChecks(ctx, this.keys, labels.label('dtc'), ledger);
  }

  async begin(): Promise<void> {
    this.session = this.connection.driver.session({
      database: this.connection.database,
      defaultAccessMode: 'WRITE',
    });
    this.tx = this.session.beginTransaction();
    // Tokens of imports killed between their commit and the token's removal (committed: see commit()).
    await this.tx.run(`MATCH (t:${TOKEN}) DELETE t`);
  }

  private get run(): Transaction['run'] {
    const tx = this.tx;
    if (!tx) throw new AcxError('INTERNAL', 'Neo4j import used before begin()');
    return tx.run.bind(tx);
  }

  /**
   * neo4j-driver keeps every Result of an open transaction (with its parameters and records) until the
   * commit, so one transaction over a large import grows with the input: 200 000 nodes and 200 000
   * relationships took the import from 243 to 561 MiB. Every Result of a finished batch has been read
   * to its end, so the transaction has nothing left to wait for in them; they are dropped. This relies
   * on the driver's internal `_results` list (neo4j-driver-core 6.x), checked here: without it memory
   * grows as before and nothing else changes.
   */
  private forgetFinishedResults(): void {
    const results = (this.tx as unknown as { _results?: unknown[] } | undefined)?._results;
    if (Array.isArray(results)) results.length = 0;
  }

  /**
   * The shared loop of node and relationship datasets: batches of records, each checked (`accept`:
   * a pending write, or undefined when the record was rejected) inside one ledger transaction (a SQLite
   * transaction per record was ~40× slower), then written.
   */
  private async importDataset<T>(
    ds: InputDataset,
    meta: ReadonlySet<string>,
    target: string,
    accept: (record: InputRecord, fields: Map<string, InputField>, counts: DatasetCounts) => T | undefined,
    write: (pending: T[], propFields: string[], counts: DatasetCounts) => Promise<void>,
  ): Promise<void> {
    const started = performance.now();
    const fields = new Map(ds.fields.map((f) => [f.name, f]));
    const propFields = ds.fields.filter((f) => !meta.has(f.name)).map((f) => f.name);
    const counts = zeroCounts();
    const total = await forEachBatch(this.ctx, 'neo4j', ds, async (batch) => {
      const pending: T[] = [];
      this.ledger.batch(() => {
        for (const record of batch) {
          const item = accept(record, fields, counts);
          if (item !== undefined) pending.push(item);
        }
      });
      await write(pending, propFields, counts);
      this.forgetFinishedResults();
    });
    const result = { store: 'neo4j' as const, dataset: ds.name, file: ds.file, target, counts };
    this.results.push(datasetDone(this.ctx, result, total, secondsSince(started)));
  }

  /** Nodes of one input dataset; `source` scopes their input ids (the input file or directory). */
  async importNodes(ds: InputDataset, source: string): Promise<void> {
    if (ds.target.store !== 'neo4j' || ds.target.kind !== 'nodes')
      throw new AcxError('INTERNAL', 'not a node dataset');
    const defaultLabel = ds.target.label;
    await this.importDataset(
      ds,
      NODE_META,
      defaultLabel ?? '(labels per node)',
      (record, fields, counts) => {
        const node = this.checks.checkNode(ds, record, defaultLabel, fields, counts);
        if (!node) return undefined;
        const first = this.ledger.firstSeen(`node:${node.keyLabel}`, keyText(node.key), record.line);
        if (first !== null) {
          rejectOne(
            this.ctx,
            ds,
            counts,
            record.line,
            `duplicate ${node.keyLabel} ${node.keyProperty}=${describeKey(node.key)} (first at line ${first})`,
            node.keyProperty,
          );
          return undefined;
        }
        const id = record.values._element_id;
        if (id !== null && id !== undefined)
          this.ledger.rememberNode(source, String(id), {
            label: node.keyLabel,
            keyProperty: node.keyProperty,
            key: keyText(node.key),
          });
        return node;
      },
      (pending, propFields, counts) => this.writeNodes(pending, propFields, counts),
    );
  }

  private async writeNodes(
    pending: PendingNode[],
    fields: readonly string[],
    counts: DatasetCounts,
  ): Promise<void> {
    const byKeyLabel = groupBy(pending.map((n) => ({ key: n.keyLabel, row: n })));
    for (const [keyLabel, nodes] of byKeyLabel) {
      const property = this.keys[keyLabel] as string;
      const existing = new Map<string, Record<string, unknown>>();
      const found = await this.run(
        `UNWIND $keys AS k MATCH (n:${cypherName(keyLabel)}) WHERE n.${cypherName(property)} = k RETURN n.${cypherName(property)} AS k, properties(n) AS props`,
        { keys: nodes.map((n) => n.key) },
      );
      for (const r of found.records)
        existing.set(keyText(r.get('k')), r.get('props') as Record<string, unknown>);
      const inserts: { key: string; row: Record<string, unknown> }[] = [];
      const updates: { key: unknown; props: Record<string, unknown> }[] = [];
      for (const n of nodes) {
        const stored = existing.get(keyText(n.key)) ?? null;
        const decision = this.decide(stored, n.props, fields, counts);
        if (decision.action === 'insert')
          inserts.push({ key: n.labels.map(cypherName).join(':'), row: n.props });
        else if (decision.action === 'update') updates.push({ key: n.key, props: decision.values });
      }
      for (const [labelSet, rows] of groupBy(inserts))
        await this.run(`UNWIND $rows AS r CREATE (n:${labelSet}) SET n = r`, { rows });
      if (updates.length > 0)
        await this.run(
          `UNWIND $rows AS r MATCH (n:${cypherName(keyLabel)}) WHERE n.${cypherName(property)} = r.key SET n = r.props`,
          { rows: updates },
        );
    }
  }

  /** Relationships of one input dataset; endpoints by input id (scoped by `source`) or by label and key. */
  async importRelationships(ds: InputDataset, source: string): Promise<void> {
    if (ds.target.store !== 'neo4j' || ds.target.kind !== 'relationships')
      throw new AcxError('INTERNAL', 'not a relationship dataset');
    const datasetType = ds.target.type;
    await this.importDataset(
      ds,
      REL_META,
      datasetType ?? '(type per edge)',
      (record, fields, counts) => {
        const rel = this.checks.checkRelationship(ds, record, datasetType, fields, source, counts);
        if (!rel) return undefined;
        const identity = JSON.stringify([
          rel.start.label,
          rel.start.describe,
          rel.end.label,
          rel.end.describe,
        ]);
        const first = this.ledger.firstSeen(`rel:${rel.type}`, identity, record.line);
        if (first !== null) {
          rejectOne(
            this.ctx,
            ds,
            counts,
            record.line,
            `duplicate ${rel.type} relationship ${rel.start.describe} → ${rel.end.describe} (first at line ${first})`,
          );
          return undefined;
        }
        return rel;
      },
      (pending, propFields, counts) => this.writeRelationships(ds, pending, propFields, counts),
    );
  }

  private async writeRelationships(
    ds: InputDataset,
    pending: PendingRel[],
    fields: readonly string[],
    counts: DatasetCounts,
  ): Promise<void> {
    const groups = groupBy(
      pending.map((r) => ({
        key: JSON.stringify([r.type, r.start.label, r.start.property, r.end.label, r.end.property]),
        row: r,
      })),
    );
    for (const rels of groups.values()) await this.writeRelationshipGroup(ds, rels, fields, counts);
  }

  /** Relationships of one type between the same endpoint labels: one read, then one write per action. */
  private async writeRelationshipGroup(
    ds: InputDataset,
    rels: PendingRel[],
    fields: readonly string[],
    counts: DatasetCounts,
  ): Promise<void> {
    const { type, start, end } = rels[0] as PendingRel;
    const match = `MATCH (a:${cypherName(start.label)}) WHERE a.${cypherName(start.property)} IN r.a
                     MATCH (b:${cypherName(end.label)}) WHERE b.${cypherName(end.property)} IN r.b`;
    const existing = await this.storedRelationships(rels, match, type);
    const inserts: { a: unknown[]; b: unknown[]; props: Record<string, unknown> }[] = [];
    const updates: { a: unknown[]; b: unknown[]; props: Record<string, unknown> }[] = [];
    rels.forEach((r, i) => {
      if (!existing.has(i)) {
        rejectOne(
          this.ctx,
          ds,
          counts,
          r.record.line,
          `${type}: ${r.start.describe} → ${r.end.describe}: an endpoint is neither in the input nor in the store`,
        );
        return;
      }
      const decision = this.decide(existing.get(i) ?? null, r.props, fields, counts);
      const row = { a: r.start.candidates, b: r.end.candidates };
      if (decision.action === 'insert') inserts.push({ ...row, props: r.props });
      else if (decision.action === 'update') updates.push({ ...row, props: decision.values });
    });
    if (inserts.length > 0)
      await this.run(`UNWIND $rows AS r ${match} CREATE (a)-[x:${cypherName(type)}]->(b) SET x = r.props`, {
        rows: inserts,
      });
    if (updates.length > 0)
      await this.run(`UNWIND $rows AS r ${match} MATCH (a)-[x:${cypherName(type)}]->(b) SET x = r.props`, {
        rows: updates,
      });
  }

  /**
   * By index into `rels`: the stored relationship's properties, null when both endpoints exist but
   * the relationship does not, absent when an endpoint is missing.
   */
  private async storedRelationships(
    rels: PendingRel[],
    match: string,
    type: string,
  ): Promise<Map<number, Record<string, unknown> | null>> {
    const rows = rels.map((r, i) => ({ i, a: r.start.candidates, b: r.end.candidates }));
    const found = await this.run(
      `UNWIND $rows AS r ${match} OPTIONAL MATCH (a)-[x:${cypherName(type)}]->(b) RETURN r.i AS i, properties(x) AS props`,
      { rows },
    );
    const existing = new Map<number, Record<string, unknown> | null>();
    for (const rec of found.records) {
      const i = Number(rec.get('i'));
      if (!existing.has(i) || existing.get(i) === null)
        existing.set(i, rec.get('props') as Record<string, unknown> | null);
    }
    return existing;
  }

  /** The strategy's decision for one record against its stored version, counted; updates without nulls. */
  private decide(
    stored: Record<string, unknown> | null,
    props: Record<string, unknown>,
    fields: readonly string[],
    counts: DatasetCounts,
  ): { action: 'insert' } | { action: 'update'; values: Record<string, unknown> } | { action: 'skip' } {
    const decision = resolveConflict(this.ctx.strategy, stored, props, fields, timestampOf);
    if (decision.action === 'insert') {
      counts.inserted++;
      return { action: 'insert' };
    }
    if (decision.action === 'update') {
      counts.updated++;
      return { action: 'update', values: withoutNulls(decision.values) };
    }
    counts.skipped++;
    return { action: 'skip' };
  }

  summary(): DatasetResult[] {
    return this.results;
  }

  /**
   * Commits the import's one transaction. It is never retried (a second run would be a second import),
   * so a lost answer to the COMMIT is resolved instead: the token written in the transaction is looked
   * for on a new connection; found, the import committed (the token is deleted and the commit
   * succeeds); not found, it was rolled back and the lost connection is the error.
   */
  async commit(): Promise<void> {
    const tx = this.tx;
    if (!tx) return;
    const token = randomUUID();
    try {
      await tx.run(`CREATE (:${TOKEN} {run: $token})`, { token });
      try {
        await tx.commit();
      } catch (error) {
        if (!isRetryableError(error) || !(await this.tokenCount(token).catch(() => 0))) throw error;
      }
    } finally {
      await this.close();
    }
    await this.connection.driver.executeQuery(
      `MATCH (t:${TOKEN} {run: $token}) DELETE t`,
      { token },
      {
        database: this.connection.database,
      },
    );
  }

  /** Commit tokens of `token`'s run in the store (1 once its transaction committed, else 0). */
  private async tokenCount(token: string): Promise<number> {
    const result = await this.connection.driver.executeQuery(
      `MATCH (t:${TOKEN} {run: $token}) RETURN count(t) AS n`,
      { token },
      { database: this.connection.database },
    );
    return Number(result.records[0]?.get('n') ?? 0);
  }

  async rollback(): Promise<void> {
    if (this.tx?.isOpen()) await this.tx.rollback().catch(() => undefined);
    await this.close();
  }

  private async close(): Promise<void> {
    this.tx = undefined;
    await this.session?.close();
    this.session = undefined;
  }
}

function withoutNulls(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null && v !== undefined));
}
