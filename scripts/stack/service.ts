import { existsSync, readFileSync } from 'node:fs';

/**
 * One service of the local stack (PostgreSQL, Neo4j, the Qdrant double). The orchestrator
 * (`stack.ts`) calls these in order; every method is idempotent.
 */
export interface StackContext {
  /** Absolute path of the repository root. */
  root: string;
  /** Absolute path of this service's own state folder, `.stack/<name>/` (created by the orchestrator). */
  stateDir: string;
  /** Progress lines for the person running `npm run stack:up`. */
  log: (message: string) => void;
}

export interface StackStatus {
  running: boolean;
  /** One line: address, version, pid or why it is down. */
  detail: string;
}

export interface StackService {
  name: string;
  /** Installs what is missing (if it can), initialises state on first use and starts the service; returns when it accepts connections. A running service is left alone. */
  start(ctx: StackContext): Promise<void>;
  /** Stops the service if running; keeps its data. */
  stop(ctx: StackContext): Promise<void>;
  status(ctx: StackContext): Promise<StackStatus>;
  /** Environment variables (the guide's names) pointing at this service. */
  env(ctx: StackContext): Record<string, string>;
}

/** The id of the live process a pid file names; undefined when the file is missing, not a pid, or the process is gone. */
export function readPidFile(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}
