/**
 * What makes an input record a node or a relationship for a Neo4j import: labels and the key label
 * (the alphabetically first label that has a key), the key value, property values converted to driver
 * values, the DTC rules, and a relationship's endpoints (by input id, or by label and key). A record
 * that fails is rejected (reported) and yields nothing.
 */
import neo4j from 'neo4j-driver';
import { dtcRecordProblems } from '../../model/dtc-rules.ts';
import {
  rejectRecord,
  type DatasetCounts,
  type ImportContext,
  type ImportLedger,
} from '../../model/import.ts';
import {
  RELATIONSHIP_ENDPOINT_FIELDS,
  type InputDataset,
  type InputField,
  type InputRecord,
} from '../../model/input.ts';
import { neo4jPropertyValue } from './neo4j-input-values.ts';
import { decodeNeo4jValue, encodeNeo4jValue } from './neo4j-values.ts';

export const NODE_META = new Set(['_element_id', '_labels']);
export const REL_META = new Set<string>(['_element_id', '_type', ...RELATIONSHIP_ENDPOINT_FIELDS]);

export const keyText = (value: unknown) => JSON.stringify(encodeNeo4jValue(value));
export const describeKey = (value: unknown) => (typeof value === 'string' ? value : String(value));

export interface PendingNode {
  record: InputRecord;
  labels: string[];
  keyLabel: string;
  keyProperty: string;
  key: unknown;
  props: Record<string, unknown>;
}

export interface Endpoint {
  label: string;
  property: string;
  /** Values the key may have (the text, and the integer when the text is one). */
  candidates: unknown[];
  describe: string;
}

export interface PendingRel {
  record: InputRecord;
  type: string;
  start: Endpoint;
  end: Endpoint;
  props: Record<string, unknown>;
}

/** Rejects one record for one reason (about `field`, when given). */
export function rejectOne(
  ctx: ImportContext,
  ds: InputDataset,
  counts: DatasetCounts,
  line: number,
  reason: string,
  field?: string,
): void {
  rejectRecord(ctx, counts, 'neo4j', ds, line, [{ field, reason }]);
}

/** The checks of one import: its context, key property by label, the DTC label and its ledger. */
export class Neo4jRecordChecks {
  private readonly ctx: ImportContext;
  private readonly keys: Record<string, string>;
  private readonly dtcLabel: string;
  private readonly ledger: ImportLedger;

  constructor(ctx: ImportContext, keys: Record<string, string>, dtcLabel: string, ledger: ImportLedger) {
    this.ctx = ctx;
    this.keys = keys;
    this.dtcLabel = dtcLabel;
    this.ledger = ledger;
  }

  checkNode(
    ds: InputDataset,
    record: InputRecord,
    defaultLabel: string | null,
    fields: Map<string, InputField>,
    counts: DatasetCounts,
  ): PendingNode | undefined {
    const problems = [...(record.problems ?? [])];
    let labels = record.values._labels;
    if (labels === null || labels === undefined) labels = defaultLabel ? [defaultLabel] : [];
    if (typeof labels === 'string') labels = [labels];
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || l === '')) {
      rejectOne(
        this.ctx,
        ds,
        counts,
        record.line,
        `_labels must be a list of label names, got ${JSON.stringify(labels)}`,
        '_labels',
      );
      return undefined;
    }
    const list = [...new Set(labels as string[])].sort();
    if (defaultLabel && !list.includes(defaultLabel)) list.push(defaultLabel);
    const keyLabel = list.filter((l) => this.keys[l] !== undefined).sort()[0];
    if (!keyLabel) {
      rejectOne(
        this.ctx,
        ds,
        counts,
        record.line,
        `no label with a key among ${list.join(', ') || '(none)'} (known: ${Object.keys(this.keys).join(', ')})`,
        '_labels',
      );
      return undefined;
    }
    const keyProperty = this.keys[keyLabel] as string;
    const props = propertiesOf(record, NODE_META, fields, problems);
    const key = props[keyProperty];
    if (key === undefined)
      problems.push({ field: keyProperty, reason: `${keyLabel} node without its key ${keyProperty}` });
    if (keyLabel === this.dtcLabel && problems.length === 0) {
      const carried = new Set(Object.keys(props));
      problems.push(
        ...dtcRecordProblems(record.values, carried).filter(
          (p) => p.field === 'code' || carried.has(p.field),
        ),
      );
    }
    if (problems.length > 0) {
      rejectRecord(this.ctx, counts, 'neo4j', ds, record.line, problems);
      return undefined;
    }
    return { record, labels: list, keyLabel, keyProperty, key, props };
  }

  private endpoint(record: InputRecord, side: 'start' | 'end', source: string): Endpoint | string {
    const id = record.values[`${side}_id`];
    if (id !== null && id !== undefined) {
      const ref = this.ledger.findNode(source, String(id));
      if (ref) {
        const key = decodeNeo4jValue(JSON.parse(ref.key));
        return {
          label: ref.label,
          property: ref.keyProperty,
          candidates: [key],
          describe: `${ref.label} ${ref.keyProperty}=${describeKey(key)}`,
        };
      }
    }
    const label = record.values[`${side}_label`];
    const key = record.values[`${side}_key`];
    if (typeof label === 'string' && label !== '' && key !== null && key !== undefined) {
      const property = this.keys[label];
      if (!property)
        return `${side} node label ${label} has no key (known: ${Object.keys(this.keys).join(', ')})`;
      const text = typeof key === 'bigint' ? key.toString() : String(key);
      const candidates: unknown[] = [text];
      if (/^[+-]?\d+$/.test(text)) candidates.push(neo4j.int(text));
      return { label, property, candidates, describe: `${label} ${property}=${text}` };
    }
    if (id !== null && id !== undefined)
      return `${side} node ${String(id)} is not among the input's nodes, and the record has no ${side}_label/${side}_key`;
    return `no ${side} node: neither ${side}_id nor ${side}_label and ${side}_key`;
  }

  checkRelationship(
    ds: InputDataset,
    record: InputRecord,
    datasetType: string | null,
    fields: Map<string, InputField>,
    source: string,
    counts: DatasetCounts,
  ): PendingRel | undefined {
    const problems = [...(record.problems ?? [])];
    const type = datasetType ?? record.values._type;
    if (typeof type !== 'string' || type === '')
      problems.push({ field: '_type', reason: 'relationship without a type' });
    const start = this.endpoint(record, 'start', source);
    const end = this.endpoint(record, 'end', source);
    if (typeof start === 'string') problems.push({ field: 'start', reason: start });
    if (typeof end === 'string') problems.push({ field: 'end', reason: end });
    const props = propertiesOf(record, REL_META, fields, problems);
    if (problems.length > 0 || typeof start === 'string' || typeof end === 'string') {
      rejectRecord(this.ctx, counts, 'neo4j', ds, record.line, problems);
      return undefined;
    }
    return { record, type: type as string, start, end, props };
  }
}

/** A record's property values (all but `meta`) as driver values; what does not convert goes to `problems`. */
function propertiesOf(
  record: InputRecord,
  meta: ReadonlySet<string>,
  fields: ReadonlyMap<string, InputField>,
  problems: { field: string; reason: string }[],
): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(record.values)) {
    if (meta.has(name) || problems.some((p) => p.field === name)) continue;
    const converted = neo4jPropertyValue(raw, fields.get(name));
    if ('problem' in converted) problems.push({ field: name, reason: `${name}: ${converted.problem}` });
    else if (converted.value !== null) props[name] = converted.value;
  }
  return props;
}
