/** Writes generated rows (`acx-data seed`) with COPY, one transaction per table. */
import type pg from 'pg';
import type { SeedSource } from '../../model/seed-source.ts';
import type { ProgressReporter } from '../../progress.ts';
import { copyRowsIn } from './postgres-copy.ts';
import { applyPostgresSchema, jsonColumnsOf, resetOwnedSequences } from './postgres-schema.ts';

const PROGRESS_EVERY = 20_000;

export async function seedPostgres(
  pool: pg.Pool,
  source: SeedSource,
  reporter: ProgressReporter,
): Promise<void> {
  reporter.emit({ type: 'phase', store: 'postgres', message: 'creating schema' });
  await applyPostgresSchema(pool);
  const client = await pool.connect();
  try {
    for (const table of source.tables) {
      const { total } = table;
      const start = performance.now();
      reporter.emit({ type: 'dataset-start', store: 'postgres', dataset: table.table, total });
      const jsonColumns = await jsonColumnsOf(pool, table.table);
      function* rows(): Generator<unknown[]> {
        for (let i = 0; i < total; i++) {
          yield table.row(i);
          if (i % PROGRESS_EVERY === PROGRESS_EVERY - 1)
            reporter.emit({
              type: 'dataset-progress',
              store: 'postgres',
              dataset: table.table,
              done: i + 1,
              total,
            });
        }
      }
      await client.query('BEGIN');
      const written = await copyRowsIn(
        client,
        { table: table.table, columns: table.columns, jsonColumns },
        rows(),
      );
      await client.query('COMMIT');
      reporter.emit({
        type: 'dataset-done',
        store: 'postgres',
        dataset: table.table,
        records: written,
        seconds: (performance.now() - start) / 1000,
      });
    }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  await resetOwnedSequences(pool);
  await pool.query('ANALYZE');
}
