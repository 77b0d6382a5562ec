/**
 * A writer on loopback, as the application would be while a backup runs (issue #10 item 6): three loops,
 * one per store, each on its own connections, one write after the other, inserting and updating, and a
 * log of every write (its store, key, version, wall-clock start and end, latency, error) to check a
 * snapshot's content against and to report latencies from.
 *
 * - PostgreSQL: `dtc_codes` rows (new codes `L<tag><n>`, and updates of any known code's
 *   `description_en` to `v<version>`), each an autocommit statement returning its transaction id
 *   (`pg_current_xact_id()`), so the backup's `pg_current_snapshot()` tells exactly which ones it holds.
 * - Neo4j: `LoadProbe` nodes `{key, version, check}` (`check` repeats the version: a torn read would
 *   show), each created in one transaction with a `LOAD_NEXT` relationship to an earlier probe; updates
 *   set `version` and `check` together.
 * - Qdrant: points of a collection of its own (`acx_load_<tag>`), upserted with `wait=true` by id with
 *   payload `{key, version, check}`.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Neo4jConnection } from '../../src/stores/neo4j/neo4j-connection.ts';
import type { QdrantClient } from '../../src/stores/qdrant/qdrant-client.ts';
import { seededRandom as random } from './random.ts';

export type LoadStore = 'postgres' | 'neo4j' | 'qdrant';

export interface LoadOp {
  store: LoadStore;
  kind: 'insert' | 'update';
  key: string;
  version: number;
  /** Wall clock (ms since the epoch), to compare with the manifest's times. */
  startedAt: number;
  endedAt: number;
  /** Latency measured with the monotonic clock. */
  ms: number;
  /** PostgreSQL: the writing transaction's id. */
  txid?: string;
  /** Neo4j: the probe the new node links to. */
  linksTo?: string;
  error?: string;
}

export interface LoadTargets {
  postgres: pg.Pool;
  neo4j: Neo4jConnection;
  qdrant: QdrantClient;
}

export const LOAD_LABEL = 'LoadProbe';
export const LOAD_RELATIONSHIP = 'LOAD_NEXT';
const VECTOR_SIZE = 8;

export class LoadWriter {
  readonly ops: LoadOp[] = [];
  readonly collection: string;
  private running = false;
  private loops: Array<Promise<void>> = [];
  private version = 0;

  private readonly targets: LoadTargets;
  private readonly tag: string;
  /** The codes already in `dtc_codes` (the writer also updates them). */
  private readonly seededCodes: string[];
  private readonly seed: number;

  constructor(targets: LoadTargets, tag: string, seededCodes: string[], seed = 1) {
    this.targets = targets;
    this.tag = tag;
    this.seededCodes = seededCodes;
    this.seed = seed;

    this.collection = `acx_load_${tag}`;
  }

  /** Creates the writer's Qdrant collection (empty). */
  async prepare(): Promise<void> {
    if (await this.targets.qdrant.collectionExists(this.collection))
      await this.targets.qdrant.deleteCollection(this.collection);
    await this.targets.qdrant.createCollection(this.collection, {
      vectors: { size: VECTOR_SIZE, distance: 'Cosine' },
    });
  }

