/**
 * A malformed connection setting is the operator's mistake: CONFIG (exit 2) naming the variable, never
 * its value (it may hold a password), before any connection is tried. The other variables point at
 * ports nobody listens on, so a run that tried to connect first would end with CONNECTION (exit 4).
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

const UNREACHABLE = {
  DATABASE_URL: 'postgresql://acx:secretpw@127.0.0.1:1/none',
  NEO4J_URI: 'bolt://127.0.0.1:1',
  NEO4J_PASSWORD: 'secretpw',
  QDRANT_URL: 'http://127.0.0.1:1',
  QDRANT_API_KEY: 'secretpw',
};

const CASES: Array<[variable: string, value: string, env?: Record<string, string>]> = [
  ['DATABASE_URL', 'not a url secretpw'],
  ['DATABASE_URL', 'mysql://acx:secretpw@127.0.0.1/db'],
  ['DATABASE_URL', 'postgresql//acx:secretpw@127.0.0.1/db'],
  ['NEO4J_URI', 'bolt//127.0.0.1:7687'],
  ['NEO4J_URI', 'http://127.0.0.1:7474'],
  ['QDRANT_URL', 'http://[::1'],
  ['QDRANT_URL', 'ftp://127.0.0.1:6333'],
  ['QDRANT_PORT', 'sixty', { QDRANT_URL: '', QDRANT_HOST: '127.0.0.1' }],
];

describe('malformed connection settings', () => {
  it.each(CASES)('%s=%s is a CONFIG error naming the variable (exit 2)', async (variable, value, extra) => {
    const env = { ...process.env, ...UNREACHABLE, [variable]: value, ...extra };
    const result = await runCli(['seed', '--scale', '0.01'], env);
    expect(result.stderr).toMatch(new RegExp(`^acx-data: CONFIG \\[${variable}`, 'm'));
    expect(result.stderr).toMatch(/hint: set /);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).not.toContain('secretpw');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('accepts the forms the application uses', async () => {
    // SQLAlchemy's scheme, a socket in the query, neo4j+s: all pass the check and fail only to connect.
    const env = {
      ...process.env,
      ...UNREACHABLE,
      DATABASE_URL: 'postgresql+asyncpg://acx:secretpw@127.0.0.1:1/none',
    };
    const result = await runCli(['seed', '--scale', '0.01'], env);
    expect(result.code, result.stderr).toBe(4);
  });
});
