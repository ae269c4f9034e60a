/**
 * Child process for the SQLite crash test (not a test itself: without arguments it exits).
 * Writes batches as fast as it can and prints "ack <clientId> <batch>" to stdout only after the
 * batch's commit promise resolved. The parent kill -9s it at a random moment and then checks
 * that every acknowledged batch is on disk.
 *
 * Usage: node sqlite-crash-child.js <db path> <clientId> <fsync policy>
 */
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { FsyncPolicy } from '../../src/store/types.js';

export const BATCH = 20;

async function main(path: string, clientId: string, fsync: FsyncPolicy): Promise<void> {
  const store = await openSqliteStore({
    path,
    fsync,
    limits: { maxQueuedPerSession: 1e9, maxQueuedPerInstance: 1e9, retentionMs: 1e12 },
  });
  store.putSession({ clientId, instanceId: 'crash', protocolVersion: 5, expiryInterval: 0xffffffff, disconnectedAt: null });
  for (let batch = 0; ; batch++) {
    for (let k = 0; k < BATCH; k++) {
      const id = store.addMessage({
        topic: `crash/${clientId}`,
        payload: Buffer.from(`${batch}:${k}`),
        qos: 2,
        retain: false,
        properties: null,
        expiresAt: 0,
        createdAt: Date.now(),
      });
      store.enqueue(clientId, { messageId: id, qos: 2, retain: false, subscriptionIds: null, shareGroup: null, shareFilter: null });
      if (k === 0) store.setRetained(`crash/${clientId}`, id);
    }
    store.addInboundQos2(clientId, (batch % 65535) + 1);
    store.setMeta(`progress/${clientId}`, batch);
    await store.whenDurable();
    process.stdout.write(`ack ${clientId} ${batch}\n`);
  }
}

const [path, clientId, fsync] = process.argv.slice(2);
if (path !== undefined && clientId !== undefined && fsync !== undefined) {
  main(path, clientId, fsync as FsyncPolicy).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
