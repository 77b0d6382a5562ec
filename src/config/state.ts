/**
 * Where acx-data keeps what must outlive a killed run (the run journals of restores and imports and the
 * Qdrant import's undo file; docs/decisions/0009-run-journals.md), and how a run names the databases it
 * writes into without naming a secret.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readConnectionSettings } from './env.ts';

type Env = Record<string, string | undefined>;

/** `ACX_STATE_DIR`, else `$XDG_STATE_HOME/acx-data`, else `~/.local/state/acx-data`. */
export function readStateDir(env: Env = process.env): string {
  const explicit = env.ACX_STATE_DIR?.trim();
  if (explicit) return explicit;
  const xdg = env.XDG_STATE_HOME?.trim();
  return join(xdg ? xdg : join(homedir(), '.local', 'state'), 'acx-data');
}

/** A URL without user, password, query or fragment: `scheme://host:port/path`. */
function withoutSecrets(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    // Not a URL: keep only what cannot be a credential (no '@' part).
    return url.replace(/^.*@/, '').replace(/[?#].*$/, '');
  }
}

/**
 * The databases the connection settings point at, one line each, never a credential:
 * `postgresql://host:port/db`, `bolt://host:port` plus the Neo4j database, the Qdrant URL.
 */
export function databaseIdentity(env: Env = process.env): Record<'postgres' | 'neo4j' | 'qdrant', string> {
  const settings = readConnectionSettings(env);
  return {
    postgres: settings.postgres ? withoutSecrets(settings.postgres.url) : '(DATABASE_URL not set)',
    neo4j: `${withoutSecrets(settings.neo4j.uri)}#${settings.neo4j.database ?? 'default'}`,
    qdrant: withoutSecrets(settings.qdrant.url),
  };
}

/** The lock of sync runs that write, in the state directory (design §13.6). */
export const SYNC_LOCK_FILE = 'sync.lock';
