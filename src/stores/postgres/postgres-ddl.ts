/**
 * The built-in schema dump, used when `pg_dump` is not installed: DDL rebuilt from the catalogs inside
 * the backup's snapshot transaction. "pre" creates what rows are loaded into (extensions, schemas,
 * types, functions, sequences, tables with defaults and NOT NULL, views); "post" adds what is cheaper
 * after the load (constraints, indexes, triggers). Covers what the AutoCognitix schema and similar
 * application schemas use; objects it cannot rebuild are reported, never silently dropped.
 */
import type pg from 'pg';
import { quoteIdent } from './postgres-connection.ts';

/** Schemas the dump covers: every schema but the system ones. */
export const USER_SCHEMA_FILTER = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'`;
/** Objects that belong to an extension are created by `CREATE EXTENSION`, not by the dump. */
const NOT_FROM_EXTENSION = (oidColumn: string, catalog: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oidColumn} AND d.deptype = 'e')`;

const q = quoteIdent;
const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export interface DdlScript {
  statements: string[];
  /** Objects found but not rebuilt (named for the run's warnings). */
  unsupported: string[];
}

async function rows<T extends pg.QueryResultRow>(client: pg.ClientBase, sql: string): Promise<T[]> {
  return (await client.query<T>(sql)).rows;
}

/** One part of the pre-data script: the statements for one kind of object, in creation order. */
type DdlSection = (client: pg.ClientBase) => Promise<string[]>;

const schemas: DdlSection = async (client) =>
  (
    await rows<{ name: string }>(
      client,
      `SELECT n.nspname AS name FROM pg_namespace n WHERE ${USER_SCHEMA_FILTER} AND n.nspname <> 'public' AND ${NOT_FROM_EXTENSION('n.oid', 'pg_namespace')} ORDER BY 1`,
    )
  ).map((s) => `CREATE SCHEMA IF NOT EXISTS ${q(s.name)};`);

const extensions: DdlSection = async (client) =>
  (
    await rows<{ name: string; schema: string }>(
      client,
      `SELECT e.extname AS name, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY 1`,
    )
  ).map((e) => `CREATE EXTENSION IF NOT EXISTS ${q(e.name)} WITH SCHEMA ${q(e.schema)};`);

const enumTypes: DdlSection = async (client) =>
  (
    await rows<{ schema: string; name: string; labels: string[] }>(
      client,
      `SELECT n.nspname AS schema, t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE ${USER_SCHEMA_FILTER} AND ${NOT_FROM_EXTENSION('t.oid', 'pg_type')} GROUP BY 1, 2 ORDER BY 1, 2`,
    )
  ).map((t) => `CREATE TYPE ${q(t.schema)}.${q(t.name)} AS ENUM (${t.labels.map(literal).join(', ')});`);

const domains: DdlSection = async (client) =>
  (
    await rows<{
      schema: string;
      name: string;
      base: string;
      notnull: boolean;
      def: string | null;
      checks: string[] | null;
    }>(
      client,
      `SELECT n.nspname AS schema, t.typname AS name, format_type(t.typbasetype, t.typtypmod) AS base, t.typnotnull AS notnull, t.typdefault AS def,
              (SELECT array_agg(pg_get_constraintdef(c.oid)::text) FROM pg_constraint c WHERE c.contypid = t.oid) AS checks
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype = 'd' AND ${USER_SCHEMA_FILTER} AND ${NOT_FROM_EXTENSION('t.oid', 'pg_type')} ORDER BY 1, 2`,
    )
  ).map((d) => {
    const parts = [`CREATE DOMAIN ${q(d.schema)}.${q(d.name)} AS ${d.base}`];
    if (d.def !== null) parts.push(`DEFAULT ${d.def}`);
    if (d.notnull) parts.push('NOT NULL');
    for (const check of d.checks ?? []) parts.push(check);
    return parts.join(' ') + ';';
  });

/** Composite, range and multirange types: found and named, not rebuilt. */
const unsupportedTypes: DdlSection = async (client) =>
  (
    await rows<{ name: string }>(
      client,
      `SELECT format('%I.%I', n.nspname, t.typname) AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype IN ('c', 'r', 'm') AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
          AND ${USER_SCHEMA_FILTER} AND ${NOT_FROM_EXTENSION('t.oid', 'pg_type')}`,
    )
  ).map((t) => `type ${t.name}`);

const functions: DdlSection = async (client) =>
  (
    await rows<{ def: string }>(
      client,
      `SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE ${USER_SCHEMA_FILTER} AND p.prokind IN ('f', 'p') AND ${NOT_FROM_EXTENSION('p.oid', 'pg_proc')} ORDER BY n.nspname, p.proname, p.oid`,
    )
  ).map((f) => `${f.def.trimEnd()};`);

/** Sequences other than identity columns' (those come with their column). */
const sequences: DdlSection = async (client) =>
  (
    await rows<{
      name: string;
      type: string;
      start: string;
      inc: string;
      min: string;
      max: string;
      cache: string;
      cycle: boolean;
    }>(
      client,
      `SELECT format('%I.%I', n.nspname, c.relname) AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart AS start, s.seqincrement AS inc,
              s.seqmin AS min, s.seqmax AS max, s.seqcache AS cache, s.seqcycle AS cycle
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE ${USER_SCHEMA_FILTER} AND ${NOT_FROM_EXTENSION('c.oid', 'pg_class')}
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i') ORDER BY 1`,
    )
  ).map(
    (s) =>
      `CREATE SEQUENCE ${s.name} AS ${s.type} START WITH ${s.start} INCREMENT BY ${s.inc} MINVALUE ${s.min} MAXVALUE ${s.max} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ''};`,
  );

