/**
 * The STATUS queue (basic.consume(queue="STATUS", {GROUP_ID})) delivers the §5.4 status JSON of
 * that group's clients, and one instance's AMQP queues are invisible to another's backends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import { startFerry, waitFor } from '../../helpers/index.js';
import { connect } from '../mqtt/clients.js';
import { DEFAULT_INSTANCE_ID } from '../../../src/broker/options.js';
import { connectAmqp, sdkLogin, type SdkKey } from './sdk.js';

const KEY: SdkKey = { id: 'FERRYAMQPSTAT01', secret: 'amqp-status-secret-0123456789' };

test('amqp - STATUS with GROUP_ID delivers connect, disconnect and tcpclean of that group only', async (t) => {
  const ferry = await startFerry(t, { amqpPort: 0, bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret });
  const connection = await connectAmqp(t, ferry.ports.amqp!, sdkLogin(DEFAULT_INSTANCE_ID, KEY));
  const channel = await connection.createChannel();
  const got: ConsumeMessage[] = [];
  // The SDK's subscribeStatus(mqttGroupId, listener).
  await channel.consume(
    'STATUS',
    (m) => {
      if (m === null) return;
      got.push(m);
      channel.ack(m);
    },
    { arguments: { GROUP_ID: 'GID_watch' } },
  );
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const other = await connect(t, url, { clientId: 'GID_other@@@x' });
  const watched = await connect(t, url, { clientId: 'GID_watch@@@dev1' });
  await watched.client.endAsync();
  other.client.end(true);
  await waitFor(() => got.length >= 3, { message: 'three status events' });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const events = got.map((m) => JSON.parse(m.content.toString()) as Record<string, unknown>);
  assert.deepEqual(events.map((e) => e['eventType']), ['connect', 'disconnect', 'tcpclean']);
  for (const e of events) {
    assert.deepEqual(Object.keys(e), ['clientId', 'time', 'eventType', 'channelId', 'clientIp'], 'the reference order of keys');
    assert.equal(e['clientId'], 'GID_watch@@@dev1');
    assert.match(String(e['channelId']), /^[0-9a-f]{32}$/);
    assert.match(String(e['clientIp']), /^127\.0\.0\.1:\d+$/);
    assert.equal(typeof e['time'], 'number');
  }
  assert.equal(new Set(events.map((e) => e['channelId'])).size, 1, 'one connection, one channelId');
  assert.equal(got[0]!.fields.routingKey, 'STATUS');
  assert.equal(got[0]!.properties.contentType, 'application/json');
  assert.equal(String(got[0]!.properties.headers?.['eventType']), 'connect');

  // Without GROUP_ID: a channel error naming it.
  const ch2 = await connection.createChannel();
  ch2.on('error', () => undefined);
  await assert.rejects(ch2.consume('STATUS', () => undefined), /GROUP_ID/);
});

test('amqp - a second instance\'s backends see neither the queues nor the devices of the first', async (t) => {
  const ferry = await startFerry(t, { amqpPort: 0, bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret });
  await ferry.auth.tenancy.createInstance({ id: 'mqtt-iso', mode: 'relaxed' });
  const port = ferry.ports.amqp!;
  const a = await (await connectAmqp(t, port, sdkLogin(DEFAULT_INSTANCE_ID, KEY))).createChannel();
  const b = await (await connectAmqp(t, port, sdkLogin('mqtt-iso', KEY))).createConfirmChannel();
  const gotA: string[] = [];
  const gotB: string[] = [];
  await a.consume('sensors', (m) => m && gotA.push(m.content.toString()), { noAck: true });
  await b.consume('sensors', (m) => m && gotB.push(m.content.toString()), { noAck: true });

  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const device = await connect(t, url, { clientId: 'GID_dev@@@iso' });
  await device.client.subscribeAsync('sensors/#', { qos: 1 });
  await device.client.publishAsync('sensors/t', 'from-default', { qos: 1 });
  await waitFor(() => gotA.length === 1, { message: 'instance A backend got its device data' });
  // B sends to the same topic name in its own instance: the default instance's device never sees it.
  await new Promise<void>((resolve, reject) => b.publish('sensors/t', 'sensors/t', Buffer.from('from-iso'), { mandatory: true }, (e) => (e ? reject(new Error('nacked')) : resolve())));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(gotA, ['from-default']);
  assert.deepEqual(gotB, [], 'instance B backend sees nothing of instance A');
  assert.deepEqual(device.received.map((r) => r.payload), ['from-default'], 'the default instance device sees nothing of instance B');
  assert.deepEqual(ferry.ruleRuntime.queues.list('mqtt-iso').map((q) => q.name), ['sensors']);
  assert.equal(ferry.ruleRuntime.queues.list('mqtt-iso')[0]!.depth, 0);
});
