/**
 * Neo4j as export datasets: one per label (`neo4j_<Label>`), one per relationship type
 * (`neo4j_rel_<TYPE>`) and the whole graph (GraphML). With a DTC selection, the graph is the selected
 * DTC nodes, their direct neighbours and the relationships among those nodes. Property types are read
 * from the data (`valueType`), so headers and column types are known before the first record.
 */
import neo4j, { isRetryableError } from 'neo4j-driver';
import type { ProgressEvent } from '../../progress.ts';
import { backoffDelay, sleep } from '../../retry.ts';
import type {
  ExportRecord,
  ExportValue,
  FieldSpec,
  FieldType,
  GraphEdge,
  GraphKey,
  GraphNode,
  GraphSource,
  TabularDataset,
} from '../../model/dataset.ts';
import { RELATIONSHIP_ENDPOINT_FIELDS } from '../../model/input.ts';
import { cypherName, faultName, type Neo4jConnection } from './neo4j-connection.ts';
import { NodeIdSet } from './neo4j-node-ids.ts';

const FETCH_SIZE = 2000;
/** Attempts of one dataset's stream (the first included); a retry resumes after the last record read. */
export const NEO4J_EXPORT_ATTEMPTS = 3;
/** Natural-key properties, in the order a node's key is looked for (`code` for DTC and Engine, …). */
const KEY_PROPERTIES = ['code', 'odi_number', 'campaign_number', 'id'];

/** A Neo4j property value in its export form (see formats/dataset.ts). */
export function neo4jToExport(value: unknown): ExportValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (neo4j.isInt(value)) return BigInt(value.toString());
  if (Array.isArray(value)) return value.map((v) => neo4jToExport(v)) as ExportValue;
  if (value instanceof Int8Array || value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (neo4j.isPoint(value)) {
    const p = value as { srid: unknown; x: number; y: number; z?: number };
    return { srid: Number(String(p.srid)), x: p.x, y: p.y, ...(p.z === undefined ? {} : { z: p.z }) };
  }
  if (
    neo4j.isDate(value) ||
    neo4j.isDateTime(value) ||
    neo4j.isLocalDateTime(value) ||
    neo4j.isLocalTime(value) ||
    neo4j.isTime(value) ||
    neo4j.isDuration(value)
  ) {
    return String(value);
  }
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, neo4jToExport(v)]),
    );
  }
  return String(value);
}

/** The distinct Neo4j types among `valueType()` answers, nullability left out. */
const distinctTypes = (valueTypes: readonly string[]): string[] => [
  ...new Set(valueTypes.map((t) => t.replace(/ NOT NULL/g, ''))),
];

/** Neo4j's `valueType()` names → export field types; several types for one key → json. */
export function fieldTypeOf(valueTypes: readonly string[]): FieldType {
  const types = distinctTypes(valueTypes);
  if (types.length !== 1) return 'json';
  const t = types[0] ?? '';
  if (t.startsWith('LIST<')) return /^LIST<(STRING|INTEGER|FLOAT|BOOLEAN)>$/.test(t) ? 'array' : 'json';
  const map: Record<string, FieldType> = {
    STRING: 'text',
    INTEGER: 'bigint',
    FLOAT: 'float',
    BOOLEAN: 'boolean',
    DATE: 'date',
    'ZONED DATETIME': 'timestamp',
    'LOCAL DATETIME': 'text',
    'LOCAL TIME': 'text',
    'ZONED TIME': 'text',
    DURATION: 'text',
    POINT: 'json',
  };
  return map[t] ?? 'json';
}

/** The Neo4j type of a key (`DURATION`, `LIST<INTEGER>` …), or `ANY` when values differ in type. */
export function sourceTypeOf(valueTypes: readonly string[]): string {
  const types = distinctTypes(valueTypes);
  return types.length === 1 ? (types[0] ?? 'ANY') : 'ANY';
}

export interface Neo4jExportOptions {
  /** The DTC label of the deployment's label scheme. */
  dtcLabel: string;
  /** Selected DTC codes (undefined: the whole graph). */
  codes?: string[];
  /** Told before a stream is read again after a transient fault (the `retry` progress event). */
  onRetry?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

export class Neo4jExportSource {
  private readonly connection: Neo4jConnection;
  private readonly options: Neo4jExportOptions;

  constructor(connection: Neo4jConnection, options: Neo4jExportOptions) {
    this.connection = connection;
    this.options = options;
  }

  /** Cypher condition: node `v` is in the selection (true when there is none). */
  private selected(v: string): string {
    if (!this.options.codes) return 'true';
    const dtc = cypherName(this.options.dtcLabel);
    // Selected DTCs, and the non-DTC nodes next to them (a DTC outside the selection stays out).
    return `((${v}:${dtc} AND ${v}.code IN $codes) OR (NOT ${v}:${dtc} AND EXISTS { MATCH (${v})--(sel:${dtc}) WHERE sel.code IN $codes }))`;
  }

