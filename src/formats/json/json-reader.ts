/**
 * Reads a JSON export (`autocognitix_export.json`, also gzip'd) for import, streaming: one pass over the
 * file, one input dataset per section as the scan reaches it, records one by one (see docs/formats.md,
 * "Reading JSON exports").
 *
 * - `postgresql.<table>` → rows of the table; `neo4j.nodes.<Label>` → nodes of the label;
 *   `neo4j.relationships.<TYPE>` → relationships of the type. A dataset is `{"columns","fields","data",
 *   "row_count"}` in any order, or (the original tool's nodes) an array of records.
 * - The original tool's `neo4j.relationships`, one array of `{start_label, start_id, start_props, type,
 *   properties, end_label, end_id, end_props}`, becomes one dataset of relationships whose records
 *   carry `_type`; the properties are spread into the record and the endpoint keys taken from the
 *   endpoint properties.
 * - `qdrant` (payloads without vectors) and `translations` (derived) are skipped with a notice.
 * - With `fields` declared, values are converted to their field's type (formats/dataset.ts); without,
 *   they are the JSON values (integers beyond 2^53 as bigint). A value that does not convert is kept
 *   as read, with a record problem.
 */
import { FIELD_TYPES, type FieldType } from '../../model/dataset.ts';
import {
  RELATIONSHIP_ENDPOINT_FIELDS,
  type InputDataset,
  type InputField,
  type InputRecord,
  type InputSource,
  type InputTarget,
} from '../../model/input.ts';
import { readInputText, singlePassInput } from '../input-text.ts';
import { JsonScanner } from './json-scanner.ts';
import { isJsonObject } from '../../model/exact-json.ts';

type Obj = Record<string, unknown>;

/** Top-level keys of the export that carry no data. */
const METADATA_KEYS = new Set(['export_time', 'source', 'version', 'filter_applied', 'include_pii', 'tool']);

/** An endpoint's key property, in the order the Neo4j export looks for it (stores/neo4j/neo4j-export.ts). */
const ENDPOINT_KEY_PROPERTIES = ['code', 'odi_number', 'campaign_number', 'id'];

const JSON_HINT = '--json reads the autocognitix_export.json an export writes';

type Conversion = { value: unknown } | { problem: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INTEGER_TEXT = /^-?\d+$/;
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOATS: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Infinity,
  '+Infinity': Infinity,
  '-Infinity': -Infinity,
};

/** A JSON value as the value of a field of `type` (formats/dataset.ts); null stays null. */
export function convertJsonValue(type: FieldType, value: unknown): Conversion {
  if (value === null) return { value };
  switch (type) {
    case 'text':
    case 'uuid':
    case 'timestamp':
    case 'date':
    case 'numeric':
      if (typeof value === 'string') return { value };
      if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
        return { value: String(value) };
      }
      return { problem: `expected a string for a ${type} field` };
    case 'integer':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return { value };
      if (typeof value === 'string' && INTEGER_TEXT.test(value) && Number.isSafeInteger(Number(value))) {
        return { value: Number(value) };
      }
      return { problem: 'expected an integer within ±2^53' };
    case 'bigint':
      if (typeof value === 'bigint') return { value };
      if (typeof value === 'number' && Number.isInteger(value)) return { value: BigInt(value) };
      if (typeof value === 'string' && INTEGER_TEXT.test(value)) return { value: BigInt(value) };
      return { problem: 'expected an integer' };
    case 'float':
      if (typeof value === 'number') return { value };
      if (typeof value === 'bigint') return { value: Number(value) };
      if (typeof value === 'string') {
        const special = SPECIAL_FLOATS[value];
        if (special !== undefined) return { value: special };
        if (FLOAT_TEXT.test(value)) return { value: Number(value) };
      }
      return { problem: 'expected a number' };
    case 'boolean':
      if (typeof value === 'boolean') return { value };
      if (value === 'true' || value === 'false') return { value: value === 'true' };
      return { problem: 'expected true or false' };
    case 'json':
      return { value };
    case 'array':
      return Array.isArray(value) ? { value } : { problem: 'expected an array' };
    case 'bytes':
      if (typeof value === 'string' && BASE64.test(value)) return { value: Buffer.from(value, 'base64') };
      return { problem: 'expected base64 text' };
  }
}

