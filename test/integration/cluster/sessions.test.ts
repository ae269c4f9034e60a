/**
 * Sessions in JetStream (clusterStore jetstream, the default in cluster mode): a persistent
 * session moves from one Ferry node to another with its offline queue; the node it left lets go
 * of it (no more queuing there), and messages published afterwards reach it on its new node.
 * Metadata and retained messages are shared: a device credential registered on one node is
 * accepted by a node started later, which also has the retained messages. Real processes: one nats-server -js and Ferry nodes.
 */

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { before, describe, test, type TestContext } from 'node:test';
import { connect as natsConnect } from '@nats-io/transport-node';
import { token } from '../../../src/store/jetstream/layout.js';
import { failedStart, tempDir, waitFor, waitForLog } from '../../helpers/index.js';
import { call, popClient } from '../api/pop-client.js';
import { rest } from '../api/rest-client.js';
import { startNats, suiteTeardown, type Engine } from '../../helpers/engines.js';
import { connect } from '../mqtt/clients.js';
import { ADMIN, settled, startReadyNode, type Node } from './nodes.js';

describe('cluster sessions - two nodes, state in JetStream', () => {
  const teardown = suiteTeardown();
  let nats: Engine;
  let a: Node;
  let b: Node;

  before(async () => {
    nats = await startNats(teardown);
    a = await startReadyNode(teardown, 'node-a', nats.url);
    b = await startReadyNode(teardown, 'node-b', nats.url);
  });

  test('cluster sessions - a persistent session moves to another node with its queue: nothing lost, nothing twice', async (t: TestContext) => {
    const persistent = { clientId: 'mover', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 3600 } };
    const first = await connect(t, a.mqtt, persistent);
    await first.client.subscribeAsync('move/#', { qos: 1 });
    await first.client.endAsync();

    // Queued on node a while the client is away; each PUBACK means durable in JetStream.
    const pub = await connect(t, a.mqtt, { clientId: 'mover-pub', protocolVersion: 5 });
    const sent = Array.from({ length: 20 }, (_, i) => `q${i}`);
    for (const payload of sent) await pub.client.publishAsync('move/x', payload, { qos: 1 });

    const moved = await connect(t, b.mqtt, persistent);
    assert.equal(moved.connack.sessionPresent, true, 'the session came along');
    await moved.waitFor(sent.length, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // no late duplicates
    assert.deepEqual(
      moved.received.map((m) => m.payload),
      sent,
      'the queue, in order, once',
    );
    await waitForLog(a.proc, (l) => l['msg'] === 'session handed over to another node' && l['clientId'] === 'mover', 'session handed over to another node');
    await waitForLog(b.proc, (l) => l['msg'] === 'session taken over from another node' && l['from'] === 'node-a' && l['queued'] === 20, 'session taken over from another node');

    // Node a let go: what is published there now reaches the session on b, and only there.
    moved.received.length = 0;
    await settled(pub, moved, 'move/probe');
    for (const payload of ['after0', 'after1']) await pub.client.publishAsync('move/x', payload, { qos: 1 });
    await moved.waitFor(2, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      moved.received.map((m) => m.payload),
      ['after0', 'after1'],
    );

    // And back to node a, whose record b now owns: the queue follows again.
    await moved.client.endAsync();
    for (const payload of ['back0', 'back1']) await pub.client.publishAsync('move/x', payload, { qos: 1 });
    const back = await connect(t, a.mqtt, persistent);
    assert.equal(back.connack.sessionPresent, true);
    await back.waitFor(2, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      back.received.map((m) => m.payload),
      ['back0', 'back1'],
    );
  });

  test('cluster sessions - a clean start on another node ends the old session there', async (t: TestContext) => {
    const old = await connect(t, a.mqtt, { clientId: 'restarter', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } });
    await old.client.subscribeAsync('restart/#', { qos: 1 });
    await old.client.endAsync();
    const fresh = await connect(t, b.mqtt, { clientId: 'restarter', protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 3600 } });
    assert.equal(fresh.connack.sessionPresent, false);
    await waitFor(() => a.proc.logs.some((l) => l['msg'] === 'session handed over to another node' && l['clientId'] === 'restarter'), {
      timeoutMs: 5000,
      message: 'node a let go',
    });
    // The old subscription is gone everywhere: what is published now is queued for nobody, and the
    // session (the new one, without subscriptions) comes back to node a empty.
    const pub = await connect(t, a.mqtt, { clientId: 'restarter-pub', protocolVersion: 5 });
    await pub.client.publishAsync('restart/x', 'to nobody', { qos: 1 });
    await fresh.client.endAsync();
    const back = await connect(t, a.mqtt, { clientId: 'restarter', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } });
    assert.equal(back.connack.sessionPresent, true, 'the new session, from node b');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(back.received, []);
  });

  test('cluster sessions - a retained message deleted through the API of one node is gone on the other', async (t: TestContext) => {
    const pub = await connect(t, a.mqtt, { clientId: 'api-del-pub', protocolVersion: 5 });
    await pub.client.publishAsync('apidel/x', 'doomed', { qos: 1, retain: true });
    const onB = async (): Promise<number> => (await rest(b.http, ADMIN, 'GET', '/instances/mqtt-default/retained/apidel/x')).status;
    await waitFor(async () => (await onB()) === 200, { timeoutMs: 10_000, message: 'the retained message on b' });
    const deleted = await rest(a.http, ADMIN, 'DELETE', '/instances/mqtt-default/retained/apidel/x');
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
    await waitFor(async () => (await onB()) === 404, { timeoutMs: 5000, message: 'the deletion on b' });
    for (const node of [a, b]) {
      const reader = await connect(t, node.mqtt, { clientId: `api-del-reader-${node.id}` });
      await reader.client.subscribeAsync('apidel/#', { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(reader.received, [], `a fresh subscriber on ${node.id}`);
    }
  });

  // Issue 16: the node taking a session over announces its filters on `ferry.i`, then asks the
  // owner to let go on `ferry.h.<owner>`, over another connection: the request may arrive first.
  // Had the owner let go then, what it acknowledged before it heard the announcement was queued
  // for nobody. Here the test is that node (node-x, on its own NATS connection) and announces late.
  test('cluster sessions - the owner lets go of a session only once it has the interest of the node taking it: nothing acknowledged meanwhile is lost', async (t: TestContext) => {
    const nc = await natsConnect({ servers: nats.url });
    t.after(() => nc.close());
    const announcements: Array<Record<string, unknown>> = [];
    nc.subscribe('ferry.i', { callback: (err, msg) => void (err === null && announcements.push(msg.json<Record<string, unknown>>())) });
    await nc.flush();
    const persistent = { clientId: 'overtaken', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 3600 } };
    const first = await connect(t, a.mqtt, persistent);
    await first.client.subscribeAsync('overtaken/#', { qos: 1 });
    await first.client.endAsync();
    const add = await waitFor(() => announcements.find((x) => x['node'] === 'node-a' && x['op'] === 'add' && x['filter'] === 'overtaken/#'), {
      timeoutMs: 5000,
      message: "node a's announcement of the session's filter",
    });
    const instanceId = String(add['instanceId']);

    let answer: { released: boolean } | null = null;
    const request = nc
      .request(`ferry.h.${token('node-a')}`, JSON.stringify({ instanceId, clientId: 'overtaken', node: 'node-x', interest: 1 }), { timeout: 10_000 })
      .then((reply) => (answer = reply.json<{ released: boolean }>()));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(answer, null, 'node a waits for the interest of node-x');
    const pub = await connect(t, a.mqtt, { clientId: 'overtaken-pub', protocolVersion: 5 });
    const ack = (await pub.client.publishAsync('overtaken/x', 'meanwhile', { qos: 1 })) as { reasonCode?: number } | undefined;
    assert.equal(ack?.reasonCode ?? 0, 0, 'acknowledged by node a');
    assert.equal(answer, null, 'node a still has the session');
    nc.publish('ferry.i', JSON.stringify({ node: 'node-x', v: 1, op: 'full', filters: [[instanceId, 'overtaken/#', '']] }));
    await request;
    assert.deepEqual(answer, { released: true }, 'node a let go once it had the announcement');
    // node-x goes (its sessions taken over, as far as the nodes know): they forget its filters.
    nc.publish('ferry.i', JSON.stringify({ node: 'node-test', v: 0, op: 'adopted', of: 'node-x' }));

    // The session, opened on node b, has what node a acknowledged.
    const moved = await connect(t, b.mqtt, persistent);
    assert.equal(moved.connack.sessionPresent, true);
    await moved.waitFor(1, 10_000);
    assert.deepEqual(
      moved.received.map((m) => m.payload),
      ['meanwhile'],
    );
  });

  test('cluster sessions - metadata and retained messages written on one node are used on a node started afterwards; a node with another master key refuses to start', async (t: TestContext) => {
    const admin = popClient(a.http, ADMIN);
    const answer = await call(admin, 'RegisterDeviceCredential', { InstanceId: 'mqtt-default', ClientId: 'GID_meta@@@dev1' });
    const cred = answer['DeviceCredential'] as { DeviceAccessKeyId: string; DeviceAccessKeySecret: string };
    // Retained messages set on a, one deleted on b: c loads them from JetStream, and the catch-up
    // from a or b finds nothing newer (it changes nothing there).
    const pubA = await connect(t, a.mqtt, { clientId: 'js-retain-a', protocolVersion: 5 });
    await pubA.client.publishAsync('js/kept', 'kept', { qos: 1, retain: true });
    await pubA.client.publishAsync('js/gone', 'gone', { qos: 1, retain: true });
    const pubB = await connect(t, b.mqtt, { clientId: 'js-retain-b', protocolVersion: 5 });
    await new Promise((resolve) => setTimeout(resolve, 300)); // b has js/gone before it deletes it
    await pubB.client.publishAsync('js/gone', '', { qos: 1, retain: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const c = await startReadyNode(t, 'node-c', nats.url);
    const reader = await connect(t, c.mqtt, { clientId: 'js-reader' });
    await reader.client.subscribeAsync('js/#', { qos: 1 });
    await reader.waitFor(1, 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(reader.received.map((m) => [m.topic, m.payload]), [['js/kept', 'kept']]);
    assert.equal(c.proc.logs.find((l) => l['msg'] === 'took the retained messages of the cluster')?.['changed'], 0);
    const device = await connect(t, c.mqtt, {
      clientId: 'GID_meta@@@dev1',
      username: `DeviceCredential|${cred.DeviceAccessKeyId}|mqtt-default`,
      password: createHmac('sha1', cred.DeviceAccessKeySecret).update('GID_meta@@@dev1').digest('base64'),
    });
    assert.equal(device.connack.returnCode, 0);

    const stranger = await failedStart(
      ['--data-dir', tempDir(t), '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port=-1', '--amqps-port=-1', '--tls-port', '0', '--wss-port', '0',
        '--cluster-nats', nats.url, '--node-id', 'node-stranger'],
      { FERRY_LOG_LEVEL: 'info' },
    );
    assert.notEqual(stranger.code, 0);
    assert.match(stranger.output, /master\.key is not the master key of this cluster/);
  });
});
