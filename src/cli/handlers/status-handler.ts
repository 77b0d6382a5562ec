/**
 * `acx-data status`: opens the repository read-only, runs the checks and prints the one line (or the
 * document with --format json); the exit code is the state's Nagios code, set without an error.
 */
import { checkStatus, type StatusState } from '../../operations/status.ts';
import { printableLocation } from '../../storage/registry.ts';
import type { StatusRun } from '../commands/status-command.ts';
import { printResult, setCommandExitCode } from '../output/global-options.ts';
import { openIfAny } from './backup/open-repository.ts';

/** Nagios/Icinga plugin exit codes. */
const NAGIOS_EXIT: Record<StatusState, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

export async function handleStatus(run: StatusRun): Promise<void> {
  const summary = await checkStatus({
    location: printableLocation(run.backupDir),
    // A location that holds nothing holds no backup (CRITICAL), like backup --list's empty list.
    openRepository: () => openIfAny(run.backupDir, {}),
    maxAgeMs: run.maxAgeMs,
    ...(run.maxSizeBytes !== undefined ? { maxSizeBytes: run.maxSizeBytes } : {}),
    ...(run.syncReport !== undefined ? { syncReport: run.syncReport } : {}),
  });
  printResult(run.global, summary, summary.perfdata ? `${summary.line} | ${summary.perfdata}` : summary.line);
  setCommandExitCode(NAGIOS_EXIT[summary.state]);
}
