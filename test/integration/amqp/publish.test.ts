/**
 * Backend → device over the AMQP endpoint, as the server SDK's ServerProducer sends (reference
 * §6.1): basic.publish(exchange=<mqttTopic>, routingKey=<mqttTopic>, mandatory=true) on a confirm
 * channel, with header seqId, messageId, expiration (seconds), contentType and header
 * mqtt5UserProperty. A confirm means the message is durably queued; what cannot be routed comes
 * back (basic.return) or is nacked; a forbidden topic is a channel error.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { ConfirmChannel } from 'amqplib';
import { startFerry, waitFor } from '../../helpers/index.js';
import { connect } from '../mqtt/clients.js';
import { DEFAULT_INSTANCE_ID } from '../../../src/broker/options.js';
import type { RunningFerry } from '../../../src/internal.js';
import { connectAmqp, sdkLogin, type SdkKey } from './sdk.js';

const KEY: SdkKey = { id: 'FERRYAMQPPUB001', secret: 'amqp-publish-secret-0123456789' };
const INSTANCE = DEFAULT_INSTANCE_ID;

async function setup(t: TestContext, key: SdkKey = KEY): Promise<{ ferry: RunningFerry; channel: ConfirmChannel }> {
  const ferry = await startFerry(t, { amqpPort: 0, bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret });
  const connection = await connectAmqp(t, ferry.ports.amqp!, sdkLogin(INSTANCE, key));
  const channel = await connection.createConfirmChannel();
  channel.on('error', () => undefined);
  return { ferry, channel };
}

/** ServerProducer.sendMessage of the Java SDK, in amqplib terms. */
function sdkSend(channel: ConfirmChannel, topic: string, payload: string, extra: { expireSeconds?: number; contentType?: string; userProperties?: Array<{ key: string; value: string }> } = {}): Promise<void> {
  const messageId = randomUUID().replace(/-/g, '').toUpperCase();
  return new Promise((resolve, reject) => {
    channel.publish(
      topic,
      topic,
      Buffer.from(payload),
      {
        mandatory: true,
        messageId,
        ...(extra.expireSeconds === undefined ? {} : { expiration: String(extra.expireSeconds) }),
        ...(extra.contentType === undefined ? {} : { contentType: extra.contentType }),
        headers: { seqId: 1, ...(extra.userProperties === undefined ? {} : { mqtt5UserProperty: JSON.stringify(extra.userProperties) }) },
      },
      (error) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()),
    );
  });
}

test('amqp - a confirmed publish reaches the subscribed device with expiry, content type and user properties', async (t) => {
  const { ferry, channel } = await setup(t);
  const device = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { protocolVersion: 5, clientId: 'GID_dev@@@s1' });
  await device.client.subscribeAsync('cmd/#', { qos: 1 });
  await sdkSend(channel, 'cmd/lamp', 'on', { expireSeconds: 30, contentType: 'text/plain', userProperties: [{ key: 'k', value: 'v' }] });
  const [got] = await device.waitFor(1);
  assert.ok(got);
  assert.equal(got.topic, 'cmd/lamp');
  assert.equal(got.payload, 'on');
  assert.equal(got.packet.qos, 1);
  const props = got.packet.properties ?? {};
  assert.equal(props.contentType, 'text/plain');
  assert.deepEqual({ ...props.userProperties }, { k: 'v' });
  assert.ok(props.messageExpiryInterval !== undefined && props.messageExpiryInterval <= 30 && props.messageExpiryInterval >= 29);
});

test('amqp - a confirmed publish to a P2P topic reaches that client only, also while it is offline', async (t) => {
  const { ferry, channel } = await setup(t);
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const target = await connect(t, url, { clientId: 'GID_dev@@@p1', clean: false });
  target.client.end(true);
  const other = await connect(t, url, { clientId: 'GID_dev@@@p2' });
  await other.client.subscribeAsync('cmd/#', { qos: 1 });
  // Confirmed = durably queued for the (offline, persistent) client.
  await sdkSend(channel, 'cmd/p2p/GID_dev@@@p1', 'for-p1');
  const back = await connect(t, url, { clientId: 'GID_dev@@@p1', clean: false });
  const [got] = await back.waitFor(1);
  assert.equal(got?.payload, 'for-p1');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(other.received.length, 0, 'a P2P message goes to its client only');
});

test('amqp - an unroutable mandatory publish comes back with basic.return 312; a non-mandatory one is nacked', async (t) => {
  const { channel } = await setup(t);
  const returned: Array<{ replyCode: number; routingKey: string; body: string }> = [];
  channel.on('return', (m: { fields: { replyCode: number; routingKey: string }; content: Buffer }) => {
    returned.push({ replyCode: m.fields.replyCode, routingKey: m.fields.routingKey, body: m.content.toString() });
  });
  await sdkSend(channel, 'cmd/+/bad', 'x'); // acked after the return, as RabbitMQ does
  await waitFor(() => returned.length === 1, { message: 'basic.return' });
  assert.deepEqual(returned[0], { replyCode: 312, routingKey: 'cmd/+/bad', body: 'x' });
  await assert.rejects(
    new Promise<void>((resolve, reject) => channel.publish('', 'cmd/#', Buffer.from('y'), {}, (error) => (error ? reject(new Error('nacked')) : resolve()))),
    /nacked/,
  );
});

test('amqp - a publish the AccessKey may not send is a channel error 403; bad properties are 406', async (t) => {
  const { ferry } = await setup(t);
  const { key, secret } = await ferry.auth.keys.create({ policies: ['AliyunMQSubOnlyAccess'] });
  const connection = await connectAmqp(t, ferry.ports.amqp!, sdkLogin(INSTANCE, { id: key.id, secret }));
  const channel = await connection.createConfirmChannel();
  const closed = new Promise<Error>((resolve) => channel.once('error', resolve));
  channel.publish('cmd/lamp', 'cmd/lamp', Buffer.from('x'), { mandatory: true });
  assert.match((await closed).message, /403.*ACCESS.REFUSED|ACCESS.REFUSED/);

  const full = await connectAmqp(t, ferry.ports.amqp!, sdkLogin(INSTANCE, KEY));
  const ch = await full.createConfirmChannel();
  const bad = new Promise<Error>((resolve) => ch.once('error', resolve));
  ch.publish('cmd/lamp', 'cmd/lamp', Buffer.from('x'), { expiration: 'soon' } as never);
  assert.match((await bad).message, /406.*expiration/);
});