/** `fields` of a dataset: `[{name, type?, source?}]`; an unknown type leaves the field untyped. */
function fieldsOf(scanner: JsonScanner, value: unknown, line: number, where: string): InputField[] {
  if (!Array.isArray(value)) scanner.fail(`${where}: "fields" is not an array`, line);
  return value.map((f) => {
    if (!isJsonObject(f) || typeof f.name !== 'string') {
      scanner.fail(`${where}: "fields" holds an entry that is not {"name": …, "type": …}`, line);
    }
    const field: InputField = { name: f.name };
    if (typeof f.type === 'string' && (FIELD_TYPES as readonly string[]).includes(f.type)) {
      field.type = f.type as FieldType;
    }
    if (typeof f.source === 'string') field.source = f.source;
    return field;
  });
}

function columnsOf(scanner: JsonScanner, value: unknown, line: number, where: string): InputField[] {
  if (!Array.isArray(value) || !value.every((c) => typeof c === 'string')) {
    scanner.fail(`${where}: "columns" is not an array of names`, line);
  }
  return (value as string[]).map((name) => ({ name }));
}

/** How one dataset's raw records become input records. */
interface DatasetShape {
  name: string;
  target: InputTarget;
  /** Adjusts a record (after type conversion): adds `_labels`, maps the original relationships. */
  adapt?: (values: Obj) => Obj;
  /** Adjusts the field list (fields the adaptation adds or replaces). */
  adaptFields?: (fields: InputField[]) => InputField[];
}

/** The records of one array, read from the scanner once, in order; the first may be read ahead. */
class RecordCursor {
  private held: { value: unknown; line: number } | undefined;
  private claimed = false;
  private skipped = false;
  private typed: Map<string, FieldType> | undefined;

  private readonly scanner: JsonScanner;
  private readonly shape: DatasetShape;
  /** True for a dataset without a `data` array. */
  private finished: boolean;

  constructor(scanner: JsonScanner, shape: DatasetShape, finished = false) {
    this.scanner = scanner;
    this.shape = shape;
    this.finished = finished;
  }

  /** Reads the first record ahead (to learn the field names when none were declared). */
  async first(): Promise<unknown> {
    const raw = await this.nextRaw();
    this.held = raw;
    return raw?.value;
  }

  setFields(fields: readonly InputField[]): void {
    const typed = new Map<string, FieldType>();
    for (const f of fields) if (f.type) typed.set(f.name, f.type);
    this.typed = typed.size > 0 ? typed : undefined;
  }

  private async nextRaw(): Promise<{ value: unknown; line: number } | undefined> {
    if (this.held) {
      const held = this.held;
      this.held = undefined;
      return held;
    }
    if (this.finished) return undefined;
    if (!(await this.scanner.nextElement())) {
      this.finished = true;
      return undefined;
    }
    return this.scanner.parseValue('a record');
  }

  async next(): Promise<InputRecord | undefined> {
    const raw = await this.nextRaw();
    if (!raw) return undefined;
    const { value, line } = raw;
    if (!isJsonObject(value)) {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
      this.scanner.fail(`${this.shape.name}: a record is ${kind}, not an object`, line);
    }
    let problems: { field: string; reason: string }[] | undefined;
    if (this.typed) {
      for (const [name, type] of this.typed) {
        const v = value[name];
        if (v === undefined || v === null) continue;
        const converted = convertJsonValue(type, v);
        if ('value' in converted) value[name] = converted.value;
        else (problems ??= []).push({ field: name, reason: converted.problem });
      }
    }
    const values = this.shape.adapt ? this.shape.adapt(value) : value;
    return problems ? { line, values, problems } : { line, values };
  }

  /** Reads (and drops) what the consumer did not read. */
  async drain(): Promise<void> {
    this.skipped = !this.claimed;
    while (await this.next());
  }

  records(): AsyncIterable<InputRecord> {
    return {
      [Symbol.asyncIterator]: () => {
        if (this.claimed) throw new Error(`records of ${this.shape.name} can be read only once`);
        if (this.skipped) {
          throw new Error(
            `records of ${this.shape.name} were passed over: read them before the next dataset`,
          );
        }
        this.claimed = true;
        return (async function* (cursor: RecordCursor) {
          for (let record = await cursor.next(); record; record = await cursor.next()) yield record;
        })(this);
      },
    };
  }
}

