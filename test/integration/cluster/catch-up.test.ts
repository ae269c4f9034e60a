/**
 * What a node must learn from the others when it (re)joins, and what a client's move to another
 * node must stop on the old one: the retained set of the cluster for a node that starts (fresh, or
 * on a store that missed changes), and a delayed will on the old node when the client id connects
 * to another node. One NATS server, real Ferry processes.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor } from '../../helpers/index.js';
import { startNats, suiteTeardown } from '../../helpers/engines.js';
import { connect, sleep, type TestClient } from '../mqtt/clients.js';
import { clusterStatus, ready, settled, startNode, type Node } from './nodes.js';

/** What these tests are about is the nodes' own stores (with the JetStream store, retained messages load from JetStream). */
const LOCAL = ['--cluster-store', 'local'];

async function readyNode(node: Node): Promise<void> {
  await waitFor(() => ready(node), { timeoutMs: 20_000, intervalMs: 100, message: `${node.id} ready` });
}

/** Subscribes once to `filter` on a node and returns the retained messages it got, by topic. */
async function retainedOn(t: TestContext, node: Node, filter: string, expected: number): Promise<Map<string, string>> {
  const sub = await connect(t, node.mqtt, { clientId: `rt-reader-${Date.now()}` });
  await sub.client.subscribeAsync(filter, { qos: 1 });
  await sub.waitFor(expected, 5000).catch(() => undefined);
  await sleep(300); // nothing more than expected
  sub.client.end(true);
  return new Map(sub.received.filter((m) => m.packet.retain).map((m) => [m.topic, m.payload]));
}

describe('cluster catch-up - nodes joining and clients moving', () => {
  const teardown = suiteTeardown();
  let urls: string;
  let a: Node;
  let b: Node;

  before(async () => {
    const nats = await startNats(teardown);
    urls = nats.url;
    [a, b] = await Promise.all([startNode(teardown, 'node-a', urls, LOCAL), startNode(teardown, 'node-b', urls, LOCAL)]);
    await readyNode(a);
    await readyNode(b);
  });

  test('cluster catch-up - a node that starts gets the retained set; one restarted on an old store loses what was cleared meanwhile', { timeout: 120_000 }, async (t: TestContext) => {
    const pub = await connect(t, a.mqtt, { clientId: 'rt-pub', protocolVersion: 5 });
    await pub.client.publishAsync('rt/1', 'one', { qos: 1, retain: true });
    await pub.client.publishAsync('rt/2', 'two', { qos: 1, retain: true });
    await waitFor(async () => (await retainedOn(t, b, 'rt/#', 2)).size === 2, { timeoutMs: 10_000, message: 'both retained messages on b' });

    // A fresh node: ready only once it holds the cluster's set, so one subscription sees it.
    const c = await startNode(t, 'node-c', urls, LOCAL);
    await readyNode(c);
    assert.deepEqual(await retainedOn(t, c, 'rt/#', 2), new Map([['rt/1', 'one'], ['rt/2', 'two']]));
    assert.ok(c.proc.logs.some((l) => l['msg'] === 'took the retained messages of the cluster'));

    // c dies; meanwhile rt/1 is cleared (on a) and rt/3 set (on b). c comes back on its own store,
    // which still has rt/1: the cluster's set replaces it.
    c.proc.child.kill('SIGKILL');
    await c.proc.exited;
    // Until a sees c gone, a QoS 1 publish may wait for c (its reader's unsubscribe may not have left c).
    await waitFor(async () => !(await clusterStatus(a)).nodes.some((n) => n.nodeId === 'node-c'), { timeoutMs: 15_000, intervalMs: 200, message: 'c gone from presence' });
    await pub.client.publishAsync('rt/1', '', { qos: 1, retain: true });
    const pubB = await connect(t, b.mqtt, { clientId: 'rt-pub-b', protocolVersion: 5 });
    await pubB.client.publishAsync('rt/3', 'three', { qos: 1, retain: true });
    await waitFor(async () => (await retainedOn(t, a, 'rt/#', 2)).has('rt/3'), { timeoutMs: 10_000, message: 'rt/3 on a' });
    const again = await startNode(t, 'node-c', urls, LOCAL, c.dataDir);
    await readyNode(again);
    assert.deepEqual(await retainedOn(t, again, 'rt/#', 2), new Map([['rt/2', 'two'], ['rt/3', 'three']]));
  });

  test('cluster catch-up - a delayed will is dropped on the old node when the client id connects to another node', { timeout: 120_000 }, async (t: TestContext) => {
    const watcher = await connect(t, b.mqtt, { clientId: 'wd-watcher' });
    await watcher.client.subscribeAsync('wd/#', { qos: 1 });
    const probe = await connect(t, a.mqtt, { clientId: 'wd-probe' });
    await settled(probe, watcher, 'wd/probe');

    const withWill = (clientId: string): Promise<TestClient> =>
      connect(t, a.mqtt, {
        clientId,
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: 60 },
        will: { topic: `wd/${clientId}`, payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
      });
    const dropped = await withWill('dropped'); // its connection breaks, it comes back on b
    const taken = await withWill('taken'); // still connected when it connects on b
    const lost = await withWill('lost'); // its connection breaks, it never comes back: its will goes out

    dropped.client.stream.destroy();
    lost.client.stream.destroy();
    await connect(t, b.mqtt, { clientId: 'dropped', protocolVersion: 5 });
    const takenClosed = new Promise<number | undefined>((resolve) => {
      taken.client.once('disconnect', (p) => resolve(p.reasonCode));
      setTimeout(() => resolve(undefined), 10_000).unref();
    });
    await connect(t, b.mqtt, { clientId: 'taken', protocolVersion: 5 });
    assert.equal(await takenClosed, 0x8e, 'the old connection is taken over');

    // The will delay is 2 s: "lost"'s will arrives, the other two never do.
    await watcher.waitFor(1, 6000);
    await sleep(3000);
    assert.deepEqual(watcher.received.map((m) => m.topic), ['wd/lost']);
    const droppedWills = a.proc.logs.filter((l) => l['msg'] === 'delayed will dropped: the client connected to another node').map((l) => l['clientId']);
    assert.deepEqual(droppedWills.sort(), ['dropped', 'taken']);
  });
});
