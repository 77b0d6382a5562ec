/**
 * The Store contract (src/stores/store.ts): one suite every store runs through the interface alone, on
 * its real database. A new store's test file hands `describeStoreContract` a factory and nothing else.
 *
 * What it holds a store to: emptiness is reported truthfully; generated data goes in and is counted;
 * a backup → empty → restore round trip gives the same content fingerprint; a restore refuses a store
 * that holds data (and changes nothing) unless told to replace; a restore that fails half-way — a
 * damaged record, or an abort — leaves the store as it was; reads by key find what is there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diffFingerprints, type Fingerprint } from '../../src/model/content-hash.ts';
import { labelMap } from '../../src/model/labels.ts';
import { AUTOCOGNITIX_COLLECTION } from '../../src/model/qdrant-model.ts';
import { seedSource } from '../../src/operations/seed.ts';
import { silentReporter } from '../../src/progress.ts';
import { planCounts } from '../../src/seed/plan.ts';
import type { RecordDataset, Store } from '../../src/stores/store.ts';
import { snapshotOneStore, snapshotOneStoreFormat2, type StoreSnapshot } from '../support/snapshot.ts';

export interface StoreContractSubject {
  open(): Promise<Store>;
  /** A dataset of the seeded data and two keys it holds, for reads by key. */
  keyed: { dataset: RecordDataset; present: (seed: number) => string[] };
}

const labels = labelMap('production');
const SEED = 7;
const counts = planCounts(0.02);

async function backupOf(store: Store): Promise<StoreSnapshot> {
  const backup = await store.openBackup({ pgDump: 'never', nativeSnapshots: false });
  try {
    return await snapshotOneStore(store.name, (files) => backup.write({ files, reporter: silentReporter }));
  } finally {
    await backup.release();
  }
}

function restore(store: Store, snapshot: StoreSnapshot, replace: boolean, signal?: AbortSignal) {
  return store.restore(
    { snapshot: snapshot.reader, section: snapshot.section, reporter: silentReporter, replace, signal },
    { replace, nativeSnapshots: false },
  );
}

/** The same snapshot with its largest record file replaced by one whose last record is damaged. */
async function damaged(store: Store, snapshot: StoreSnapshot): Promise<StoreSnapshot> {
  const manifest = snapshot.reader.manifest;
  const [path, entry] = Object.entries(manifest.files)
    .filter(([, e]) => e.records !== undefined && e.records > 1)
    .sort((a, b) => b[1].bytes - a[1].bytes)[0]!;
  const lines = (await snapshot.reader.text(path)).split('\n').filter((l) => l !== '');
  lines[lines.length - 1] = '{"this is": "not a record of this store", ' + '\t\\N\t';
  const text = lines.join('\n') + '\n';
  const bytes = gzipSync(text);
  const name = `${path.replace(/\.(zst|gz)$/, '')}.damaged.gz`;
  await writeFile(join(snapshot.dir, name), bytes);
  const files = { ...manifest.files };
  delete files[path];
  files[name] = {
    ...entry,
    compression: 'gzip',
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    contentBytes: Buffer.byteLength(text),
    records: lines.length,
  };
  const rename = (f: string) => (f === path ? name : f);
  const section = {
    ...snapshot.section,
    datasets: snapshot.section.datasets.map((d) => ({ ...d, files: d.files.map(rename) })),
  };
  const reader = snapshot.reader.withManifest({
    ...manifest,
    files,
    stores: { ...manifest.stores, [store.name]: section },
  });
  return { ...snapshot, reader, section };
}

