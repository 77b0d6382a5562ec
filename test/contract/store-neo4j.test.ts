import { openStores } from '../../src/operations/open-stores.ts';
import { dtcCode } from '../../src/seed/dtc.ts';
import { describeStoreContract } from './store-contract.ts';

describeStoreContract('Neo4j', {
  open: async () => (await openStores(process.env, ['neo4j'])).neo4j!,
  keyed: {
    dataset: { store: 'neo4j', label: 'DTC', key: 'code' },
    present: (seed) => [dtcCode(seed, 0), dtcCode(seed, 3)],
  },
});
