/**
 * One content fingerprint over the stores: the proof used by round-trip tests (backup → restore,
 * export → import), by the demo, and by "the same seed gives the same data".
 */
import type { Fingerprint } from '../model/content-hash.ts';
import type { LabelMap } from '../model/labels.ts';
import { storesInOrder } from '../stores/registry.ts';
import type { StoresByName } from './open-stores.ts';

export async function fingerprintStores(stores: StoresByName, labels: LabelMap): Promise<Fingerprint> {
  const parts = await Promise.all(storesInOrder(stores).map((store) => store.fingerprint(labels)));
  return Object.assign({}, ...parts) as Fingerprint;
}
