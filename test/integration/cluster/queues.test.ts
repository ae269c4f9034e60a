/**
 * Built-in queues from any node (clusterStore jetstream; docs/cluster.md, "Built-in queues across
 * nodes"): a queue is one FIFO with one depth whichever node appends or receives; messages a rule
 * appends on node a are received and acknowledged over HTTP on node b; a
 * nack through node a, and a visibility timeout, make them visible again on either node; an AMQP
 * consumer on node b gets them too; device data (basic.consume(queue=<parent topic>)) consumed
 * through node a is captured on node b at once, without a restart of b; messages a node kept in
 * its own queue log before an upgrade are delivered. Real processes: one nats-server -js and two
 * Ferry nodes; the rule is created before node b starts.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor, waitForLog } from '../../helpers/index.js';
import { startNats, suiteTeardown, type Engine } from '../../helpers/engines.js';
import { rest } from '../api/rest-client.js';
import { connect } from '../mqtt/clients.js';
import { ADMIN, BOOTSTRAP, startNode, startReadyNode, untilReady, type Node } from './nodes.js';
import { connectAmqp, sdkLogin } from '../amqp/sdk.js';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { encodeLogEntry } from '../../../src/store/jetstream/codec.js';
import { token } from '../../../src/store/jetstream/layout.js';

const I = '/instances/mqtt-default';

interface Received {
  id: string;
  receipt: string;
  payload: string;
  deliveries: number;
  properties: Record<string, string>;
}

async function receive(node: Node, body: Record<string, unknown>, queue = 'work'): Promise<Received[]> {
  const answer = await rest(node.http, ADMIN, 'POST', `${I}/queues/${queue}/receive`, body);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return (answer.body.items ?? []).map((m) => ({ ...(m as unknown as Received), payload: Buffer.from(m['payload'] as string, 'base64').toString() }));
}

async function append(node: Node, queue: string, payload: string): Promise<void> {
  const sent = await rest(node.http, ADMIN, 'POST', `${I}/queues/${queue}/messages`, { payload });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
}

async function settle(node: Node, queue: string, op: 'ack' | 'nack', receipts: string[], delay?: number): Promise<number> {
  const answer = await rest(node.http, ADMIN, 'POST', `${I}/queues/${queue}/${op}`, { receipts, ...(delay === undefined ? {} : { delay }) });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body[op === 'ack' ? 'acked' : 'nacked'] as number;
}

/** A queue as `GET …/queues` of a node shows it. */
async function queueInfo(node: Node, queue: string): Promise<Record<string, unknown> | undefined> {
  return (await rest(node.http, ADMIN, 'GET', `${I}/queues`)).body.items?.find((q) => q['name'] === queue);
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

  test('cluster queues - one order and one depth: appended alternately on node a and node b, received in that order on either, the same depth on both', async () => {
    const sent = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];
    for (const [i, payload] of sent.entries()) await append(i % 2 === 0 ? a : b, 'fifo', payload);
    for (const node of [a, b]) {
      const info = await queueInfo(node, 'fifo');
      assert.deepEqual([info?.['depth'], info?.['inFlight']], [6, 0], `depth on ${node.id}`);
    }
    const onB = await receive(b, { max: 3, visibilityTimeout: 30 }, 'fifo');
    const onA = await receive(a, { max: 10, visibilityTimeout: 30 }, 'fifo');
    assert.deepEqual(onB.map((m) => m.payload), ['f0', 'f1', 'f2'], 'the oldest three through node b');
    assert.deepEqual(onA.map((m) => m.payload), ['f3', 'f4', 'f5'], 'the next three through node a');
    for (const node of [a, b]) {
      const info = await queueInfo(node, 'fifo');
      assert.equal(info?.['depth'], 6, `depth on ${node.id}`);
      assert.equal(info?.['inFlight'], 6, `in flight on ${node.id}`);
      assert.ok((info?.['oldestAgeMs'] as number) >= 0);
    }
    // Each node's receipts settled through the other.
    assert.equal(await settle(a, 'fifo', 'ack', onB.map((m) => m.receipt)), 3);
    assert.equal(await settle(b, 'fifo', 'ack', onA.map((m) => m.receipt)), 3);
    for (const node of [a, b]) assert.equal((await queueInfo(node, 'fifo'))?.['depth'], 0, `emptied, seen on ${node.id}`);
  });

  test('cluster queues - a visibility timeout ends on node a: the message comes again on node b; a nack with a delay keeps it away that long', async () => {
    await append(a, 'vis', 'v');
    const first = await receive(a, { max: 1, visibilityTimeout: 1 }, 'vis');
    assert.deepEqual(first.map((m) => [m.payload, m.deliveries]), [['v', 1]]);
    const leasedAt = Date.now();
    assert.deepEqual(await receive(b, { max: 1, wait: 0 }, 'vis'), [], 'invisible while leased');
    const again = await receive(b, { max: 1, visibilityTimeout: 30, wait: 5 }, 'vis');
    assert.deepEqual(again.map((m) => [m.payload, m.deliveries]), [['v', 2]]);
    assert.ok(Date.now() - leasedAt >= 800, `visible again after the visibility timeout (${Date.now() - leasedAt} ms)`);
    assert.equal(await settle(b, 'vis', 'ack', [first[0]!.receipt]), 0, 'the timed-out receipt is not current');
    assert.equal(await settle(a, 'vis', 'ack', [again[0]!.receipt]), 1);

    await append(b, 'vis', 'd');
    const got = await receive(a, { max: 1, visibilityTimeout: 30 }, 'vis');
    assert.equal(await settle(b, 'vis', 'nack', [got[0]!.receipt], 2), 1);
    const nackedAt = Date.now();
    assert.deepEqual(await receive(a, { max: 1, wait: 0 }, 'vis'), [], 'not visible during the delay');
    const back = await receive(b, { max: 1, visibilityTimeout: 30, wait: 10 }, 'vis');
    assert.deepEqual(back.map((m) => [m.payload, m.deliveries]), [['d', 2]]);
    assert.ok(Date.now() - nackedAt >= 1500, `back after the nack's delay (${Date.now() - nackedAt} ms)`);
    assert.equal(await settle(b, 'vis', 'ack', [back[0]!.receipt]), 1);
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

describe('cluster queues - a node upgraded with messages in its own queue log', () => {
  const teardown = suiteTeardown();

  test('cluster queues - messages in a node\'s queue log from before the queues were in JetStream are delivered, through any node', async (t: TestContext) => {
    const nats = await startNats(teardown);
    const a = await startReadyNode(teardown, 'node-m', nats.url);
    // Node m stops cleanly; what an earlier version left in its log of queue `legacy` is put there
    // as that version wrote it (docs/cluster.md, "JetStream state": `<prefix>.l.<node>.<log>`).
    // No other node runs meanwhile: it would adopt the log of the stopped node (the same move, by another node).
    a.proc.child.kill('SIGTERM');
    assert.equal((await a.proc.exited).code, 0);
    const nc = await natsConnect({ servers: nats.url });
    t.after(() => nc.close());
    const js = jetstream(nc);
    const log = 'queue/mqtt-default/legacy';
    for (const [i, payload] of ['old0', 'old1'].entries()) {
      await js.publish(`ferry.l.${token('node-m')}.${token(log)}`, encodeLogEntry(log, JSON.stringify({ v: 1, p: { k: payload } }), Buffer.from(payload), Date.now() - 60_000 + i));
    }
    const again = await startNode(teardown, 'node-m', nats.url, BOOTSTRAP, a.dataDir);
    await untilReady(again);
    await waitForLog(again.proc, (l) => l['msg'] === 'built-in queue messages of this node moved into the cluster-wide queues' && l['messages'] === 2, 'built-in queue messages of this node moved into the cluster-wide queues');
    const b = await startReadyNode(teardown, 'node-n', nats.url);
    const got = await receive(b, { max: 10, visibilityTimeout: 30, wait: 5 }, 'legacy');
    assert.deepEqual(got.map((m) => [m.payload, m.properties['k']]), [['old0', 'old0'], ['old1', 'old1']]);
    assert.ok(got.every((m) => Date.now() - (m as unknown as { enqueuedAt: number }).enqueuedAt >= 59_000), 'they keep the time they were appended');
    assert.equal(await settle(again, 'legacy', 'ack', got.map((m) => m.receipt)), 2);
    assert.equal((await queueInfo(again, 'legacy'))?.['depth'], 0);
    // Moved, not copied: a restart does not bring them back.
    again.proc.child.kill('SIGTERM');
    await again.proc.exited;
    const third = await startNode(teardown, 'node-m', nats.url, BOOTSTRAP, a.dataDir);
    await untilReady(third);
    assert.ok(!third.proc.logs.some((l) => l['msg'] === 'built-in queue messages of this node moved into the cluster-wide queues'));
    assert.deepEqual(await receive(b, { max: 10, wait: 0 }, 'legacy'), []);
  });
});