const tables: DdlSection = async (client) => {
  const statements: string[] = [];
  for (const table of await listUserTables(client))
    statements.push(await createTableStatement(client, table));
  return statements;
};

/** Serial columns' sequences belong to their column (dropped with it). */
const sequenceOwners: DdlSection = async (client) =>
  (
    await rows<{ seq: string; col: string; tbl: string }>(
      client,
      `SELECT format('%I.%I', sn.nspname, s.relname) AS seq, format('%I.%I', tn.nspname, t.relname) AS tbl, quote_ident(a.attname) AS col
         FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
         JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
        WHERE d.deptype = 'a' AND d.classid = 'pg_class'::regclass AND ${USER_SCHEMA_FILTER.replace(/n\.nspname/g, 'sn.nspname')} ORDER BY 1`,
    )
  ).map((o) => `ALTER SEQUENCE ${o.seq} OWNED BY ${o.tbl}.${o.col};`);

/** Views and materialized views (those empty: post-data refreshes the ones that were populated). */
const views: DdlSection = async (client) =>
  (
    await rows<{ name: string; def: string; kind: string }>(
      client,
      `SELECT format('%I.%I', n.nspname, c.relname) AS name, pg_get_viewdef(c.oid) AS def, c.relkind AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND ${USER_SCHEMA_FILTER} AND ${NOT_FROM_EXTENSION('c.oid', 'pg_class')} ORDER BY c.oid`,
    )
  ).map((v) => {
    const def = v.def.trim().replace(/;$/, '');
    return v.kind === 'm'
      ? `CREATE MATERIALIZED VIEW ${v.name} AS ${def} WITH NO DATA;`
      : `CREATE VIEW ${v.name} AS ${def};`;
  });

/** What rows are loaded into, in dependency order: each section may use the ones before it. */
export async function preDataDdl(client: pg.ClientBase): Promise<DdlScript> {
  const statements: string[] = [];
  for (const section of [schemas, extensions, enumTypes, domains])
    statements.push(...(await section(client)));
  const unsupported = await unsupportedTypes(client);
  for (const section of [functions, sequences, tables, sequenceOwners, views])
    statements.push(...(await section(client)));
  return { statements, unsupported };
}

