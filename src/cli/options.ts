/** Options several commands take, defined once so their names, help and checks agree. */
import { InvalidArgumentError, Option } from 'commander';
import ms from 'ms';
import { LABEL_SCHEMES } from '../model/labels.ts';

/** `--label-scheme production|legacy` (default production); commander refuses other values. */
export function labelSchemeOption(): Option {
  return new Option('--label-scheme <scheme>', 'Neo4j labels: production (DTC, …) or legacy (DTCNode, …)')
    .choices(LABEL_SCHEMES)
    .default('production');
}

/**
 * `--lock-wait DURATION` (design §13.6): how long a run waits for a lock a live process holds, in
 * milliseconds. A duration with its unit as the `ms` package reads it (`90s`, `15m`, `2h`); a bare
 * number is refused, since seconds and milliseconds are both plausible readings of it.
 */
export function parseLockWait(value: string): number {
  const trimmed = value.trim();
  let parsed: number | undefined;
  try {
    parsed = /^\d+(\.\d+)?$/.test(trimmed) ? undefined : ms(trimmed as ms.StringValue);
  } catch {
    parsed = undefined; // ms throws on an empty string
  }
  if (parsed === undefined || !Number.isFinite(parsed) || parsed < 0)
    throw new InvalidArgumentError(`"${value}" is not a duration with a unit, e.g. 90s, 15m or 2h.`);
  return parsed;
}

export const LOCK_WAIT_HELP =
  'when another run holds the lock, wait for it up to DURATION (90s, 15m, 2h) instead of exiting 8 (LOCKED) at once';

export function lockWaitOption(): Option {
  return new Option('--lock-wait <duration>', LOCK_WAIT_HELP).argParser(parseLockWait);
}
