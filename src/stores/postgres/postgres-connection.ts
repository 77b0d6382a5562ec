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
  // A connection that dies emits 'error' on its client: in the pool (idle) or checked out between two
  // queries. Without a listener that is an unhandled 'error' event that ends the process with a stack
  // trace; with one, the client is marked broken and the next query on it fails, which the store turns
  // into CONNECTION (postgresError).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
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

/** Messages and codes of a connection that broke (pg's own, the socket's, the server's shutdowns). */
const LOST_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout expired',
  'Query read timeout',
];
const LOST_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03']);

export function isLostPostgresConnection(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (LOST_CODES.has(code) || SHUTDOWN_STATES.has(code) || code.startsWith('08'))
  )
    return true;
  return LOST_MESSAGES.some((m) => error.message.startsWith(m));
}

/**
 * The store's error translator (stores/store-errors.ts): a lost connection is CONNECTION, a server's
 * refusal (an error with an SQLSTATE) is STORE; both name PostgreSQL and what it was doing.
 */
export function postgresError(error: unknown, during: string): AcxError | undefined {
  if (!(error instanceof Error) || error instanceof AcxError) return undefined;
  const message = redactSecrets(error.message);
  if (isLostPostgresConnection(error)) {
    return new AcxError('CONNECTION', `lost the connection to PostgreSQL during ${during}: ${message}`, {
      subject: 'postgres',
      cause: error,
      hint: 'PostgreSQL or the network dropped the connection; what was not committed was rolled back by the server — run the command again',
    });
  }
  const sqlState = (error as { code?: unknown }).code;
  if (typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState)) {
    return new AcxError('STORE', `PostgreSQL refused ${during}: ${message} (SQLSTATE ${sqlState})`, {
      subject: 'postgres',
      cause: error,
    });
  }
  return undefined;
}

export async function postgresVersion(pool: pg.Pool | pg.ClientBase): Promise<string> {
  const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
  return rows[0]?.server_version ?? 'unknown';
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
