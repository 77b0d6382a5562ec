/**
 * Reads `qdrant_vectors.json.gz` (gzip'd or plain) for import, streaming: one input dataset per
 * collection, reached in file order, its points one by one (one point held at a time). See
 * docs/formats.md, "Vectors".
 *
 * - The target's `config` has the shape of a `GET /collections/{name}` result (`{config: {params: …}}`),
 *   as `InputTarget` says. The export writes the result's `config` part (`{params, hnsw_config, …}`):
 *   it is wrapped (`{config: <as written>}`); a file holding the whole result is taken as it is.
 *   `config`, `vector_size` and `distance` precede `points` in the writer's output; the config is what
 *   has been seen when `points` begins. The original tool's files have no `config`: it is built from
 *   `vector_size`/`distance` (`{config:{params:{vectors:{size, distance}}}}`); with neither, it is null.
 * - Records are `{id, vector, payload}`: `id` a number, a bigint beyond 2^53, or a UUID string;
 *   `vector` as written (number array, or name → array / sparse `{indices, values}`); `payload` an
 *   object or null. A point without a usable id or with a payload that is not an object carries a
 *   record problem.
 */
import type { InputDataset, InputField, InputRecord, InputSource } from '../../model/input.ts';
import { checkInputFile, readInputText } from '../input-text.ts';
import { checkedInput } from '../input-values.ts';
import { JsonScanner } from '../json/json-scanner.ts';
import { VECTORS_FORMAT, VECTORS_FORMAT_VERSION } from './vectors-format.ts';
import { isJsonObject } from '../../model/exact-json.ts';

type Obj = Record<string, unknown>;

const HINT = '--vectors reads the qdrant_vectors.json.gz that `acx-data export --qdrant` writes';
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

const FIELDS: readonly InputField[] = [
  { name: 'id' },
  { name: 'vector', type: 'json' },
  { name: 'payload', type: 'json' },
];

/** A collection configuration as written → the `GET /collections/{name}` result shape. */
function collectionInfo(config: Obj): Obj {
  return isJsonObject(config.config) ? config : { config };
}

function idProblem(id: unknown): string | undefined {
  if (typeof id === 'number')
    return Number.isSafeInteger(id) && id >= 0 ? undefined : 'not an unsigned integer';
  if (typeof id === 'bigint')
    return id >= 0n && id < 2n ** 64n ? undefined : 'not an unsigned 64-bit integer';
  if (typeof id === 'string') return UUID.test(id) ? undefined : 'not a UUID';
  return id === undefined ? 'missing' : 'not an integer or UUID';
}

/** The points of one `points` array, read once, in order. */
class PointCursor {
  private done = false;
  private claimed = false;
  private passed = false;

  private readonly scanner: JsonScanner;
  private readonly name: string;

  constructor(scanner: JsonScanner, name: string, empty = false) {
    this.scanner = scanner;
    this.name = name;

    this.done = empty;
  }

  async next(): Promise<InputRecord | undefined> {
    if (this.done) return undefined;
    if (!(await this.scanner.nextElement())) {
      this.done = true;
      return undefined;
    }
    const { value, line } = await this.scanner.parseValue('a point');
    if (!isJsonObject(value)) this.scanner.fail(`collection "${this.name}": a point is not an object`, line);
    const values = { id: value.id ?? null, vector: value.vector ?? null, payload: value.payload ?? null };
    const problems: { field: string; reason: string }[] = [];
    const idIssue = idProblem(value.id);
    if (idIssue) problems.push({ field: 'id', reason: `point id ${idIssue}` });
    if (values.payload !== null && !isJsonObject(values.payload)) {
      problems.push({ field: 'payload', reason: 'payload is not an object' });
    }
    return problems.length > 0 ? { line, values, problems } : { line, values };
  }

  async drain(): Promise<void> {
    this.passed = !this.claimed;
    while (await this.next());
  }

  records(): AsyncIterable<InputRecord> {
    return {
      [Symbol.asyncIterator]: () => {
        if (this.claimed) throw new Error(`points of ${this.name} can be read only once`);
        if (this.passed) {
          throw new Error(`points of ${this.name} were passed over: read them before the next collection`);
        }
        this.claimed = true;
        return (async function* (cursor: PointCursor) {
          for (let point = await cursor.next(); point; point = await cursor.next()) yield point;
        })(this);
      },
    };
  }
}

