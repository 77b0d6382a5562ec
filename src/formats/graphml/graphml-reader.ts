/**
 * Reads GraphML (ours, Neo4j APOC's, the original tool's, or any GraphML 1.0 file) for import,
 * streaming with saxes: two input datasets, `graph nodes` then `graph edges`, each from its own pass
 * over the file, so a file whose edges come before its nodes still yields every node first. Only the
 * key table and one chunk's worth of parsed records are held. See docs/formats.md, "Reading GraphML".
 *
 * - Keys are resolved by id to `attr.name` (the id when there is none); `<default>` values apply to
 *   elements without the data. A key's type: `acx:type` (our exports, exact) when present, else
 *   `attr.list` → array (JSON array text, APOC), else `attr.type` (`long` → bigint, `int` → integer,
 *   `double`/`float` → float incl. `NaN`/`INF`/`-INF`, `boolean`); a `string` key is undeclared, its
 *   values raw text for the import to convert (`attr.type` is `string` by default, and the original
 *   tool typed everything `string`).
 * - Node labels: the `labels` key (APOC style `:A:B`), else a `label` key (the original tool: one
 *   label); none → `[]`. Edge type: the `label` key, else a `type` key; none → null.
 * - Records: nodes `{_element_id, _labels, …properties}`, edges `{_element_id (or null), _type,
 *   start_id, end_id, …properties}`; a property without data is absent.
 * - Errors (`INVALID_INPUT`, file and line): invalid XML, a truncated file, a root other than
 *   `<graphml>`, a node without an id, an edge without a source or target, a `<data>` naming an
 *   undeclared key, elements nested deeper than `MAX_ELEMENT_DEPTH`. A value that does not parse as its
 *   key's type is a record problem.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { AcxError } from '../../errors.ts';
import { parseExactJson } from '../../model/exact-json.ts';
import { FIELD_TYPES, type FieldType } from '../../model/dataset.ts';
import type { InputDataset, InputField, InputRecord, InputSource } from '../../model/input.ts';
import { invalidInput, readInputText, singlePassInput } from '../input-text.ts';
import { isJsonTooDeep, TOO_DEEP } from '../input-values.ts';
import { ACX_GRAPHML_NAMESPACE, GRAPHML_NAMESPACE } from './graphml-format.ts';

/** Deepest nesting of elements read (yEd graphics data and nested graphs included, GraphML needs under 20). */
export const MAX_ELEMENT_DEPTH = 100;

const HINT = '--graphml reads GraphML 1.0 (neo4j_graph.graphml, or an APOC export)';

interface KeyInfo {
  id: string;
  /** `node`, `edge`, `all` (the default), `graph` … */
  for: string;
  name: string;
  /** Undefined: values stay raw text. */
  type?: FieldType;
  source?: string;
  defaultText?: string;
}

type Conversion = { value: unknown } | { problem: string };

const INTEGER_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SPECIAL_DOUBLES: Record<string, number> = {
  NaN: Number.NaN,
  INF: Infinity,
  '+INF': Infinity,
  '-INF': -Infinity,
  Infinity: Infinity,
  '+Infinity': Infinity,
  '-Infinity': -Infinity,
};

const GRAPHML_TYPES: Record<string, FieldType | undefined> = {
  long: 'bigint',
  int: 'integer',
  double: 'float',
  float: 'float',
  boolean: 'boolean',
  string: undefined,
};

