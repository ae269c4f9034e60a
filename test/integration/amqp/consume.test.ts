/**
 * The AMQP endpoint as the managed service's server SDK uses it (reference §6.1): logins built
 * exactly like the Java SDK's, device data consumed with basic.consume(queue=<parent topic>),
 * every header the SDK reads, ack / nack / reject, prefetch, competing consumers, and a backend
 * that is away while devices publish. Real amqplib and mqtt.js clients over real sockets.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Channel, ConsumeMessage } from 'amqplib';
import { startFerry, waitFor } from '../../helpers/index.js';
import { connect } from '../mqtt/clients.js';
import { DEFAULT_INSTANCE_ID } from '../../../src/broker/options.js';
import type { RunningFerry } from '../../../src/internal.js';
import { connectAmqp, sdkLogin, type SdkKey } from './sdk.js';

const KEY: SdkKey = { id: 'FERRYAMQPTEST01', secret: 'amqp-test-secret-0123456789' };
const INSTANCE = DEFAULT_INSTANCE_ID;

async function ferryWithAmqp(t: TestContext): Promise<{ ferry: RunningFerry; port: number }> {
  const ferry = await startFerry(t, { amqpPort: 0, bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret });
  assert.ok(ferry.ports.amqp !== undefined && ferry.ports.amqp > 0, 'the AMQP listener is bound');
  return { ferry, port: ferry.ports.amqp };
}

/** Collects deliveries of a consumer; `next(n)` waits for n in total. */
function collector(): { messages: ConsumeMessage[]; onMessage: (m: ConsumeMessage | null) => void; next: (n: number, timeoutMs?: number) => Promise<ConsumeMessage[]> } {
  const messages: ConsumeMessage[] = [];
  return {
    messages,
    onMessage: (m) => {
      if (m !== null) messages.push(m);
    },
    next: (n, timeoutMs = 5000) => waitFor(() => (messages.length >= n ? messages : null), { timeoutMs, message: `${n} deliveries (got ${messages.length})` }),
  };
}

function depth(ferry: RunningFerry, queue: string): number {
  return ferry.ruleRuntime.queues.list(INSTANCE).find((q) => q.name === queue)?.depth ?? 0;
}

test('amqp - the server SDK login consumes device data with every header it reads', async (t) => {
  const { ferry, port } = await ferryWithAmqp(t);
  const connection = await connectAmqp(t, port, sdkLogin(INSTANCE, KEY));
  const channel = await connection.createChannel();
  const got = collector();
  // The SDK's subscribeTopic: basicConsume(queue=<parent topic>) with no declare before it.
  await channel.consume('sensors', got.onMessage, { noAck: false });

  const device = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { protocolVersion: 5, clientId: 'GID_dev@@@d1' });
  const before = Date.now();
  await device.client.publishAsync('sensors/room1/temp', 'hello', {
    qos: 1,
    properties: { userProperties: { unit: 'C' }, contentType: 'text/plain', messageExpiryInterval: 60 },
  });
  const [message] = await got.next(1);
  assert.ok(message);
  assert.equal(message.content.toString(), 'hello');
  assert.equal(message.fields.redelivered, false);
  assert.equal(message.fields.routingKey, 'sensors');
  const h = message.properties.headers ?? {};
  assert.equal(String(h['mqttParentTopic']), 'sensors');
  assert.equal(String(h['mqttSecondTopic']), '/room1/temp');
  assert.equal(String(h['clientId']), 'GID_dev@@@d1');
  assert.equal(typeof h['bornTime'], 'number', 'bornTime is a number (AMQP long)');
  assert.ok((h['bornTime'] as number) >= before - 1000 && (h['bornTime'] as number) <= Date.now());
  assert.deepEqual(JSON.parse(String(h['mqtt5UserProperty'])), [{ key: 'unit', value: 'C' }]);
  assert.equal(String(h['topic']), 'sensors/room1/temp');
  assert.equal(String(h['qoslevel']), '1');
  assert.equal(message.properties.contentType, 'text/plain');
  assert.ok(['59', '60'].includes(String(message.properties.expiration)), `expiration in seconds, got ${String(message.properties.expiration)}`);

  assert.equal(depth(ferry, 'sensors'), 1, 'unacked: still in the queue');
  channel.ack(message);
  await waitFor(() => depth(ferry, 'sensors') === 0, { message: 'acked message removed' });
});

