import { openStores } from '../../src/operations/open-stores.ts';
import { dtcCode } from '../../src/seed/dtc.ts';
import { describeStoreContract } from './store-contract.ts';

describeStoreContract('PostgreSQL', {
  open: async () => (await openStores(process.env, ['postgres'])).postgres!,
  keyed: {
    dataset: { store: 'postgres', table: 'dtc_codes', key: 'code' },
    present: (seed) => [dtcCode(seed, 0), dtcCode(seed, 3)],
  },
});
