/**
 * PostgreSQL as export datasets: every table of `public` (privacy rules applied), read through cursors
 * inside one REPEATABLE READ transaction so all datasets of an export see the same moment. Values come
 * out in the normalised forms of `formats/dataset.ts` (timestamps as ISO text with their microseconds,
 * 64-bit integers as bigint, numeric as exact text, JSON parsed exactly).
 */
import type pg from 'pg';
import type { ExportRecord, ExportValue, FieldSpec, FieldType, TabularDataset } from '../../model/dataset.ts';
import { parseExactJson } from '../../model/exact-json.ts';
import { dtcFilterSql, isFilterActive, type DtcFilter } from '../../model/dtc-filter.ts';
import { exportableColumns, isExportableTable, scrubJson, type PrivacyOptions } from '../../model/privacy.ts';
import { quoteIdent } from './postgres-connection.ts';

const FETCH_SIZE = 2000;

interface Column {
  name: string;
  type: FieldType;
  /** The SELECT expression that yields the value in its export form. */
  select: string;
  decode: (raw: unknown) => ExportValue;
}

const asIs = (raw: unknown): ExportValue => (raw ?? null) as ExportValue;

function columnFor(name: string, udt: string, isArray: boolean, privacy: PrivacyOptions): Column {
  const c = quoteIdent(name);
  if (isArray)
    return {
      name,
      type: 'array',
      select: `to_json(${c})::text`,
      decode: (raw) => (raw === null ? null : (parseExactJson(raw as string) as ExportValue)),
    };
  switch (udt) {
    case 'int2':
    case 'int4':
      return { name, type: 'integer', select: c, decode: asIs };
    case 'int8':
      return {
        name,
        type: 'bigint',
        select: `${c}::text`,
        decode: (raw) => (raw === null ? null : BigInt(raw as string)),
      };
    case 'float4':
    case 'float8':
      return { name, type: 'float', select: c, decode: asIs };
    case 'numeric':
      return { name, type: 'numeric', select: `${c}::text`, decode: asIs };
    case 'bool':
      return { name, type: 'boolean', select: c, decode: asIs };
    case 'timestamptz':
    case 'timestamp':
      return { name, type: 'timestamp', select: `to_json(${c}) #>> '{}'`, decode: asIs };
    case 'date':
      return { name, type: 'date', select: `${c}::text`, decode: asIs };
    case 'uuid':
      return { name, type: 'uuid', select: `${c}::text`, decode: asIs };
    case 'json':
    case 'jsonb':
      return {
        name,
        type: 'json',
        select: `${c}::text`,
        decode: (raw) =>
          raw === null ? null : (scrubJson(parseExactJson(raw as string), privacy) as ExportValue),
      };
    case 'bytea':
      return { name, type: 'bytes', select: c, decode: asIs };
    default:
      return { name, type: 'text', select: `${c}::text`, decode: asIs };
  }
}

export interface PostgresExportOptions extends PrivacyOptions {
  filter: DtcFilter;
  /** `diagnosis_history.json`: also soft-deleted sessions. */
  includeDeleted?: boolean;
}

/** An open export source: call `close()` when every dataset has been written. */
export class PostgresExportSource {
  private readonly client: pg.PoolClient;
  private readonly options: PostgresExportOptions;

  private constructor(client: pg.PoolClient, options: PostgresExportOptions) {
    this.client = client;
    this.options = options;
  }

  static async open(pool: pg.Pool, options: PostgresExportOptions): Promise<PostgresExportSource> {
    const client = await pool.connect();
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // Timestamps come out in UTC whatever the server's or role's time zone.
    await client.query("SET LOCAL TimeZone = 'UTC'");
    return new PostgresExportSource(client, options);
  }

  async close(): Promise<void> {
    await this.client.query('COMMIT').catch(() => undefined);
    this.client.release();
  }

  private async columnsOf(table: string): Promise<Column[]> {
    const { rows } = await this.guarded<{ name: string; udt: string; is_array: boolean }>(
      `SELECT a.attname AS name, CASE WHEN t.typcategory = 'A' THEN et.typname ELSE t.typname END AS udt, t.typcategory = 'A' AS is_array
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type et ON et.oid = t.typelem
        WHERE a.attrelid = format('public.%I', $1::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [table],
    );
    const keep = new Set(
      exportableColumns(
        table,
        rows.map((r) => r.name),
        this.options,
      ),
    );
    return rows
      .filter((r) => keep.has(r.name))
      .map((r) => columnFor(r.name, r.udt, r.is_array, this.options));
  }

  private async primaryKey(table: string): Promise<string[]> {
    const { rows } = await this.guarded<{ name: string }>(
      `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = format('public.%I', $1::text)::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
      [table],
    );
    return rows.map((r) => r.name);
  }

