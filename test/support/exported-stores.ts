/**
 * A test file's stores holding known content and an export of it, for tests that import that export
 * back: one `beforeAll` builds it, one `afterAll` closes the stores and removes the folder.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Fingerprint } from '../../src/model/content-hash.ts';
import { exportInto } from './cli.ts';
import { closeAndRemove, emptySchemas, fingerprint, openTestStores, type TestStores } from './stores.ts';

export interface ExportedStores {
  stores: TestStores;
  /** The fingerprint of the content `fill` wrote: what importing the export must give back. */
  original: Fingerprint;
  /** The temporary folder (named from the prefix), removed after the file's tests. */
  work: string;
  /** The export's own folder, inside `work`. */
  exportDir: string;
}

/**
 * Registers the file's hooks: before its tests, the stores are emptied to the application's empty
 * schema, `fill` writes records into them, and `export <selection>` writes them to a new folder under
 * `work`. The returned object is filled in by then.
 */
export function useExportedStores(
  prefix: string,
  selection: string[],
  fill: (stores: TestStores) => Promise<void>,
): ExportedStores {
  const fixture = {} as ExportedStores;
  beforeAll(async () => {
    fixture.stores = await openTestStores();
    await emptySchemas(fixture.stores);
    await fill(fixture.stores);
    fixture.original = await fingerprint(fixture.stores);
    fixture.work = await mkdtemp(join(tmpdir(), prefix));
    fixture.exportDir = await exportInto(fixture.work, selection);
  });
  afterAll(() => closeAndRemove(fixture.stores, fixture.work));
  return fixture;
}
