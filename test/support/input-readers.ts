/** What the import readers' tests share: reading a whole input, and checking how a broken one fails. */
import { expect } from 'vitest';
import { AcxError } from '../../src/errors.ts';
import type { InputDataset, InputRecord, InputSource } from '../../src/model/input.ts';

export interface ReadDataset {
  dataset: InputDataset;
  records: InputRecord[];
}

/** Every dataset of an input with all its records, in input order; the input is closed after. */
export async function readAll(source: InputSource): Promise<ReadDataset[]> {
  const out: ReadDataset[] = [];
  try {
    for await (const dataset of source.datasets()) {
      const records: InputRecord[] = [];
      for await (const record of dataset.records()) records.push(record);
      out.push({ dataset, records });
    }
  } finally {
    await source.close?.();
  }
  return out;
}

/** The AcxError opening and reading an input ends with (the test fails if it reads without one). */
export async function failure(open: () => Promise<InputSource>, label?: string): Promise<AcxError> {
  try {
    await readAll(await open());
  } catch (error) {
    expect(error, label ?? String(error)).toBeInstanceOf(AcxError);
    return error as AcxError;
  }
  throw new Error(`${label ?? 'the input'} was read without an error`);
}

/** An INVALID_INPUT about `path`, matching `message`, at `line` when one is given. */
export function expectInvalidInput(error: AcxError, path: string, message: RegExp, line?: number): void {
  expect(error.code, error.message).toBe('INVALID_INPUT');
  expect(error.subject).toBe(path);
  expect(error.message).toContain(path);
  expect(error.message).toMatch(message);
  if (line !== undefined) expect(error.message).toContain(`${path}: line ${line}:`);
}