  /**
   * One statement inside its own savepoint: a statement that fails (a table missing for one format)
   * must not abort the export's one transaction, or every later format and the manifest would fail.
   */
  private async guarded<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
    await this.client.query('SAVEPOINT acx_statement');
    try {
      const result = await this.client.query<R>(sql, params);
      await this.client.query('RELEASE SAVEPOINT acx_statement');
      return result;
    } catch (error) {
      await this.client.query('ROLLBACK TO SAVEPOINT acx_statement').catch(() => undefined);
      await this.client.query('RELEASE SAVEPOINT acx_statement').catch(() => undefined);
      throw error;
    }
  }

  /** Records of a query, fetched through a cursor a page at a time (in a savepoint of its own). */
  private async *stream(
    sql: string,
    params: unknown[],
    columns: readonly Column[],
  ): AsyncGenerator<ExportRecord> {
    const cursor = `acx_export_${Math.random().toString(36).slice(2)}`;
    await this.client.query(`SAVEPOINT ${cursor}`);
    let failed = false;
    try {
      await this.client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`, params);
      for (;;) {
        const { rows } = await this.client.query<Record<string, unknown>>(
          `FETCH ${FETCH_SIZE} FROM ${cursor}`,
        );
        for (const row of rows) {
          const record: ExportRecord = {};
          for (const column of columns) record[column.name] = column.decode(row[column.name] ?? null);
          yield record;
        }
        if (rows.length < FETCH_SIZE) break;
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      if (failed) await this.client.query(`ROLLBACK TO SAVEPOINT ${cursor}`).catch(() => undefined);
      else await this.client.query(`CLOSE ${cursor}`).catch(() => undefined);
      await this.client.query(`RELEASE SAVEPOINT ${cursor}`).catch(() => undefined);
    }
  }

  private selectList(columns: readonly Column[]): string {
    return columns.map((c) => `${c.select} AS ${quoteIdent(c.name)}`).join(', ');
  }

  /** The tables an export may contain (privacy rules applied), sorted by name. */
  async tableNames(): Promise<string[]> {
    const { rows } = await this.guarded<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') ORDER BY 1`,
    );
    return rows
      .map((r) => r.name)
      .filter((t) => t !== 'alembic_version' && isExportableTable(t, this.options));
  }

  /** One table as a dataset; `dtc_codes` honours the filter. Ordered by primary key. */
  async table(name: string, datasetName = name): Promise<TabularDataset> {
    const columns = await this.columnsOf(name);
    const key = await this.primaryKey(name);
    const filtered = name === 'dtc_codes' && isFilterActive(this.options.filter);
    const { where, params } = filtered ? dtcFilterSql(this.options.filter) : { where: 'TRUE', params: [] };
    const order = key.length > 0 ? ` ORDER BY ${key.map((k) => `d.${quoteIdent(k)}`).join(', ')}` : '';
    const sql = `SELECT ${this.selectList(columns)} FROM public.${quoteIdent(name)} d WHERE ${where}${order}`;
    const fields: FieldSpec[] = columns.map((c) => ({ name: c.name, type: c.type }));
    const keep = new Set(fields.map((f) => f.name));
    return {
      name: datasetName,
      kind: 'table',
      fields,
      key: key.every((k) => keep.has(k)) && key.length > 0 ? key : undefined,
      indexed: name === 'dtc_codes' ? ['code'] : undefined,
      records: () => this.stream(sql, params, columns),
    };
  }

  /** The selected DTC codes when a filter is active (undefined: every code). */
  async selectedCodes(): Promise<string[] | undefined> {
    if (!isFilterActive(this.options.filter)) return undefined;
    const { where, params } = dtcFilterSql(this.options.filter);
    const { rows } = await this.guarded<{ code: string }>(
      `SELECT d.code FROM public.dtc_codes d WHERE ${where} ORDER BY d.code`,
      params,
    );
    return rows.map((r) => r.code);
  }

  /** Translations of the selected codes: code, English and Hungarian text, whether translated. */
  translations(): TabularDataset {
    const { where, params } = dtcFilterSql(this.options.filter);
    const columns: Column[] = [
      columnFor('code', 'text', false, this.options),
      columnFor('description_en', 'text', false, this.options),
      columnFor('description_hu', 'text', false, this.options),
      columnFor('translated', 'bool', false, this.options),
    ];
    const sql = `SELECT d.code, d.description_en, d.description_hu,
                        (d.description_hu IS NOT NULL AND btrim(d.description_hu) <> '') AS translated
                   FROM public.dtc_codes d WHERE ${where} ORDER BY d.code`;
    return {
      name: 'translations',
      kind: 'table',
      fields: columns.map((c) => ({ name: c.name, type: c.type })),
      key: ['code'],
      records: () => this.stream(sql, params, columns),
    };
  }

  /** `csv/dtc_codes_full.csv`: the selected DTC codes with every field and their translation status. */
  async dtcCodesFull(): Promise<TabularDataset> {
    const base = await this.table('dtc_codes', 'dtc_codes_full');
    const records = base.records;
    return {
      ...base,
      fields: [...base.fields, { name: 'translation_status', type: 'text' }],
      records: async function* () {
        for await (const r of records()) {
          const hu = r.description_hu;
          yield {
            ...r,
            translation_status: typeof hu === 'string' && hu.trim() !== '' ? 'completed' : 'pending',
          };
        }
      },
    };
  }

  /** `diagnosis_history.json`: sessions, newest first, soft-deleted ones only when asked. */
  async history(): Promise<TabularDataset> {
    const columns = await this.columnsOf('diagnosis_sessions');
    const deleted = this.options.includeDeleted ? 'TRUE' : 'NOT d.is_deleted';
    const sql = `SELECT ${this.selectList(columns)} FROM public.diagnosis_sessions d WHERE ${deleted} ORDER BY d.created_at DESC, d.id`;
    return {
      name: 'diagnosis_history',
      kind: 'table',
      fields: columns.map((c) => ({ name: c.name, type: c.type })),
      records: () => this.stream(sql, [], columns),
    };
  }

  async serverVersion(): Promise<string> {
    return (
      (await this.guarded<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ??
      'unknown'
    );
  }
}
