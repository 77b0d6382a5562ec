/**
 * Renders core progress events: progress bars on a terminal, plain lines otherwise, JSON lines with
 * `--json-events`. Everything goes to stderr so stdout carries only results.
 */
import cliProgress from 'cli-progress';
import type { ProgressEvent, ProgressReporter, ProgressSource } from '../../progress.ts';

export interface ReporterOptions {
  jsonEvents: boolean;
  verbose: boolean;
  quiet: boolean;
}

export interface ClosableReporter extends ProgressReporter {
  close(): void;
}

/** `[postgres] pg_dtc_codes.csv:12 code: code "p0100" must be upper case` */
export function rejectedLine(event: Extract<ProgressEvent, { type: 'rejected' }>): string {
  return `[${event.store}] invalid: ${event.file}:${event.line}${event.field ? ` ${event.field}` : ''}: ${event.reason}`;
}

function jsonReporter(): ClosableReporter {
  return {
    emit: (event) =>
      process.stderr.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n'),
    close: () => undefined,
  };
}

function lineReporter(verbose: boolean): ClosableReporter {
  const say = (text: string) => process.stderr.write(`${text}\n`);
  return {
    emit(event: ProgressEvent) {
      if (event.type === 'phase') say(`[${event.store ?? 'acx-data'}] ${event.message}`);
      else if (event.type === 'warning') say(`[${event.store ?? 'acx-data'}] warning: ${event.message}`);
      else if (event.type === 'retry') say(`[${event.store ?? 'acx-data'}] ${event.message}`);
      else if (event.type === 'rejected') say(rejectedLine(event));
      else if (event.type === 'dataset-done')
        say(`[${event.store}] ${event.dataset}: ${event.records} records in ${event.seconds.toFixed(1)} s`);
      else if (verbose && event.type === 'dataset-progress')
        say(`[${event.store}] ${event.dataset}: ${event.done}/${event.total ?? '?'}`);
    },
    close: () => undefined,
  };
}

function barReporter(): ClosableReporter {
  const multi = new cliProgress.MultiBar(
    {
      format: ' {store} |{bar}| {percentage}% {value}/{total} {dataset}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<ProgressSource, cliProgress.SingleBar>();
  const bar = (store: ProgressSource) => {
    let b = bars.get(store);
    if (!b) {
      b = multi.create(1, 0, { store: store.padEnd(8), dataset: '' });
      bars.set(store, b);
    }
    return b;
  };
  return {
    emit(event) {
      if (event.type === 'dataset-start')
        bar(event.store).start(event.total ?? 1, 0, { store: event.store.padEnd(8), dataset: event.dataset });
      else if (event.type === 'dataset-progress')
        bar(event.store).update(event.done, { dataset: event.dataset });
      else if (event.type === 'dataset-done')
        bar(event.store).update(bar(event.store).getTotal(), { dataset: `${event.dataset} ✓` });
      else if (event.type === 'warning')
        multi.log(`[${event.store ?? 'acx-data'}] warning: ${event.message}\n`);
      else if (event.type === 'rejected') multi.log(`${rejectedLine(event)}\n`);
      else if (event.type === 'retry') multi.log(`[${event.store ?? 'acx-data'}] ${event.message}\n`);
    },
    close: () => multi.stop(),
  };
}

export function createReporter(options: ReporterOptions): ClosableReporter {
  if (options.jsonEvents) return jsonReporter();
  if (options.quiet) return { emit: () => undefined, close: () => undefined };
  return process.stderr.isTTY && !options.verbose ? barReporter() : lineReporter(options.verbose);
}
