/**
 * A full restart of everything: three NATS servers (JetStream, R3 presence) and two Ferry nodes
 * stop (Ferry by kill -9, NATS by SIGTERM) and start again on their stores. The nodes are not
 * ready while NATS is away, ready once it is back, and then traffic crosses the nodes both ways,
 * persistent subscriptions included, and both hold the newest retained message (set while one of
 * them was already down).
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor } from '../../helpers/index.js';
import { startNatsCluster, suiteTeardown, type NatsCluster } from '../../helpers/engines.js';
import { connect } from '../mqtt/clients.js';
import { settled, startNode, untilReady, type Node } from './nodes.js';

function urlsFor(nats: NatsCluster, i: number): string {
  return [...nats.servers.slice(i), ...nats.servers.slice(0, i)].map((s) => s.url).join(',');
}

describe('cluster restart - three NATS servers and two Ferry nodes', () => {
  const teardown = suiteTeardown();
  let nats: NatsCluster;
  let a: Node;
  let b: Node;

  before(async () => {
    nats = await startNatsCluster(teardown, 3);
    [a, b] = await Promise.all([
      startNode(teardown, 'node-a', urlsFor(nats, 0), ['--cluster-replicas', '3', '--cluster-store', 'local']),
      startNode(teardown, 'node-b', urlsFor(nats, 1), ['--cluster-replicas', '3', '--cluster-store', 'local']),
    ]);
    for (const node of [a, b]) await untilReady(node, 30_000);
  });

  test('cluster restart - everything stops and starts again: not ready without NATS, then traffic crosses the nodes both ways', { timeout: 240_000 }, async (t: TestContext) => {
    // Persistent subscriptions on both nodes (MQTT 3.1.1, clean session off), a retained message.
    const subB = await connect(t, b.mqtt, { clientId: 'fr-sub-b', clean: false });
    await subB.client.subscribeAsync('fr/to-b/#', { qos: 1 });
    const subA = await connect(t, a.mqtt, { clientId: 'fr-sub-a', clean: false });
    await subA.client.subscribeAsync('fr/to-a/#', { qos: 1 });
    const pubA = await connect(t, a.mqtt, { clientId: 'fr-pub-a', protocolVersion: 5 });
    const pubB = await connect(t, b.mqtt, { clientId: 'fr-pub-b', protocolVersion: 5 });
    await settled(pubA, subB, 'fr/to-b/probe');
    await settled(pubB, subA, 'fr/to-a/probe');
    await pubA.client.publishAsync('fr/state', 'old', { qos: 1, retain: true });
    for (const c of [subA, subB, pubB]) c.client.end(true);

    // Everything stops, b first: a sets a newer retained message meanwhile, which b's store lacks.
    b.proc.child.kill('SIGKILL');
    await b.proc.exited;
    await pubA.client.publishAsync('fr/state', 'kept', { qos: 1, retain: true });
    pubA.client.end(true);
    a.proc.child.kill('SIGKILL');
    await a.proc.exited;
    await Promise.all(nats.servers.map((s) => s.terminate()));

    // The nodes start first, on their stores: not ready while no NATS server answers.
    const [a2, b2] = await Promise.all([
      startNode(t, 'node-a', urlsFor(nats, 0), ['--cluster-replicas', '3', '--cluster-store', 'local'], a.dataDir),
      startNode(t, 'node-b', urlsFor(nats, 1), ['--cluster-replicas', '3', '--cluster-store', 'local'], b.dataDir),
    ]);
    for (const node of [a2, b2]) {
      const res = await fetch(`${node.http}/readyz`);
      assert.equal(res.status, 503, `${node.id} is not ready without NATS`);
      assert.match(JSON.stringify(await res.json()), /NATS/);
    }

    // NATS comes back; the nodes join again.
    await Promise.all(nats.servers.map((s) => s.restart()));
    for (const node of [a2, b2]) await untilReady(node, 60_000);

    // Ready means routing works: the restored persistent subscriptions get one message each way.
    const subB2 = await connect(t, b2.mqtt, { clientId: 'fr-sub-b', clean: false });
    const subA2 = await connect(t, a2.mqtt, { clientId: 'fr-sub-a', clean: false });
    assert.equal(subB2.connack.sessionPresent, true);
    assert.equal(subA2.connack.sessionPresent, true);
    const pubA2 = await connect(t, a2.mqtt, { clientId: 'fr-pub-a', protocolVersion: 5 });
    const pubB2 = await connect(t, b2.mqtt, { clientId: 'fr-pub-b', protocolVersion: 5 });
    const ackA = (await pubA2.client.publishAsync('fr/to-b/after', 'a to b', { qos: 1 })) as { reasonCode?: number } | undefined;
    const ackB = (await pubB2.client.publishAsync('fr/to-a/after', 'b to a', { qos: 1 })) as { reasonCode?: number } | undefined;
    assert.equal(ackA?.reasonCode ?? 0, 0);
    assert.equal(ackB?.reasonCode ?? 0, 0);
    await waitFor(() => subB2.received.some((m) => m.payload === 'a to b'), { timeoutMs: 10_000, message: 'a to b after the restart' });
    await waitFor(() => subA2.received.some((m) => m.payload === 'b to a'), { timeoutMs: 10_000, message: 'b to a after the restart' });

    // The newest retained message set before the restart is on both nodes, whichever node answered the other.
    for (const node of [a2, b2]) {
      const reader = await connect(t, node.mqtt, { clientId: `fr-reader-${node.id}` });
      await reader.client.subscribeAsync('fr/state', { qos: 1 });
      const [got] = await reader.waitFor(1, 5000);
      assert.equal(got?.payload, 'kept');
    }
  });
});