export interface UserTable {
  oid: number;
  schema: string;
  name: string;
  /** `"schema"."name"` */
  qualified: string;
}

export async function listUserTables(client: pg.ClientBase): Promise<UserTable[]> {
  return rows<UserTable>(
    client,
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, format('%I.%I', n.nspname, c.relname) AS qualified
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND NOT c.relispartition AND ${USER_SCHEMA_FILTER} AND ${NOT_FROM_EXTENSION('c.oid', 'pg_class')}
      ORDER BY n.nspname, c.relname`,
  );
}

/** The columns COPY reads and writes: all but generated ones, in their table order. */
export async function copyColumns(client: pg.ClientBase, table: UserTable): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    [table.oid],
  );
  return result.rows.map((r) => r.name);
}

async function createTableStatement(client: pg.ClientBase, table: UserTable): Promise<string> {
  const columns = await client.query<{
    name: string;
    type: string;
    notnull: boolean;
    def: string | null;
    identity: string;
    generated: string;
    collation: string | null;
  }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
            pg_get_expr(ad.adbin, ad.adrelid) AS def, a.attidentity AS identity, a.attgenerated AS generated,
            CASE WHEN a.attcollation <> t.typcollation THEN (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table.oid],
  );
  const lines = columns.rows.map((c) => {
    let line = `  ${q(c.name)} ${c.type}`;
    if (c.collation) line += ` COLLATE ${c.collation}`;
    if (c.generated === 's' && c.def !== null) line += ` GENERATED ALWAYS AS (${c.def}) STORED`;
    else if (c.identity === 'a') line += ' GENERATED ALWAYS AS IDENTITY';
    else if (c.identity === 'd') line += ' GENERATED BY DEFAULT AS IDENTITY';
    else if (c.def !== null) line += ` DEFAULT ${c.def}`;
    if (c.notnull) line += ' NOT NULL';
    return line;
  });
  return `CREATE TABLE ${table.qualified} (\n${lines.join(',\n')}\n);`;
}

export async function postDataDdl(client: pg.ClientBase): Promise<DdlScript> {
  const statements: string[] = [];
  // Primary keys and unique constraints first (foreign keys need them), then checks, exclusions, foreign keys.
  for (const c of await rows<{ tbl: string; name: string; def: string }>(
    client,
    `SELECT format('%I.%I', n.nspname, t.relname) AS tbl, c.conname AS name, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE c.contype IN ('p', 'u', 'c', 'x', 'f') AND ${USER_SCHEMA_FILTER} AND ${NOT_FROM_EXTENSION('t.oid', 'pg_class')} AND c.conislocal
      ORDER BY array_position(ARRAY['p', 'u', 'c', 'x', 'f']::"char"[], c.contype), 1, 2`,
  )) {
    statements.push(`ALTER TABLE ONLY ${c.tbl} ADD CONSTRAINT ${q(c.name)} ${c.def};`);
  }
  for (const i of await rows<{ def: string }>(
    client,
    `SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMA_FILTER} AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
        AND ${NOT_FROM_EXTENSION('i.indrelid', 'pg_class')} ORDER BY 1`,
  )) {
    statements.push(`${i.def};`);
  }
  for (const t of await rows<{ def: string }>(
    client,
    `SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND ${USER_SCHEMA_FILTER} ORDER BY 1`,
  )) {
    statements.push(`${t.def};`);
  }
  for (const v of await rows<{ name: string }>(
    client,
    `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'm' AND c.relispopulated AND ${USER_SCHEMA_FILTER} ORDER BY 1`,
  )) {
    statements.push(`REFRESH MATERIALIZED VIEW ${v.name};`);
  }
  return { statements, unsupported: [] };
}

export { literal as sqlLiteral };
