import { existsSync } from 'node:fs';
import { AcxError } from '../errors.ts';

/**
 * Loads `.env` from the working directory into process.env without overriding variables that are
 * already set (the shell wins, as in the guide's tools).
 */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

export interface PostgresSettings {
  url: string;
}

export interface Neo4jSettings {
  uri: string;
  user: string;
  password: string;
  /** Database name; Neo4j Community has one user database, `neo4j`. */
  database: string | undefined;
}

export interface QdrantSettings {
  url: string;
  apiKey: string | undefined;
}

export interface ConnectionSettings {
  postgres: PostgresSettings | undefined;
  neo4j: Neo4jSettings;
  qdrant: QdrantSettings;
}

type Env = Record<string, string | undefined>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Normalises the application's SQLAlchemy-style URLs (`postgresql+asyncpg://`) to libpq ones. */
export function normalisePostgresUrl(url: string): string {
  return url.replace(/^postgres(?:ql)?(?:\+\w+)?:\/\//, 'postgresql://');
}

export function readPostgresSettings(env: Env = process.env): PostgresSettings | undefined {
  const url = nonEmpty(env.DATABASE_URL);
  return url === undefined ? undefined : { url: normalisePostgresUrl(url) };
}

const POSTGRES_EXAMPLE = 'postgresql://user:password@host:5432/autocognitix';

/**
 * The settings to connect with: DATABASE_URL set and a PostgreSQL URL (a socket path `/dir db` as pg
 * takes it, too). A malformed value is a CONFIG error naming the variable, never its value (it holds
 * the password), raised before any connection attempt.
 */
export function requirePostgresSettings(env: Env = process.env): PostgresSettings {
  const settings = readPostgresSettings(env);
  if (!settings) {
    throw new AcxError('CONFIG', 'DATABASE_URL is not set', {
      subject: 'DATABASE_URL',
      hint: `export DATABASE_URL=${POSTGRES_EXAMPLE} (or put it in .env)`,
    });
  }
  if (!settings.url.startsWith('/'))
    checkUrl('DATABASE_URL', asPgParsesIt(settings.url), ['postgresql:', 'socket:'], POSTGRES_EXAMPLE);
  return settings;
}

/** The URL as `pg` parses it (pg-connection-string): spaces and stray '%' encoded, '@/' given a host. */
function asPgParsesIt(url: string): string {
  const encoded = / |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(url)
    ? encodeURI(url).replace(/%25(\d\d)/g, '%$1')
    : url;
  return encoded.replace('@/', '@localhost/');
}

/** Neo4j's URI schemes (the driver refuses others). */
const NEO4J_SCHEMES = ['bolt:', 'bolt+s:', 'bolt+ssc:', 'neo4j:', 'neo4j+s:', 'neo4j+ssc:'];

/** `readNeo4jSettings` with NEO4J_URI checked (CONFIG naming the variable), before any connection. */
export function requireNeo4jSettings(env: Env = process.env): Neo4jSettings {
  const settings = readNeo4jSettings(env);
  checkUrl('NEO4J_URI', settings.uri, NEO4J_SCHEMES, 'bolt://localhost:7687');
  return settings;
}

/** `readQdrantSettings` with QDRANT_URL (or QDRANT_HOST/QDRANT_PORT) checked, before any connection. */
export function requireQdrantSettings(env: Env = process.env): QdrantSettings {
  const settings = readQdrantSettings(env);
  const fromUrl = nonEmpty(env.QDRANT_URL) !== undefined;
  const port = nonEmpty(env.QDRANT_PORT);
  if (!fromUrl && port !== undefined && !/^\d{1,5}$/.test(port)) {
    throw new AcxError('CONFIG', 'QDRANT_PORT is not a port number', {
      subject: 'QDRANT_PORT',
      hint: 'set QDRANT_PORT to the REST port, e.g. 6333',
    });
  }
  const name = fromUrl ? 'QDRANT_URL' : 'QDRANT_HOST/QDRANT_PORT';
  checkUrl(name, settings.url, ['http:', 'https:'], 'http://localhost:6333');
  return settings;
}

/**
 * Refuses a value that is not a URL with a host (or a `socket:` path) in one of `schemes`. The message
 * names the variable and at most the scheme, never the value: it may hold a password.
 */
function checkUrl(variable: string, value: string, schemes: string[], example: string): void {
  const hint = `set ${variable} to a URL such as ${example}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AcxError('CONFIG', `${variable} is not a valid URL`, { subject: variable, hint });
  }
  if (!schemes.includes(url.protocol)) {
    const scheme = /^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) ? ` "${url.protocol}//"` : '';
    throw new AcxError(
      'CONFIG',
      `${variable} has an unsupported scheme${scheme}: expected ${schemes.map((s) => `${s}//`).join(', ')}`,
      { subject: variable, hint },
    );
  }
  // "postgresql:///db?host=/run/postgresql" names its host in the query; sockets have a path.
  if (url.hostname === '' && url.protocol !== 'socket:' && !url.searchParams.has('host'))
    throw new AcxError('CONFIG', `${variable} names no host`, { subject: variable, hint });
  if (url.port !== '' && Number(url.port) === 0)
    throw new AcxError('CONFIG', `${variable} names port 0`, { subject: variable, hint });
}

export function readNeo4jSettings(env: Env = process.env): Neo4jSettings {
  return {
    uri: nonEmpty(env.NEO4J_URI) ?? 'bolt://localhost:7687',
    user: nonEmpty(env.NEO4J_USER) ?? 'neo4j',
    password: env.NEO4J_PASSWORD ?? '',
    database: nonEmpty(env.NEO4J_DATABASE),
  };
}

/** `QDRANT_URL` (+ `QDRANT_API_KEY`) wins when non-empty; otherwise `QDRANT_HOST`/`QDRANT_PORT` (REST). */
export function readQdrantSettings(env: Env = process.env): QdrantSettings {
  const url = nonEmpty(env.QDRANT_URL);
  if (url !== undefined) return { url: url.replace(/\/+$/, ''), apiKey: nonEmpty(env.QDRANT_API_KEY) };
  const host = nonEmpty(env.QDRANT_HOST) ?? 'localhost';
  const port = nonEmpty(env.QDRANT_PORT) ?? '6333';
  return { url: `http://${host}:${port}`, apiKey: nonEmpty(env.QDRANT_API_KEY) };
}

export function readConnectionSettings(env: Env = process.env): ConnectionSettings {
  return {
    postgres: readPostgresSettings(env),
    neo4j: readNeo4jSettings(env),
    qdrant: readQdrantSettings(env),
  };
}
