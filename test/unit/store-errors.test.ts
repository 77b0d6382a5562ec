/**
 * A driver's error leaves a store as a catalogued one (src/stores/store-errors.ts): a lost PostgreSQL
 * or Neo4j connection is CONNECTION naming the store and what it was doing, with a hint; a server's
 * refusal is STORE; a store's own STORE error that only wraps a lost connection takes CONNECTION;
 * anything else passes unchanged. The errors are the drivers' own (pg's messages, neo4j-driver's
 * Neo4jError), not look-alikes of our interfaces.
 */
import { describe, expect, it } from 'vitest';
import { Neo4jError } from 'neo4j-driver';
import { AcxError } from '../../src/errors.ts';
import { guarded, guardedExportView, guardedMethods } from '../../src/stores/store-errors.ts';
import { postgresError } from '../../src/stores/postgres/postgres-connection.ts';
import { neo4jError } from '../../src/stores/neo4j/neo4j-connection.ts';

const failWith = (error: unknown) => () => Promise.reject(error);
const pgServerError = (message: string, code: string) =>
  Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('PostgreSQL errors at the store boundary', () => {
  it.each([
    new Error('Connection terminated unexpectedly'),
    new Error('Client has encountered a connection error and is not queryable'),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    pgServerError('terminating connection due to administrator command', '57P01'),
  ])('a lost connection (%s) is CONNECTION with a hint', async (cause) => {
    const error = await guarded(postgresError, 'the backup', failWith(cause)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcxError);
    expect(error).toMatchObject({ code: 'CONNECTION', subject: 'postgres' });
    expect((error as AcxError).message).toMatch(/^lost the connection to PostgreSQL during the backup: /);
    expect((error as AcxError).hint).toMatch(/run the command again/);
  });

  it('a refusal with an SQLSTATE is STORE', async () => {
    const error = await guarded(
      postgresError,
      'the restore',
      failWith(pgServerError('permission denied for schema public', '42501')),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE', subject: 'postgres' });
    expect((error as AcxError).message).toMatch(/SQLSTATE 42501/);
  });

  it("a store's STORE error over a lost connection becomes CONNECTION, keeping its message", async () => {
    const own = new AcxError('STORE', 'cannot read table dtc_codes: Connection terminated unexpectedly', {
      subject: 'dtc_codes',
      cause: new Error('Connection terminated unexpectedly'),
    });
    const error = await guarded(postgresError, 'the backup', failWith(own)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONNECTION', subject: 'dtc_codes', message: own.message });
  });

  it('other errors pass unchanged, through the methods of handed-out sessions too', async () => {
    const bug = new TypeError('x is undefined');
    const session = guardedMethods(postgresError, 'the import', {
      write: failWith(bug),
      commit: failWith(new Error('Connection terminated')),
      sync: () => 42,
    });
    await expect(session.write()).rejects.toBe(bug);
    await expect(session.commit()).rejects.toMatchObject({ code: 'CONNECTION' });
    expect(session.sync()).toBe(42);
  });
});

describe('export views', () => {
  it('a cursor that loses its connection mid-dataset is CONNECTION naming the dataset', async () => {
    const view = guardedExportView(postgresError, {
      serverVersion: async () => '17',
      tabular: async () => [
        {
          name: 'pg_dtc_codes',
          kind: 'table' as const,
          fields: [],
          async *records() {
            yield { code: 'P0001' };
            throw new Error('Connection terminated unexpectedly');
          },
        },
      ],
      close: async () => undefined,
    });
    const [dataset] = await view.tabular();
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const record of dataset!.records()) seen.push(record);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([{ code: 'P0001' }]);
    expect(error).toMatchObject({ code: 'CONNECTION', subject: 'postgres' });
    expect((error as AcxError).message).toMatch(/during the export of pg_dtc_codes/);
  });
});

describe('Neo4j errors at the store boundary', () => {
  it.each([
    new Neo4jError('Connection was closed by server', 'ServiceUnavailable', 'N/A', 'N/A'),
    new Neo4jError('Session expired', 'SessionExpired', 'N/A', 'N/A'),
  ])('a lost connection (%s) is CONNECTION', async (cause) => {
    const error = await guarded(neo4jError, 'the restore', failWith(cause)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONNECTION', subject: 'neo4j' });
    expect((error as AcxError).hint).toMatch(/rolled back/);
  });

  it('a server status is STORE', async () => {
    const cause = new Neo4jError('Invalid input', 'Neo.ClientError.Statement.SyntaxError', 'N/A', 'N/A');
    const error = await guarded(neo4jError, 'the import', failWith(cause)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE', subject: 'neo4j' });
  });
});
