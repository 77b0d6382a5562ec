/** The AcxError a promise rejects with; fails the test when it resolves or rejects with anything else. */
import { expect } from 'vitest';
import { AcxError } from '../../src/errors.ts';

export async function acxErrorOf(promise: Promise<unknown>): Promise<AcxError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AcxError);
  return error as AcxError;
}