/** A `<data>` text as the value of a key of `type` (formats/dataset.ts). */
export function convertGraphmlText(type: FieldType | undefined, text: string): Conversion {
  if (type === undefined) return { value: text };
  const trimmed = text.trim();
  switch (type) {
    case 'text':
    case 'uuid':
    case 'timestamp':
    case 'date':
    case 'numeric':
      return { value: text };
    case 'integer': {
      const n = Number(trimmed);
      return INTEGER_TEXT.test(trimmed) && Number.isSafeInteger(n)
        ? { value: n }
        : { problem: 'not an integer within ±2^53' };
    }
    case 'bigint':
      return INTEGER_TEXT.test(trimmed)
        ? { value: BigInt(trimmed.replace(/^\+/, '')) }
        : { problem: 'not an integer' };
    case 'float': {
      const special = SPECIAL_DOUBLES[trimmed];
      if (special !== undefined) return { value: special };
      return FLOAT_TEXT.test(trimmed) ? { value: Number(trimmed) } : { problem: 'not a number' };
    }
    case 'boolean':
      if (trimmed === 'true' || trimmed === '1') return { value: true };
      if (trimmed === 'false' || trimmed === '0') return { value: false };
      return { problem: 'not true or false' };
    case 'json':
    case 'array': {
      if (isJsonTooDeep(text)) return { problem: `JSON ${TOO_DEEP}` };
      let value: unknown;
      try {
        value = parseExactJson(text);
      } catch {
        return { problem: 'not valid JSON' };
      }
      return type === 'array' && !Array.isArray(value) ? { problem: 'not a JSON array' } : { value };
    }
    case 'bytes':
      return BASE64.test(trimmed) ? { value: Buffer.from(trimmed, 'base64') } : { problem: 'not base64' };
  }
}

/** `:A:B` (APOC) or `A` (one label) → label names. */
function parseLabels(text: string): string[] {
  return text
    .trim()
    .split(':')
    .filter((label) => label !== '');
}

const appliesTo = (key: KeyInfo, kind: 'node' | 'edge') => key.for === kind || key.for === 'all';

/** Record fields the reader sets; a property of the same name gives way. */
const NODE_FIXED = new Set(['_element_id', '_labels']);
const EDGE_FIXED = new Set(['_element_id', '_type', 'start_id', 'end_id']);

interface OpenElement {
  kind: 'node' | 'edge';
  line: number;
  id: string | null;
  source?: string;
  target?: string;
  /** key id → text */
  data: Map<string, string>;
}

type Role = 'root' | 'key' | 'default' | 'graph' | 'node' | 'edge' | 'data' | 'other';

/** One pass over the file, producing the records of one kind. */
class GraphmlPass {
  private readonly parser = new SaxesParser({ xmlns: true });
  private readonly chunks: AsyncGenerator<string>;
  readonly keys = new Map<string, KeyInfo>();
  private namespace: string | undefined;
  private keysDone = false;
  private ended = false;
  private first = true;
  private queue: (InputRecord | undefined)[] = [];
  private head = 0;
  private readonly roles: Role[] = [];
  private readonly elements: OpenElement[] = [];
  private currentKey: KeyInfo | undefined;
  private text = '';
  private dataKey: KeyInfo | undefined;
  private tagLine = 1;
  private special: { labels?: KeyInfo; type?: KeyInfo } | undefined;
  private hyperedges = 0;

  private readonly file: string;
  private readonly want: 'node' | 'edge';

  constructor(file: string, want: 'node' | 'edge') {
    this.file = file;
    this.want = want;

    this.chunks = readInputText(file);
    this.parser.on('opentagstart', () => {
      this.tagLine = this.parser.line;
      // Before saxes resolves the tag's namespace, which walks every open element: refusing here keeps
      // a file of 100 000 nested elements linear (and GraphML needs a few levels).
      if (this.roles.length >= MAX_ELEMENT_DEPTH) {
        this.fail(`elements nested deeper than ${MAX_ELEMENT_DEPTH} levels (GraphML needs a few)`);
      }
    });
    this.parser.on('opentag', (tag) => this.openElement(tag));
    this.parser.on('closetag', () => this.closeElement());
    this.parser.on('text', (text) => this.addText(text));
    this.parser.on('cdata', (text) => this.addText(text));
  }

  private fail(message: string, line = this.tagLine): never {
    throw invalidInput(this.file, message, line, HINT);
  }

