/**
 * Scratch databases for restore drills (design §13.7): `CREATE DATABASE acx_drill_<random>` on the server
 * of DATABASE_URL, a connection URL for it, and `DROP DATABASE … WITH (FORCE)` (PostgreSQL 13+: ends the
 * drill's own sessions, if any are left). Nothing here touches the database DATABASE_URL names.
 */
import type { PostgresSettings } from '../../config/env.ts';
import { AcxError } from '../../errors.ts';
import { openPostgres, postgresError, quoteIdent } from './postgres-connection.ts';

/** Only names the drill made may be dropped: a typo must never drop a real database. */
export const SCRATCH_DATABASE = /^acx_drill_[0-9a-f]{8,32}$/;

export interface PostgresScratch {
  /** The scratch database's name. */
  name: string;
  /** Settings that connect to it (the same server, user and options). */
  settings: PostgresSettings;
  /** Printable: `postgresql://host:port/acx_drill_…`, no user or password. */
  printable: string;
  /** Drops it (idempotent). */
  drop(): Promise<void>;
}

/** `url` with its database replaced by `name`; undefined for a socket path (`/dir db`), which has no URL. */
function urlFor(url: string, name: string): URL | undefined {
  if (url.startsWith('/')) return undefined;
  try {
    const parsed = new URL(url);
    parsed.pathname = `/${name}`;
    return parsed;
  } catch {
    return undefined;
  }
}

async function run(settings: PostgresSettings, sql: string, during: string): Promise<void> {
  const pool = await openPostgres(settings, 1);
  try {
    await pool.query(sql);
  } catch (error) {
    throw postgresError(error, during) ?? error;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** Creates database `name` on the server of `settings`. */
export async function createPostgresScratch(
  settings: PostgresSettings,
  name: string,
): Promise<PostgresScratch> {
  if (!SCRATCH_DATABASE.test(name))
    throw new AcxError('INTERNAL', `${name} is not a restore drill's database name`);
  const url = urlFor(settings.url, name);
  if (!url)
    throw new AcxError(
      'CONFIG',
      'a restore drill needs DATABASE_URL as a URL (postgresql://…), not a socket path',
      {
        subject: 'DATABASE_URL',
        hint: 'use postgresql://user@/db?host=/run/postgresql for a socket',
      },
    );
  await run(settings, `CREATE DATABASE ${quoteIdent(name)}`, `creating the drill database ${name}`);
  let dropped = false;
  return {
    name,
    settings: { url: url.toString() },
    printable: `${url.protocol}//${url.host}/${name}`,
    drop: async () => {
      if (dropped) return;
      await run(
        settings,
        `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`,
        `dropping the drill database ${name}`,
      );
      dropped = true;
    },
  };
}