test('amqp - wrong, stale, replayed and STS credentials are refused with 403 ACCESS_REFUSED', async (t) => {
  const { port } = await ferryWithAmqp(t);
  const refused = async (login: ReturnType<typeof sdkLogin>, reason: RegExp): Promise<void> => {
    await assert.rejects(connectAmqp(t, port, login), (error: Error) => {
      assert.match(error.message, /403/);
      assert.match(error.message, /ACCESS.REFUSED/);
      assert.match(error.message, reason);
      return true;
    });
  };
  await refused(sdkLogin(INSTANCE, { id: KEY.id, secret: 'not-the-secret-0123456789' }), /AccessKey or password is wrong/);
  await refused(sdkLogin(INSTANCE, { id: 'FERRYNOSUCHKEY1', secret: KEY.secret }), /AccessKey or password is wrong/);
  await refused(sdkLogin(INSTANCE, KEY, String(Date.now() - 16 * 60 * 1000)), /15 minutes/);
  await refused(sdkLogin(INSTANCE, KEY, String(Date.now() + 16 * 60 * 1000)), /15 minutes/);
  await refused(sdkLogin('no-such-instance', KEY), /does not exist/);
  const sts = { ...sdkLogin(INSTANCE, KEY), username: Buffer.from(`0:${INSTANCE}:${KEY.id}:sts-token`).toString('base64') };
  await refused(sts, /STS/);
  const once = sdkLogin(INSTANCE, KEY);
  const first = await connectAmqp(t, port, once);
  await first.close();
  await refused(once, /replay/);
});

test('amqp - prefetch bounds unacked deliveries; nack requeues as redelivered; reject without requeue dead-letters', async (t) => {
  const { ferry, port } = await ferryWithAmqp(t);
  const connection = await connectAmqp(t, port, sdkLogin(INSTANCE, KEY));
  const channel = await connection.createChannel();
  const declared = await channel.assertQueue('orders');
  assert.equal(declared.queue, 'orders');
  const device = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { clientId: 'GID_dev@@@d2' });
  for (let i = 0; i < 10; i++) await device.client.publishAsync('orders/new', `o${i}`, { qos: 1 });
  assert.equal((await channel.checkQueue('orders')).messageCount, 10);

  await channel.prefetch(3);
  const got = collector();
  await channel.consume('orders', got.onMessage);
  await got.next(3);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(got.messages.length, 3, 'no more than prefetch unacked');
  assert.deepEqual(got.messages.map((m) => m.content.toString()), ['o0', 'o1', 'o2'], 'in order');

  channel.ack(got.messages[0]!);
  await got.next(4);
  channel.nack(got.messages[1]!, false, true); // requeue
  channel.reject(got.messages[2]!, false); // dead-letter
  const redelivered = await waitFor(() => got.messages.find((m) => m.content.toString() === 'o1' && m.fields.redelivered), { message: 'o1 redelivered' });
  assert.equal(redelivered.fields.redelivered, true);
  await waitFor(() => depth(ferry, 'orders.dlq') === 1, { message: 'o2 in orders.dlq' });
  // Everything else acked: the queue empties.
  const acked = new Set<ConsumeMessage>([got.messages[0]!, got.messages[1]!, got.messages[2]!]);
  await waitFor(
    () => {
      for (const m of got.messages) {
        if (!acked.has(m)) {
          acked.add(m);
          channel.ack(m);
        }
      }
      return depth(ferry, 'orders') === 0;
    },
    { message: 'queue drained', timeoutMs: 10_000 },
  );
  const bodies = got.messages.filter((m) => !m.fields.redelivered).map((m) => m.content.toString());
  assert.deepEqual([...bodies].sort(), ['o0', 'o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9']);
});

test('amqp - messages published while no backend is connected wait in the queue', async (t) => {
  const { ferry, port } = await ferryWithAmqp(t);
  const first = await connectAmqp(t, port, sdkLogin(INSTANCE, KEY));
  const ch = await first.createChannel();
  await ch.assertQueue('meters');
  await first.close();

  const device = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { clientId: 'GID_dev@@@d3' });
  for (let i = 0; i < 5; i++) await device.client.publishAsync(`meters/m${i}`, `v${i}`, { qos: 1 });
  // Not a parent topic anyone declared: not queued.
  await device.client.publishAsync('elsewhere/x', 'ignored', { qos: 1 });

  const again = await connectAmqp(t, port, sdkLogin(INSTANCE, KEY));
  const channel = await again.createChannel();
  const got = collector();
  await channel.consume('meters', got.onMessage, { noAck: true });
  await got.next(5);
  assert.deepEqual(got.messages.map((m) => m.content.toString()), ['v0', 'v1', 'v2', 'v3', 'v4']);
  assert.equal(ferry.ruleRuntime.queues.list(INSTANCE).some((q) => q.name === 'elsewhere'), false);
  await waitFor(() => depth(ferry, 'meters') === 0, { message: 'no-ack deliveries removed' });
});

