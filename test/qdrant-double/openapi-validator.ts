/**
 * Checks requests to and responses from the Qdrant double against Qdrant's own OpenAPI 3.0 document
 * (`/work/shared/qdrant/openapi.json`, or `ACX_QDRANT_OPENAPI`). The double may only accept what the
 * real server's description accepts and may only answer what the description allows, so it cannot
 * drift into a friendlier API than Qdrant's.
 *
 * OpenAPI 3.0 is not quite JSON Schema: `nullable: true` is rewritten into JSON Schema's `null` type
 * before Ajv compiles anything, and Qdrant's Rust-flavoured formats (`uint64`, `float`, ...) are
 * declared as accepted (their ranges are expressed by `minimum` already).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Float32Values } from './float32-json.ts';
import { normaliseUuid } from './storage.ts';

export const DEFAULT_OPENAPI_PATH = '/work/shared/qdrant/openapi.json';

type SchemaObject = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: SchemaObject;
}

export interface Operation {
  method: string;
  /** The path template as the document spells it, e.g. `/collections/{collection_name}`. */
  path: string;
  operationId: string;
  parameters: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: SchemaObject }> };
  responses: Record<string, { content?: Record<string, { schema?: SchemaObject }> }>;
  matcher: RegExp;
  paramNames: string[];
}

export interface MatchedOperation {
  operation: Operation;
  /** Path parameters, URL-decoded. */
  params: Record<string, string>;
}

const DOC_ID = 'qdrant-openapi';
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Rewrites OpenAPI 3.0 `nullable` into plain JSON Schema and points `$ref`s at the registered document. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: SchemaObject = {};
  for (const [key, value] of Object.entries(node as SchemaObject)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/')) out[key] = `${DOC_ID}${value}`;
    else if (key === 'example' || key === 'examples' || key === 'description') continue;
    else out[key] = toJsonSchema(value);
  }
  if (out.nullable === true) {
    delete out.nullable;
    const keys = Object.keys(out).filter((k) => k !== 'default' && k !== 'deprecated');
    if (keys.length === 0) return { type: 'null' };
    if (typeof out.type === 'string' && !('enum' in out)) return { ...out, type: [out.type, 'null'] };
    return { anyOf: [out, { type: 'null' }] };
  }
  if (out.nullable === false) delete out.nullable;
  return out;
}

/**
 * What Ajv checks for a float32 vector of a response: its first value, or `null` at its first value that is
 * not finite (the writer prints those as `null`, as serde_json does). The schemas at the places where the
 * double puts `Float32Values` are plain `{type: array, items: {type: number}}` (`checkFloat32Schemas`
 * holds the document to that), so the array is valid exactly when every value is a finite number, and
 * Ajv's verdict on this one-value stand-in is its verdict on the whole array — without walking 768 values.
 */
function float32StandIn(vector: Float32Values): number[] | null[] {
  const values = vector.values;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return [null];
  return values.length === 0 ? [] : [values[0]!];
}

/** Schemas of the response places that hold `Float32Values`: Record.vector (dense, named, sparse values). */
const FLOAT32_PLACES: [string, (schema: SchemaObject) => unknown][] = [
  ['VectorStructOutput', (s) => (s.anyOf as unknown[] | undefined)?.[0]],
  ['VectorOutput', (s) => (s.anyOf as unknown[] | undefined)?.[0]],
  ['SparseVector', (s) => (s.properties as Record<string, unknown> | undefined)?.values],
];

/**
 * Refuses a document whose float32 arrays say more than `array of number` (a length, a range, unique
 * items…): the stand-in of `float32StandIn` would then no longer be exactly as strict as the full array.
 */
function checkFloat32Schemas(schemas: Record<string, unknown>): void {
  for (const [name, pick] of FLOAT32_PLACES) {
    const schema = schemas[name] as SchemaObject | undefined;
    const place = schema ? pick(schema) : undefined;
    const plain =
      JSON.stringify(place) === JSON.stringify({ type: 'array', items: { type: 'number', format: 'float' } });
    if (!plain) {
      throw new Error(
        `Qdrant double: the OpenAPI schema ${name} no longer describes float32 values as a plain array of numbers ` +
          `(${JSON.stringify(place)}); the fast check of vectors in openapi-validator.ts must be revised`,
      );
    }
  }
}

/**
 * Ajv's `integer` knows no bigint: a copy with bigints as (possibly rounded) numbers is validated instead;
 * float32 vectors are checked by `float32StandIn`.
 */
function forValidation(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Float32Values) return float32StandIn(value);
  if (Array.isArray(value)) {
    // Dense vectors are long arrays of plain numbers: skip the copy when nothing inside needs it.
    if (
      value.every(
        (v) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v === null,
      )
    ) {
      return value;
    }
    return value.map(forValidation);
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = forValidation(v);
    return out;
  }
  return value;
}

