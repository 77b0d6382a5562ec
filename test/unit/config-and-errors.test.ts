import { describe, expect, it } from 'vitest';
import {
  readNeo4jSettings,
  readPostgresSettings,
  readQdrantSettings,
  requirePostgresSettings,
} from '../../src/config/env.ts';
import { AcxError, ERROR_CATALOG, EXIT_CODES, exitCodeOf, redactSecrets } from '../../src/errors.ts';

describe('connection settings from the guide environment variables', () => {
  it('normalises SQLAlchemy-style DATABASE_URL to libpq form', () => {
    expect(readPostgresSettings({ DATABASE_URL: 'postgresql+asyncpg://u:p@h:5432/db' })?.url).toBe(
      'postgresql://u:p@h:5432/db',
    );
    expect(readPostgresSettings({ DATABASE_URL: 'postgres://u@h/db' })?.url).toBe('postgresql://u@h/db');
    expect(readPostgresSettings({})).toBeUndefined();
  });

  it('names DATABASE_URL and gives a hint when it is missing', () => {
    const error = (() => {
      try {
        requirePostgresSettings({ DATABASE_URL: '  ' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AcxError);
    expect((error as AcxError).code).toBe('CONFIG');
    expect((error as AcxError).message).toContain('DATABASE_URL');
    expect((error as AcxError).hint).toBeTruthy();
  });

  it('defaults Neo4j like the original tools', () => {
    expect(readNeo4jSettings({})).toMatchObject({
      uri: 'bolt://localhost:7687',
      user: 'neo4j',
      password: '',
    });
    expect(
      readNeo4jSettings({ NEO4J_URI: 'neo4j://x:1', NEO4J_USER: 'a', NEO4J_PASSWORD: 'b' }),
    ).toMatchObject({
      uri: 'neo4j://x:1',
      user: 'a',
      password: 'b',
    });
  });

  it('prefers QDRANT_URL over QDRANT_HOST/PORT and keeps the API key', () => {
    expect(
      readQdrantSettings({
        QDRANT_URL: 'https://q.example:6333/',
        QDRANT_API_KEY: 'k',
        QDRANT_HOST: 'ignored',
      }),
    ).toEqual({
      url: 'https://q.example:6333',
      apiKey: 'k',
    });
    expect(readQdrantSettings({ QDRANT_HOST: 'qd', QDRANT_PORT: '7000' })).toEqual({
      url: 'http://qd:7000',
      apiKey: undefined,
    });
    expect(readQdrantSettings({})).toEqual({ url: 'http://localhost:6333', apiKey: undefined });
  });
});

describe('error catalog', () => {
  it('maps every catalogued code to a documented exit code', () => {
    const exitCodes = new Set<number>(Object.values(EXIT_CODES));
    for (const code of Object.keys(ERROR_CATALOG) as Array<keyof typeof ERROR_CATALOG>) {
      expect(exitCodes.has(new AcxError(code, 'x').exitCode), code).toBe(true);
    }
    expect(exitCodeOf(new AcxError('NOT_EMPTY', 'x'))).toBe(EXIT_CODES.refused);
    expect(exitCodeOf(new AcxError('INCOMPLETE', 'x'))).toBe(EXIT_CODES.incomplete);
    expect(exitCodeOf(new Error('plain'))).toBe(EXIT_CODES.failure);
  });

  it('redacts passwords in URLs and key=value secrets', () => {
    const text = redactSecrets(
      'cannot reach postgresql://acx:s3cr3t@db:5432/x; password=hunter2 api-key: abc123 token="t0k"',
    );
    expect(text).not.toMatch(/s3cr3t|hunter2|abc123|t0k/);
    expect(text).toContain('postgresql://acx:***@db:5432/x');
  });
});