async function* readCollection(scanner: JsonScanner, name: string): AsyncGenerator<InputDataset> {
  const file = scanner.file;
  if ((await scanner.peek()) !== '{')
    scanner.unexpected(await scanner.peek(), `an object for collection "${name}"`);
  await scanner.openObject();
  let config: Obj | null | undefined;
  let size: unknown;
  let distance: unknown;
  let payloadSchema: Obj | undefined;
  let sawPoints = false;
  const dataset = (cursor: PointCursor): InputDataset => {
    let effective: Obj | null = config ? collectionInfo(config) : null;
    if (effective && payloadSchema && !isJsonObject(effective.payload_schema))
      effective = { ...effective, payload_schema: payloadSchema };
    if (config === undefined && typeof size === 'number') {
      effective = { config: { params: { vectors: { size, distance: distance ?? null } } } };
    }
    return {
      file,
      name,
      target: { store: 'qdrant', collection: name, config: effective },
      fields: FIELDS,
      records: () => cursor.records(),
    };
  };
  for (let key = await scanner.nextKey(); key !== null; key = await scanner.nextKey()) {
    switch (key) {
      case 'config': {
        const { value, line } = await scanner.parseValue();
        if (value !== null && !isJsonObject(value))
          scanner.fail(`collection "${name}": "config" is not an object`, line);
        config = value;
        break;
      }
      case 'payload_schema': {
        const { value, line } = await scanner.parseValue();
        if (value !== null && !isJsonObject(value))
          scanner.fail(`collection "${name}": "payload_schema" is not an object`, line);
        payloadSchema = value ?? undefined;
        break;
      }
      case 'vector_size':
        size = (await scanner.parseValue()).value;
        break;
      case 'distance':
        distance = (await scanner.parseValue()).value;
        break;
      case 'points': {
        if (sawPoints) scanner.fail(`collection "${name}": "points" given twice`);
        sawPoints = true;
        if ((await scanner.peek()) !== '[') scanner.fail(`collection "${name}": "points" is not an array`);
        await scanner.openArray();
        const cursor = new PointCursor(scanner, name);
        yield dataset(cursor);
        await cursor.drain();
        break;
      }
      default:
        await scanner.skipValue();
    }
  }
  if (!sawPoints) yield dataset(new PointCursor(scanner, name, true));
}

async function* readVectors(file: string): AsyncGenerator<InputDataset> {
  const scanner = new JsonScanner(readInputText(file), file);
  try {
    const c = await scanner.peek();
    if (c === '') scanner.fail('the file is empty', 1, HINT);
    if (c === '\ufeff')
      scanner.fail('the file starts with a byte order mark (U+FEFF), which JSON does not allow', 1);
    if (c === '[') scanner.fail('the document is an array, not an object: not a vectors file', 1, HINT);
    if (c !== '{') scanner.unexpected(c, 'a JSON object (is this a vectors file?)');
    await scanner.openObject();
    let sawCollections = false;
    for (let key = await scanner.nextKey(); key !== null; key = await scanner.nextKey()) {
      const line = scanner.line;
      switch (key) {
        case 'format': {
          const { value } = await scanner.parseValue();
          if (value !== VECTORS_FORMAT) {
            scanner.fail(`"format" is ${JSON.stringify(value)}, not "${VECTORS_FORMAT}"`, line, HINT);
          }
          break;
        }
        case 'version': {
          const { value } = await scanner.parseValue();
          if (typeof value !== 'number' || value > VECTORS_FORMAT_VERSION) {
            scanner.fail(
              `vectors file version ${String(value)}: this tool reads version ${VECTORS_FORMAT_VERSION}`,
              line,
              'use a newer acx-data',
            );
          }
          break;
        }
        case 'collections':
          sawCollections = true;
          if ((await scanner.peek()) !== '{') scanner.fail('"collections" is not an object', line, HINT);
          await scanner.openObject();
          for (let name = await scanner.nextKey(); name !== null; name = await scanner.nextKey()) {
            yield* readCollection(scanner, name);
          }
          break;
        case 'postgresql':
        case 'neo4j':
        case 'qdrant':
          scanner.fail(
            `"${key}" at the top: this is a JSON export, not a vectors file`,
            line,
            'import it with --json',
          );
          break;
        case 'tables':
        case 'nodes':
          scanner.fail(`"${key}" at the top: this is a backup file, not a vectors file`, line, HINT);
          break;
        default:
          await scanner.skipValue();
      }
    }
    await scanner.end();
    if (!sawCollections) scanner.fail('no "collections": not a vectors file', 1, HINT);
  } finally {
    await scanner.close();
  }
}

/**
 * Opens a vectors file for import (`NOT_FOUND` when it is missing). Nothing is read until `datasets()`
 * is iterated (once); each collection's points must be read before the next collection is asked for.
 */
export async function openVectorsInput(file: string): Promise<InputSource> {
  await checkInputFile(file);
  let active: AsyncGenerator<InputDataset> | undefined;
  return checkedInput({
    format: 'vectors',
    file,
    notices: [],
    datasets() {
      if (active) throw new Error(`${file}: datasets() can be read only once`);
      active = readVectors(file);
      return active;
    },
    async close() {
      await active?.return(undefined);
    },
  });
}
