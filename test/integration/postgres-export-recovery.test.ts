/**
 * One export reads PostgreSQL in one read-only transaction. A dataset that fails (here: the table of
 * diagnosis history is missing) must not take the others down with it: later datasets still stream
 * and the server version (read for the export manifest) still answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasDtcViews as isDtcView } from '../../src/model/dataset.ts';
import { labelMap } from '../../src/model/labels.ts';
import { openTestStores, seed, type TestStores } from '../support/stores.ts';

let stores: TestStores;

beforeAll(async () => {
  stores = await openTestStores();
  await seed(stores, 0.02, 11);
  await stores.postgres.query('DROP TABLE public.diagnosis_archive, public.diagnosis_sessions CASCADE');
});

afterAll(async () => {
  await stores?.set.postgres.empty();
  await stores?.close();
});

describe('PostgreSQL export view after a failed dataset', () => {
  it('streams the other datasets and still answers', async () => {
    const view = await stores.set.postgres.openExport({
      filter: {},
      includePii: false,
      includeDeleted: false,
      labels: labelMap('production'),
    });
    try {
      if (!isDtcView(view)) throw new Error('PostgreSQL gives the DTC views');
      // The missing table fails when the dataset is described or when it streams: either way, alone.
      const readHistory = async () => {
        for await (const _ of (await view.history()).records()) void _;
      };
      await expect(readHistory()).rejects.toThrow(/diagnosis_sessions/);
      let codes = 0;
      for await (const _ of (await view.dtcCodesFull()).records()) codes++;
      expect(codes).toBeGreaterThan(0);
      expect(await view.serverVersion()).toMatch(/^\d+/);
    } finally {
      await view.close();
    }
  });
});
