import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts';
import { describeStorageContract } from './storage-contract.ts';

describeStorageContract('memory', async () => ({
  storage: new MemoryStorage('contract'),
  cleanup: async () => undefined,
}));
