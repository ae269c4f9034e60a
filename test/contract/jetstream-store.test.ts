import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { openJetStreamStore, type JetStreamStore } from '../../src/store/jetstream/jetstream-store.js';
import { JetStreamLayout } from '../../src/store/jetstream/layout.js';
import type { StoreOptions } from '../../src/store/types.js';
import { startNats, suiteTeardown, type Engine } from '../helpers/engines.js';
import { runStoreContract } from './store-contract.js';

// One nats-server -js (R1) for the file; each store gets its own prefix, removed afterwards.
const teardown = suiteTeardown();
let nats: Promise<Engine> | null = null;
let count = 0;

async function removeAll(connection: NatsConnection, prefix: string): Promise<void> {
  const jsm = await jetstreamManager(connection);
  const layout = new JetStreamLayout(prefix, 'n');
  for (const name of [layout.queuesStream, layout.logsStream, ...[layout.sessionsBucket, layout.retainedBucket, layout.willsBucket, layout.metaBucket].map((b) => `KV_${b}`)]) {
    await jsm.streams.delete(name).catch(() => undefined);
  }
}

runStoreContract({
  name: 'jetstream',
  create: async (options?: StoreOptions) => {
    const engine = await (nats ??= startNats(teardown));
    const connection = await connect({ servers: engine.url });
    const prefix = `contract${++count}`;
    const open = (): Promise<JetStreamStore> => openJetStreamStore({ ...options, connection, prefix, nodeId: 'node-a' });
    let store = await open();
    return {
      store,
      reopen: async () => {
        await store.close();
        store = await open();
        return store;
      },
      dispose: async () => {
        await store.close();
        await removeAll(connection, prefix);
        await connection.close();
      },
    };
  },
});
