/**
 * Device → backend and backend → device round trips through Ferry's rules with a real
 * nats-server -js and a real rabbitmq-server (one of each for the file).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { connect as natsConnect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startFerry } from '../../helpers/index.js';
import { startNats, startRabbit, suiteTeardown, type Engine } from '../../helpers/engines.js';
import { waitFor } from '../../helpers/wait.js';
import { engineRule as rule } from '../../helpers/rules.js';
import { connect } from '../mqtt/clients.js';


describe('rules with NATS JetStream and RabbitMQ', () => {
  let nats: Engine;
  let rabbit: Engine;
  let nc: NatsConnection;
  const suite = suiteTeardown();

  before(async () => {
    [nats, rabbit] = await Promise.all([startNats(suite), startRabbit(suite)]);
    nc = await natsConnect({ servers: `127.0.0.1:${nats.port}` });
    suite.after(() => nc.close());
  });

  it('rules - NATS: device → JetStream with headers, JetStream → device', async (t) => {
    const ferry = await startFerry(t);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'UP', subjects: ['up.>'] });
    await jsm.streams.add({ name: 'DOWN', subjects: ['down.>'] });
    await ferry.ruleRuntime.engine.apply(rule(ferry, { type: 'outbound', topics: ['sensors/#'], target: `${nats.url}?subject=up` }));
    await ferry.ruleRuntime.engine.apply(rule(ferry, { type: 'inbound', source: `${nats.url}?stream=DOWN&consumer=ferry`, parentTopic: 'cmd' }));
    const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
    const device = await connect(t, url, { protocolVersion: 5, clientId: 'GID_car@@@nats1' });
    await device.client.subscribeAsync('cmd/#', { qos: 1 });
    await device.client.publishAsync('sensors/a/b', 'hello nats', { qos: 1 });
    const js = jetstream(nc);
    const consumer = await js.consumers.get('UP');
    const got = await consumer.next({ expires: 10_000 });
    assert.ok(got, 'a message reached JetStream');
    assert.equal(got.subject, 'up.sensors.a.b');
    assert.equal(got.string(), 'hello nats');
    assert.equal(got.headers?.get('clientId'), 'GID_car@@@nats1');
    assert.equal(got.headers?.get('mqttSecondTopic'), '/a/b');
    assert.equal(got.headers?.get('qoslevel'), '1');
    const h = headers();
    h.set('mqttSecondTopic', '/nats1/on');
    h.set('qoslevel', '1');
    await js.publish('down.x', 'command', { headers: h });
    const [command] = await device.waitFor(1, 10_000);
    assert.equal(command!.topic, 'cmd/nats1/on');
    assert.equal(command!.payload, 'command');
  });

  it('rules - RabbitMQ: device → exchange with headers, status events by routing key, queue → device', async (t) => {
    const ferry = await startFerry(t);
    const conn = await amqp.connect(rabbit.url);
    t.after(() => conn.close());
    const ch = await conn.createChannel();
    await ch.assertExchange('telemetry', 'topic', { durable: true });
    await ch.assertQueue('telemetry-all', { durable: true });
    await ch.bindQueue('telemetry-all', 'telemetry', '#');
    await ch.assertExchange('status', 'topic', { durable: true });
    await ch.assertQueue('status-all', { durable: true });
    await ch.bindQueue('status-all', 'status', '#');
    await ch.assertQueue('commands', { durable: true });
    await ferry.ruleRuntime.engine.apply(rule(ferry, { type: 'outbound', topics: ['sensors/#'], target: `${rabbit.url}/?exchange=telemetry` }));
    await ferry.ruleRuntime.engine.apply(rule(ferry, { type: 'status', groups: ['GID_car'], target: `${rabbit.url}/?exchange=status` }));
    await ferry.ruleRuntime.engine.apply(rule(ferry, { type: 'inbound', source: `${rabbit.url}/?queue=commands`, parentTopic: 'cmd' }));
    const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
    const device = await connect(t, url, { protocolVersion: 5, clientId: 'GID_car@@@amqp1' });
    await device.client.subscribeAsync('cmd/#', { qos: 1 });
    await device.client.publishAsync('sensors/t', 'hello rabbit', { qos: 1 });
    const up = await waitFor(async () => (await ch.get('telemetry-all', { noAck: true })) || null, { timeoutMs: 10_000 });
    assert.equal(up.content.toString(), 'hello rabbit');
    assert.equal(up.fields.routingKey, 'sensors/t');
    assert.equal(String(up.properties.headers?.['clientId']), 'GID_car@@@amqp1');
    const status = await waitFor(async () => (await ch.get('status-all', { noAck: true })) || null, { timeoutMs: 10_000 });
    assert.equal(status.fields.routingKey, 'connect');
    assert.equal((JSON.parse(status.content.toString()) as { clientId: string }).clientId, 'GID_car@@@amqp1');
    ch.sendToQueue('commands', Buffer.from('open'), { headers: { mqttSecondTopic: '/amqp1/door', qoslevel: '1' }, persistent: true });
    const [command] = await device.waitFor(1, 10_000);
    assert.equal(command!.topic, 'cmd/amqp1/door');
    assert.equal(command!.payload, 'open');
    await waitFor(async () => (await ch.checkQueue('commands')).messageCount === 0, { message: 'command acked' });
  });
});
