import pg from 'pg';
import { AcxError, redactSecrets } from '../../errors.ts';
import type { PostgresSettings } from '../../config/env.ts';

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

/**
 * How long a new connection may take, TCP connect and startup answer together: a service that is not
 * PostgreSQL (or one that accepts and never answers) fails with CONNECTION instead of hanging.
 */
export const POSTGRES_CONNECT_TIMEOUT_MS = 15_000;

/** Opens a small pool and checks the credentials, turning failures into a CONNECTION error. */
export async function openPostgres(settings: PostgresSettings, max = 4): Promise<pg.Pool> {
  const pool = new pg.Pool({
    connectionString: settings.url,
    max,
    application_name: 'acx-data',
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    // A peer that vanishes without a FIN (a dropped NAT entry, a dead host) is noticed, not waited on.
    keepAlive: true,
  });
  pool.on('error', () => undefined); // idle-client errors surface on the next query instead
  try {
    const client = await pool.connect();
    client.release();
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw new AcxError(
      'CONNECTION',
      `cannot connect to PostgreSQL at ${redactSecrets(settings.url)}: ${redactSecrets(String((cause as Error).message))}`,
      {
        subject: 'postgres',
        cause,
        hint: 'check DATABASE_URL (is it a PostgreSQL server?) and that PostgreSQL is running',
      },
    );
  }
  return pool;
}

export async function postgresVersion(pool: pg.Pool | pg.ClientBase): Promise<string> {
  const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
  return rows[0]?.server_version ?? 'unknown';
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
