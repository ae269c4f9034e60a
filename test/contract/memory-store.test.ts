import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { runStoreContract } from './store-contract.js';

runStoreContract({
  name: 'memory',
  create: (options) => {
    const store = new MemoryStore(options);
    return Promise.resolve({ store, reopen: null, dispose: () => store.close() });
  },
});
