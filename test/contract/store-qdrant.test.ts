import { openStores } from '../../src/operations/open-stores.ts';
import { AUTOCOGNITIX_COLLECTION, pointId } from '../../src/model/qdrant-model.ts';
import { dtcCode } from '../../src/seed/dtc.ts';
import { describeStoreContract } from './store-contract.ts';

describeStoreContract('Qdrant', {
  open: async () => (await openStores(process.env, ['qdrant'])).qdrant!,
  keyed: {
    dataset: { store: 'qdrant', collection: AUTOCOGNITIX_COLLECTION },
    present: (seed) => [0, 3].map((i) => String(pointId('dtc', dtcCode(seed, i)))),
  },
});
