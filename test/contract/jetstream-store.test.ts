import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { openJetStreamStore, type JetStreamStore } from '../../src/store/jetstream/jetstream-store.js';
import { JetStreamLayout } from '../../src/store/jetstream/layout.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import type { StoreOptions } from '../../src/store/types.js';
import { startNats, suiteTeardown, type Engine } from '../helpers/engines.js';
import { waitFor, type Teardown } from '../helpers/index.js';
import { delivery, message, readQueue, runStoreContract, session } from './store-contract.js';

// One nats-server -js (R1) for the file; each store gets its own prefix, removed afterwards.
const teardown = suiteTeardown();
let nats: Promise<Engine> | null = null;
let count = 0;

async function removeAll(connection: NatsConnection, prefix: string): Promise<void> {
  const jsm = await jetstreamManager(connection);
  const layout = new JetStreamLayout(prefix, 'n');
  for (const name of [layout.queuesStream, layout.logsStream, ...[layout.sessionsBucket, layout.inflightBucket, layout.retainedBucket, layout.willsBucket, layout.metaBucket, layout.leasesBucket, layout.adoptionsBucket].map((b) => `KV_${b}`)]) {
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

describe('JetStream store: NATS failures and ownership', () => {
  const T0 = 1_700_000_000_000;

  async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const item of iterable) out.push(item);
    return out;
  }

  async function natsConnection(t: Teardown, url: string): Promise<NatsConnection> {
    const connection = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    t.after(() => connection.close());
    return connection;
  }

  test('jetstream store - a write NATS cannot take degrades the store, nothing is acknowledged, and it recovers with what was recorded', async (t) => {
    const engine = await startNats(t);
    const connection = await natsConnection(t, engine.url);
    const warnings: string[] = [];
    const open = (c: NatsConnection): Promise<JetStreamStore> =>
      openJetStreamStore({ connection: c, prefix: 'deg', nodeId: 'node-a', writeTimeoutMs: 1000, retryMs: 200, warn: (m) => warnings.push(m) });
    const store = await open(connection);
    const health: boolean[] = [];
    store.onHealthChange((h) => health.push(h.ok));
    store.putSession(session('c1'));
    for (const text of ['m0', 'm1']) store.enqueue('c1', delivery(store.addMessage(message(text))));
    await store.commit();

    await engine.kill();
    store.enqueue('c1', delivery(store.addMessage(message('m2'))));
    store.setRetained('r', store.addMessage(message('kept', { topic: 'r', retain: true })));
    await assert.rejects(store.whenDurable(), StoreUnavailableError);
    assert.equal(store.health.ok, false);
    assert.deepEqual(health, [false]);
    // Reads stay local while degraded.
    assert.deepEqual((await readQueue(store, 'c1', 0, 10)).map((e) => e.message.payload.toString()), ['m0', 'm1', 'm2']);

    await engine.restart();
    await waitFor(() => store.health.ok, { timeoutMs: 30_000, message: 'store recovered' });
    assert.deepEqual(health, [false, true]);
    await store.commit();
    await store.close();

    const reopened = await open(await natsConnection(t, engine.url));
    t.after(() => reopened.close());
    assert.deepEqual((await readQueue(reopened, 'c1', 0, 10)).map((e) => e.message.payload.toString()), ['m0', 'm1', 'm2']);
    const retained: string[] = [];
    for await (const r of reopened.loadRetained()) retained.push(r.message.payload.toString());
    assert.deepEqual(retained, ['kept']);
    // After the failed batch its sessions' owners were checked before they were written again (still this node's: no other warning).
    assert.deepEqual(warnings, ["checking who owns this node's sessions before writing them again"]);
  });

  test('jetstream store - a node does not overwrite a session another node has written since (compare-and-set)', async (t) => {
    const engine = await (nats ??= startNats(teardown));
    const prefix = `own${++count}`;
    const warnings: Array<Record<string, unknown>> = [];
    const open = async (nodeId: string): Promise<JetStreamStore> => {
      const store = await openJetStreamStore({ connection: await natsConnection(t, engine.url), prefix, nodeId, warn: (_m, d) => warnings.push(d) });
      t.after(() => store.close());
      return store;
    };
    const a = await open('node-a');
    a.putSession(session('c1'));
    a.enqueue('c1', delivery(a.addMessage(message('queued on a'))));
    await a.commit();

    const b = await open('node-b');
    assert.equal(b.getSession('c1'), undefined, 'node b loads only its own sessions');
    b.putSession(session('c1', { expiryInterval: 60 })); // its client connected to b
    await b.commit();

    a.setDisconnectedAt('c1', T0); // a has not heard yet
    await a.commit(); // not a failure: the write is not a node's to make any more
    assert.deepEqual(warnings, [{ clientId: 'c1', owner: 'node-b' }]);
    assert.equal(a.health.ok, true);

    const b2 = await open('node-b');
    assert.deepEqual(b2.getSession('c1'), session('c1', { expiryInterval: 60 }), 'b\'s record stands');
    const a2 = await open('node-a');
    assert.equal(a2.getSession('c1'), undefined);
  });

  test('jetstream store - a dead node\'s will is taken by one node (compare-and-set); the node back neither loads nor claims it', async (t) => {
    const engine = await (nats ??= startNats(teardown));
    const prefix = `wills${++count}`;
    const open = async (nodeId: string): Promise<JetStreamStore> => {
      const store = await openJetStreamStore({ connection: await natsConnection(t, engine.url), prefix, nodeId });
      t.after(() => store.close());
      return store;
    };
    const will = { clientId: 'c1', topic: 'w/c1', payload: Buffer.from('gone'), qos: 1 as const, retain: false, properties: null, expiresAt: 0, publishAt: T0 };
    const a = await open('node-a');
    a.putWill(will);
    a.putWill({ ...will, clientId: 'c2', publishAt: 0, delayMs: 5000 }); // a connected client's
    await a.commit();
    // node-a "dies" with its wills loaded: a restarted node-a that loaded them before the takeover.
    const a2 = await open('node-a');
    assert.equal((await collect(a2.loadWills())).length, 2);

    const b = await open('node-b');
    const c = await open('node-c');
    assert.deepEqual((await b.willsOwnedBy('node-a')).sort(), ['c1', 'c2']);
    const taken = await Promise.all([b.adoptWill('c1', 'node-a'), c.adoptWill('c1', 'node-a')]);
    assert.equal(taken.filter((w) => w !== undefined).length, 1, 'one node takes it');
    const [winner, loser] = taken[0] !== undefined ? [b, c] : [c, b];
    assert.deepEqual(await winner.adoptWill('c2', 'node-a'), { ...will, clientId: 'c2', publishAt: 0, delayMs: 5000 });
    assert.deepEqual(await loser.willsOwnedBy('node-a'), []);
    assert.equal(await loser.adoptWill('c2', 'node-a'), undefined);

    assert.equal(await a2.claimWill('c1'), false, 'the node back does not publish what was taken');
    assert.equal((await collect(a2.loadWills())).some((w) => w.clientId === 'c1'), false);
    const a3 = await open('node-a');
    assert.deepEqual(await collect(a3.loadWills()), [], 'nor loads it again');
    assert.equal(await winner.claimWill('c1'), true);
    assert.equal(await winner.claimWill('c2'), true);
    assert.deepEqual(await winner.willsOwnedBy('node-b'), []);
    assert.deepEqual(await winner.willsOwnedBy('node-c'), []);
  });

  test('jetstream store - a removed log entry leaves JetStream, also when removed while its append is being written', async (t) => {
    const engine = await (nats ??= startNats(teardown));
    const connection = await natsConnection(t, engine.url);
    const open = (): Promise<JetStreamStore> => openJetStreamStore({ connection, prefix: `logs${++count}`, nodeId: 'node-a' });
    const store = await open();
    const first = store.appendLog('outbox/r', '{}', Buffer.from('delivered'), T0);
    await store.commit();
    store.removeLog('outbox/r', first);
    const second = store.appendLog('outbox/r', '{}', Buffer.from('dead-lettered'), T0);
    const written = store.whenDurable();
    // The batch with the append is on its way: the removal joins the next one.
    setImmediate(() => {
      store.appendLog('dead/r', '{}', Buffer.from('dead-lettered'), T0);
      store.removeLog('outbox/r', second);
    });
    await written;
    await new Promise((resolve) => setImmediate(resolve));
    await store.commit();
    const jsm = await jetstreamManager(connection);
    const layout = new JetStreamLayout(`logs${count}`, 'node-a');
    assert.equal((await jsm.streams.info(layout.logsStream)).state.messages, 1, 'only the dead letter is left');
    await store.close();
  });

  test('jetstream store - log leases: a live node\'s logs cannot be claimed, a dead node\'s by one node only; the node back waits, then learns who adopted them', async (t) => {
    const engine = await (nats ??= startNats(teardown));
    const prefix = `lease${++count}`;
    const warnings: string[] = [];
    const open = async (nodeId: string, connection?: NatsConnection): Promise<JetStreamStore> =>
      openJetStreamStore({ connection: connection ?? (await natsConnection(t, engine.url)), prefix, nodeId, leaseMs: 800, warn: (m) => warnings.push(`${nodeId}: ${m}`) });
    const deadConnection = await connect({ servers: engine.url });
    const a = await open('node-a', deadConnection);
    a.appendLog('outbox/r', '{}', Buffer.from('left behind'), T0);
    await a.commit();
    assert.equal(a.mayDeliverLogs(), true);
    const b = await open('node-b');
    t.after(() => b.close());
    const c = await open('node-c');
    t.after(() => c.close());
    assert.deepEqual(await b.foreignLogs.nodes(), ['node-a']);
    assert.equal(await b.foreignLogs.claim('node-a'), null, 'node a renews its lease');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(await b.foreignLogs.claim('node-a'), null, 'still renewed after the lease time');

    await deadConnection.close(); // node a stops renewing: its lease expires
    const claim = await waitFor(() => b.foreignLogs.claim('node-a'), { timeoutMs: 5000, intervalMs: 100, message: 'node b claims node a' });
    assert.equal(await c.foreignLogs.claim('node-a'), null, 'one adopter only');
    const entries: string[] = [];
    for await (const e of b.foreignLogs.entries('node-a', () => assert.fail('unreadable'))) entries.push(`${e.log}:${e.payload.toString()}`);
    assert.deepEqual(entries, ['outbox/r:left behind']);

    // Node a back while b holds the claim: it waits, and starts once b lets go.
    let opened = false;
    const back = open('node-a').then((store) => {
      opened = true;
      return store;
    });
    await waitFor(() => warnings.some((w) => w === "node-a: waiting for another node to finish moving this node's durable logs"), { timeoutMs: 5000 });
    assert.equal(opened, false);
    assert.equal(await b.foreignLogs.renew(claim), true);
    await b.foreignLogs.release(claim);
    const a2 = await back;
    t.after(() => a2.close());
    assert.ok(warnings.includes("node-a: another node adopted this node's durable logs while it was down: it delivered what was left"));
    assert.equal(a2.mayDeliverLogs(), true);
  });
});