  private params(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { codes: this.options.codes ?? [], keyProperties: KEY_PROPERTIES, ...extra };
  }

  private async query<T>(cypher: string, map: (r: { get(k: string): unknown }) => T): Promise<T[]> {
    const result = await this.connection.driver.executeQuery(cypher, this.params(), {
      database: this.connection.database,
      routing: 'READ',
    });
    return result.records.map(map);
  }

  /**
   * The records of `cypher`, which orders by `id` (an element id) and reads only ids after `$after`.
   * Each stream is its own read transaction (read committed, design §7.8); when the driver classes a
   * fault as retryable (a lost connection, `ServiceUnavailable`, `SessionExpired`,
   * `Neo.TransientError.*`), a new transaction resumes after the last id yielded, so no record is
   * written twice or skipped, at most NEO4J_EXPORT_ATTEMPTS times with backoff.
   */
  private async *stream(cypher: string): AsyncGenerator<{ get(k: string): unknown }> {
    let after = '';
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const record of this.streamFrom(cypher, after)) {
          after = record.get('id') as string;
          yield record;
        }
        return;
      } catch (error) {
        if (attempt >= NEO4J_EXPORT_ATTEMPTS || this.options.signal?.aborted || !isRetryableError(error))
          throw error;
        const delayMs = backoffDelay(attempt, 1000, 10_000, Math.random);
        this.options.onRetry?.({
          type: 'retry',
          store: 'neo4j',
          attempt: attempt + 1,
          delayMs,
          message: `reading from Neo4j again after the last record exported (attempt ${attempt + 1}, in ${delayMs} ms): ${faultName(error)}`,
        });
        await sleep(delayMs, this.options.signal);
      }
    }
  }

  private async *streamFrom(cypher: string, after: string): AsyncGenerator<{ get(k: string): unknown }> {
    const session = this.connection.driver.session({
      database: this.connection.database,
      defaultAccessMode: 'READ',
      fetchSize: FETCH_SIZE,
    });
    try {
      const tx = session.beginTransaction();
      try {
        for await (const record of tx.run(cypher, this.params({ after }))) yield record;
        await tx.commit();
      } finally {
        if (tx.isOpen()) await tx.rollback().catch(() => undefined);
      }
    } finally {
      await session.close();
    }
  }

  async labels(): Promise<string[]> {
    const rows = await this.query(
      `MATCH (n) WHERE ${this.selected('n')} UNWIND labels(n) AS label RETURN DISTINCT label ORDER BY label`,
      (r) => r.get('label') as string,
    );
    return rows;
  }

  async relationshipTypes(): Promise<string[]> {
    return this.query(
      `MATCH (a)-[r]->(b) WHERE ${this.selected('a')} AND ${this.selected('b')} RETURN DISTINCT type(r) AS type ORDER BY type`,
      (r) => r.get('type') as string,
    );
  }

  private async propertyFields(match: string, v: string): Promise<FieldSpec[]> {
    const rows = await this.query(
      `${match} UNWIND keys(${v}) AS key RETURN key, collect(DISTINCT valueType(${v}[key])) AS types ORDER BY key`,
      (r) => {
        const types = r.get('types') as string[];
        return { name: r.get('key') as string, type: fieldTypeOf(types), source: sourceTypeOf(types) };
      },
    );
    return rows;
  }

  async labelDataset(label: string): Promise<TabularDataset> {
    const match = `MATCH (n:${cypherName(label)}) WHERE ${this.selected('n')}`;
    const properties = await this.propertyFields(match, 'n');
    const fields: FieldSpec[] = [
      { name: '_element_id', type: 'text' },
      { name: '_labels', type: 'array' },
      ...properties,
    ];
    const cypher = `${match} AND elementId(n) > $after RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props ORDER BY id`;
    return {
      name: `neo4j_${label}`,
      kind: 'nodes',
      fields,
      key: ['_element_id'],
      records: async function* (this: Neo4jExportSource) {
        for await (const r of this.stream(cypher)) {
          const props = r.get('props') as Record<string, unknown>;
          const record: ExportRecord = {
            _element_id: r.get('id') as string,
            _labels: [...(r.get('labels') as string[])].sort(),
          };
          for (const p of properties) record[p.name] = neo4jToExport(props[p.name]);
          yield record;
        }
      }.bind(this),
    };
  }

  async relationshipDataset(type: string): Promise<TabularDataset> {
    const match = `MATCH (a)-[r:${cypherName(type)}]->(b) WHERE ${this.selected('a')} AND ${this.selected('b')}`;
    const properties = await this.propertyFields(match, 'r');
    const endpoint = (v: string) =>
      `elementId(${v}) AS ${v}_id, labels(${v}) AS ${v}_labels, [k IN $keyProperties WHERE ${v}[k] IS NOT NULL | ${v}[k]][0] AS ${v}_key`;
    const cypher = `${match} AND elementId(r) > $after RETURN elementId(r) AS id, ${endpoint('a')}, ${endpoint('b')}, properties(r) AS props ORDER BY id`;
    const fields: FieldSpec[] = [
      { name: '_element_id', type: 'text' },
      ...RELATIONSHIP_ENDPOINT_FIELDS.map((name): FieldSpec => ({ name, type: 'text' })),
      ...properties,
    ];
    const firstLabel = (labels: unknown) => [...(labels as string[])].sort()[0] ?? null;
    const keyText = (v: unknown) => (v === null || v === undefined ? null : String(neo4jToExport(v)));
    return {
      name: `neo4j_rel_${type}`,
      kind: 'relationships',
      fields,
      key: ['_element_id'],
      records: async function* (this: Neo4jExportSource) {
        for await (const r of this.stream(cypher)) {
          const props = r.get('props') as Record<string, unknown>;
          const record: ExportRecord = {
            _element_id: r.get('id') as string,
            start_id: r.get('a_id') as string,
            start_label: firstLabel(r.get('a_labels')),
            start_key: keyText(r.get('a_key')),
            end_id: r.get('b_id') as string,
            end_label: firstLabel(r.get('b_labels')),
            end_key: keyText(r.get('b_key')),
          };
          for (const p of properties) record[p.name] = neo4jToExport(props[p.name]);
          yield record;
        }
      }.bind(this),
    };
  }

  /** The selected graph for GraphML: keys typed from the data, nodes, then edges among them. */
  async graph(): Promise<GraphSource> {
    const merge = (specs: FieldSpec[], target: 'node' | 'edge'): GraphKey[] => {
      const byName = new Map<string, { type: FieldType; source?: string }>();
      for (const s of specs) {
        const seen = byName.get(s.name);
        byName.set(
          s.name,
          seen && (seen.type !== s.type || seen.source !== s.source)
            ? { type: 'json', source: 'ANY' }
            : { type: s.type, source: s.source },
        );
      }
      return [...byName.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, t]) => ({ for: target, name, ...t }));
    };
    const nodeKeys = merge(await this.propertyFields(`MATCH (n) WHERE ${this.selected('n')}`, 'n'), 'node');
    const edgeKeys = merge(
      await this.propertyFields(
        `MATCH (a)-[r]->(b) WHERE ${this.selected('a')} AND ${this.selected('b')}`,
        'r',
      ),
      'edge',
    );
    const nodesCypher = `MATCH (n) WHERE ${this.selected('n')} AND elementId(n) > $after RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props ORDER BY id`;
    const edgesCypher = `MATCH (a)-[r]->(b) WHERE ${this.selected('a')} AND ${this.selected('b')} AND elementId(r) > $after RETURN elementId(r) AS id, type(r) AS type, elementId(a) AS source, elementId(b) AS target, properties(r) AS props ORDER BY id`;
    const props = (raw: unknown): Record<string, ExportValue> =>
      Object.fromEntries(
        Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, neo4jToExport(v)]),
      );
    const stream = (cypher: string) => this.stream(cypher);
    // Nodes and edges are two reads, each read committed (design §7.8): an edge whose node was created
    // after the node read is left out, so every edge of the file joins two nodes of the file.
    const written = new NodeIdSet();
    let nodesRead = false;
    return {
      keys: [...nodeKeys, ...edgeKeys],
      async *nodes(): AsyncGenerator<GraphNode> {
        for await (const r of stream(nodesCypher)) {
          written.add(r.get('id') as string);
          yield {
            id: r.get('id') as string,
            labels: [...(r.get('labels') as string[])].sort(),
            properties: props(r.get('props')),
          };
        }
        nodesRead = true;
      },
      async *edges(): AsyncGenerator<GraphEdge> {
        for await (const r of stream(edgesCypher)) {
          if (
            nodesRead &&
            !(written.has(r.get('source') as string) && written.has(r.get('target') as string))
          )
            continue;
          yield {
            id: r.get('id') as string,
            type: r.get('type') as string,
            source: r.get('source') as string,
            target: r.get('target') as string,
            properties: props(r.get('props')),
          };
        }
      },
    };
  }

  async serverVersion(): Promise<string> {
    const rows = await this.query(
      "CALL dbms.components() YIELD name, versions WHERE name = 'Neo4j Kernel' RETURN versions[0] AS version",
      (r) => String(r.get('version')),
    );
    return rows[0] ?? 'unknown';
  }
}
