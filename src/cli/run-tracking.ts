/**
 * The run record of one invocation (docs/design.md §13.1), kept by the entry point: which command
 * ran and in which mode (learnt in commander's `preAction` hook), the redacted command line, times,
 * the exit code, the error and the printed result document.
 */
import { CommanderError, type Command } from 'commander';
import { AcxError, redactSecrets } from '../errors.ts';
import type { RunError, RunRecord } from '../operations/after-run/run-record.ts';
import { redactChannelFlags } from './after-run-options.ts';

export interface ActionSeen {
  command: string;
  mode: string;
  snapshot?: string;
}

/** `backup`'s mode from its flags, in the command's own order of precedence. */
function backupMode(opts: Record<string, unknown>): string {
  if (opts.restore !== undefined) return 'restore';
  if (opts.verify !== undefined) return 'verify';
  if (opts.list === true || opts.listCloud !== undefined) return 'list';
  if (opts.cleanup === true) return 'cleanup';
  if (opts.download !== undefined) return 'download';
  if (opts.snapshot !== undefined) return 'upload';
  return 'backup';
}

/** The command path, its mode and the snapshot its flags name. */
export function actionOf(action: Command): ActionSeen {
  const names: string[] = [];
  for (let c: Command | null = action; c?.parent; c = c.parent) names.unshift(c.name());
  const opts = action.opts<Record<string, unknown>>();
  const command = names.join(' ');
  let mode = names[names.length - 1] ?? command;
  if (command === 'backup') mode = backupMode(opts);
  else if (command === 'sync') mode = opts.verify === true ? 'verify' : 'sync';
  const named = [opts.verify, opts.restore, opts.snapshot, opts.download].find((v) => typeof v === 'string');
  return { command, mode, ...(typeof named === 'string' ? { snapshot: named } : {}) };
}

/** Records the action command of `program` once commander has parsed its flags. */
export function watchAction(program: Command): () => ActionSeen | undefined {
  let seen: ActionSeen | undefined;
  program.hook('preAction', (_program, action) => {
    seen = actionOf(action);
  });
  return () => seen;
}

export function runErrorOf(error: unknown): RunError | undefined {
  if (error === undefined) return undefined;
  if (error instanceof AcxError)
    return {
      code: error.code,
      message: redactSecrets(error.message),
      ...(error.hint ? { hint: redactSecrets(error.hint) } : {}),
      ...(error.subject ? { subject: redactSecrets(error.subject) } : {}),
    };
  if (error instanceof CommanderError)
    return {
      code: 'USAGE',
      message: redactSecrets(error.message.replace(/^error: /, '')),
      hint: 'see acx-data --help',
    };
  return { code: 'INTERNAL', message: redactSecrets(error instanceof Error ? error.message : String(error)) };
}

/** The record of a run that has ended. */
export function runRecordOf(run: {
  seen: ActionSeen | undefined;
  argv: readonly string[];
  startedAt: Date;
  exitCode: number;
  error: unknown;
  result: unknown;
}): RunRecord {
  const command = run.seen?.command ?? run.argv.find((a) => !a.startsWith('-')) ?? '';
  const error = runErrorOf(run.error);
  return {
    command,
    mode: run.seen?.mode ?? command,
    argv: redactChannelFlags(run.argv).map(redactSecrets),
    startedAt: run.startedAt,
    endedAt: new Date(),
    exitCode: run.exitCode,
    ...(error ? { error } : {}),
    ...(run.result !== undefined ? { result: run.result } : {}),
    ...(run.seen?.snapshot !== undefined ? { snapshot: run.seen.snapshot } : {}),
  };
}
