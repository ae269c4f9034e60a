/**
 * Two Ferry processes on a three-server NATS cluster (JetStream on), each node talking to its own
 * NATS server: messages, retained messages, P2P and takeover across nodes, the PUBACK of a QoS 1
 * message waiting for the other node, and the cluster status of the API and the CLI.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor } from '../../helpers/index.js';
import { startNatsCluster, suiteTeardown, type NatsCluster } from '../../helpers/engines.js';
import { connect } from '../mqtt/clients.js';
import { clusterStatus, clusterStatusTable, settled, startNode, untilReady, type Node } from './nodes.js';


/** The reason code of a PUBACK/PUBREC (mqtt.js rejects the publish on a failure code). */
async function ackCode(publish: Promise<unknown>): Promise<number> {
  try {
    const ack = (await publish) as { reasonCode?: number } | undefined;
    return ack?.reasonCode ?? 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

describe('cluster - two nodes on a three-server NATS cluster', () => {
  const teardown = suiteTeardown();
  let nats: NatsCluster;
  let a: Node;
  let b: Node;

  before(async () => {
    nats = await startNatsCluster(teardown, 3);
    [a, b] = await Promise.all([
      startNode(teardown, 'node-a', nats.servers[0]!.url, ['--cluster-ack-timeout-ms', '1000']),
      startNode(teardown, 'node-b', nats.servers[1]!.url),
    ]);
    for (const node of [a, b]) {
      await untilReady(node);
    }
    await waitFor(async () => (await clusterStatus(a)).nodes.length === 2, { timeoutMs: 10_000, intervalMs: 200, message: 'both nodes in presence' });
  });

  test('cluster - QoS 0/1/2 between clients on different nodes, once each although two filters match', async (t: TestContext) => {
    const sub = await connect(t, b.mqtt, { clientId: 'sub-qos' });
    await sub.client.subscribeAsync({ 'q/+/x': { qos: 2 }, 'q/#': { qos: 2 } });
    const pub = await connect(t, a.mqtt, { clientId: 'pub-qos', protocolVersion: 5 });
    await settled(pub, sub, 'q/probe/x');
    await pub.client.publishAsync('q/0/x', 'zero', { qos: 0 });
    assert.equal(await ackCode(pub.client.publishAsync('q/1/x', 'one', { qos: 1 })), 0);
    assert.equal(await ackCode(pub.client.publishAsync('q/2/x', 'two', { qos: 2 })), 0);
    await sub.waitFor(3, 5000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // no late duplicates
    assert.deepEqual(
      sub.received.map((m) => [m.topic, m.payload, m.packet.qos]),
      [
        ['q/0/x', 'zero', 0],
        ['q/1/x', 'one', 1],
        ['q/2/x', 'two', 2],
      ],
    );
  });

  test('cluster - a share group with members on both nodes gets each message once, balanced over the nodes', async (t: TestContext) => {
    const onA = await connect(t, a.mqtt, { clientId: 'member-a', protocolVersion: 5 });
    const onB = await connect(t, b.mqtt, { clientId: 'member-b', protocolVersion: 5 });
    await onA.client.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
    await onB.client.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
    const pub = await connect(t, b.mqtt, { clientId: 'pub-jobs', protocolVersion: 5 });
    await waitFor(
      () => {
        pub.client.publish('jobs/probe', 'probe', { qos: 0 });
        return onA.received.length > 0 && onB.received.length > 0;
      },
      { timeoutMs: 10_000, intervalMs: 50, message: 'both members reachable' },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    onA.received.length = 0;
    onB.received.length = 0;
    for (let i = 0; i < 40; i++) assert.equal(await ackCode(pub.client.publishAsync(`jobs/${i}`, String(i), { qos: 1 })), 0);
    await waitFor(() => onA.received.length + onB.received.length >= 40, { timeoutMs: 5000, message: '40 jobs delivered' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const all = [...onA.received, ...onB.received].map((m) => Number(m.payload)).sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 40 }, (_, i) => i), 'each job exactly once over the group');
    assert.ok(onA.received.length > 0 && onB.received.length > 0, `both nodes' members got jobs (${onA.received.length} / ${onB.received.length})`);
  });

  test('cluster - a retained message is visible on the other node', async (t: TestContext) => {
    const pub = await connect(t, a.mqtt, { clientId: 'pub-retained' });
    await pub.client.publishAsync('r/state', 'on', { qos: 1, retain: true });
    await waitFor(
      async () => {
        const sub = await connect(t, b.mqtt, { clientId: `sub-retained-${Date.now()}` });
        await sub.client.subscribeAsync('r/#', { qos: 1 });
        const got = await sub.waitFor(1, 500).then(
          (m) => m[0],
          () => undefined,
        );
        sub.client.end(true);
        return got?.payload === 'on' && got.packet.retain;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: 'retained message on node b' },
    );
  });

  test('cluster - P2P to a client connected to the other node', async (t: TestContext) => {
    const target = await connect(t, b.mqtt, { clientId: 'GID_test@@@dev1' });
    const pub = await connect(t, a.mqtt, { clientId: 'backend-p2p', protocolVersion: 5 });
    await waitFor(
      async () => {
        await pub.client.publishAsync('parent/p2p/GID_test@@@dev1', 'direct', { qos: 1 });
        return target.received.some((m) => m.payload === 'direct');
      },
      { timeoutMs: 10_000, intervalMs: 200, message: 'P2P message across nodes' },
    );
    assert.equal(target.received[0]!.topic, 'parent/p2p/GID_test@@@dev1');
  });

  test('cluster - a client id connecting on another node takes the session over', async (t: TestContext) => {
    const first = await connect(t, a.mqtt, { clientId: 'roamer', protocolVersion: 5 });
    const reason = new Promise<number | undefined>((resolve) => {
      first.client.once('disconnect', (packet) => resolve(packet.reasonCode));
      first.client.once('close', () => resolve(undefined));
    });
    await connect(t, b.mqtt, { clientId: 'roamer', protocolVersion: 5 });
    assert.equal(await reason, 0x8e);
  });

  test('cluster - the PUBACK waits for the other node: refused while it cannot answer, given once it can', async (t: TestContext) => {
    const sub = await connect(t, b.mqtt, { clientId: 'sub-frozen', clean: false, protocolVersion: 4 });
    await sub.client.subscribeAsync('f/#', { qos: 1 });
    const pub = await connect(t, a.mqtt, { clientId: 'pub-frozen', protocolVersion: 5 });
    await settled(pub, sub, 'f/probe');
    b.proc.child.kill('SIGSTOP');
    try {
      const started = Date.now();
      assert.equal(await ackCode(pub.client.publishAsync('f/1', 'while frozen', { qos: 1 })), 0x80, 'refused: node b did not accept it');
      assert.ok(Date.now() - started >= 900, 'waited for node b (clusterAckTimeoutMs 1000)');
    } finally {
      b.proc.child.kill('SIGCONT');
    }
    // Resumed, node b may first have to catch up with NATS (a stopped process misses its pings):
    // until it answers again a PUBACK is still refused with 0x80, never anything else, and then given.
    const codes: number[] = [];
    await waitFor(
      async () => {
        codes.push(await ackCode(pub.client.publishAsync('f/2', 'after', { qos: 1 })));
        return codes.at(-1) === 0;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: 'f/2 acknowledged once node b answers again' },
    );
    assert.deepEqual(codes.filter((code) => code !== 0 && code !== 0x80), [], `PUBACK reasons after SIGCONT: ${codes.join(', ')}`);
    await waitFor(() => sub.received.some((m) => m.payload === 'after'), { timeoutMs: 5000, message: 'f/2 delivered' });
  });

  test('cluster - a PUBACK that waits for the other node is not sent early by a later PUBACK that waits only for the local store', async (t: TestContext) => {
    // A persistent subscriber on a: a QoS 1 message to it waits for a's store only.
    const local = await connect(t, a.mqtt, { clientId: 'sub-local-order', clean: false, protocolVersion: 4 });
    await local.client.subscribeAsync('lo/#', { qos: 1 });
    const remote = await connect(t, b.mqtt, { clientId: 'sub-remote-order', clean: false, protocolVersion: 4 });
    await remote.client.subscribeAsync('ro/#', { qos: 1 });
    const pub = await connect(t, a.mqtt, { clientId: 'pub-order', protocolVersion: 5 });
    await settled(pub, remote, 'ro/probe');
    b.proc.child.kill('SIGSTOP');
    let codes: [number, number];
    try {
      // The first waits for b (frozen: refused after clusterAckTimeoutMs); the second's commit comes
      // at once. Before the fix its commit flushed both, and the first was acknowledged (0) although
      // b never accepted it.
      const toRemote = ackCode(pub.client.publishAsync('ro/1', 'needs b', { qos: 1 }));
      const toLocal = ackCode(pub.client.publishAsync('lo/1', 'local only', { qos: 1 }));
      codes = [await toRemote, await toLocal];
    } finally {
      b.proc.child.kill('SIGCONT');
    }
    assert.equal(codes[0], 0x80, 'the message b did not accept is refused, not acknowledged');
    assert.ok(codes[1] === 0 || codes[1] === 0x80, `the local one is acknowledged or refused in order, nothing else (${codes[1]})`);
    await waitFor(() => local.received.length > 0 || codes[1] !== 0, { timeoutMs: 5000, message: 'an acknowledged local message is delivered' });
  });

  test('cluster - ferry cluster status lists both nodes with their clients', async (t: TestContext) => {
    await connect(t, a.mqtt, { clientId: 'status-1' });
    await connect(t, a.mqtt, { clientId: 'status-2' });
    const status = await waitFor(
      async () => {
        const s = await clusterStatus(b);
        return s.nodes.find((n) => n.nodeId === 'node-a')?.clients === 2 ? s : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, message: 'node a with 2 clients in the status of node b' },
    );
    assert.equal(status.enabled, true);
    assert.deepEqual(status.nodes.map((n) => [n.nodeId, n.healthy]), [['node-a', true], ['node-b', true]]);
    assert.deepEqual([status.fencing.fencings, status.fencing.clientsEnded], [0, 0], 'no fencing in a healthy cluster');
    assert.ok(status.fencing.incarnation > 0, 'its incarnation in presence');
    const stdout = await clusterStatusTable(b);
    assert.match(stdout, /^NODE_ID\s+HEALTHY\s+CLIENTS/m);
    assert.match(stdout, /node-b \*\s+true/);
    const openapi = (await (await fetch(`${a.http}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(openapi.paths['/api/v1/cluster'] !== undefined, 'GET /api/v1/cluster in the OpenAPI document');
  });
});
