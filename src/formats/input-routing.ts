/**
 * What the tabular import readers (CSV directories, SQLite files) share: where a dataset named by the
 * export's conventions goes, the order datasets are read in, and how a record's values are set.
 */
import type { InputRecord, InputTarget } from '../model/input.ts';

/** The original tool's one dataset of every relationship (`start_label, start_id, rel_type, rel_props, …`). */
export const LEGACY_RELATIONSHIPS = 'neo4j_relationships';

export interface Route {
  target: InputTarget;
  /** For node datasets: the label. */
  label?: string;
  /** The original tool's relationship dataset. */
  legacy?: boolean;
}

/** `neo4j_rel_<TYPE>` → relationships, `neo4j_<Label>` → nodes, the original's relationships; else undefined. */
export function routeNeo4jName(name: string): Route | undefined {
  let match: RegExpExecArray | null;
  if (name === LEGACY_RELATIONSHIPS)
    return { target: { store: 'neo4j', kind: 'relationships', type: null }, legacy: true };
  if ((match = /^neo4j_rel_(.+)$/.exec(name)))
    return { target: { store: 'neo4j', kind: 'relationships', type: match[1]! } };
  if ((match = /^neo4j_(.+)$/.exec(name)))
    return { target: { store: 'neo4j', kind: 'nodes', label: match[1]! }, label: match[1]! };
  return undefined;
}

/** PostgreSQL tables, then nodes, then relationships (the original's one relationship dataset last). */
export function routeRank(route: Route): number {
  const target = route.target;
  if (target.store === 'postgres') return 0;
  if (target.store === 'neo4j' && target.kind === 'nodes') return 1;
  return route.legacy ? 3 : 2;
}

/** Sets a record value; a field named `__proto__` becomes an own property, not the object's prototype. */
export function setValue(values: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__')
    Object.defineProperty(values, name, { value, enumerable: true, writable: true, configurable: true });
  else values[name] = value;
}

/**
 * Sets a column's converted value; a `spread` column (the original's `rel_props` JSON) sets each of its
 * properties instead, and one that repeats a column (`names`) or an earlier value is a problem.
 */
export function setColumnValue(
  values: Record<string, unknown>,
  names: ReadonlySet<string>,
  column: { name: string; spread?: boolean },
  value: unknown,
  problems: NonNullable<InputRecord['problems']>,
): void {
  if (!column.spread) {
    setValue(values, column.name, value);
    return;
  }
  for (const [key, property] of Object.entries((value as Record<string, unknown> | null) ?? {})) {
    if (names.has(key) || Object.hasOwn(values, key))
      problems.push({ field: column.name, reason: `property ${key} repeats a column` });
    else setValue(values, key, property);
  }
}
