/**
 * ferry-mqtt/sdk, backend side, against a real Ferry over HTTP and MQTT: the typed REST client
 * (signed and bearer), the RPC client (signature v1), the built-in queue consumer (concurrency,
 * ack/nack, redelivery, dead-letter queue), the status tracker fed by a status rule, and a
 * rule's dead letters.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { FerryApiError, FerryRpcError, QueueConsumer, RestClient, RpcClient, StatusTracker, type QueueMessage, type StatusEvent } from '../../../src/sdk/index.js';
import { startFerry, waitFor } from '../../helpers/index.js';

const ADMIN = { id: 'FERRYSDKADMIN02', secret: 'sdk-admin-secret-9876543210' };
const I = 'mqtt-default';

async function setup(t: TestContext) {
  const ferry = await startFerry(t, { bootstrapAccessKeyId: ADMIN.id, bootstrapAccessKeySecret: ADMIN.secret }, { announce: null });
  const endpoint = `http://127.0.0.1:${ferry.ports.http}`;
  const rest = new RestClient({ endpoint, auth: { accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret } });
  const rpc = new RpcClient({ endpoint, accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret });
  const mqttUrl = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const client = async (clientId: string): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(mqttUrl, { clientId, reconnectPeriod: 0 }, false);
    t.after(() => c.end(true));
    return c;
  };
  return { ferry, endpoint, rest, rpc, client, mqttUrl };
}

function collect(client: MqttClient): Array<{ topic: string; payload: string }> {
  const out: Array<{ topic: string; payload: string }> = [];
  client.on('message', (topic, payload) => out.push({ topic, payload: payload.toString() }));
  return out;
}

test('sdk backend - REST client: signed and bearer calls, publish reaches a device, errors carry code and field', async (t) => {
  const { rest, endpoint, client } = await setup(t);
  assert.deepEqual((await rest.whoami()).id, ADMIN.id);
  const device = await client('GID_back@@@d1');
  await device.subscribeAsync('cmd/#', { qos: 1 });
  const got = collect(device);
  const { msgId } = await rest.publish(I, { topic: 'cmd/d1', payload: 'on', qos: 1 });
  assert.match(msgId, /^[0-9a-f]{32}$/);
  await waitFor(() => got.length === 1);
  assert.deepEqual(got, [{ topic: 'cmd/d1', payload: 'on' }]);

  const err = await rest.publish(I, { topic: 'cmd/#', payload: 'x' }).catch((e: unknown) => e);
  assert.ok(err instanceof FerryApiError);
  assert.equal(err.status, 400);
  assert.equal(err.code, 'InvalidParameter');
  assert.equal(err.field, 'body.topic');

  const login = (await rest.request('post', '/auth/token', { body: { accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret, ttlSeconds: 60 } })) as { token: string };
  const bearer = new RestClient({ endpoint, auth: { bearer: login.token } });
  assert.equal((await bearer.client(I, 'GID_back@@@d1')).connected, true);
  const missing = await bearer.client(I, 'GID_back@@@nobody').catch((e: unknown) => e);
  assert.ok(missing instanceof FerryApiError && missing.status === 404, String(missing));
  const wrong = new RestClient({ endpoint, auth: { accessKeyId: ADMIN.id, accessKeySecret: 'not-the-secret' } });
  await assert.rejects(wrong.whoami(), (e: unknown) => e instanceof FerryApiError && e.status === 401 && e.code === 'SignatureDoesNotMatch');
});

test('sdk backend - RPC client: signed actions answer with the managed service\'s fields and codes', async (t) => {
  const { rpc, client, endpoint, mqttUrl } = await setup(t);
  const device = await client('GID_back@@@r1');
  await device.subscribeAsync('cmd/#', { qos: 1 });
  const got = collect(device);
  assert.match(await rpc.sendMessage({ InstanceId: I, MqttTopic: 'cmd/r1', Payload: 'from rpc' }), /^[0-9a-f]{32}$/);
  await waitFor(() => got.length === 1);
  assert.equal(got[0]!.payload, 'from rpc');
  assert.equal(await rpc.querySessionByClientId({ InstanceId: I, ClientId: 'GID_back@@@r1' }), true);
  assert.deepEqual(await rpc.batchQuerySessionByClientIds({ InstanceId: I, ClientIdList: ['GID_back@@@r1', 'GID_back@@@r2'] }), [
    { ClientId: 'GID_back@@@r1', OnlineStatus: true },
    { ClientId: 'GID_back@@@r2', OnlineStatus: false },
  ]);
  const token = await rpc.applyToken({ InstanceId: I, Resources: ['cmd/r3'], Actions: 'R', ExpireTime: Date.now() + 3600_000 });
  const holder = await mqtt.connectAsync(mqttUrl, { clientId: 'GID_back@@@r3', username: `Token|${ADMIN.id}|${I}`, password: `R|${token}`, reconnectPeriod: 0 }, false);
  t.after(() => holder.end(true));
  assert.deepEqual((await holder.subscribeAsync('cmd/r3', { qos: 1 })).map((g) => g.qos), [1]);

  await assert.rejects(rpc.sendMessage({ InstanceId: 'mqtt-nowhere', MqttTopic: 'a/b', Payload: 'x' }), (e: unknown) => e instanceof FerryRpcError && e.code === 'InstanceNotFound' && e.requestId !== undefined);
  const forged = new RpcClient({ endpoint, accessKeyId: ADMIN.id, accessKeySecret: 'not-the-secret' });
  await assert.rejects(forged.querySessionByClientId({ InstanceId: I, ClientId: 'x' }), (e: unknown) => e instanceof FerryRpcError && e.code === 'SignatureDoesNotMatch' && e.status === 400);
});

test('sdk backend - RPC client with ACS3-HMAC-SHA256: the same actions; a wrong secret is refused and sends nothing', async (t) => {
  const { endpoint, client } = await setup(t);
  const rpc = new RpcClient({ endpoint, accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret, signature: 'acs3' });
  const device = await client('GID_back@@@a3');
  await device.subscribeAsync('cmd/#', { qos: 1 });
  const got = collect(device);
  await rpc.sendMessage({ InstanceId: I, MqttTopic: 'cmd/a3', Payload: 'signed v3' });
  await waitFor(() => got.length === 1);
  assert.equal(got[0]!.payload, 'signed v3');
  assert.deepEqual(await rpc.batchQuerySessionByClientIds({ InstanceId: I, ClientIdList: ['GID_back@@@a3'] }), [{ ClientId: 'GID_back@@@a3', OnlineStatus: true }]);
  const forged = new RpcClient({ endpoint, accessKeyId: ADMIN.id, accessKeySecret: 'not-the-secret', signature: 'acs3' });
  await assert.rejects(forged.sendMessage({ InstanceId: I, MqttTopic: 'cmd/a3', Payload: 'x' }), (e: unknown) => e instanceof FerryRpcError && e.code === 'SignatureDoesNotMatch');
  assert.equal(got.length, 1, 'nothing was sent by the refused call');
});

test('sdk backend - queue consumer: concurrency, ack, nack with redelivery, and a dead-letter queue for a poison message', async (t) => {
  const { rest, client } = await setup(t);
  await rest.createRule(I, { name: 'to-queue', type: 'outbound', topics: ['up/#'], target: 'queue://telemetry' });
  const device = await client('GID_back@@@q1');
  for (let i = 1; i <= 6; i++) await device.publishAsync(`up/${i}`, JSON.stringify({ n: i }), { qos: 1 });
  await device.publishAsync('up/poison', 'poison', { qos: 1 });
  await waitFor(async () => (await rest.queues(I)).find((q) => q.name === 'telemetry')?.depth === 7, { timeoutMs: 30_000 });

  const errors: Error[] = [];
  const consumer = new QueueConsumer({ rest, instanceId: I, queue: 'telemetry', concurrency: 3, wait: 1, maxDeliveries: 2, deadLetterQueue: 'telemetry.dlq', onError: (e) => errors.push(e) });
  t.after(() => consumer.stop()); // also when an assertion fails first: a consumer outliving Ferry retries for ever
  let running = 0;
  let peak = 0;
  const done: number[] = [];
  let failedOnce = false;
  const run = consumer.run(async (m: QueueMessage) => {
    running++;
    peak = Math.max(peak, running);
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (m.text() === 'poison') throw new Error('cannot handle poison');
      const { n } = m.json<{ n: number }>();
      if (n === 4 && !failedOnce) {
        failedOnce = true;
        throw new Error('first try of 4 fails');
      }
      assert.equal(m.properties['topic'], `up/${n}`);
      done.push(n);
    } finally {
      running--;
    }
  });
  await waitFor(async () => done.length === 6 && (await rest.queues(I)).find((q) => q.name === 'telemetry.dlq')?.depth === 1, { timeoutMs: 30_000 });
  consumer.stop();
  await run;
  assert.deepEqual([...done].sort(), [1, 2, 3, 4, 5, 6]);
  assert.equal(peak, 3, 'three handlers at once, never more');
  assert.deepEqual(errors.map((e) => e.message).sort(), ['cannot handle poison', 'cannot handle poison', 'first try of 4 fails']);
  const telemetry = (await rest.queues(I)).find((q) => q.name === 'telemetry')!;
  assert.deepEqual([telemetry.depth, telemetry.inFlight], [0, 0]);

  const dlq = new QueueConsumer({ rest, instanceId: I, queue: 'telemetry.dlq', wait: 1 });
  t.after(() => dlq.stop());
  for await (const m of dlq) {
    assert.equal(m.text(), 'poison');
    assert.equal(m.properties['deadLetterSourceQueue'], 'telemetry');
    assert.equal(m.properties['deadLetterDeliveries'], '3');
    assert.equal(m.properties['topic'], 'up/poison');
    await m.ack();
    break;
  }
  assert.throws(() => new QueueConsumer({ rest, instanceId: I, queue: 'q', maxDeliveries: 1 }), /deadLetterQueue/);
});

test('sdk backend - status tracker: status events through a queue give the right online set, in any order', async (t) => {
  const { rest, client } = await setup(t);
  await rest.createRule(I, { name: 'status', type: 'status', groups: ['GID_stat'], target: 'queue://status' });
  const a = await client('GID_stat@@@a');
  const b1 = await client('GID_stat@@@b');
  // Takeover: b connects again; the first connection's offline events come after the new connect.
  await client('GID_stat@@@b');
  await waitFor(() => b1.connected === false);
  a.end(true);

  const events: StatusEvent[] = [];
  const tracker = new StatusTracker();
  const consumer = new QueueConsumer({ rest, instanceId: I, queue: 'status', wait: 1, concurrency: 10 });
  t.after(() => consumer.stop());
  const run = consumer.run(async (m) => {
    const event = m.json<StatusEvent>();
    events.push(event);
    tracker.apply(event);
  });
  await waitFor(() => events.filter((e) => e.eventType === 'connect').length === 3 && events.filter((e) => e.eventType === 'tcpclean').length === 2, { timeoutMs: 30_000 });
  consumer.stop();
  await run;
  assert.deepEqual(tracker.online(), ['GID_stat@@@b']);
  assert.equal(tracker.openChannels('GID_stat@@@b').length, 1);
  // The same events in reverse (the worst reordering): the same answer.
  const reversed = new StatusTracker();
  for (const e of [...events].reverse()) reversed.apply(e);
  assert.deepEqual(reversed.online(), ['GID_stat@@@b']);
});

test('sdk backend - a rule\'s dead letters: list, replay, purge', async (t) => {
  const { rest, client } = await setup(t);
  let refuse = true;
  const hits: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits.push(req.url ?? '');
      res.writeHead(refuse ? 400 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const rule = await rest.createRule(I, { name: 'hook', type: 'outbound', topics: ['alarm/#'], target: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
  const device = await client('GID_back@@@dl');
  await device.publishAsync('alarm/1', 'fire', { qos: 1 });
  await device.publishAsync('alarm/2', 'smoke', { qos: 1 });
  await waitFor(async () => (await rest.ruleStats(I, rule.id)).deadLettered === 2, { timeoutMs: 30_000 });
  const letters = [];
  for await (const letter of rest.allDeadLetters(I, rule.id, 1)) letters.push(letter);
  assert.equal(letters.length, 2);
  assert.match(letters[0]!.reason, /400/);
  refuse = false;
  assert.equal(await rest.replayDeadLetters(I, rule.id, [letters[0]!.id]), 1);
  await waitFor(async () => (await rest.ruleStats(I, rule.id)).delivered === 1, { timeoutMs: 30_000 });
  assert.equal(await rest.purgeDeadLetters(I, rule.id), 1);
  assert.equal((await rest.deadLetters(I, rule.id)).items.length, 0);
});
