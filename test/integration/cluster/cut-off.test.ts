/**
 * A Ferry node that stalls (SIGSTOP for longer than three heartbeats) while its client stays
 * connected: the other node counts it as gone and takes its persistent sessions over, so what is
 * published meanwhile is queued for them; when the node runs again it lets go of those sessions —
 * its client still connected there is disconnected (0x8E) and, reconnecting to the other node,
 * resumes its session with what was queued. And its clean-session clients: the other node stopped
 * routing to the stalled one, so what it acknowledged meanwhile never reached them; running again,
 * the stalled node reads that it was counted as gone and ends their sessions (MQTT 5: DISCONNECT
 * 0x9C; 3.1.1: closed), and they reconnect and get what is published from then on. Three NATS
 * servers (R3), two Ferry nodes with their state in JetStream.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor, within } from '../../helpers/index.js';
import { startNatsCluster, suiteTeardown, type NatsCluster } from '../../helpers/engines.js';
import { connect } from '../mqtt/clients.js';
import { clusterStatus, keepingLogs, publishedUntilAccepted, settled, startNode, untilReady, type Node } from './nodes.js';

const FENCED = 'this node was counted as gone by the cluster: ended the sessions of its clean-session clients and joins again as a new member';

describe('cluster cut-off - a node that stalls and comes back', () => {
  const teardown = suiteTeardown();
  let nats: NatsCluster;
  let a: Node;
  let b: Node;

  before(async () => {
    nats = await startNatsCluster(teardown, 3);
    a = await startNode(teardown, 'node-a', nats.urls, ['--cluster-replicas', '3']);
    b = await startNode(teardown, 'node-b', nats.urls, ['--cluster-replicas', '3']);
    for (const node of [a, b]) await untilReady(node, 30_000);
  });

  test('cluster cut-off - the other node takes its sessions over; running again, the stalled node lets go of them and their clients resume there', { timeout: 180_000 }, async (t: TestContext) => {
    const options = { clientId: 'cut-sub', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 3600 } };
    const sub = await connect(t, a.mqtt, options);
    await waitFor(() => sub.client.subscribeAsync('cut/#', { qos: 1 }).then(() => true, () => false), { timeoutMs: 30_000, intervalMs: 500, message: 'the subscription accepted' });
    const pub = await connect(t, b.mqtt, { clientId: 'cut-pub', protocolVersion: 5 });
    await settled(pub, sub, 'cut/probe');
    const letGo = new Promise<number | undefined>((resolve) => sub.client.once('disconnect', (p) => resolve(p.reasonCode)));

    a.proc.child.kill('SIGSTOP');
    t.after(() => a.proc.child.kill('SIGCONT'));
    await waitFor(() => b.proc.logs.some((l) => l['msg'] === 'took over the sessions of a node that left the cluster' && l['nodeId'] === 'node-a' && l['sessions'] === 1), {
      timeoutMs: 30_000,
      message: 'b took over the session of a',
    });
    // Queued on b for the session while its client is still connected to the stalled a.
    await publishedUntilAccepted(pub, 'cut/x', 'while stalled', 'a message acknowledged by b');

    a.proc.child.kill('SIGCONT');
    assert.equal(await letGo, 0x8e, 'running again, a lets go of the session: its client is disconnected with Session taken over');
    await waitFor(() => a.proc.logs.some((l) => l['msg'] === 'session taken over by another node while this one was cut off; letting go of it' && l['clientId'] === 'cut-sub'), {
      timeoutMs: 5000,
      message: 'a says why it let go',
    });
    // a was counted as gone by b: it fences itself once b's record says so (no clean-session client to end).
    const fenced = await waitFor(() => a.proc.logs.find((l) => l['msg'] === FENCED), { timeoutMs: 10_000, message: 'a fenced itself' });
    assert.deepEqual([fenced['countedAsGoneBy'], fenced['clientsEnded']], [['node-b'], 0]);
    const back = await connect(t, b.mqtt, options);
    assert.equal(back.connack.sessionPresent, true);
    await back.waitFor(1, 10_000);
    assert.deepEqual(back.received.map((m) => m.payload).filter((p) => p !== 'probe'), ['while stalled']);
  });

  test('cluster cut-off - a node counted as gone ends the sessions of its clean-session clients (MQTT 5: 0x9C, 3.1.1: closed); reconnected, they get what is published after', { timeout: 120_000 }, async (t: TestContext) =>
    keepingLogs([a, b], 'cluster-fence', async () => {
      const sub = await connect(t, b.mqtt, { clientId: 'fence-sub5', protocolVersion: 5 });
      await sub.client.subscribeAsync('fence/#', { qos: 1 });
      const sub3 = await connect(t, b.mqtt, { clientId: 'fence-sub3', protocolVersion: 4 });
      await sub3.client.subscribeAsync('fence/#', { qos: 1 });
      // Publishing only: not routed to, so not ended by a fencing.
      const pub = await connect(t, a.mqtt, { clientId: 'fence-pub', protocolVersion: 5 });
      const onlyPublishing = await connect(t, b.mqtt, { clientId: 'fence-pub-b', protocolVersion: 5 });
      await settled(pub, sub, 'fence/probe');
      const ended = new Promise<number | undefined>((resolve) => sub.client.once('disconnect', (p) => resolve(p.reasonCode)));
      const closed3 = new Promise<void>((resolve) => sub3.client.once('close', () => resolve()));

      b.proc.child.kill('SIGSTOP');
      t.after(() => b.proc.child.kill('SIGCONT'));
      await waitFor(() => a.proc.logs.some((l) => l['msg'] === 'took over the sessions of a node that left the cluster' && l['nodeId'] === 'node-b'), {
        timeoutMs: 30_000,
        message: 'a counted b as gone (and took over its sessions: none persistent)',
      });
      // a no longer routes to b: a QoS 1 message for b's subscribers is acknowledged and reaches nobody.
      await publishedUntilAccepted(pub, 'fence/x', 'while b was gone', 'a message acknowledged by a while b is counted as gone');

      b.proc.child.kill('SIGCONT');
      assert.equal(await within(15_000, 'the MQTT 5 subscriber on b disconnected', ended), 0x9c, 'DISCONNECT Use another server');
      await within(5000, 'the 3.1.1 subscriber on b closed', closed3);
      assert.ok(!sub.received.some((m) => m.payload === 'while b was gone'), 'what a acknowledged while b was counted as gone never reached b');
      const fenced = await waitFor(() => b.proc.logs.find((l) => l['msg'] === FENCED), {
        timeoutMs: 5000,
        message: 'b logs the fencing',
      });
      assert.equal(fenced['clientsEnded'], 2, 'the two subscribers');
      assert.ok(onlyPublishing.client.connected, 'a client that only publishes stays connected');
      assert.deepEqual(fenced['countedAsGoneBy'], ['node-a']);
      // The operator sees it in the status too (GET /api/v1/cluster, ferry cluster status).
      const { fencing } = await clusterStatus(b);
      assert.deepEqual([fencing.fencings, fencing.clientsEnded], [1, 2]);
      assert.equal(fencing.incarnation, fenced['incarnation'], 'the new incarnation taken at the fencing');

      const back = await connect(t, b.mqtt, { clientId: 'fence-sub5', protocolVersion: 5 });
      await back.client.subscribeAsync('fence/#', { qos: 1 });
      await settled(pub, back, 'fence/probe');
      const ack = (await pub.client.publishAsync('fence/y', 'after', { qos: 1 })) as { reasonCode?: number } | undefined;
      assert.equal(ack?.reasonCode ?? 0, 0);
      await back.waitFor(1, 10_000);
      assert.deepEqual(back.received.map((m) => m.payload), ['after']);
    }),
  );
});