export function describeStoreContract(name: string, subject: StoreContractSubject): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let seeded: Fingerprint;
    let snapshot: StoreSnapshot;

    beforeAll(async () => {
      store = await subject.open();
      await store.empty();
    });
    afterAll(async () => {
      await snapshot?.cleanup();
      await store?.close();
    });

    it('reports an emptied store as empty', async () => {
      expect(await store.isEmpty()).toBe(true);
    });

    it('takes generated data in batches and counts it', async () => {
      const source = seedSource({ seed: SEED, labels, collection: AUTOCOGNITIX_COLLECTION }, counts);
      await store.seed(source, silentReporter);
      expect(await store.isEmpty()).toBe(false);
      const held = Object.values(await store.counts({ labels, collection: AUTOCOGNITIX_COLLECTION }))
        .flatMap((group) => Object.values(group))
        .reduce((sum, n) => sum + n, 0);
      expect(held).toBeGreaterThan(0);
      seeded = await store.fingerprint(labels);
      expect(Object.values(seeded).some((d) => d.records > 0)).toBe(true);
    });

    it('reads records by key', async () => {
      const keys = subject.keyed.present(SEED);
      const { found } = await store.readByKey(subject.keyed.dataset, [...keys, 'no-such-key-x']);
      expect([...found.keys()].sort()).toEqual([...keys].sort());
      for (const record of found.values()) expect(Object.keys(record).length).toBeGreaterThan(0);
    });

    it('backs up, and restores into the emptied store with identical content', async () => {
      snapshot = await backupOf(store);
      expect(snapshot.section.datasets.length).toBeGreaterThan(0);
      await store.empty();
      expect(await store.holdsDataFor(snapshot.section)).toBe(false);
      const plan = await store.planRestore(snapshot.section, { replace: false, nativeSnapshots: false });
      expect(plan.some((step) => step.action === 'load')).toBe(true);
      const summary = await restore(store, snapshot, false);
      expect(summary.datasets.length).toBeGreaterThan(0);
      expect(diffFingerprints(seeded, await store.fingerprint(labels))).toEqual([]);
    });

    it('backs up into format 2 (blobs, binary vectors) and restores with identical content', async () => {
      const backup = await store.openBackup({ pgDump: 'never', nativeSnapshots: false });
      let blobs: StoreSnapshot | undefined;
      try {
        blobs = await snapshotOneStoreFormat2(store.name, (files) =>
          backup.write({ files, reporter: silentReporter }),
        );
      } finally {
        await backup.release();
      }
      try {
        expect(blobs.reader.manifest.formatVersion).toBe(2);
        await restore(store, blobs, true);
        expect(diffFingerprints(seeded, await store.fingerprint(labels))).toEqual([]);
      } finally {
        await blobs.cleanup();
      }
    });

    it('refuses to restore over data without replace, and changes nothing', async () => {
      expect(await store.holdsDataFor(snapshot.section)).toBe(true);
      await expect(restore(store, snapshot, false)).rejects.toMatchObject({ code: 'NOT_EMPTY' });
      expect(diffFingerprints(seeded, await store.fingerprint(labels))).toEqual([]);
    });

    it('replaces the data when told to', async () => {
      await restore(store, snapshot, true);
      expect(diffFingerprints(seeded, await store.fingerprint(labels))).toEqual([]);
    });

    it('leaves an empty store empty when a restore is aborted', async () => {
      await store.empty();
      const emptied = await store.fingerprint(labels);
      const controller = new AbortController();
      controller.abort();
      await expect(restore(store, snapshot, false, controller.signal)).rejects.toMatchObject({
        code: 'INTERRUPTED',
      });
      expect(await store.holdsDataFor(snapshot.section)).toBe(false);
      expect(diffFingerprints(emptied, await store.fingerprint(labels))).toEqual([]);
    });

    it('leaves an empty store empty when a record is damaged half-way', async () => {
      const emptied = await store.fingerprint(labels);
      const broken = await damaged(store, snapshot);
      await expect(restore(store, broken, false)).rejects.toBeDefined();
      expect(await store.holdsDataFor(snapshot.section)).toBe(false);
      expect(diffFingerprints(emptied, await store.fingerprint(labels))).toEqual([]);
    });
  });
}
