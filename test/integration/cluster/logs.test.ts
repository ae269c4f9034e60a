/**
 * A dead node's durable logs (clusterStore jetstream): when a Ferry node is killed with -9, a live
 * node adopts its rule outboxes and dead letters, and a built-in queue message it held comes again (docs/cluster.md, "A dead node's
 * logs"). Real processes: one nats-server -js, one redis-server (the rule's target) and two Ferry
 * nodes; the rule is created before node b starts (metadata reaches a node when it starts).
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor, waitForLog } from '../../helpers/index.js';
import { redisClient, startNats, startRedis, suiteTeardown, type Engine } from '../../helpers/engines.js';
import { rest } from '../api/rest-client.js';
import { connect } from '../mqtt/clients.js';
import { ADMIN, startReadyNode, type Node } from './nodes.js';

const I = '/instances/mqtt-default';

async function killNode(node: Node): Promise<void> {
  node.proc.child.kill('SIGKILL');
  await node.proc.exited;
}

describe('cluster logs - a killed node: its outbox, dead letters and queues are taken over by a live node', () => {
  const teardown = suiteTeardown();
  let nats: Engine;
  let redis: Engine;
  let a: Node;
  let b: Node;
  let ruleId: string;
  let deadRuleId: string;

  before(async () => {
    nats = await startNats(teardown);
    redis = await startRedis(teardown);
    a = await startReadyNode(teardown, 'node-a', nats.url);
    const target = `redis://127.0.0.1:${redis.port}/0?stream=adopted`;
    const created = await rest(a.http, ADMIN, 'POST', `${I}/rules`, { name: 'to-redis', type: 'outbound', topics: ['adopt/#'], target });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    ruleId = created.body['id'] as string;
    const dead = await rest(a.http, ADMIN, 'POST', `${I}/rules`, {
      name: 'to-dead',
      type: 'outbound',
      topics: ['dead/#'],
      target: `redis://127.0.0.1:${redis.port}/0?stream=dead`,
      options: { maxAttempts: 1 },
    });
    assert.equal(dead.status, 201, JSON.stringify(dead.body));
    deadRuleId = dead.body['id'] as string;
    b = await startReadyNode(teardown, 'node-b', nats.url);
  });

  test('cluster logs - kill -9 of a node with a backlog: another node delivers every entry it acknowledged, in order; the node back delivers none twice', async (t: TestContext) => {
    const client = await redisClient(t, redis);
    await redis.kill();
    const pub = await connect(t, a.mqtt, { clientId: 'GID_adopt@@@pub', protocolVersion: 5, reconnectPeriod: 0 });
    const sent = Array.from({ length: 60 }, (_, i) => `m${i}`);
    for (const payload of sent) await pub.client.publishAsync('adopt/x', payload, { qos: 1 });
    for (const payload of ['d0', 'd1', 'd2']) await pub.client.publishAsync('dead/x', payload, { qos: 1 });
    // Every PUBACK means the outbox entry is in JetStream; the target is down, so they pile up on a.
    const stats = await rest(a.http, ADMIN, 'GET', `${I}/rules/${ruleId}/stats`);
    assert.equal(stats.body['outboxDepth'], sent.length);
    await waitFor(async () => ((await rest(a.http, ADMIN, 'GET', `${I}/rules/${deadRuleId}/dead-letters`)).body.items?.length ?? 0) === 3, {
      timeoutMs: 10_000,
      message: 'three dead letters on node a',
    });
    pub.client.end(true);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the dead-lettering written too

    await killNode(a);
    await redis.restart();
    const got = await waitFor(
      async () => {
        const entries = (await client.xrange('adopted', '-', '+')) as Array<[string, string[]]>;
        const payloads = entries.map(([, f]) => f[f.indexOf('payload') + 1]!);
        return new Set(payloads).size >= sent.length ? payloads : null;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: `all ${sent.length} acknowledged messages in Redis, delivered by node b` },
    );
    // At least once (a delivery that failed as Redis came back is sent again), in order.
    const firsts: string[] = [];
    for (const p of got) if (!firsts.includes(p)) firsts.push(p);
    assert.deepEqual(firsts, sent, 'every entry, in order');
    const adopted = await waitFor(() => b.proc.logs.find((l) => l['msg'] === 'adopted the durable logs of a node that left the cluster' && l['node'] === 'node-a'), {
      timeoutMs: 10_000,
      message: 'node b says it adopted node a',
    });
    assert.equal(adopted['moved'], sent.length + 3, `the outbox entries and the dead letters: ${JSON.stringify(adopted)}`);
    assert.equal(adopted['left'], 0);
    // The dead letters moved too: node b's API shows them.
    const deadOnB = await rest(b.http, ADMIN, 'GET', `${I}/rules/${deadRuleId}/dead-letters`);
    assert.equal(deadOnB.body.items?.length, 3);
    await waitFor(async () => (await rest(b.http, ADMIN, 'GET', `${I}/rules/${ruleId}/stats`)).body['outboxDepth'] === 0, {
      timeoutMs: 10_000,
      message: "node b's outbox empty",
    });

    // Node a comes back: it is told, and has nothing left to deliver.
    const delivered = await client.xlen('adopted');
    a = await startReadyNode(t, 'node-a', nats.url);
    await waitForLog(a.proc, (l) => l['msg'] === "another node adopted this node's durable logs while it was down: it delivered what was left" && l['by'] === 'node-b', 'adopted logs, delivered');
    assert.equal((await rest(a.http, ADMIN, 'GET', `${I}/rules/${ruleId}/stats`)).body['outboxDepth'], 0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(await client.xlen('adopted'), delivered, 'node a delivers nothing again');
    // A clean stop: the next test has one live node to adopt from a killed one.
    a.proc.child.kill('SIGTERM');
    assert.equal((await a.proc.exited).code, 0);
  });

  test('cluster logs - a built-in queue message received on a killed node and not acknowledged comes again on another node', async (t: TestContext) => {
    // The queue is one queue in JetStream (docs/cluster.md, "Built-in queues across nodes"): what
    // node-q appended stays there when it dies; only its lease on what it received goes with it.
    const node = await startReadyNode(t, 'node-q', nats.url);
    const payloads = ['j0', 'j1', 'j2', 'j3', 'j4'];
    const sent = await rest(node.http, ADMIN, 'POST', `${I}/queues/jobs/messages`, { messages: payloads.map((payload) => ({ payload, properties: { k: payload } })) });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    // Received there (leased for 300 s, never acknowledged), then the node is killed.
    const first = await rest(node.http, ADMIN, 'POST', `${I}/queues/jobs/receive`, { max: 1, visibilityTimeout: 300 });
    assert.equal(first.body.items?.length, 1);
    await killNode(node);
    const killedAt = Date.now();

    const received: Array<Record<string, unknown>> = [];
    await waitFor(
      async () => {
        const answer = await rest(b.http, ADMIN, 'POST', `${I}/queues/jobs/receive`, { max: 10, visibilityTimeout: 60, wait: 1 });
        received.push(...(answer.body.items ?? []));
        return received.length >= payloads.length;
      },
      { timeoutMs: 30_000, intervalMs: 0, message: "the killed node's messages received on node b" },
    );
    t.diagnostic(`all five on node b ${Date.now() - killedAt} ms after the kill`);
    const text = (m: Record<string, unknown>): string => Buffer.from(m['payload'] as string, 'base64').toString();
    // The four nobody held at once, in order; the one the dead node held once its lease ran out (the ack wait), as a redelivery.
    assert.deepEqual(received.map(text), ['j1', 'j2', 'j3', 'j4', 'j0']);
    assert.deepEqual(received.map((m) => m['deliveries']), [1, 1, 1, 1, 2]);
    assert.deepEqual(received[4]!['properties'], { k: 'j0' });
    const acked = await rest(b.http, ADMIN, 'POST', `${I}/queues/jobs/ack`, { receipts: received.map((m) => m['receipt'] as string) });
    assert.equal(acked.body['acked'], payloads.length);
    // The dead node's receipt counts for nothing.
    assert.equal((await rest(b.http, ADMIN, 'POST', `${I}/queues/jobs/ack`, { receipts: [first.body.items![0]!['receipt'] as string] })).body['acked'], 0);
    const queues = await rest(b.http, ADMIN, 'GET', `${I}/queues`);
    assert.equal(queues.body.items?.find((q) => q['name'] === 'jobs')?.['depth'], 0);
  });
});
