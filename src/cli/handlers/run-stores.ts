/**
 * Opening the stores of a run from a handler: the run's reporter is created first and handed to the
 * stores (a transient fault they retry is shown as it happens); when opening fails, the reporter is
 * closed before the error reaches the CLI's boundary.
 */
import type { OpenOptions } from '../../stores/registry.ts';
import type { ClosableReporter } from '../output/reporters.ts';

export async function openRunStores<T>(
  reporter: ClosableReporter,
  open: (options: OpenOptions) => Promise<T>,
): Promise<T> {
  try {
    return await open({ reporter });
  } catch (error) {
    reporter.close();
    throw error;
  }
}