  private attr(tag: SaxesTagNS, name: string): string | undefined {
    const a = tag.attributes[name];
    return a && a.uri === '' ? a.value : undefined;
  }

  private acxAttr(tag: SaxesTagNS, local: string): string | undefined {
    for (const a of Object.values(tag.attributes)) {
      if (a.uri === ACX_GRAPHML_NAMESPACE && a.local === local) return a.value;
    }
    return undefined;
  }

  private openElement(tag: SaxesTagNS): void {
    if (this.namespace === undefined) {
      if (tag.local !== 'graphml' || (tag.uri !== GRAPHML_NAMESPACE && tag.uri !== '')) {
        this.fail(`the root element is <${tag.name}>, not <graphml>: not a GraphML file`);
      }
      this.namespace = tag.uri;
      this.roles.push('root');
      return;
    }
    const parent = this.roles[this.roles.length - 1];
    if (tag.uri !== this.namespace || parent === 'data' || parent === 'other') {
      this.roles.push('other');
      return;
    }
    switch (tag.local) {
      case 'key':
        this.openKey(tag);
        break;
      case 'default':
        this.text = '';
        this.roles.push(this.currentKey ? 'default' : 'other');
        break;
      case 'graph':
        this.keysDone = true;
        this.roles.push('graph');
        break;
      case 'node': {
        this.keysDone = true;
        const id = this.attr(tag, 'id');
        if (id === undefined) this.fail('a <node> without an id');
        this.elements.push({ kind: 'node', line: this.tagLine, id, data: new Map() });
        this.roles.push('node');
        break;
      }
      case 'edge': {
        this.keysDone = true;
        const source = this.attr(tag, 'source');
        const target = this.attr(tag, 'target');
        if (source === undefined || target === undefined) {
          this.fail(`an <edge> without a ${source === undefined ? 'source' : 'target'}`);
        }
        const id = this.attr(tag, 'id') ?? null;
        this.elements.push({ kind: 'edge', line: this.tagLine, id, source, target, data: new Map() });
        this.roles.push('edge');
        break;
      }
      case 'data': {
        const id = this.attr(tag, 'key');
        if (id === undefined) this.fail('a <data> without a key');
        const key = this.keys.get(id);
        if (!key) this.fail(`<data key="${id}">: no <key> declares "${id}"`);
        // Data of the graph or the document itself is not a record's.
        this.dataKey = parent === 'node' || parent === 'edge' ? key : undefined;
        this.text = '';
        this.roles.push('data');
        break;
      }
      case 'hyperedge':
        this.hyperedges++;
        this.roles.push('other');
        break;
      default:
        this.roles.push('other');
    }
  }

  private openKey(tag: SaxesTagNS): void {
    const id = this.attr(tag, 'id');
    if (id === undefined) this.fail('a <key> without an id');
    const acxType = this.acxAttr(tag, 'type');
    const list = this.attr(tag, 'attr.list');
    const graphmlType = this.attr(tag, 'attr.type') ?? 'string';
    const key: KeyInfo = { id, for: this.attr(tag, 'for') ?? 'all', name: this.attr(tag, 'attr.name') ?? id };
    if (acxType !== undefined && (FIELD_TYPES as readonly string[]).includes(acxType)) {
      key.type = acxType as FieldType;
    } else if (list !== undefined) {
      key.type = 'array';
    } else {
      key.type = GRAPHML_TYPES[graphmlType];
    }
    const source = this.acxAttr(tag, 'source');
    if (source !== undefined) key.source = source;
    // yEd's graphics keys (`yfiles.type`) hold XML, not values: they are left out.
    if (this.attr(tag, 'yfiles.type') !== undefined) key.for = 'yfiles';
    if (!this.keys.has(id)) this.keys.set(id, key);
    this.special = undefined;
    this.currentKey = key;
    this.roles.push('key');
  }

  private addText(text: string): void {
    const role = this.roles[this.roles.length - 1];
    if (role === 'data' || role === 'default') this.text += text;
  }

