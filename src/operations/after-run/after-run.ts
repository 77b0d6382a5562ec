/**
 * What happens after every run (docs/design.md §13.1): the metrics file and Pushgateway (§13.3) and
 * the alerts (§13.2). Never throws and never changes the run's exit code: each delivery that fails
 * after its retries is one warning, which the CLI prints as `acx-data: warning: …`.
 */
import { hostname } from 'node:os';
import { redactSecrets } from '../../errors.ts';
import type { RetryOptions } from '../../retry.ts';
import type { AfterRunSettings, RunRecord } from './run-record.ts';

export type { AfterRunSettings, RunRecord } from './run-record.ts';

export async function afterRun(
  record: RunRecord,
  settings: AfterRunSettings,
  options: { host?: string; retry?: RetryOptions } = {},
): Promise<string[]> {
  const host = options.host ?? hostname();
  const work: Array<Promise<string[]>> = [];
  if (settings.metricsFile !== undefined || settings.metricsPush !== undefined)
    work.push(import('./metrics.ts').then((m) => m.writeMetrics(record, settings, options.retry)));
  const { isAlerted, sendAlerts } = await import('./alerts.ts');
  if (isAlerted(record, settings)) work.push(sendAlerts(record, settings, host, options.retry));
  const outcomes = await Promise.allSettled(work);
  return outcomes.flatMap((o) =>
    o.status === 'fulfilled' ? o.value : [redactSecrets(`after the run: ${String(o.reason)}`)],
  );
}