/** `start_key`/`end_key` from an endpoint's properties, as the Neo4j export renders them. */
function endpointKey(props: unknown): string | null {
  if (!isJsonObject(props)) return null;
  for (const name of ENDPOINT_KEY_PROPERTIES) {
    const v = props[name];
    if (v === null || v === undefined) continue;
    return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return null;
}

const ORIGINAL_RELATIONSHIP_FIELDS: InputField[] = ['_type', ...RELATIONSHIP_ENDPOINT_FIELDS].map((name) => ({
  name,
  type: 'text',
}));

/** The original exporter's relationship record → the record of a relationships dataset with `_type`. */
function originalRelationship(r: Obj): Obj {
  const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  const properties = isJsonObject(r.properties) ? r.properties : {};
  return {
    ...properties,
    _type: text(r._type ?? r.type),
    start_id: text(r.start_id),
    start_label: text(r.start_label),
    start_key: r.start_key !== undefined ? text(r.start_key) : endpointKey(r.start_props),
    end_id: text(r.end_id),
    end_label: text(r.end_label),
    end_key: r.end_key !== undefined ? text(r.end_key) : endpointKey(r.end_props),
  };
}

function nodeShape(label: string): DatasetShape {
  return {
    name: `neo4j_${label}`,
    target: { store: 'neo4j', kind: 'nodes', label },
    adapt: (values) => {
      if (values._labels === undefined || values._labels === null) values._labels = [label];
      return values;
    },
    adaptFields: (fields) =>
      fields.some((f) => f.name === '_labels') ? fields : [...fields, { name: '_labels', type: 'array' }],
  };
}

/** Reads the whole export, yielding datasets as the scan reaches them. */
async function* readExport(file: string, notices: string[]): AsyncGenerator<InputDataset> {
  const scanner = new JsonScanner(readInputText(file), file);
  try {
    const c = await scanner.peek();
    if (c === '') scanner.fail('the file is empty', 1, JSON_HINT);
    if (c === '\ufeff') {
      scanner.fail(
        'the file starts with a byte order mark (U+FEFF), which JSON does not allow',
        1,
        'save it as UTF-8 without a BOM',
      );
    }
    if (c === '[') scanner.fail('the document is an array, not an object: not an export', 1, JSON_HINT);
    if (c !== '{') scanner.unexpected(c, 'a JSON object (is this a JSON file?)');
    await scanner.openObject();
    let sections = 0;
    for (let key = await scanner.nextKey(); key !== null; key = await scanner.nextKey()) {
      const line = scanner.line;
      switch (key) {
        case 'postgresql':
          sections++;
          yield* readSection(scanner, 'postgresql', (table) => ({
            name: table,
            target: { store: 'postgres', table },
          }));
          break;
        case 'neo4j':
          sections++;
          yield* readNeo4j(scanner);
          break;
        case 'qdrant':
          sections++;
          await readQdrant(scanner, notices);
          break;
        case 'translations':
          notices.push('translations: derived from the DTC codes, not imported');
          await scanner.skipValue();
          break;
        case 'tables':
        case 'nodes':
        case 'backup_time':
        case 'backup_type':
          scanner.fail(
            `"${key}" at the top: this is a backup file, not an export`,
            line,
            '--json reads the autocognitix_export.json an export writes; backup files are not an import format',
          );
          break;
        case 'collections':
        case 'format': {
          const { value } = key === 'format' ? await scanner.parseValue() : { value: undefined };
          if (key === 'collections' || value === 'acx-data-vectors') {
            scanner.fail('this is a vectors file, not an export', line, 'import it with --vectors');
          }
          break;
        }
        case 'sessions':
          scanner.fail('this is diagnosis_history.json, not an export', line, JSON_HINT);
          break;
        default:
          if (!METADATA_KEYS.has(key)) notices.push(`"${key}": not an export section, skipped`);
          await scanner.skipValue();
      }
    }
    await scanner.end();
    if (sections === 0) {
      scanner.fail('no "postgresql", "neo4j" or "qdrant" section: not an export', 1, JSON_HINT);
    }
  } finally {
    await scanner.close();
  }
}

/** An object of datasets (`{"<name>": dataset, …}`). */
async function* readSection(
  scanner: JsonScanner,
  where: string,
  shapeOf: (name: string) => DatasetShape,
): AsyncGenerator<InputDataset> {
  if ((await scanner.peek()) !== '{')
    scanner.unexpected(await scanner.peek(), `an object of datasets for "${where}"`);
  await scanner.openObject();
  for (let name = await scanner.nextKey(); name !== null; name = await scanner.nextKey()) {
    yield* readDataset(scanner, shapeOf(name));
  }
}

async function* readNeo4j(scanner: JsonScanner): AsyncGenerator<InputDataset> {
  if ((await scanner.peek()) !== '{') scanner.unexpected(await scanner.peek(), 'an object for "neo4j"');
  await scanner.openObject();
  for (let key = await scanner.nextKey(); key !== null; key = await scanner.nextKey()) {
    if (key === 'nodes') {
      yield* readSection(scanner, 'neo4j.nodes', nodeShape);
    } else if (key === 'relationships') {
      if ((await scanner.peek()) === '[') {
        // The original exporter: every relationship in one array, each with its type.
        yield* readDataset(scanner, {
          name: 'neo4j_relationships',
          target: { store: 'neo4j', kind: 'relationships', type: null },
          adapt: originalRelationship,
          adaptFields: () => ORIGINAL_RELATIONSHIP_FIELDS,
        });
      } else {
        yield* readSection(scanner, 'neo4j.relationships', (type) => ({
          name: `neo4j_rel_${type}`,
          target: { store: 'neo4j', kind: 'relationships', type },
        }));
      }
    } else {
      await scanner.skipValue();
    }
  }
}

async function readQdrant(scanner: JsonScanner, notices: string[]): Promise<void> {
  if ((await scanner.peek()) !== '{') {
    await scanner.skipValue();
    return;
  }
  await scanner.openObject();
  for (let key = await scanner.nextKey(); key !== null; key = await scanner.nextKey()) {
    if (key === 'collections' && (await scanner.peek()) === '{') {
      await scanner.openObject();
      for (let name = await scanner.nextKey(); name !== null; name = await scanner.nextKey()) {
        notices.push(
          `qdrant collection "${name}": payloads only, no vectors: import qdrant_vectors.json.gz with --vectors`,
        );
        await scanner.skipValue(3);
      }
    } else {
      await scanner.skipValue();
    }
  }
}

/** One dataset: `{"columns","fields","data","row_count"}` (any order), or an array of records. */
async function* readDataset(scanner: JsonScanner, shape: DatasetShape): AsyncGenerator<InputDataset> {
  const file = scanner.file;
  const c = await scanner.peek();
  const make = (fields: InputField[], cursor: RecordCursor): InputDataset => {
    const adapted = shape.adaptFields ? shape.adaptFields(fields) : fields;
    cursor.setFields(adapted);
    return {
      file,
      name: shape.name,
      target: shape.target,
      fields: adapted,
      records: () => cursor.records(),
    };
  };
  const fieldsFromFirst = async (cursor: RecordCursor): Promise<InputField[]> => {
    const first = await cursor.first();
    return isJsonObject(first) ? Object.keys(first).map((name) => ({ name })) : [];
  };

  if (c === '[') {
    await scanner.openArray();
    const cursor = new RecordCursor(scanner, shape);
    yield make(await fieldsFromFirst(cursor), cursor);
    await cursor.drain();
    return;
  }
  if (c !== '{') scanner.unexpected(c, `a dataset ({"columns", "data"}) for ${shape.name}`);
  await scanner.openObject();
  let fields: InputField[] | undefined;
  let columns: InputField[] | undefined;
  let sawData = false;
  for (let key = await scanner.nextKey(); key !== null; key = await scanner.nextKey()) {
    if (key === 'data' && !sawData) {
      sawData = true;
      if ((await scanner.peek()) !== '[') {
        scanner.fail(`${shape.name}: "data" is not an array of records`);
      }
      await scanner.openArray();
      const cursor = new RecordCursor(scanner, shape);
      yield make(fields ?? columns ?? (await fieldsFromFirst(cursor)), cursor);
      await cursor.drain();
    } else if ((key === 'fields' || key === 'columns') && !sawData) {
      const { value, line } = await scanner.parseValue();
      if (key === 'fields') fields = fieldsOf(scanner, value, line, shape.name);
      else columns = columnsOf(scanner, value, line, shape.name);
    } else {
      await scanner.skipValue();
    }
  }
  if (!sawData) {
    // No records at all: still a dataset (an empty table is worth reporting).
    yield make(fields ?? columns ?? [], new RecordCursor(scanner, shape, true));
  }
}

/**
 * Opens a JSON export for import (`NOT_FOUND` when the file is missing). Nothing is read until
 * `datasets()` is iterated, which may be done once; `notices` fills as the scan passes sections that
 * are not imported (complete once `datasets()` has ended).
 */
export function openJsonInput(file: string): Promise<InputSource> {
  return singlePassInput('json', file, readExport);
}
