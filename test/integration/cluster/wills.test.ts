/**
 * A dead node's wills (clusterStore jetstream, docs/cluster.md "Wills of a node that dies"): a
 * will waiting for its delay on a node killed with -9, or of a client connected to it, goes out
 * once, from the live node that takes the dead node's sessions over, at about its due time; never
 * again when the node comes back; not at all when its client came back (to any node) before it
 * was due. Real processes: one
 * nats-server -js and Ferry nodes; node-b lives through the file and is first by node id, so it
 * takes over the nodes killed here.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor, waitForLog } from '../../helpers/index.js';
import { startNats, suiteTeardown, type Engine } from '../../helpers/engines.js';
import { connect, sleep, type TestClient } from '../mqtt/clients.js';
import { settled, startNode, startReadyNode, untilReady, type Node } from './nodes.js';

/** The will delay of these tests, seconds: long enough to kill a node and reconnect before it ends. */
const DELAY = 5;

async function killNode(node: Node): Promise<void> {
  node.proc.child.kill('SIGKILL');
  await node.proc.exited;
}

/** A persistent MQTT 5 client on `node` with a will on `wills/<clientId>` delayed by DELAY seconds. */
function withWill(t: TestContext, node: Node, clientId: string): Promise<TestClient> {
  return connect(t, node.mqtt, {
    clientId,
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 300 },
    will: { topic: `wills/${clientId}`, payload: Buffer.from(`${clientId} gone`), qos: 1, retain: false, properties: { willDelayInterval: DELAY } },
  });
}

describe('cluster wills - the delayed wills of a killed node', () => {
  const teardown = suiteTeardown();
  let nats: Engine;
  let b: Node;

  before(async () => {
    nats = await startNats(teardown);
    b = await startReadyNode(teardown, 'node-b', nats.url, []);
  });

  /** A node that dies in the test, and a subscriber on b that sees what is published on it. */
  async function doomedNode(t: TestContext, id: string): Promise<{ node: Node; watcher: TestClient }> {
    const node = await startReadyNode(t, id, nats.url, []);
    const watcher = await connect(t, b.mqtt, { clientId: `watcher-${id}` });
    await watcher.client.subscribeAsync('wills/#', { qos: 1 });
    const probe = await connect(t, node.mqtt, { clientId: `probe-${id}` });
    await settled(probe, watcher, 'wills/probe');
    probe.client.end(true);
    return { node, watcher };
  }

  test('cluster wills - a will waiting for its delay on a node killed with -9 goes out once, from the node that takes over, at its due time; not again when the node is back', { timeout: 60_000 }, async (t: TestContext) => {
    const { node: c, watcher } = await doomedNode(t, 'node-c');
    const client = await withWill(t, c, 'lost');
    const droppedAt = Date.now();
    client.client.stream.destroy(); // no DISCONNECT: node-c schedules the will, due in DELAY s
    await sleep(300); // the will written to JetStream
    await killNode(c);

    const [will] = await watcher.waitFor(1, (DELAY + 8) * 1000);
    const after = (Date.now() - droppedAt) / 1000;
    assert.equal(will!.topic, 'wills/lost');
    assert.equal(will!.payload, 'lost gone');
    assert.ok(after >= DELAY - 0.5 && after < DELAY + 3, `published ${after.toFixed(1)} s after the connection broke, due after ${DELAY} s`);
    const took = b.proc.logs.find((l) => l['msg'] === 'took over the sessions of a node that left the cluster' && l['nodeId'] === 'node-c');
    assert.equal(took?.['wills'], 1, JSON.stringify(took));

    // node-c comes back on its data directory: the will is no longer its own, it publishes nothing.
    const again = await startNode(t, 'node-c', nats.url, [], c.dataDir);
    await untilReady(again);
    await sleep(1500);
    assert.deepEqual(watcher.received.map((m) => m.topic), ['wills/lost'], 'one copy only');
    again.proc.child.kill('SIGTERM');
    await again.proc.exited;
  });

  test('cluster wills - the client back on another node before the due time, before or after the takeover: no will; one that stays away: its will', { timeout: 60_000 }, async (t: TestContext) => {
    const { node: d, watcher } = await doomedNode(t, 'node-d');
    const early = await withWill(t, d, 'early'); // back on b before b took node-d's sessions over
    const late = await withWill(t, d, 'late'); // back on b after that, before its will is due
    const away = await withWill(t, d, 'away'); // never back
    const droppedAt = Date.now();
    for (const c of [early, late, away]) c.client.stream.destroy();
    await sleep(300);
    await killNode(d);

    const earlyBack = await connect(t, b.mqtt, { clientId: 'early', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
    assert.equal(earlyBack.connack.sessionPresent, true);
    await waitFor(() => b.proc.logs.some((l) => l['msg'] === 'took over the sessions of a node that left the cluster' && l['nodeId'] === 'node-d'), {
      timeoutMs: 10_000,
      intervalMs: 50,
      message: 'node-b took over node-d',
    });
    assert.ok((Date.now() - droppedAt) / 1000 < DELAY - 0.5, 'the takeover came before the wills were due');
    const lateBack = await connect(t, b.mqtt, { clientId: 'late', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
    assert.equal(lateBack.connack.sessionPresent, true);

    await watcher.waitFor(1, (DELAY + 8) * 1000);
    await sleep(Math.max(0, droppedAt + (DELAY + 2) * 1000 - Date.now())); // past every due time
    assert.deepEqual(watcher.received.map((m) => m.topic), ['wills/away']);
    await waitForLog(b.proc, (l) => l['msg'] === 'delayed will of a node that left dropped: its client is back' && l['clientId'] === 'early', 'delayed will of a node that left dropped: its client is back');
  });

  test('cluster wills - clients connected to a node killed with -9: the will of one goes out once, its delay after the takeover; one that had said DISCONNECT has none', { timeout: 60_000 }, async (t: TestContext) => {
    const { node: e, watcher } = await doomedNode(t, 'node-e');
    await withWill(t, e, 'stranded'); // connected when node-e dies
    const leaver = await withWill(t, e, 'leaver');
    await leaver.client.endAsync(); // DISCONNECT: its will is discarded [MQTT-3.1.2-10]
    await sleep(300); // the wills kept in JetStream from their CONNECT, and the leaver's cleared
    await killNode(e);

    await waitFor(() => b.proc.logs.some((l) => l['msg'] === 'took over the sessions of a node that left the cluster' && l['nodeId'] === 'node-e'), {
      timeoutMs: 10_000,
      intervalMs: 50,
      message: 'node-b took over node-e',
    });
    const tookAt = Date.now();
    const [will] = await watcher.waitFor(1, (DELAY + 5) * 1000);
    const after = (Date.now() - tookAt) / 1000;
    assert.equal(will!.topic, 'wills/stranded');
    assert.ok(after >= DELAY - 1 && after < DELAY + 2, `published ${after.toFixed(1)} s after the takeover, delay ${DELAY} s`);

    const again = await startNode(t, 'node-e', nats.url, [], e.dataDir);
    await untilReady(again);
    await sleep(1500);
    assert.deepEqual(watcher.received.map((m) => m.topic), ['wills/stranded'], 'one copy, none for the client that said DISCONNECT');
    again.proc.child.kill('SIGTERM');
    await again.proc.exited;
  });
});