  private closeElement(): void {
    const role = this.roles.pop();
    switch (role) {
      case 'key':
        this.currentKey = undefined;
        break;
      case 'default':
        if (this.currentKey) this.currentKey.defaultText = this.text;
        break;
      case 'data': {
        const element = this.elements[this.elements.length - 1];
        if (this.dataKey && element) element.data.set(this.dataKey.id, this.text);
        this.dataKey = undefined;
        break;
      }
      case 'node':
      case 'edge': {
        const element = this.elements.pop()!;
        if (element.kind === this.want) this.queue.push(this.record(element));
        break;
      }
      default:
    }
  }

  /** The keys holding node labels and edge types. */
  private specialKeys(): { labels?: KeyInfo; type?: KeyInfo } {
    if (this.special) return this.special;
    const find = (kind: 'node' | 'edge', id: string, names: string[]): KeyInfo | undefined => {
      const byId = this.keys.get(id);
      if (byId && appliesTo(byId, kind)) return byId;
      for (const name of names) {
        for (const key of this.keys.values()) if (appliesTo(key, kind) && key.name === name) return key;
      }
      return undefined;
    };
    this.special = {
      labels: find('node', 'labels', ['labels', 'label']),
      type: find('edge', 'label', ['label', 'type']),
    };
    return this.special;
  }

  /** Property keys of `kind`, in declaration order, one per name. */
  propertyKeys(kind: 'node' | 'edge'): KeyInfo[] {
    const special = this.specialKeys();
    const skip = kind === 'node' ? special.labels : special.type;
    const seen = new Set<string>();
    const out: KeyInfo[] = [];
    for (const key of this.keys.values()) {
      if (!appliesTo(key, kind) || key === skip || seen.has(key.name)) continue;
      seen.add(key.name);
      out.push(key);
    }
    return out;
  }

  private record(element: OpenElement): InputRecord {
    const special = this.specialKeys();
    const fixedKey = element.kind === 'node' ? special.labels : special.type;
    const fixedText = fixedKey ? (element.data.get(fixedKey.id) ?? fixedKey.defaultText) : undefined;
    const values: Record<string, unknown> =
      element.kind === 'node'
        ? { _element_id: element.id, _labels: fixedText === undefined ? [] : parseLabels(fixedText) }
        : {
            _element_id: element.id,
            _type: fixedText === undefined || fixedText === '' ? null : fixedText,
            start_id: element.source,
            end_id: element.target,
          };
    let problems: { field: string; reason: string }[] | undefined;
    const fixed = element.kind === 'node' ? NODE_FIXED : EDGE_FIXED;
    const set = (key: KeyInfo, text: string): void => {
      if (key === fixedKey || key.for === 'yfiles' || fixed.has(key.name)) return;
      const converted = convertGraphmlText(key.type, text);
      if ('value' in converted) {
        values[key.name] = converted.value;
      } else {
        values[key.name] = text;
        const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
        (problems ??= []).push({ field: key.name, reason: `${shown}: ${converted.problem}` });
      }
    };
    for (const [id, text] of element.data) set(this.keys.get(id)!, text);
    for (const key of this.keys.values()) {
      if (key.defaultText !== undefined && appliesTo(key, element.kind) && !element.data.has(key.id)) {
        set(key, key.defaultText);
      }
    }
    return problems ? { line: element.line, values, problems } : { line: element.line, values };
  }

  private async feed(): Promise<void> {
    const next = await this.chunks.next();
    try {
      if (next.done) {
        this.ended = true;
        this.parser.close();
        if (this.namespace === undefined)
          this.fail('no <graphml> element: the file is empty', this.parser.line);
      } else {
        let text = next.value;
        if (this.first && text.length > 0) {
          this.first = false;
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        }
        this.parser.write(text);
      }
    } catch (error) {
      if (error instanceof AcxError) throw error;
      const message = (error as Error).message.replace(/^\d+:\d+: /, '');
      const what = this.namespace === undefined ? ' (no root element yet: is this an XML file?)' : '';
      throw invalidInput(this.file, `invalid XML: ${message}${what}`, this.parser.line, HINT);
    }
  }

