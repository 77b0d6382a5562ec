/**
 * What every import reader checks in the records it yields, whatever the format (docs/design.md §9): a
 * value no store can hold (nested deeper than `MAX_VALUE_DEPTH`, a lone UTF-16 surrogate in a string or
 * a key: model/value-checks.ts) becomes a record problem naming the field, so the import refuses the
 * record with file, line and field instead of storing something else. Each reader's open function
 * returns its input through `checkedInput`. JSON text in cells (CSV, SQLite, GraphML data) is measured
 * before it is parsed (`isJsonTooDeep`); the JSON scanner refuses a deep value while scanning.
 */
import type { InputDataset, InputRecord, InputSource } from '../model/input.ts';
import { isWellFormed, MAX_VALUE_DEPTH, surrogateReason, valueProblem } from '../model/value-checks.ts';

export { MAX_VALUE_DEPTH, TOO_DEEP } from '../model/value-checks.ts';

/** The record with a problem for every field whose value `valueProblem` refuses (fields already in trouble aside). */
export function checkRecord(record: InputRecord): InputRecord {
  let problems = record.problems;
  const values = record.values;
  for (const field in values) {
    if (!Object.hasOwn(values, field)) continue;
    const value = values[field];
    // Most values are numbers or short strings: checked here without a call.
    if (
      typeof value !== 'object' &&
      (typeof value !== 'string' || isWellFormed(value)) &&
      isWellFormed(field)
    )
      continue;
    const reason = isWellFormed(field) ? valueProblem(value) : `the field name ${surrogateReason(field)}`;
    if (reason === undefined || problems?.some((p) => p.field === field)) continue;
    problems = [...(problems ?? []), { field, reason }];
  }
  return problems === record.problems ? record : { ...record, problems };
}

/** The dataset with every record checked by `checkRecord` (an iterator, not a generator: it is on every record's path). */
export function checkedDataset(dataset: InputDataset): InputDataset {
  return {
    ...dataset,
    records: () => ({
      [Symbol.asyncIterator]: () => {
        const inner = dataset.records()[Symbol.asyncIterator]();
        const iterator: AsyncIterableIterator<InputRecord> = {
          next: () =>
            inner.next().then((step) => (step.done ? step : { done: false, value: checkRecord(step.value) })),
          return: async (value?: unknown) => {
            await inner.return?.(value);
            return { done: true, value: undefined };
          },
          [Symbol.asyncIterator]: () => iterator,
        };
        return iterator;
      },
    }),
  };
}

/** The input with every record of every dataset checked (each reader's open function returns this). */
export function checkedInput(source: InputSource): InputSource {
  return {
    ...source,
    datasets() {
      const datasets = source.datasets(); // now: a reader that can be read once says so at once
      return (async function* () {
        for await (const dataset of datasets) yield checkedDataset(dataset);
      })();
    },
  };
}

/**
 * True when JSON text nests arrays and objects deeper than `MAX_VALUE_DEPTH` (brackets inside strings
 * do not count). Linear, no recursion; text too short to be that deep is not scanned.
 */
export function isJsonTooDeep(text: string): boolean {
  if (text.length <= 2 * MAX_VALUE_DEPTH) return false;
  const stops = /["\\[\]{}]/g;
  let depth = 0;
  let inString = false;
  for (let m = stops.exec(text); m !== null; m = stops.exec(text)) {
    const c = m[0];
    if (inString) {
      if (c === '\\') stops.lastIndex++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (++depth > MAX_VALUE_DEPTH) return true;
    } else if (c === ']' || c === '}') depth--;
  }
  return false;
}