/** Ajv errors as one short line; `anyOf` produces one error per branch, so only the first few are kept. */
function describe(errors: ErrorObject[] | null | undefined, where: string): string {
  const list = (errors ?? []).slice(0, 6).map((e) => {
    const at = e.instancePath === '' ? where : `${where}${e.instancePath}`;
    const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
    return `${at} ${e.message ?? e.keyword}${extra} [${e.schemaPath}]`;
  });
  const more = (errors?.length ?? 0) > 6 ? `; and ${(errors?.length ?? 0) - 6} more` : '';
  return list.join('; ') + more;
}

/**
 * Whether an Ajv failure is about value limits (Qdrant's validator answers 422) rather than shape (serde
 * answers 400). With `anyOf`, a limit error means some branch had the right shape, so it decides.
 */
function isConstraintFailure(errors: ErrorObject[] | null | undefined): boolean {
  const limits = new Set([
    'minimum',
    'maximum',
    'exclusiveMinimum',
    'exclusiveMaximum',
    'minLength',
    'maxLength',
    'minItems',
    'maxItems',
    'uniqueItems',
  ]);
  // `minimum: 0` only restates an unsigned Rust type, which serde enforces while parsing (400).
  return (errors ?? []).some(
    (e) => limits.has(e.keyword) && !(e.keyword === 'minimum' && e.params.limit === 0),
  );
}

export interface RequestInput {
  method: string;
  /** Path without the query string. */
  pathname: string;
  query: URLSearchParams;
  contentType: string | undefined;
  /** Parsed JSON body (bigints allowed), or undefined when there is none / it is not JSON. */
  body: unknown;
  hasBody: boolean;
}

export interface RequestProblem {
  status: 400 | 422;
  message: string;
}

export class OpenApiValidator {
  readonly documentPath: string;
  readonly version: string;
  private readonly ajv: Ajv;
  private readonly operations: Operation[] = [];
  private readonly cache = new Map<string, ValidateFunction>();
  private readonly schemas: Record<string, unknown>;

