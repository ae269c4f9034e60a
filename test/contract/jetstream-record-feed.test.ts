import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { openJetStreamStore, type JetStreamStore } from '../../src/store/jetstream/jetstream-store.js';
import { OwnWrites } from '../../src/store/jetstream/meta-feed.js';
import { startNats, startNatsCluster } from '../helpers/engines.js';
import { waitFor, type Teardown } from '../helpers/index.js';

interface Change {
  readonly key: string;
  readonly value: unknown;
  readonly previous: unknown;
}

async function natsConnection(t: Teardown, url: string): Promise<NatsConnection> {
  // Only the server given: not the cluster's others it announces (a test cuts a node off with its server).
  const connection = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100, ignoreClusterUpdates: true });
  t.after(() => connection.close());
  return connection;
}

async function store(t: Teardown, url: string, nodeId: string, replicas = 1): Promise<JetStreamStore> {
  const s = await openJetStreamStore({ connection: await natsConnection(t, url), prefix: 'feed', nodeId, replicas, writeTimeoutMs: 1000, retryMs: 200, warn: () => undefined });
  t.after(() => s.close());
  return s;
}

function follow(s: JetStreamStore, collection: string): Change[] {
  const changes: Change[] = [];
  s.onRecordChanged(collection, (key, value, previous) => changes.push({ key, value, previous }));
  return changes;
}

test('record feed - another node\'s puts and deletes reach a store\'s reads and listeners; its own writes are never told', async (t) => {
  const nats = await startNats(t);
  const a = await store(t, nats.url, 'node-a');
  const b = await store(t, nats.url, 'node-b');
  const onA = follow(a, 'keys');
  const onB = follow(b, 'keys');
  const otherOnB = follow(b, 'other');

  a.putRecord('keys', 'k1', { v: 1 });
  await a.commit();
  await waitFor(() => onB.length === 1, { timeoutMs: 5000 });
  assert.deepEqual(onB[0], { key: 'k1', value: { v: 1 }, previous: undefined });
  assert.deepEqual(await b.getRecord('keys', 'k1'), { v: 1 });

  a.putRecord('keys', 'k1', { v: 2 });
  await a.commit();
  await waitFor(() => onB.length === 2, { timeoutMs: 5000 });
  assert.deepEqual(onB[1], { key: 'k1', value: { v: 2 }, previous: { v: 1 } });

  b.deleteRecord('keys', 'k1');
  await b.commit();
  await waitFor(async () => (await a.getRecord('keys', 'k1')) === undefined, { timeoutMs: 5000 });
  assert.deepEqual(onA, [{ key: 'k1', value: undefined, previous: { v: 2 } }]);
  // Give the echoes time to come back: neither node hears its own writes, nor another collection's.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(onB.length, 2);
  assert.equal(onA.length, 1);
  assert.equal(otherOnB.length, 0);
  assert.deepEqual((await b.listRecords('keys')).length, 0);
});

test('record feed - a node\'s own later write of a key wins over another node\'s earlier one in both mirrors', async (t) => {
  const nats = await startNats(t);
  const a = await store(t, nats.url, 'node-a');
  const b = await store(t, nats.url, 'node-b');
  // Both write the key in the same instant, many times: the bucket keeps one of them last; each
  // node's mirror must end with that one, whatever the interleaving of writes and echoes.
  for (let round = 0; round < 20; round++) {
    a.putRecord('race', 'k', { by: 'a', round });
    b.putRecord('race', 'k', { by: 'b', round });
  }
  await Promise.all([a.commit(), b.commit()]);
  const last = { by: 'z', round: 99 };
  a.putRecord('race', 'k', { by: 'a', round: 98 });
  await a.commit();
  b.putRecord('race', 'k', last);
  await b.commit();
  await waitFor(async () => JSON.stringify(await a.getRecord('race', 'k')) === JSON.stringify(last), { timeoutMs: 5000 });
  assert.deepEqual(await b.getRecord('race', 'k'), last);
});

test('record feed - a change made while a node is cut off from NATS reaches it when it is back', async (t) => {
  const nats = await startNats(t);
  const a = await store(t, nats.url, 'node-a');
  // The server restarts: both nodes reconnect; a writes as soon as it can, maybe before b's watch
  // is back, which resumes after the last revision it saw.
  const b = await store(t, nats.url, 'node-b');
  const onB = follow(b, 'keys');
  a.putRecord('keys', 'before', 1);
  await a.commit();
  await waitFor(() => onB.length === 1, { timeoutMs: 5000 });

  await nats.kill();
  await nats.restart();
  // a writes as soon as it can (its batch is retried until JetStream answers).
  a.putRecord('keys', 'during', 2);
  a.deleteRecord('keys', 'before');
  await waitFor(async () => {
    try {
      await a.commit();
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 20_000 });
  await waitFor(() => onB.length === 3, { timeoutMs: 20_000 });
  assert.deepEqual(onB.slice(1).map((c) => [c.key, c.value]).sort(), [['before', undefined], ['during', 2]]);
  assert.deepEqual(await b.listRecords('keys'), [{ key: 'during', value: 2 }]);
});

test('record feed - changes made while one node is cut off from NATS (its server down, the others up) reach it when its server is back', async (t) => {
  const cluster = await startNatsCluster(t, 3);
  const [first, second] = cluster.servers;
  // R3: the buckets survive one server; a on the first server, b only on the second.
  const a = await waitFor<JetStreamStore>(() => store(t, first!.url, 'node-a', 3).catch(() => false), { timeoutMs: 30_000, intervalMs: 500, message: 'store a open' });
  const b = await store(t, second!.url, 'node-b', 3);
  const onB = follow(b, 'keys');
  a.putRecord('keys', 'before', 1);
  await a.commit();
  await waitFor(() => onB.length === 1, { timeoutMs: 5000 });

  await second!.kill();
  a.putRecord('keys', 'during', 2);
  a.deleteRecord('keys', 'before');
  // JetStream may elect new leaders first (the killed server may have led): the batch is retried.
  await waitFor(async () => {
    try {
      await a.commit();
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 30_000, intervalMs: 200, message: 'a wrote while b was cut off' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(onB.length, 1, 'b heard nothing while cut off');
  await second!.restart();
  await waitFor(() => onB.length === 3, { timeoutMs: 30_000, message: 'b caught up' });
  assert.deepEqual(onB.slice(1).map((c) => [c.key, c.value]).sort(), [['before', undefined], ['during', 2]]);
  assert.deepEqual(await b.listRecords('keys'), [{ key: 'during', value: 2 }]);
});

test('record feed - own writes: an entry is news unless it is this node\'s write or older than one not echoed yet', () => {
  const own = new OwnWrites();
  assert.equal(own.isNews('k', 5), true);
  own.wrote('k', 10);
  assert.equal(own.isNews('k', 8), false); // another node's, before this node's write that replaces it
  assert.equal(own.isNews('k', 10), false); // the echo
  assert.equal(own.size, 0);
  assert.equal(own.isNews('k', 11), true);
  own.wrote('k', 20);
  own.wrote('k', 15); // an answer that came late: the later write stays the one awaited
  assert.equal(own.isNews('k', 15), false);
  assert.equal(own.isNews('k', 25), true); // the echo was replaced (history 1) and a later change came
  assert.equal(own.size, 0);
});
