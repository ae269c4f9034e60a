/**
 * Built-in queues from any node (clusterStore jetstream; docs/cluster.md, "Built-in queues across
 * nodes"): messages a rule appends on node a are received and acknowledged over HTTP on node b; a
 * nack through node a, and a visibility timeout, make them visible again on either node; an AMQP
 * consumer on node b gets them too. Real
 * processes: one nats-server -js and two Ferry nodes; the rule is created before node b starts.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor } from '../../helpers/index.js';
import { startNats, suiteTeardown, type Engine } from '../../helpers/engines.js';
import { rest } from '../api/rest-client.js';
import { connect } from '../mqtt/clients.js';
import { ADMIN, BOOTSTRAP, startNode, untilReady, type Node } from './nodes.js';
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
  const answer = await rest(node.http, ADMIN, 'POST', `${I}/queues/jobs/receive`, body);
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
    a = await startNode(teardown, 'node-a', nats.url, BOOTSTRAP);
    await untilReady(a);
    const created = await rest(a.http, ADMIN, 'POST', `${I}/rules`, { name: 'to-queue', type: 'outbound', topics: ['jobs/#'], target: 'queue://jobs' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    b = await startNode(teardown, 'node-b', nats.url, [...BOOTSTRAP, '--amqp-port=0']);
    await untilReady(b);
  });

  test('cluster queues - published via MQTT on node a, received and acknowledged over HTTP on node b; nack and timeout redeliver on either node', async (t: TestContext) => {
    const pub = await connect(t, a.mqtt, { clientId: 'GID_queues@@@pub', protocolVersion: 5 });
    const sent = ['j0', 'j1', 'j2', 'j3', 'j4'];
    for (const payload of sent) await pub.client.publishAsync('jobs/x', payload, { qos: 1 });
    // The rule appends on node a; node b's receive takes from a's share (a long poll).
    await waitFor(async () => (await rest(a.http, ADMIN, 'GET', `${I}/queues`)).body.items?.find((q) => q['name'] === 'jobs')?.['depth'] === sent.length, {
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
    const acked = await rest(b.http, ADMIN, 'POST', `${I}/queues/jobs/ack`, { receipts: [first[0]!.receipt, first[1]!.receipt] });
    assert.equal(acked.body['acked'], 2);
    const nacked = await rest(a.http, ADMIN, 'POST', `${I}/queues/jobs/nack`, { receipts: [first[2]!.receipt] });
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
    const rest3 = await rest(b.http, ADMIN, 'POST', `${I}/queues/jobs/ack`, { receipts: again.map((m) => m.receipt) });
    assert.equal(rest3.body['acked'], 3);
    // A stale receipt (acknowledged already) counts for nothing, on either node.
    assert.equal((await rest(b.http, ADMIN, 'POST', `${I}/queues/jobs/ack`, { receipts: [first[0]!.receipt] })).body['acked'], 0);
    assert.deepEqual(await receive(b, { max: 10, wait: 0 }), []);
    assert.equal((await rest(a.http, ADMIN, 'GET', `${I}/queues`)).body.items?.find((q) => q['name'] === 'jobs')?.['depth'], 0);
  });

  test('cluster queues - appended over HTTP on node b, a waiting receive on node a gets it', async (t: TestContext) => {
    const waiting = receive(a, { max: 1, visibilityTimeout: 30, wait: 10 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = await rest(b.http, ADMIN, 'POST', `${I}/queues/jobs/messages`, { payload: 'late' });
    assert.equal(sent.status, 201);
    const got = await waiting;
    assert.deepEqual(
      got.map((m) => m.payload),
      ['late'],
    );
    assert.equal((await rest(a.http, ADMIN, 'POST', `${I}/queues/jobs/ack`, { receipts: [got[0]!.receipt] })).body['acked'], 1);
    t.diagnostic(`receipt from node b: ${got[0]!.receipt}`);
  });

  test('cluster queues - an AMQP consumer on node b gets and acknowledges what a rule appended on node a', async (t: TestContext) => {
    const port = b.proc.ports['amqp'];
    assert.ok(port !== undefined && port > 0, 'node b has an AMQP listener');
    const connection = await connectAmqp(t, port, sdkLogin('mqtt-default', ADMIN));
    const channel = await connection.createChannel();
    const got: Array<{ payload: string; ack: () => void }> = [];
    await channel.consume('jobs', (m) => {
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
    await waitFor(async () => (await rest(a.http, ADMIN, 'GET', `${I}/queues`)).body.items?.find((q) => q['name'] === 'jobs')?.['depth'] === 0, {
      timeoutMs: 10_000,
      message: "node a's share of the queue emptied by the acknowledgements on node b",
    });
  });
});