  /** Reads until the key table is complete (the first `<graph>`, node or edge). */
  async readHeader(): Promise<void> {
    while (!this.keysDone && !this.ended) await this.feed();
  }

  async next(): Promise<InputRecord | undefined> {
    for (;;) {
      if (this.head < this.queue.length) {
        const record = this.queue[this.head];
        this.queue[this.head++] = undefined;
        return record;
      }
      this.queue = [];
      this.head = 0;
      if (this.ended) return undefined;
      await this.feed();
    }
  }

  get hyperedgeCount(): number {
    return this.hyperedges;
  }

  async close(): Promise<void> {
    this.ended = true;
    await this.chunks.return(undefined);
  }
}

function fieldOf(key: KeyInfo): InputField {
  const field: InputField = { name: key.name };
  if (key.type) field.type = key.type;
  if (key.source !== undefined) field.source = key.source;
  return field;
}

const NODE_FIELDS: InputField[] = [
  { name: '_element_id', type: 'text' },
  { name: '_labels', type: 'array' },
];
const EDGE_FIELDS: InputField[] = [
  { name: '_element_id', type: 'text' },
  { name: '_type', type: 'text' },
  { name: 'start_id', type: 'text' },
  { name: 'end_id', type: 'text' },
];

/** One pass as an input dataset whose records must be read before the next dataset. */
function passDataset(
  file: string,
  pass: GraphmlPass,
  kind: 'node' | 'edge',
): { dataset: InputDataset; drain(): Promise<void> } {
  let claimed = false;
  let passed = false;
  const name = kind === 'node' ? 'graph nodes' : 'graph edges';
  const fixed = kind === 'node' ? NODE_FIELDS : EDGE_FIELDS;
  const fixedNames = new Set(fixed.map((f) => f.name));
  const dataset: InputDataset = {
    file,
    name,
    target:
      kind === 'node'
        ? { store: 'neo4j', kind: 'nodes', label: null }
        : { store: 'neo4j', kind: 'relationships', type: null },
    fields: [
      ...fixed,
      ...pass
        .propertyKeys(kind)
        .filter((k) => !fixedNames.has(k.name))
        .map(fieldOf),
    ],
    records: () => ({
      [Symbol.asyncIterator]: () => {
        if (claimed) throw new Error(`records of ${name} can be read only once`);
        if (passed) throw new Error(`records of ${name} were passed over: read them before the next dataset`);
        claimed = true;
        return (async function* () {
          for (let record = await pass.next(); record; record = await pass.next()) yield record;
        })();
      },
    }),
  };
  return {
    dataset,
    async drain() {
      passed = !claimed;
      while (await pass.next());
    },
  };
}

async function* readGraphml(file: string, notices: string[]): AsyncGenerator<InputDataset> {
  for (const kind of ['node', 'edge'] as const) {
    const pass = new GraphmlPass(file, kind);
    try {
      await pass.readHeader();
      const { dataset, drain } = passDataset(file, pass, kind);
      yield dataset;
      await drain();
      if (kind === 'edge' && pass.hyperedgeCount > 0) {
        notices.push(`${file}: ${pass.hyperedgeCount} hyperedges not imported (Neo4j has no hyperedges)`);
      }
    } finally {
      await pass.close();
    }
  }
}

/**
 * Opens a GraphML file for import (`NOT_FOUND` when it is missing). `datasets()` (once) yields
 * `graph nodes` then `graph edges`, each read in its own pass over the file; a dataset's records must
 * be read before the next dataset is asked for.
 */
export function openGraphmlInput(file: string): Promise<InputSource> {
  return singlePassInput('graphml', file, readGraphml);
}
