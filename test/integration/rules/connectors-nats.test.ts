import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createConnectorRegistry, natsSubject, type InboundItem, type TargetItem } from '../../../src/rules/connectors/index.js';
import { startNats, suiteTeardown, type Engine } from '../../helpers/engines.js';
import { asMessages, assertProperties, assertStatusBody, fullMessage, plainMessage, statusEvent } from '../../helpers/connector-fixtures.js';
import { waitFor } from '../../helpers/wait.js';

const registry = createConnectorRegistry();

function headerRecord(h: Iterable<[string, string[]]> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h) for (const [key, values] of h) out[key] = values[0] ?? '';
  return out;
}

describe('nats connector', () => {
  let nats: Engine;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const suite = suiteTeardown();

  before(async () => {
    nats = await startNats(suite);
    nc = await connect({ servers: `127.0.0.1:${nats.port}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    suite.after(() => nc.close());
    jsm = await jetstreamManager(nc);
  });

  it('nats connector - publishes a batch to JetStream with every property as a header, topic levels as subject tokens', async (t) => {
    await jsm.streams.add({ name: 'OUT1', subjects: ['out1.>'] });
    const target = registry.createTarget(`${nats.url}?subject=out1.dev`);
    t.after(() => target.stop());
    await target.start();
    assert.equal((await target.health()).state, 'connected');
    const messages = [fullMessage(1), fullMessage(2), plainMessage(3), fullMessage(4, { topic: '/odd//topic.with dots' })];
    const events = [statusEvent(5, 'connect'), statusEvent(6, 'disconnect')];
    const batch: TargetItem[] = [...asMessages(messages), ...events.map((event) => ({ type: 'status' as const, event }))];
    assert.deepEqual(await target.deliver(batch), batch.map(() => ({ ok: true })));

    const subjects = ['out1.dev.sensors.room1.temp', 'out1.dev.sensors.room2.temp', 'out1.dev.flat', 'out1.dev._.odd._.topic_with_dots'];
    for (const [i, message] of messages.entries()) {
      const stored = await jsm.streams.getMessage('OUT1', { seq: i + 1 });
      assert.ok(stored);
      assert.equal(stored.subject, subjects[i]);
      assert.equal(stored.subject, natsSubject('out1.dev', message.topic));
      assertProperties(headerRecord(stored.header), message);
      assert.deepEqual(Buffer.from(stored.data), message.payload);
    }
    for (const [i, event] of events.entries()) {
      const stored = await jsm.streams.getMessage('OUT1', { seq: messages.length + i + 1 });
      assert.ok(stored);
      assert.equal(stored.subject, `out1.dev.${event.eventType}`);
      assert.deepEqual(headerRecord(stored.header), { eventType: event.eventType, clientId: event.clientId });
      assertStatusBody(Buffer.from(stored.data), event);
    }
  });

  it('nats connector - a subject no stream captures, or a full stream, is a failure with the reason', async (t) => {
    const target = registry.createTarget(`${nats.url}?subject=nobody.listens`, { timeoutMs: 2_000 });
    t.after(() => target.stop());
    const [outcome] = await target.deliver(asMessages([plainMessage(1)]));
    assert.ok(outcome && !outcome.ok && /no JetStream stream captures subject nobody\.listens\.flat/.test(outcome.reason), JSON.stringify(outcome));

    // A stream that refuses (full, discard new): the refusal is per message, with JetStream's reason.
    await jsm.streams.add({ name: 'FULL', subjects: ['full.>'], max_msgs: 1, discard: DiscardPolicy.New });
    const full = registry.createTarget(`${nats.url}?subject=full`);
    t.after(() => full.stop());
    const [kept, refused] = await full.deliver(asMessages([plainMessage(1), plainMessage(2)]));
    assert.deepEqual(kept, { ok: true });
    assert.ok(refused && !refused.ok && /JetStream refused the message: maximum messages exceeded/.test(refused.reason), JSON.stringify(refused));
  });

  it('nats source - durable consumer: ack after the handler resolved; a failing handler gets it again', async (t) => {
    await jsm.streams.add({ name: 'CMDS1', subjects: ['cmds1.>'] });
    const js = jetstream(nc);
    const h = headers();
    h.set('mqttSecondTopic', '/p2p/GID_car@@@dev1');
    h.set('qoslevel', '0');
    h.set('cleansessionflag', 'false');
    h.set('mqtt5UserProperty', '[{"key":"a","value":"b"}]');
    await js.publish('cmds1.x', Buffer.from('first'), { headers: h });
    const h2 = headers();
    h2.set('mqttSecondTopic', '/lights/1');
    await js.publish('cmds1.x', Buffer.from('second'), { headers: h2 });
    const h3 = headers();
    h3.set('qoslevel', 'high');
    await js.publish('cmds1.x', Buffer.from('bad'), { headers: h3 });

    const source = registry.createSource(`${nats.url}?stream=CMDS1&consumer=ferry`, { parentTopic: 'cmd', retryDelayMs: 200 });
    t.after(() => source.stop());
    const seen: InboundItem[] = [];
    let failOnce = true;
    source.consume(async (item) => {
      seen.push(item);
      if (item.ok && item.message.payload.toString() === 'first' && failOnce) {
        failOnce = false;
        throw new Error('MQTT store unavailable');
      }
    });
    await waitFor(
      async () => {
        const info = await jsm.consumers.info('CMDS1', 'ferry');
        return seen.length >= 4 && info.num_ack_pending === 0 && info.num_pending === 0;
      },
      { message: 'all acked', timeoutMs: 10_000 },
    );
    const byPayload = (p: string) => seen.filter((i) => i.record.payload.toString() === p);
    const first = byPayload('first');
    assert.equal(first.length, 2, 'the failed one comes again');
    assert.equal(first[1]!.record.redelivered, true);
    assert.deepEqual(first[0]!.ok && first[0]!.message, {
      topic: 'cmd/p2p/GID_car@@@dev1',
      p2pClientId: 'GID_car@@@dev1',
      qos: 0,
      cleanSession: false,
      payload: Buffer.from('first'),
      userProperties: [{ key: 'a', value: 'b' }],
    });
    const second = byPayload('second')[0]!;
    assert.deepEqual(second.ok && second.message, {
      topic: 'cmd/lights/1', qos: 1, cleanSession: true, payload: Buffer.from('second'),
    });
    const bad = byPayload('bad')[0]!;
    assert.ok(!bad.ok && bad.error.code === 'InvalidQos', 'malformed → typed error');
  });

  it('nats connector - engine killed: deliver reports failures; restarted: delivers again, nothing acked lost', async (t) => {
    await jsm.streams.add({ name: 'RESTART', subjects: ['restart.>'] });
    await jsm.streams.add({ name: 'RESTART_IN', subjects: ['restartin.>'] });
    const target = registry.createTarget(`${nats.url}?subject=restart`, { timeoutMs: 1_000 });
    t.after(() => target.stop());
    assert.ok((await target.deliver(asMessages([fullMessage(1), fullMessage(2)]))).every((o) => o.ok));

    const source = registry.createSource(`${nats.url}?stream=RESTART_IN&consumer=c`, { parentTopic: 'cmd', retryDelayMs: 100 });
    t.after(() => source.stop());
    const inbound: string[] = [];
    source.consume(async (item) => {
      inbound.push(item.record.payload.toString());
    });
    const js = jetstream(nc);
    await js.publish('restartin.a', Buffer.from('before'));
    await waitFor(() => inbound.includes('before'), { message: 'inbound before the kill' });

    await nats.kill();
    const during = await target.deliver(asMessages([fullMessage(3)]));
    assert.ok(!during[0]!.ok && during[0]!.retryable, JSON.stringify(during));

    await nats.restart();
    await waitFor(async () => (await target.deliver(asMessages([fullMessage(3)])))[0]!.ok, {
      timeoutMs: 15_000,
      intervalMs: 100,
      message: 'delivers after restart',
    });
    const info = await waitFor(async () => jsm.streams.info('RESTART'), { timeoutMs: 10_000, message: 'stream back' });
    assert.equal(info.state.messages, 3);
    const ids = [];
    for (let seq = 1; seq <= 3; seq++) ids.push(headerRecord((await jsm.streams.getMessage('RESTART', { seq }))?.header).msgId);
    assert.deepEqual(ids, [fullMessage(1).msgId, fullMessage(2).msgId, fullMessage(3).msgId]);

    await waitFor(async () => {
      await js.publish('restartin.a', Buffer.from('after'));
      return true;
    }, { timeoutMs: 10_000, intervalMs: 200, message: 'test publisher back' });
    await waitFor(() => inbound.includes('after'), { timeoutMs: 15_000, message: 'inbound after the restart' });
  });
});
