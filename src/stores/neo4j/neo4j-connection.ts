import neo4j, { type Driver } from 'neo4j-driver';
import { AcxError, redactSecrets } from '../../errors.ts';
import type { Neo4jSettings } from '../../config/env.ts';
import { probeBolt } from './neo4j-probe.ts';

export interface Neo4jConnection {
  driver: Driver;
  database: string | undefined;
}

/**
 * How long a new connection may take (TCP connect, Bolt handshake, the opening round trip): a service
 * that is not Neo4j fails with CONNECTION instead of hanging.
 */
export const NEO4J_CONNECT_TIMEOUT_MS = 15_000;

/**
 * Opens a driver and proves the credentials with a real round trip. A Bolt handshake of our own comes
 * first (neo4j-probe.ts): the driver's own handshake has no deadline, and a connection it is still
 * creating outlives `driver.close()`.
 */
export async function openNeo4j(settings: Neo4jSettings): Promise<Neo4jConnection> {
  let driver: Driver | undefined;
  try {
    await probeBolt(settings.uri, NEO4J_CONNECT_TIMEOUT_MS);
    driver = neo4j.driver(settings.uri, neo4j.auth.basic(settings.user, settings.password), {
      disableLosslessIntegers: false,
      maxConnectionPoolSize: 8,
      connectionTimeout: NEO4J_CONNECT_TIMEOUT_MS,
      connectionAcquisitionTimeout: 60_000,
    });
    // neo4j-driver 6 answers false (instead of throwing) when the credentials are refused.
    const verified = await answeredWithin(
      driver.verifyAuthentication({ database: settings.database }),
      NEO4J_CONNECT_TIMEOUT_MS,
    );
    if (!verified) {
      throw new Error(`authentication failed for user "${settings.user}"`);
    }
    return { driver, database: settings.database };
  } catch (cause) {
    await driver?.close().catch(() => undefined);
    const message = redactSecrets(String((cause as Error).message)).replace(
      settings.password || '\u0000',
      '***',
    );
    throw new AcxError(
      'CONNECTION',
      `cannot connect to Neo4j at ${redactSecrets(settings.uri)}: ${message}`,
      {
        subject: 'neo4j',
        cause,
        hint: 'check NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD and that Neo4j is running',
      },
    );
  }
}

/** Rejects when `promise` has not settled within `ms` (the timer never holds the process open). */
async function answeredWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Driver error codes of a connection that broke or a server that went away. */
const LOST_CODES = new Set(['ServiceUnavailable', 'SessionExpired', 'ECONNRESET', 'EPIPE', 'ECONNREFUSED']);

/** The driver's code of a fault (`ServiceUnavailable`, `Neo.TransientError.…`), else its message, for retry events. */
export const faultName = (error: unknown): string =>
  redactSecrets(String((error as { code?: unknown }).code || (error as Error).message || error));

/**
 * The store's error translator (stores/store-errors.ts): a lost connection (once the driver's managed
 * transactions gave up retrying it, or in a transaction that cannot be retried) is CONNECTION; a
 * server's refusal (a `Neo.*` status) is STORE. Both name Neo4j and what it was doing.
 */
export function neo4jError(error: unknown, during: string): AcxError | undefined {
  if (!(error instanceof Error) || error instanceof AcxError) return undefined;
  const code = String((error as { code?: unknown }).code ?? '');
  const message = redactSecrets(error.message);
  if (LOST_CODES.has(code) || /connection (was )?(closed|lost|reset)/i.test(error.message)) {
    return new AcxError('CONNECTION', `lost the connection to Neo4j during ${during}: ${message}`, {
      subject: 'neo4j',
      cause: error,
      hint: 'Neo4j or the network dropped the connection; its open transaction was rolled back — run the command again',
    });
  }
  if (code.startsWith('Neo.')) {
    return new AcxError('STORE', `Neo4j refused ${during}: ${message} (${code})`, {
      subject: 'neo4j',
      cause: error,
    });
  }
  return undefined;
}

export async function neo4jVersion(connection: Neo4jConnection): Promise<string> {
  const result = await connection.driver.executeQuery(
    'CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0] AS version, edition',
    {},
    { database: connection.database, routing: 'READ' },
  );
  const record = result.records[0];
  return record ? `${record.get('version')} ${record.get('edition')}` : 'unknown';
}

/** Backquotes a label, relationship type or property name for Cypher. */
export function cypherName(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** Groups rows by a key (label set, relationship type) so that each group is one UNWIND statement. */
export function groupBy<T>(rows: Array<{ key: string; row: T }>): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const { key, row } of rows) {
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}
