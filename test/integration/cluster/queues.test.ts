/**
 * Built-in queues from any node (clusterStore jetstream; docs/cluster.md, "Built-in queues across
 * nodes"): messages a rule appends on node a are received and acknowledged over HTTP on node b; a
 * nack through node a, and a visibility timeout, make them visible again on either node; an AMQP
 * consumer on node b gets them too; device data (basic.consume(queue=<parent topic>)) consumed
 * through node a is captured on node b at once, without a restart of b. Real processes: one
 * nats-server -js and two Ferry nodes; the rule is created before node b starts.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor } from '../../helpers/index.js';
import { startNats, suiteTeardown, type Engine } from '../../helpers/engines.js';
import { rest } from '../api/rest-client.js';
import { connect } from '../mqtt/clients.js';
import { ADMIN, BOOTSTRAP, startReadyNode, type Node } from './nodes.js';
import { connectAmqp, sdkLogin } from '../amqp/sdk.js';

const I = '/instances/mqtt-default';

interface Received {
  id: string;
  receipt: string;
  payload: string;
  deliveries: number;
  properties: Record<string, string>;
}

async function receive(node: Node, body: Record<string, unknown>): Promise<Received[]> {
  const answer = await rest(node.http, ADMIN, 'POST', `${I}/queues/work/receive`, body);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return (answer.body.items ?? []).map((m) => ({ ...(m as unknown as Received), payload: Buffer.from(m['payload'] as string, 'base64').toString() }));
}

describe('cluster queues - a built-in queue is one queue on every node', () => {
  const teardown = suiteTeardown();
  let nats: Engine;
  let a: Node;
  let b: Node;

  before(async () => {
    nats = await startNats(teardown);
    a = await startReadyNode(teardown, 'node-a', nats.url, [...BOOTSTRAP, '--amqp-port=0']);
    // Not named after the parent topic: with the AMQP endpoint on, a queue named `jobs` would also get the device data of jobs/#.
    const created = await rest(a.http, ADMIN, 'POST', `${I}/rules`, { name: 'to-queue', type: 'outbound', topics: ['jobs/#'], target: 'queue://work' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    b = await startReadyNode(teardown, 'node-b', nats.url, [...BOOTSTRAP, '--amqp-port=0']);
  });

  test('cluster queues - published via MQTT on node a, received and acknowledged over HTTP on node b; nack and timeout redeliver on either node', async (t: TestContext) => {
    const pub = await connect(t, a.mqtt, { clientId: 'GID_queues@@@pub', protocolVersion: 5 });
    const sent = ['j0', 'j1', 'j2', 'j3', 'j4'];
    for (const payload of sent) await pub.client.publishAsync('jobs/x', payload, { qos: 1 });
    // The rule appends on node a; node b's receive takes from a's share (a long poll).
    await waitFor(async () => (await rest(a.http, ADMIN, 'GET', `${I}/queues`)).body.items?.find((q) => q['name'] === 'work')?.['depth'] === sent.length, {
      timeoutMs: 10_000,
      message: 'five messages in the queue on node a',
    });
    const first = await receive(b, { max: 10, visibilityTimeout: 2, wait: 5 });
    assert.deepEqual(
      first.map((m) => m.payload),
      sent,
      'every message, in order, through node b',
    );
    assert.equal(first[0]!.properties['clientId'], 'GID_queues@@@pub');
    assert.ok(first.every((m) => m.deliveries === 1));
    // Acknowledged through node b; one given back through node a; two left to time out.
    const acked = await rest(b.http, ADMIN, 'POST', `${I}/queues/work/ack`, { receipts: [first[0]!.receipt, first[1]!.receipt] });
    assert.equal(acked.body['acked'], 2);
    const nacked = await rest(a.http, ADMIN, 'POST', `${I}/queues/work/nack`, { receipts: [first[2]!.receipt] });
    assert.equal(nacked.body['nacked'], 1);
    const again: Received[] = [];
    await waitFor(
      async () => {
        again.push(...(await receive(a, { max: 10, visibilityTimeout: 30, wait: 1 })));
        return again.length >= 3;
      },
      { timeoutMs: 15_000, intervalMs: 0, message: 'the nacked message and the two timed out ones, again' },
    );
    assert.deepEqual(new Set(again.map((m) => m.payload)), new Set(['j2', 'j3', 'j4']));
    assert.ok(again.every((m) => m.deliveries === 2), JSON.stringify(again));
    // Node a's receipts, acknowledged through node b.
    const rest3 = await rest(b.http, ADMIN, 'POST', `${I}/queues/work/ack`, { receipts: again.map((m) => m.receipt) });
    assert.equal(rest3.body['acked'], 3);
    // A stale receipt (acknowledged already) counts for nothing, on either node.
    assert.equal((await rest(b.http, ADMIN, 'POST', `${I}/queues/work/ack`, { receipts: [first[0]!.receipt] })).body['acked'], 0);
    assert.deepEqual(await receive(b, { max: 10, wait: 0 }), []);
    assert.equal((await rest(a.http, ADMIN, 'GET', `${I}/queues`)).body.items?.find((q) => q['name'] === 'work')?.['depth'], 0);
  });

  test('cluster queues - appended over HTTP on node b, a waiting receive on node a gets it', async (t: TestContext) => {
    const waiting = receive(a, { max: 1, visibilityTimeout: 30, wait: 10 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = await rest(b.http, ADMIN, 'POST', `${I}/queues/work/messages`, { payload: 'late' });
    assert.equal(sent.status, 201);
    const got = await waiting;
    assert.deepEqual(
      got.map((m) => m.payload),
      ['late'],
    );
    assert.equal((await rest(a.http, ADMIN, 'POST', `${I}/queues/work/ack`, { receipts: [got[0]!.receipt] })).body['acked'], 1);
    t.diagnostic(`receipt from node b: ${got[0]!.receipt}`);
  });

  test('cluster queues - an AMQP consumer on node b gets and acknowledges what a rule appended on node a', async (t: TestContext) => {
    const port = b.proc.ports['amqp'];
    assert.ok(port !== undefined && port > 0, 'node b has an AMQP listener');
    const connection = await connectAmqp(t, port, sdkLogin('mqtt-default', ADMIN));
    const channel = await connection.createChannel();
    const got: Array<{ payload: string; ack: () => void }> = [];
    await channel.consume('work', (m) => {
      if (m !== null) got.push({ payload: m.content.toString(), ack: () => channel.ack(m) });
    });
    const pub = await connect(t, a.mqtt, { clientId: 'GID_queues@@@amqp', protocolVersion: 5 });
    for (const payload of ['a0', 'a1', 'a2']) await pub.client.publishAsync('jobs/y', payload, { qos: 1 });
    await waitFor(() => got.length >= 3, { timeoutMs: 10_000, message: 'three AMQP deliveries on node b' });
    assert.deepEqual(
      got.map((m) => m.payload),
      ['a0', 'a1', 'a2'],
    );
    for (const m of got) m.ack();
    await waitFor(async () => (await rest(a.http, ADMIN, 'GET', `${I}/queues`)).body.items?.find((q) => q['name'] === 'work')?.['depth'] === 0, {
      timeoutMs: 10_000,
      message: "node a's share of the queue emptied by the acknowledgements on node b",
    });
  });

  test('cluster queues - device data consumed through node a (declared after node b started) is captured when the device publishes on node b', async (t: TestContext) => {
    const port = a.proc.ports['amqp'];
    assert.ok(port !== undefined && port > 0, 'node a has an AMQP listener');
    const connection = await connectAmqp(t, port, sdkLogin('mqtt-default', ADMIN));
    const channel = await connection.createChannel();
    const got: string[] = [];
    // The server SDK's subscribeTopic: basic.consume(queue=<parent topic>), no declare before it.
    await channel.consume(
      'plant',
      (m) => {
        if (m === null) return;
        got.push(`${String(m.properties.headers?.['topic'])} ${m.content.toString()}`);
        channel.ack(m);
      },
      { noAck: false },
    );
    // The declaration reaches node b through the meta feed (about a second at most); until then b
    // does not capture, so the device keeps publishing until one message comes through.
    const device = await connect(t, b.mqtt, { clientId: 'GID_plant@@@d1', protocolVersion: 5 });
    const started = Date.now();
    let n = 0;
    await waitFor(
      async () => {
        await device.client.publishAsync('plant/line1/temp', `t${n++}`, { qos: 1 });
        return got.length > 0;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: 'device data published on node b reaches the AMQP consumer on node a' },
    );
    t.diagnostic(`captured on node b ${Date.now() - started} ms after the consume on node a (${n} publishes)`);
    assert.match(got[0]!, /^plant\/line1\/temp t\d+$/);
    // From then on every message is captured, in order.
    const from = got.length;
    for (const payload of ['x0', 'x1', 'x2']) await device.client.publishAsync('plant/line1/temp', payload, { qos: 1 });
    await waitFor(() => got.includes('plant/line1/temp x2'), { timeoutMs: 10_000, message: 'three more messages' });
    assert.deepEqual(got.slice(from).filter((m) => / x\d$/.test(m)), ['plant/line1/temp x0', 'plant/line1/temp x1', 'plant/line1/temp x2']);
  });
});
