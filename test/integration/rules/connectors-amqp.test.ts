import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { createConnectorRegistry, propertyString, type InboundItem, type TargetItem } from '../../../src/rules/connectors/index.js';
import { startRabbit, suiteTeardown, type Engine } from '../../helpers/engines.js';
import {
  TOTAL,
  asMessages,
  assertCompleteAndOrdered,
  assertProperties,
  assertStatusBody,
  deliverAll,
  fullMessage,
  midstreamMessages,
  plainMessage,
  statusEvent,
} from '../../helpers/connector-fixtures.js';
import { waitFor } from '../../helpers/wait.js';

const registry = createConnectorRegistry();

/** One RabbitMQ for the file (it takes seconds to boot); each test uses its own exchange and queue. */
describe('amqp connector', () => {
  let rabbit: Engine;
  const suite = suiteTeardown();

  before(async () => {
    rabbit = await startRabbit(suite);
  });

  /** A fresh client connection + channel for the test (the kill test invalidates older ones). */
  async function client(t: { after(fn: () => unknown): void }): Promise<amqp.Channel> {
    const connection = await amqp.connect(rabbit.url);
    connection.on('error', () => undefined);
    t.after(() => connection.close().catch(() => undefined));
    return connection.createChannel();
  }

  /** Everything in `queue` right now, acked. */
  async function drain(ch: amqp.Channel, queue: string, expected: number): Promise<amqp.GetMessage[]> {
    const got: amqp.GetMessage[] = [];
    await waitFor(async () => {
      for (;;) {
        const msg = await ch.get(queue, { noAck: true });
        if (msg === false) break;
        got.push(msg);
      }
      return got.length >= expected;
    }, { message: `${expected} messages in ${queue}` });
    return got;
  }

  const headersOf = (msg: amqp.Message): Record<string, string> =>
    Object.fromEntries(Object.entries(msg.properties.headers ?? {}).map(([k, v]) => [k, propertyString(v) ?? '']));

  it('amqp connector - publishes a batch with confirms: every property as a header, routing key = topic / event type', async (t) => {
    const ch = await client(t);
    await ch.assertExchange('out1', 'topic', { durable: true });
    await ch.assertQueue('out1-all', { durable: true });
    await ch.bindQueue('out1-all', 'out1', '#');
    const target = registry.createTarget(`${rabbit.url}/?exchange=out1`);
    t.after(() => target.stop());
    await target.start();
    assert.equal((await target.health()).state, 'connected');
    const messages = [fullMessage(1), fullMessage(2), plainMessage(3)];
    const events = [statusEvent(4, 'connect'), statusEvent(5, 'tcpclean')];
    const batch: TargetItem[] = [...asMessages(messages), ...events.map((event) => ({ type: 'status' as const, event }))];
    assert.deepEqual(await target.deliver(batch), batch.map(() => ({ ok: true })));

    const got = await drain(ch, 'out1-all', batch.length);
    assert.equal(got.length, batch.length);
    for (const [i, message] of messages.entries()) {
      const msg = got[i]!;
      assert.equal(msg.fields.routingKey, message.topic);
      assertProperties(headersOf(msg), message);
      assert.deepEqual(msg.content, message.payload);
      assert.equal(msg.properties.deliveryMode, 2, 'persistent');
      assert.equal(msg.properties.messageId, message.msgId);
      assert.equal(msg.properties.contentType, message.contentType);
    }
    for (const [i, event] of events.entries()) {
      const msg = got[messages.length + i]!;
      assert.equal(msg.fields.routingKey, event.eventType);
      assertStatusBody(msg.content, event);
      assert.deepEqual(headersOf(msg), { eventType: event.eventType, clientId: event.clientId });
    }
  });

  it('amqp connector - a fixed routingKey; unroutable and missing-exchange publishes fail with the reason', async (t) => {
    const ch = await client(t);
    await ch.assertExchange('out2', 'direct', { durable: true });
    await ch.assertQueue('out2-q', { durable: true });
    await ch.bindQueue('out2-q', 'out2', 'fixed');
    const fixed = registry.createTarget(`${rabbit.url}?exchange=out2&routingKey=fixed`);
    t.after(() => fixed.stop());
    assert.ok((await fixed.deliver(asMessages([plainMessage(1)])))[0]!.ok);
    assert.equal((await drain(ch, 'out2-q', 1))[0]!.fields.routingKey, 'fixed');

    const unroutable = registry.createTarget(`${rabbit.url}?exchange=out2`); // routing key = topic: no binding
    t.after(() => unroutable.stop());
    const [u] = await unroutable.deliver(asMessages([plainMessage(2)]));
    assert.ok(u && !u.ok && /unroutable/.test(u.reason), JSON.stringify(u));

    const missing = registry.createTarget(`${rabbit.url}?exchange=does-not-exist`, { timeoutMs: 3_000 });
    t.after(() => missing.stop());
    const [m] = await missing.deliver(asMessages([plainMessage(3)]));
    assert.ok(m && !m.ok && m.retryable, JSON.stringify(m));
    assert.match((await missing.health()).lastError ?? '', /NOT_FOUND|closed/);
    // Once the exchange exists, the same connector delivers on a new channel.
    await ch.assertExchange('does-not-exist', 'fanout', { durable: true });
    await ch.assertQueue('dne-q', { durable: true });
    await ch.bindQueue('dne-q', 'does-not-exist', '');
    assert.ok((await missing.deliver(asMessages([plainMessage(4)])))[0]!.ok);
  });

  it('amqp source - acks after the handler resolved; a failing handler gets the message again', async (t) => {
    const ch = await client(t);
    await ch.assertQueue('cmds1', { durable: true });
    ch.sendToQueue('cmds1', Buffer.from('first'), {
      headers: { mqttSecondTopic: '/p2p/GID_car@@@dev1', mqttRealTopic: '/inbox', qoslevel: 2, cleansessionflag: false },
      contentType: 'text/plain',
    });
    ch.sendToQueue('cmds1', Buffer.from('second'), { headers: { mqttSecondTopic: '/lights/1', mqtt5MsgExpireInterval: '30' } });
    ch.sendToQueue('cmds1', Buffer.from('bad'), { headers: { mqttSecondTopic: '/a/+' } });

    const source = registry.createSource(`${rabbit.url}?queue=cmds1`, { parentTopic: 'cmd', retryDelayMs: 100 });
    const seen: InboundItem[] = [];
    let failOnce = true;
    source.consume(async (item) => {
      seen.push(item);
      if (item.record.payload.toString() === 'first' && failOnce) {
        failOnce = false;
        throw new Error('MQTT store unavailable');
      }
    });
    await waitFor(() => seen.length >= 4, { message: 'all handled, one twice', timeoutMs: 10_000 });
    await source.stop();
    // Unacked messages would be back in the queue now that the consumer is gone.
    assert.equal((await ch.checkQueue('cmds1')).messageCount, 0);

    const byPayload = (p: string) => seen.filter((i) => i.record.payload.toString() === p);
    const first = byPayload('first');
    assert.equal(first.length, 2);
    assert.equal(first[1]!.record.redelivered, true);
    assert.deepEqual(first[0]!.ok && first[0]!.message, {
      topic: 'cmd/inbox',
      p2pClientId: 'GID_car@@@dev1',
      qos: 2,
      cleanSession: false,
      payload: Buffer.from('first'),
      contentType: 'text/plain',
    });
    const second = byPayload('second')[0]!;
    assert.deepEqual(second.ok && second.message, {
      topic: 'cmd/lights/1', qos: 1, cleanSession: true, payload: Buffer.from('second'), messageExpiryInterval: 30,
    });
    const bad = byPayload('bad')[0]!;
    assert.ok(!bad.ok && bad.error.code === 'InvalidTopic');
  });

  it('amqp connector - engine killed: deliver reports failures; restarted: delivers again, nothing acked lost', async (t) => {
    const ch = await client(t);
    await ch.assertExchange('restart', 'fanout', { durable: true });
    await ch.assertQueue('restart-q', { durable: true });
    await ch.bindQueue('restart-q', 'restart', '');
    await ch.assertQueue('restart-in', { durable: true });
    const target = registry.createTarget(`${rabbit.url}?exchange=restart`, { timeoutMs: 2_000 });
    t.after(() => target.stop());
    assert.ok((await target.deliver(asMessages([fullMessage(1), fullMessage(2)]))).every((o) => o.ok));

    const source = registry.createSource(`${rabbit.url}?queue=restart-in`, { parentTopic: 'cmd', retryDelayMs: 100 });
    t.after(() => source.stop());
    const inbound: string[] = [];
    source.consume(async (item) => {
      inbound.push(item.record.payload.toString());
    });
    ch.sendToQueue('restart-in', Buffer.from('before'), { persistent: true });
    await waitFor(() => inbound.includes('before'), { message: 'inbound before the kill' });

    await rabbit.kill();
    const during = await target.deliver(asMessages([fullMessage(3)]));
    assert.ok(!during[0]!.ok && during[0]!.retryable, JSON.stringify(during));
    assert.notEqual((await target.health()).state, 'connected');

    await rabbit.restart();
    await waitFor(async () => (await target.deliver(asMessages([fullMessage(3)])))[0]!.ok, {
      timeoutMs: 20_000,
      intervalMs: 200,
      message: 'delivers after restart',
    });
    const after = await client(t);
    const got = await drain(after, 'restart-q', 3);
    assert.deepEqual(got.map((m) => m.properties.messageId), [fullMessage(1).msgId, fullMessage(2).msgId, fullMessage(3).msgId]);
    after.sendToQueue('restart-in', Buffer.from('after'), { persistent: true });
    await waitFor(() => inbound.includes('after'), { timeoutMs: 20_000, message: 'inbound after the restart' });
  });

  it('amqp connector - killed and restarted during delivery: nothing lost, per-client order kept', async (t) => {
    const ch = await client(t);
    await ch.assertExchange('mid', 'fanout', { durable: true });
    await ch.assertQueue('mid-q', { durable: true });
    await ch.bindQueue('mid-q', 'mid', '');
    const target = registry.createTarget(`${rabbit.url}?exchange=mid`, { timeoutMs: 2_000 });
    t.after(() => target.stop());
    await deliverAll(target, midstreamMessages(), async () => {
      await rabbit.kill();
      await rabbit.restart();
    });
    const after = await client(t);
    const got = await drain(after, 'mid-q', TOTAL);
    assertCompleteAndOrdered(got.map((m) => ({ clientId: headersOf(m).clientId!, msgId: headersOf(m).msgId! })));
  });
});