test('amqp - device data before any queue exists is not queued; once a backend declares the parent topic, it is', async (t) => {
  const { ferry, port } = await ferryWithAmqp(t);
  const device = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { clientId: 'GID_dev@@@d4' });
  // No queue in the instance at all: the ingest skips the message without looking at its topic.
  await device.client.publishAsync('later/early', 'early', { qos: 1 });
  assert.deepEqual(ferry.ruleRuntime.queues.list(INSTANCE), []);

  const backend = await connectAmqp(t, port, sdkLogin(INSTANCE, KEY));
  const ch = await backend.createChannel();
  await ch.assertQueue('later');
  await device.client.publishAsync('later/on-time', 'on time', { qos: 1 });
  await device.client.publishAsync('other/x', 'not declared', { qos: 1 });
  const got = collector();
  await ch.consume('later', got.onMessage, { noAck: true });
  await got.next(1);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(got.messages.map((m) => m.content.toString()), ['on time']);
  assert.deepEqual(ferry.ruleRuntime.queues.list(INSTANCE).map((q) => q.name), ['later']);
});

test('amqp - competing consumers share a queue: every message goes to exactly one', async (t) => {
  const { ferry, port } = await ferryWithAmqp(t);
  const channels: Channel[] = [];
  const collectors = [collector(), collector()];
  for (const c of collectors) {
    const connection = await connectAmqp(t, port, sdkLogin(INSTANCE, KEY));
    const channel = await connection.createChannel();
    await channel.prefetch(5);
    await channel.consume('jobs', (m) => {
      c.onMessage(m);
      if (m !== null) channel.ack(m);
    });
    channels.push(channel);
  }
  const device = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { clientId: 'GID_dev@@@d4' });
  for (let i = 0; i < 40; i++) await device.client.publishAsync('jobs/run', `j${i}`, { qos: 1 });
  await waitFor(() => collectors[0]!.messages.length + collectors[1]!.messages.length >= 40, { message: '40 deliveries' });
  const all = collectors.flatMap((c) => c.messages.map((m) => m.content.toString()));
  assert.equal(all.length, 40);
  assert.equal(new Set(all).size, 40, 'no message delivered twice');
  assert.ok(collectors[0]!.messages.length > 0 && collectors[1]!.messages.length > 0, 'both consumers got work');
  await waitFor(() => depth(ferry, 'jobs') === 0, { message: 'all acked' });
});

test('amqp - an AccessKey without SUB on the topic cannot consume it (channel 403)', async (t) => {
  const { ferry, port } = await ferryWithAmqp(t);
  const { key, secret } = await ferry.auth.keys.create({ policies: ['AliyunMQPubOnlyAccess'] });
  const connection = await connectAmqp(t, port, sdkLogin(INSTANCE, { id: key.id, secret }));
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  await assert.rejects(channel.consume('sensors', () => undefined), /403.*ACCESS.REFUSED|ACCESS.REFUSED/);
});

test('amqp - customAuth=true logs in a custom identity; its permissions decide what it may consume', async (t) => {
  const { ferry, port } = await ferryWithAmqp(t);
  const custom = ferry.auth.custom;
  await custom.putIdentity(INSTANCE, { username: 'backend1', identityType: 'USER', secret: 'custom-secret-0123456789', signMode: 'SIGNED' }, 'add');
  await custom.putPermission(INSTANCE, { Identity: 'backend1', IdentityType: 'USER', Topic: 'sensors/#', PermitAction: 'SUB', Effect: 'ALLOW' }, 'add');
  const identity = { id: 'backend1', secret: 'custom-secret-0123456789' };
  await assert.rejects(connectAmqp(t, port, sdkLogin(INSTANCE, { id: 'backend1', secret: 'wrong-secret-0123456789' }, undefined, { customAuth: true })), /403/);
  // Without customAuth the name is taken for an AccessKey id: refused.
  await assert.rejects(connectAmqp(t, port, sdkLogin(INSTANCE, identity)), /403/);
  const connection = await connectAmqp(t, port, sdkLogin(INSTANCE, identity, undefined, { customAuth: true }));
  const channel = await connection.createChannel();
  await channel.consume('sensors', () => undefined);
  channel.on('error', () => undefined);
  await assert.rejects(channel.consume('alarms', () => undefined), /ACCESS.REFUSED/);
});
