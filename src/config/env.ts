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

export function requirePostgresSettings(env: Env = process.env): PostgresSettings {
  const settings = readPostgresSettings(env);
  if (!settings) {
    throw new AcxError('CONFIG', 'DATABASE_URL is not set', {
      subject: 'DATABASE_URL',
      hint: 'export DATABASE_URL=postgresql://user:password@host:5432/autocognitix (or put it in .env)',
    });
  }
  return settings;
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
