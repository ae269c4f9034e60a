/**
 * A Ferry node that stalls (SIGSTOP for longer than three heartbeats) while its client stays
 * connected: the other node counts it as gone and takes its persistent sessions over, so what is
 * published meanwhile is queued for them; when the node runs again it lets go of those sessions —
 * its client still connected there is disconnected (0x8E) and, reconnecting to the other node,
 * resumes its session with what was queued. Three NATS servers (R3), two Ferry nodes with their
 * state in JetStream.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor } from '../../helpers/index.js';
import { startNatsCluster, suiteTeardown, type NatsCluster } from '../../helpers/engines.js';
import { connect } from '../mqtt/clients.js';
import { settled, startNode, untilReady, type Node } from './nodes.js';

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
    await waitFor(async () => (((await pub.client.publishAsync('cut/x', 'while stalled', { qos: 1 })) as { reasonCode?: number } | undefined)?.reasonCode ?? 0) === 0, {
      timeoutMs: 20_000,
      intervalMs: 500,
      message: 'a message acknowledged by b',
    });

    a.proc.child.kill('SIGCONT');
    assert.equal(await letGo, 0x8e, 'running again, a lets go of the session: its client is disconnected with Session taken over');
    await waitFor(() => a.proc.logs.some((l) => l['msg'] === 'session taken over by another node while this one was cut off; letting go of it' && l['clientId'] === 'cut-sub'), {
      timeoutMs: 5000,
      message: 'a says why it let go',
    });
    const back = await connect(t, b.mqtt, options);
    assert.equal(back.connack.sessionPresent, true);
    await back.waitFor(1, 10_000);
    assert.deepEqual(back.received.map((m) => m.payload).filter((p) => p !== 'probe'), ['while stalled']);
  });
});