  start(): void {
    this.running = true;
    this.loops = [
      this.loop('postgres', (op) => this.postgres(op)),
      this.loop('neo4j', (op) => this.neo4j(op)),
      this.loop('qdrant', (op) => this.qdrant(op)),
    ];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  errors(): LoadOp[] {
    return this.ops.filter((op) => op.error !== undefined);
  }

  /** One store's loop: an insert or an update (half each), one after the other, until stopped. */
  private async loop(store: LoadStore, write: (op: LoadOp) => Promise<void>): Promise<void> {
    const next = random(this.seed + store.length);
    const known: string[] = store === 'postgres' ? [...this.seededCodes] : [];
    let inserted = 0;
    while (this.running) {
      const insert = known.length < 2 || next() < 0.5;
      const key = insert ? `L${this.tag}${inserted++}` : known[Math.floor(next() * known.length)]!;
      const linksTo = insert && known.length > 0 ? known[Math.floor(next() * known.length)] : undefined;
      const op: LoadOp = {
        store,
        kind: insert ? 'insert' : 'update',
        key,
        version: insert ? 0 : ++this.version,
        startedAt: Date.now(),
        endedAt: 0,
        ms: 0,
        ...(store === 'neo4j' && linksTo ? { linksTo } : {}),
      };
      const t0 = performance.now();
      try {
        await write(op);
        if (insert) known.push(key);
      } catch (error) {
        op.error = (error as Error).message;
      }
      op.ms = performance.now() - t0;
      op.endedAt = Date.now();
      this.ops.push(op);
    }
  }

  private async postgres(op: LoadOp): Promise<void> {
    const result =
      op.kind === 'insert'
        ? await this.targets.postgres.query<{ txid: string }>(
            `INSERT INTO dtc_codes (code, description_en, category, severity, is_generic)
             VALUES ($1, $2, 'load', 'low', false) RETURNING pg_current_xact_id()::text AS txid`,
            [op.key, `v${op.version}`],
          )
        : await this.targets.postgres.query<{ txid: string }>(
            `UPDATE dtc_codes SET description_en = $2, updated_at = now() WHERE code = $1
             RETURNING pg_current_xact_id()::text AS txid`,
            [op.key, `v${op.version}`],
          );
    if (result.rowCount !== 1) throw new Error(`dtc_codes ${op.key}: ${result.rowCount} rows written`);
    op.txid = result.rows[0]!.txid;
  }

  private async neo4j(op: LoadOp): Promise<void> {
    const session = this.targets.neo4j.driver.session({ database: this.targets.neo4j.database });
    try {
      const params = { key: op.key, version: op.version, check: String(op.version), to: op.linksTo ?? null };
      const result = await session.run(
        op.kind === 'insert'
          ? `CREATE (n:${LOAD_LABEL} {key: $key, version: $version, check: $check})
             WITH n OPTIONAL MATCH (p:${LOAD_LABEL} {key: $to})
             FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | CREATE (n)-[:${LOAD_RELATIONSHIP}]->(p))
             RETURN count(*) AS n`
          : `MATCH (n:${LOAD_LABEL} {key: $key}) SET n.version = $version, n.check = $check RETURN count(n) AS n`,
        params,
      );
      if (Number(result.records[0]?.get('n')) !== 1) throw new Error(`probe ${op.key} not written`);
    } finally {
      await session.close();
    }
  }

  private async qdrant(op: LoadOp): Promise<void> {
    const id = Number(op.key.slice(1 + this.tag.length));
    const vector = Array.from({ length: VECTOR_SIZE }, (_, i) => Math.fround(((id + i) % 7) + 1));
    await this.targets.qdrant.upsert(this.collection, [
      { id, vector, payload: { key: op.key, version: op.version, check: String(op.version) } },
    ]);
  }
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface LatencyFigures {
  store: LoadStore;
  baseline: { writes: number; p50: number; p99: number; max: number };
  duringBackup: { writes: number; p50: number; p99: number; max: number };
}

/** p50/p99 per store of the writes that started before the backup, and of those that ran during it. */
export function latencies(ops: LoadOp[], backupFrom: number, backupTo: number): LatencyFigures[] {
  const figures = (list: LoadOp[]) => {
    const ms = list.map((op) => op.ms);
    return {
      writes: ms.length,
      p50: percentile(ms, 50),
      p99: percentile(ms, 99),
      max: ms.length ? Math.max(...ms) : NaN,
    };
  };
  return (['postgres', 'neo4j', 'qdrant'] as const).map((store) => {
    const mine = ops.filter((op) => op.store === store && op.error === undefined);
    return {
      store,
      baseline: figures(mine.filter((op) => op.endedAt < backupFrom)),
      duringBackup: figures(mine.filter((op) => op.startedAt >= backupFrom && op.endedAt <= backupTo)),
    };
  });
}
