/** A PostgreSQL column description as the driver reads it from the catalog, for value-conversion tests. */
import type { PgColumn } from '../../src/stores/postgres/postgres-values.ts';

/** A nullable `text` column named `c`, with `over` changed. */
export function pgColumn(over: Partial<PgColumn> = {}): PgColumn {
  return {
    name: 'c',
    type: 'text',
    typname: 'text',
    category: 'S',
    notNull: false,
    hasDefault: false,
    ...over,
  };
}
