/**
 * Runs the real CLI with `--json-events` and kills it with SIGKILL — its whole process group, so a
 * `pg_dump` it started dies with it — at a chosen moment: after the n-th progress event that matches,
 * or after a delay. A run that ends first is reported as not killed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/acx-data.js', import.meta.url));

export interface ProgressEventLine {
  type: string;
  store?: string;
  dataset?: string;
  message?: string;
  done?: number;
  /** Milliseconds from the start of the process to this event's arrival (set by runAndKill). */
  atMs?: number;
}

export interface KillMoment {
  /** Kill after the n-th event (1-based) for which `match` holds… */
  match?: (event: ProgressEventLine) => boolean;
  nth?: number;
  /** …or after this many milliseconds (after the event, when both are given). */
  delayMs?: number;
  /** …or once this resolves true, polled every 50 ms (after the event, when both are given). */
  when?: () => Promise<boolean>;
}

export interface KilledRun {
  killed: boolean;
  /** The exit code of a run that ended before the kill. */
  code: number | null;
  events: ProgressEventLine[];
  stderr: string;
  /** Milliseconds from the start of the process to its end. */
  ms: number;
}

export function runAndKill(
  args: string[],
  moment: KillMoment,
  env: Record<string, string | undefined> = process.env,
): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, '--json-events', ...args], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    const events: ProgressEventLine[] = [];
    let stderr = '';
    let partial = '';
    let seen = 0;
    let killed = false;
    let armed = false;
    const kill = () => {
      if (killed || child.exitCode !== null || child.signalCode !== null) return;
      killed = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        killed = false; // it had already ended
      }
    };
    const arm = () => {
      if (armed) return;
      armed = true;
      if (moment.when) {
        const poll = async (): Promise<void> => {
          if (killed || child.exitCode !== null || child.signalCode !== null) return;
          if (await moment.when!().catch(() => false)) kill();
          else setTimeout(() => void poll(), 50);
        };
        void poll();
      } else if (moment.delayMs) setTimeout(kill, moment.delayMs);
      else kill();
    };
    if (!moment.match) arm();
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        let event: ProgressEventLine;
        try {
          event = JSON.parse(line) as ProgressEventLine;
        } catch {
          continue;
        }
        event.atMs = performance.now() - started;
        events.push(event);
        if (moment.match?.(event) && ++seen === (moment.nth ?? 1)) arm();
      }
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ killed, code: killed ? null : code, events, stderr, ms: performance.now() - started }),
    );
  });
}
