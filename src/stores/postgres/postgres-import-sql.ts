/**
 * The set-based SQL of a PostgreSQL import's `apply()` (model/conflict.ts has the rules), built from a
 * stage and its table: pure functions, so each statement can be read on its own. `s` is always the
 * staging table, `t` the target, `p` a parent.
 */
import { TIMESTAMP_FIELD, type ConflictStrategy } from '../../model/conflict.ts';
import { quoteIdent as q } from './postgres-connection.ts';
import type { Stage } from './postgres-import-stage.ts';
import type { ForeignKey, TableInfo } from './postgres-import-tables.ts';

/** The target row with a staged record's key: `t.k = s.k AND …`. */
export const keyMatch = (table: TableInfo): string =>
  table.key.map((k) => `t.${q(k)} = s.${q(k)}`).join(' AND ');

/**
 * A key twice in one input: the first record counts, the later ones are deleted from the stage.
 * Returns `_line`, `first_line` and the key as text `k`.
 */
export function duplicatesSql(stage: Stage): string {
  const { table, relation } = stage;
  const key = table.key.map(q);
  const keyText = table.key.map((k) => `${q(k)}::text`).join(` || ', ' || `);
  return `DELETE FROM ${relation} s USING (
           SELECT _n, first_value(_n) OVER w AS first, first_value(_line) OVER w AS first_line,
                  ${keyText} AS k FROM ${relation} WINDOW w AS (PARTITION BY ${key.join(', ')} ORDER BY _n)) d
          WHERE s._n = d._n AND d._n <> d.first RETURNING s._line, d.first_line, d.k`;
}

/** The parent row a staged record's foreign key names, as `alias`. */
const parentMatch = (fk: ForeignKey, alias: string): string =>
  fk.columns.map((c, i) => `${alias}.${q(fk.parentColumns[i] ?? '')} = s.${q(c)}`).join(' AND ');

/** Not among the parent table's input records (only those that are created, when asked). */
const notInInput = (fk: ForeignKey, parents: Stage[], createdOnly: boolean): string =>
  parents
    .map(
      (o) =>
        `AND NOT EXISTS (SELECT 1 FROM ${o.relation} p WHERE ${createdOnly ? 'NOT p._skipped AND ' : ''}${parentMatch(fk, 'p')})`,
    )
    .join(' ');

const fkNotNull = (fk: ForeignKey): string => fk.columns.map((c) => `s.${q(c)} IS NOT NULL`).join(' AND ');

/**
 * Deletes staged records whose foreign key points nowhere: neither in the store nor among the
 * parent's input records (`parents`, its stages). Returns `_line` and the key as text `v`.
 */
export function danglingSql(stage: Stage, fk: ForeignKey, parents: Stage[]): string {
  return `DELETE FROM ${stage.relation} s
            WHERE ${fkNotNull(fk)}
              AND NOT EXISTS (SELECT 1 FROM public.${q(fk.parent)} p WHERE ${parentMatch(fk, 'p')}) ${notInInput(fk, parents, false)}
            RETURNING s._line, ${fk.columns.map((c) => `s.${q(c)}::text`).join(` || ', ' || `)} AS v`;
}

/** Marks as not created the staged records whose parent is only among input records not created. */
export function orphansSql(stage: Stage, fk: ForeignKey, parents: Stage[]): string {
  return `UPDATE ${stage.relation} s SET _skipped = true
            WHERE NOT s._skipped AND ${fkNotNull(fk)}
              AND NOT EXISTS (SELECT 1 FROM public.${q(fk.parent)} p WHERE ${parentMatch(fk, 'p')}) ${notInInput(fk, parents, true)}`;
}

/**
 * The UPDATE of stored records by the strategy, or undefined when it changes nothing (`skip`, or no
 * column besides the key; `dtc_codes.id` is never updated).
 */
export function updateSql(strategy: ConflictStrategy, stage: Stage): string | undefined {
  const { table, relation, columns } = stage;
  const settable = columns.filter(
    (c) => !table.key.includes(c) && !(table.name === 'dtc_codes' && c === 'id'),
  );
  if (settable.length === 0 || strategy === 'skip') return undefined;
  let set = settable.map((c) => `${q(c)} = s.${q(c)}`).join(', ');
  let where: string;
  switch (strategy) {
    case 'overwrite':
      where = 'true';
      break;
    case 'merge':
      set = settable.map((c) => `${q(c)} = COALESCE(t.${q(c)}, s.${q(c)})`).join(', ');
      where = settable.map((c) => `(t.${q(c)} IS NULL AND s.${q(c)} IS NOT NULL)`).join(' OR ');
      break;
    case 'newest': {
      const ts = q(TIMESTAMP_FIELD);
      where =
        columns.includes(TIMESTAMP_FIELD) && table.columns.has(TIMESTAMP_FIELD)
          ? `s.${ts} IS NOT NULL AND (t.${ts} IS NULL OR s.${ts} > t.${ts})`
          : 'false';
      break;
    }
  }
  return `UPDATE public.${q(table.name)} t SET ${set} FROM ${relation} s WHERE s._exists AND NOT s._skipped AND ${keyMatch(table)} AND (${where})`;
}

/** Moves `sequence` past the largest `column` value stored or staged (never back). Parameter: the sequence. */
export function sequenceSql(stage: Stage, column: string, sequence: string): string {
  return `SELECT setval($1::regclass, m) FROM (
           SELECT GREATEST((SELECT max(${q(column)}) FROM public.${q(stage.table.name)}), (SELECT max(${q(column)}) FROM ${stage.relation})) AS m) x
          WHERE m IS NOT NULL AND m > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM ${sequence})`;
}

/**
 * Inserts the staged records that are new and not skipped, in input order. A `dtc_codes` id that is
 * missing or taken draws a new one from its sequence.
 */
export function insertSql(stage: Stage): string {
  const { table, relation, columns } = stage;
  const values = columns.map((c) => {
    if (table.name === 'dtc_codes' && c === 'id' && table.sequences.has('id'))
      return `CASE WHEN s.id IS NULL OR EXISTS (SELECT 1 FROM public.dtc_codes d WHERE d.id = s.id) THEN nextval('${table.sequences.get('id') ?? ''}'::regclass) ELSE s.id END`;
    return `s.${q(c)}`;
  });
  return `INSERT INTO public.${q(table.name)} (${columns.map(q).join(', ')})
       SELECT ${values.join(', ')} FROM ${relation} s WHERE NOT s._exists AND NOT s._skipped ORDER BY s._n`;
}
