/**
 * Ctrl-C: the first SIGINT aborts the running operation through its AbortSignal, so it can stop
 * cleanly (no half-written snapshot becomes visible, a restore rolls back); a second one exits at once.
 */
import { AcxError } from '../errors.ts';

export interface Interrupt {
  signal: AbortSignal;
  /** Turns the error of an aborted operation into INTERRUPTED (exit 130) with what was left behind. */
  explain(error: unknown, outcome: string): unknown;
  dispose(): void;
}

export function onInterrupt(): Interrupt {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nacx-data: interrupting, cleaning up (press Ctrl-C again to stop at once)\n');
    controller.abort();
  };
  process.on('SIGINT', handler);
  return {
    signal: controller.signal,
    explain: (error, outcome) =>
      controller.signal.aborted && !(error instanceof AcxError && error.code === 'INTERRUPTED')
        ? new AcxError('INTERRUPTED', `interrupted: ${outcome}`, { cause: error })
        : error,
    dispose: () => process.off('SIGINT', handler),
  };
}