  constructor(documentPath = process.env.ACX_QDRANT_OPENAPI || DEFAULT_OPENAPI_PATH) {
    this.documentPath = documentPath;
    const doc = JSON.parse(readFileSync(documentPath, 'utf8')) as {
      info?: { version?: string };
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    this.version = doc.info?.version ?? 'unknown';
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    for (const name of ['uint', 'uint8', 'uint32', 'uint64', 'int64', 'float', 'double', 'binary']) {
      this.ajv.addFormat(name, true);
    }
    // Qdrant's `SnapshotDescription.creation_time`: a date-time without a zone, e.g. 2022-08-04T10:49:10.
    this.ajv.addFormat('partial-date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?$/);
    // The document says `format: uuid`, but the server (Rust `Uuid::parse_str`) also accepts the simple,
    // braced and urn forms; RFC-style validators only know the hyphenated one.
    this.ajv.addFormat('uuid', (value: string) => normaliseUuid(value) !== null);
    this.schemas = toJsonSchema(doc.components.schemas) as Record<string, unknown>;
    checkFloat32Schemas(this.schemas);
    this.ajv.addSchema({ $id: DOC_ID, components: { schemas: this.schemas } });

    for (const [path, item] of Object.entries(doc.paths)) {
      const shared = (item.parameters as Parameter[] | undefined) ?? [];
      for (const [method, raw] of Object.entries(item)) {
        if (method === 'parameters' || method.startsWith('x-')) continue;
        const op = raw as Omit<Operation, 'method' | 'path' | 'matcher' | 'paramNames'>;
        const paramNames: string[] = [];
        const pattern = path
          .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
          .replace(/\{([^}]+)\}/g, (_m, name: string) => {
            paramNames.push(name);
            return '([^/]+)';
          });
        this.operations.push({
          ...op,
          parameters: [...shared, ...((op.parameters as Parameter[] | undefined) ?? [])],
          method: method.toUpperCase(),
          path,
          matcher: new RegExp(`^${pattern}$`),
          paramNames,
        });
      }
    }
    // Literal segments win over templated ones (`/collections/aliases` before `/collections/{name}`).
    this.operations.sort((a, b) => literalWeight(b.path) - literalWeight(a.path));
  }

  /** The documented operation for a method and path, or a reason why there is none. */
  match(method: string, pathname: string): MatchedOperation | { allowed: string[] } {
    const allowed: string[] = [];
    for (const operation of this.operations) {
      const m = operation.matcher.exec(pathname);
      if (!m) continue;
      if (operation.method !== method) {
        allowed.push(operation.method);
        continue;
      }
      const params: Record<string, string> = {};
      operation.paramNames.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] ?? '');
      });
      return { operation, params };
    }
    return { allowed };
  }

  private validator(key: string, schema: unknown): ValidateFunction {
    let fn = this.cache.get(key);
    if (!fn) {
      fn = this.ajv.compile(toJsonSchema(schema) as SchemaObject);
      this.cache.set(key, fn);
    }
    return fn;
  }

  /** Checks path and query parameters and the JSON body; null when the request fits the document. */
  validateRequest(matched: MatchedOperation, input: RequestInput): RequestProblem | null {
    const { operation, params } = matched;
    const where = `${operation.method} ${operation.path} (${operation.operationId})`;
    const fail = (message: string, status: 400 | 422 = 400): RequestProblem => ({
      status,
      message: `request breaks Qdrant's OpenAPI document at ${where}: ${message}`,
    });
    const declared = new Set(operation.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    for (const name of new Set(input.query.keys())) {
      if (!declared.has(name)) return fail(`query parameter \`${name}\` is not declared`);
    }
    for (const parameter of operation.parameters) {
      if (parameter.in !== 'path' && parameter.in !== 'query') continue;
      const raw =
        parameter.in === 'path' ? params[parameter.name] : (input.query.get(parameter.name) ?? undefined);
      if (raw === undefined) {
        if (parameter.required)
          return fail(`required ${parameter.in} parameter \`${parameter.name}\` is missing`);
        continue;
      }
      if (!parameter.schema) continue;
      const value = this.coerce(raw, parameter.schema);
      const fn = this.validator(
        `${operation.operationId}:${parameter.in}:${parameter.name}`,
        parameter.schema,
      );
      if (!fn(forValidation(value))) {
        return fail(
          describe(fn.errors, `${parameter.in} parameter \`${parameter.name}\`=${JSON.stringify(raw)}`),
          isConstraintFailure(fn.errors) ? 422 : 400,
        );
      }
    }
    const content = operation.requestBody?.content;
    if (!content) {
      if (input.hasBody && input.contentType?.includes('json'))
        return fail('the operation takes no request body');
      return null;
    }
    if (!input.hasBody) {
      if (operation.requestBody?.required) return fail('the request body is missing');
      return null;
    }
    const mediaType = (input.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    const media = content[mediaType];
    if (!media)
      return fail(
        `content type \`${mediaType || '(none)'}\` is not one of ${Object.keys(content).join(', ')}`,
      );
    if (mediaType !== 'application/json' || !media.schema) return null;
    const fn = this.validator(`${operation.operationId}:body`, media.schema);
    if (!fn(forValidation(input.body))) {
      return fail(describe(fn.errors, 'body'), isConstraintFailure(fn.errors) ? 422 : 400);
    }
    return null;
  }

  /** Checks a response the double is about to send; null when it fits the document. */
  validateResponse(
    matched: MatchedOperation,
    status: number,
    contentType: string,
    body: unknown,
  ): string | null {
    const { operation } = matched;
    const where = `${operation.method} ${operation.path} (${operation.operationId})`;
    const key = String(status);
    const response =
      operation.responses[key] ??
      operation.responses[`${key[0]}XX`] ??
      operation.responses[`${key[0]}xx`] ??
      operation.responses.default;
    if (!response)
      return `response breaks Qdrant's OpenAPI document at ${where}: status ${status} is not documented`;
    const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
    const content = response.content;
    if (!content) return null; // e.g. `4XX` of `GET /` documents no body
    const media = content[mediaType];
    if (!media) {
      return `response breaks Qdrant's OpenAPI document at ${where}: status ${status} has content type \`${mediaType}\`, documented: ${Object.keys(content).join(', ')}`;
    }
    if (mediaType !== 'application/json' || !media.schema) return null;
    const fn = this.validator(`${operation.operationId}:response:${key}`, media.schema);
    if (!fn(forValidation(body))) {
      return `response breaks Qdrant's OpenAPI document at ${where}, status ${status}: ${describe(fn.errors, 'body')}`;
    }
    return null;
  }

  /** Query and path parameters arrive as text; they are typed the way the schema says before validation. */
  private coerce(raw: string, schema: SchemaObject): unknown {
    const resolved = this.resolve(schema);
    const types = new Set<string>();
    const collect = (s: SchemaObject): void => {
      if (typeof s.type === 'string') types.add(s.type);
      for (const branch of [...((s.anyOf as SchemaObject[]) ?? []), ...((s.oneOf as SchemaObject[]) ?? [])])
        collect(this.resolve(branch));
    };
    collect(resolved);
    if (types.has('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
    if ((types.has('integer') || types.has('number')) && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw)) {
      if (/^\d+$/.test(raw) && !Number.isSafeInteger(Number(raw))) return BigInt(raw);
      return Number(raw);
    }
    return raw;
  }

  private resolve(schema: SchemaObject): SchemaObject {
    const ref = schema.$ref;
    const m = typeof ref === 'string' ? /#\/components\/schemas\/(.+)$/.exec(ref) : null;
    if (m) return (this.schemas[m[1]!] as SchemaObject | undefined) ?? {};
    return schema;
  }
}

function literalWeight(path: string): number {
  return path.split('/').filter((s) => s !== '' && !s.startsWith('{')).length * 100 - path.split('/').length;
}
