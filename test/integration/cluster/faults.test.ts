/**
 * Faults with real processes: three NATS servers (JetStream, R3 presence) and three Ferry nodes,
 * each given every NATS URL. One NATS server killed: the cluster goes on. One Ferry node killed
 * (-9) under QoS 1 load: its publisher reconnects to another node and sends again what was not
 * acknowledged; the subscriber on a third node has every acknowledged message (duplicates only
 * as QoS 1 allows).
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor } from '../../helpers/index.js';
import { startNatsCluster, suiteTeardown, type NatsCluster } from '../../helpers/engines.js';
import { connect } from '../mqtt/clients.js';
import { clusterStatus, ready, settled, startNode, type Node } from './nodes.js';

/** The NATS server a node is connected to now (`host:port`), from `ferry cluster status`. */
async function natsServerOf(node: Node): Promise<string | undefined> {
  return (await clusterStatus(node)).server;
}

describe('cluster faults - three Ferry nodes on three NATS servers', () => {
  const teardown = suiteTeardown();
  let nats: NatsCluster;
  const nodes: Node[] = [];

  before(async () => {
    nats = await startNatsCluster(teardown, 3);
    // Each node starts on its own server (listed first) and knows the others for failover.
    const started = await Promise.all(
      ['a', 'b', 'c'].map(async (id, i) => {
        const urls = [...nats.servers.slice(i), ...nats.servers.slice(0, i)].map((s) => s.url).join(',');
        return startNode(teardown, `node-${id}`, urls, ['--cluster-replicas', '3']);
      }),
    );
    nodes.push(...started);
    for (const node of nodes) await waitFor(() => ready(node), { timeoutMs: 30_000, intervalMs: 200, message: `${node.id} ready` });
  });

  // Issue 16's failover bug: when JetStream was unavailable for more than three heartbeats after the
  // kill (a meta-leader election), a read presence again, found b's record old, dropped b's interest,
  // saw b back half a second later and never asked for its filters again: ready, yet publishing to
  // nobody. Presence now forgives records that are old only because of the outage, and the interest
  // digest in each presence record makes a node ask for any list it lacks or lags behind on.
  test('cluster faults - kill -9 of one NATS server: its node fails over, ready means messages flow', async (t: TestContext) => {
    const [a, b] = nodes as [Node, Node, Node];
    const sub = await connect(t, b.mqtt, { clientId: 'nf-sub' });
    await sub.client.subscribeAsync('nf/#', { qos: 1 });
    const pub = await connect(t, a.mqtt, { clientId: 'nf-pub', protocolVersion: 5 });
    await settled(pub, sub, 'nf/probe');
    // The NATS client picks a server of its list at random: kill the one node a uses.
    const before = await natsServerOf(a);
    const victim = nats.servers.find((s) => before === `${s.host}:${s.port}`);
    assert.ok(victim !== undefined, `node a is on one of the test's servers (${before})`);
    await victim.kill();
    await waitFor(() => a.proc.logs.some((l) => l['msg'] === 'reconnected to NATS'), { timeoutMs: 15_000, message: 'node a reconnected to another server' });
    assert.notEqual(await natsServerOf(a), before);
    // Presence must have been read again after the reconnect: wait past a JetStream outage.
    await waitFor(async () => (await ready(a)) && (await ready(b)), { timeoutMs: 30_000, intervalMs: 200, message: 'nodes a and b ready again' });
    // Ready means routing works: one message, no retries.
    const ack = (await pub.client.publishAsync('nf/after', 'after', { qos: 1 })) as { reasonCode?: number } | undefined;
    assert.equal(ack?.reasonCode ?? 0, 0, 'the message is accepted by b');
    await waitFor(() => sub.received.some((m) => m.payload === 'after'), { timeoutMs: 10_000, message: 'the message from a reaches b' });
    await victim.restart();
  });

  test('cluster faults - kill -9 of a Ferry node under QoS 1 load: nothing acknowledged is lost', async (t: TestContext) => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const sub = await connect(t, b.mqtt, { clientId: 'kill-sub' });
    await sub.client.subscribeAsync('load/#', { qos: 1 });
    const probe = await connect(t, c.mqtt, { clientId: 'kill-probe' });
    await settled(probe, sub, 'load/probe');
    let pub = await connect(t, a.mqtt, { clientId: 'kill-pub', protocolVersion: 5 });
    await settled(pub, sub, 'load/probe');
    const total = 400;
    const acked = new Set<number>();
    let next = 0;
    let killed = false;
    // Publish with up to 20 in flight; kill node a once 100 are acknowledged.
    await new Promise<void>((resolve) => {
      let inFlight = 0;
      const pump = (): void => {
        while (!killed && inFlight < 20 && next < total) {
          const n = next++;
          inFlight++;
          pub.client.publishAsync(`load/${n}`, String(n), { qos: 1 }).then(
            (ack) => {
              if (((ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0) === 0) acked.add(n);
            },
            () => undefined,
          ).finally(() => {
            inFlight--;
            if (!killed && acked.size >= 100) {
              killed = true;
              a.proc.child.kill('SIGKILL');
              resolve();
            } else pump();
          });
        }
      };
      pump();
    });
    await a.proc.exited;
    const ackedBeforeKill = new Set(acked);
    // The publisher reconnects elsewhere and sends everything not acknowledged again.
    pub.client.end(true);
    pub = await connect(t, c.mqtt, { clientId: 'kill-pub', protocolVersion: 5 });
    for (let n = 0; n < total; n++) {
      if (acked.has(n)) continue;
      const ack = (await pub.client.publishAsync(`load/${n}`, String(n), { qos: 1 })) as { reasonCode?: number } | undefined;
      assert.equal(ack?.reasonCode ?? 0, 0);
      acked.add(n);
    }
    await waitFor(() => new Set(sub.received.map((m) => m.payload)).size >= total, { timeoutMs: 15_000, message: 'every message at the subscriber' });
    const got = new Set(sub.received.map((m) => Number(m.payload)));
    for (const n of ackedBeforeKill) assert.ok(got.has(n), `message ${n} was acknowledged before the kill and must have arrived`);
    assert.equal(got.size, total);
    assert.ok(sub.received.length - total <= 20, `duplicates only from what was in flight at the kill (${sub.received.length - total})`);
    await waitFor(
      async () => {
        const status = (await (await fetch(`${b.http}/readyz`)).json()) as { status: string };
        return status.status === 'ready';
      },
      { timeoutMs: 10_000, message: 'node b still ready' },
    );
  });
});
