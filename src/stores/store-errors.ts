/**
 * Translating a driver's errors at a store's facade: every call an operation makes on a Store (and on
 * the sessions and views it hands out) passes its failure through the store's translator, which turns
 * a lost connection into CONNECTION and a server's refusal into STORE, naming the store and what it was
 * doing. An `AcxError` the store raised itself passes through, except one that only wraps a lost
 * connection (a "cannot read table x" over a dropped socket), which takes the connection's code.
 */
import { AcxError } from '../errors.ts';
import type { ExportView, TabularDataset } from '../model/dataset.ts';

/** A store's translator: an AcxError for the errors it knows, `undefined` to leave the error as it is. */
export type ErrorTranslator = (error: unknown, during: string) => AcxError | undefined;

/** Runs `fn`; a failure leaves through `translate`. */
export async function guarded<T>(
  translate: ErrorTranslator,
  during: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw translated(translate, error, during);
  }
}

/** The error as the store's caller sees it. */
export function translated(translate: ErrorTranslator, error: unknown, during: string): unknown {
  if (error instanceof AcxError) {
    if (error.code !== 'STORE' || error.cause === undefined) return error;
    const inner = translate(error.cause, during);
    if (inner?.code !== 'CONNECTION') return error;
    return new AcxError('CONNECTION', error.message, {
      subject: error.subject,
      hint: inner.hint,
      cause: error,
    });
  }
  return translate(error, during) ?? error;
}

/** The same object, its async methods guarded (one level: the sessions and views a store hands out). */
export function guardedMethods<T extends object>(translate: ErrorTranslator, during: string, object: T): T {
  const out = { ...object } as Record<string, unknown>;
  for (const [key, value] of Object.entries(object)) {
    if (typeof value !== 'function') continue;
    const fn = value as (...args: unknown[]) => unknown;
    out[key] = (...args: unknown[]) => {
      let result: unknown;
      try {
        result = fn.apply(object, args);
      } catch (error) {
        throw translated(translate, error, during);
      }
      if (result instanceof Promise)
        return result.catch((error: unknown) => Promise.reject(translated(translate, error, during)));
      return result;
    };
  }
  return out as T;
}

/** An async iterable whose iteration fails through `translate` (a cursor that loses its connection). */
export function guardedIterable<T>(
  translate: ErrorTranslator,
  during: string,
  iterable: AsyncIterable<T>,
): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        yield* iterable;
      } catch (error) {
        throw translated(translate, error, during);
      }
    },
  };
}

/** An export view whose datasets, graph and their records fail through `translate`. */
export function guardedExportView(translate: ErrorTranslator, view: ExportView): ExportView {
  const records = (d: TabularDataset): TabularDataset => ({
    ...d,
    records: () => guardedIterable(translate, `the export of ${d.name}`, d.records()),
  });
  const out = guardedMethods(translate, 'the export', view);
  const { tabular, dtcCodesFull, translations, history, graph } = out;
  return {
    ...out,
    tabular: async () => (await tabular()).map(records),
    ...(dtcCodesFull && { dtcCodesFull: async () => records(await dtcCodesFull()) }),
    ...(translations && { translations: () => records(translations()) }),
    ...(history && { history: async () => records(await history()) }),
    ...(graph && {
      graph: async () => {
        const source = await graph();
        return {
          keys: source.keys,
          nodes: () => guardedIterable(translate, 'the export of the graph', source.nodes()),
          edges: () => guardedIterable(translate, 'the export of the graph', source.edges()),
        };
      },
    }),
  };
}
