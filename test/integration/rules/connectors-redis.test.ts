import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type Redis } from 'ioredis';
import { createConnectorRegistry, type InboundItem, type TargetItem } from '../../../src/rules/connectors/index.js';
import { type Engine, redisClient, startRedis, suiteTeardown } from '../../helpers/engines.js';
import { asMessages, assertProperties, assertStatusBody, fullMessage, plainMessage, statusEvent } from '../../helpers/connector-fixtures.js';
import { waitFor } from '../../helpers/wait.js';

const registry = createConnectorRegistry();

type Entry = [Buffer, Buffer[]];

function fieldsOf(entry: Entry): { fields: Record<string, string>; payload: Buffer | undefined } {
  const fields: Record<string, string> = {};
  let payload: Buffer | undefined;
  const raw = entry[1];
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!.toString();
    if (key === 'payload') payload = raw[i + 1]!;
    else fields[key] = raw[i + 1]!.toString();
  }
  return { fields, payload };
}

describe('redis connector', () => {
  let redis: Engine;
  let client: Redis;
  const suite = suiteTeardown();

  before(async () => {
    redis = await startRedis(suite);
    client = await redisClient(suite, redis);
  });

  const readAll = async (stream: string): Promise<Entry[]> => (await client.xrangeBuffer(stream, '-', '+')) as unknown as Entry[];

  it('redis connector - delivers a batch as stream entries with every property and the payload bytes', async (t) => {
    const target = registry.createTarget(`${redis.url}/0?stream=out1`);
    t.after(() => target.stop());
    await target.start();
    assert.equal((await target.health()).state, 'connected');
    const messages = [fullMessage(1), fullMessage(2), plainMessage(3)];
    const events = [statusEvent(4, 'connect'), statusEvent(5, 'tcpclean')];
    const batch: TargetItem[] = [...asMessages(messages), ...events.map((event) => ({ type: 'status' as const, event }))];
    const outcomes = await target.deliver(batch);
    assert.deepEqual(outcomes, batch.map(() => ({ ok: true })));

    const entries = await readAll('out1');
    assert.equal(entries.length, 5);
    messages.forEach((message, i) => {
      const { fields, payload } = fieldsOf(entries[i]!);
      assertProperties(fields, message);
      assert.deepEqual(payload, message.payload);
    });
    events.forEach((event, i) => {
      const { fields, payload } = fieldsOf(entries[3 + i]!);
      assert.deepEqual(fields, { eventType: event.eventType, clientId: event.clientId });
      assertStatusBody(payload!, event);
    });
  });

  it('redis connector - maxlen trims the stream (approximately, at least maxlen kept)', async (t) => {
    const target = registry.createTarget(`${redis.url}?stream=trimmed&maxlen=10`);
    t.after(() => target.stop());
    for (let round = 0; round < 5; round++) {
      const outcomes = await target.deliver(asMessages(Array.from({ length: 200 }, (_, i) => plainMessage(round * 200 + i))));
      assert.ok(outcomes.every((o) => o.ok));
    }
    const length = await client.xlen('trimmed');
    assert.ok(length >= 10 && length < 1000, `XLEN ${length} after 1000 XADD with MAXLEN ~ 10`);
  });

  it('redis connector - a wrong-type key is a permanent failure for that item', async (t) => {
    await client.set('not-a-stream', 'x');
    const target = registry.createTarget(`${redis.url}?stream=not-a-stream`);
    t.after(() => target.stop());
    const [outcome] = await target.deliver(asMessages([plainMessage(1)]));
    assert.equal(outcome?.ok, false);
    assert.ok(outcome && !outcome.ok && /WRONGTYPE/.test(outcome.reason) && outcome.retryable === false, JSON.stringify(outcome));
  });

  it('redis source - acks after the handler resolved; a failing handler leaves it pending and it comes again', async (t) => {
    await client.xadd('cmds1', '*', 'mqttSecondTopic', '/a/b', 'qoslevel', '0', 'payload', Buffer.from([1, 2, 3]));
    // The group is created at the end of the stream: the entry above is before it and never read.
    const source = registry.createSource(`${redis.url}?stream=cmds1&group=ferry`, { parentTopic: 'cmd', retryDelayMs: 100 });
    t.after(() => source.stop());
    const seen: InboundItem[] = [];
    let failOnce = true;
    source.consume(async (item) => {
      seen.push(item);
      if (item.ok && item.message.p2pClientId === 'GID_car@@@dev1' && failOnce) {
        failOnce = false;
        throw new Error('MQTT store unavailable');
      }
    });
    await waitFor(async () => (await source.health()).state === 'connected', { message: 'source connected' });
    await waitFor(async () => (await client.xinfo('GROUPS', 'cmds1')) !== null, { message: 'group exists' });
    await client.xadd(
      'cmds1', '*',
      'mqttSecondTopic', '/p2p/GID_car@@@dev1',
      'mqttRealTopic', '/inbox',
      'qoslevel', '2',
      'cleansessionflag', 'false',
      'mqtt5UserProperty', '[{"key":"k","value":"v"}]',
      'mqtt5ContentType', 'text/plain',
      'mqtt5MsgExpireInterval', '60',
      'payload', Buffer.from('reboot'),
    );
    await client.xadd('cmds1', '*', 'mqttSecondTopic', '/lights/1', 'payload', Buffer.from('on'));

    await waitFor(async () => {
      const pending = (await client.xpending('cmds1', 'ferry')) as [number, ...unknown[]];
      return seen.length >= 3 && pending[0] === 0;
    }, { message: 'all acked after the retry', timeoutMs: 10_000 });
    const ok = seen.filter((i): i is Extract<InboundItem, { ok: true }> => i.ok);
    assert.equal(ok.length, 3, 'the failed one is offered again, the first entry (before the group) never');
    assert.deepEqual(ok[0]!.message, {
      topic: 'cmd/inbox',
      p2pClientId: 'GID_car@@@dev1',
      qos: 2,
      cleanSession: false,
      payload: Buffer.from('reboot'),
      userProperties: [{ key: 'k', value: 'v' }],
      contentType: 'text/plain',
      messageExpiryInterval: 60,
    });
    assert.deepEqual(ok[1]!.message, { topic: 'cmd/lights/1', qos: 1, cleanSession: true, payload: Buffer.from('on') });
    assert.equal(ok[2]!.record.id, ok[0]!.record.id, 'the same entry comes again');
    assert.equal(ok[2]!.record.redelivered, true);
  });

  it('redis source - a malformed entry reaches the handler as a typed error and is acked once handled', async (t) => {
    const source = registry.createSource(`${redis.url}?stream=cmds2&group=g&consumer=c1`, { parentTopic: 'cmd' });
    t.after(() => source.stop());
    const seen: InboundItem[] = [];
    source.consume(async (item) => {
      seen.push(item);
    });
    await waitFor(async () => (await client.exists('cmds2')) === 1, { message: 'stream created with the group' });
    await client.xadd('cmds2', '*', 'mqttSecondTopic', '/x', 'qoslevel', '7', 'payload', 'p');
    await client.xadd('cmds2', '*', 'mqttSecondTopic', '/x/#', 'payload', 'p');
    await waitFor(() => seen.length === 2, { message: 'two items' });
    const codes = seen.map((i) => (i.ok ? 'ok' : `${i.error.code}:${i.error.property}`));
    assert.deepEqual(codes, ['InvalidQos:qoslevel', 'InvalidTopic:mqttSecondTopic']);
    await waitFor(async () => ((await client.xpending('cmds2', 'g')) as [number])[0] === 0, { message: 'acked' });
  });

  it('redis connector - engine killed: deliver reports failures; restarted: delivers again, nothing acked lost', async (t) => {
    const target = registry.createTarget(`${redis.url}?stream=restart`, { timeoutMs: 2_000 });
    t.after(() => target.stop());
    const first = await target.deliver(asMessages([fullMessage(1), fullMessage(2)]));
    assert.ok(first.every((o) => o.ok));

    const source = registry.createSource(`${redis.url}?stream=restart-in&group=g`, { parentTopic: 'cmd', retryDelayMs: 100 });
    t.after(() => source.stop());
    const inbound: string[] = [];
    source.consume(async (item) => {
      if (item.ok) inbound.push(item.message.payload.toString());
    });
    await waitFor(async () => (await client.exists('restart-in')) === 1, { message: 'source group created' });
    await client.xadd('restart-in', '*', 'payload', 'before');
    await waitFor(() => inbound.includes('before'), { message: 'inbound before the kill' });

    await redis.kill();
    const during = await target.deliver(asMessages([fullMessage(3)]));
    assert.equal(during.length, 1);
    assert.ok(!during[0]!.ok && during[0]!.retryable, JSON.stringify(during));
    await waitFor(async () => (await target.health()).state !== 'connected', { message: 'health says not connected' });

    await redis.restart();
    // The caller retries with backoff; the connector reconnects by itself.
    await waitFor(async () => (await target.deliver(asMessages([fullMessage(3)])))[0]!.ok, { timeoutMs: 10_000, intervalMs: 100, message: 'delivers after restart' });
    assert.deepEqual(
      (await readAll('restart')).map((e) => fieldsOf(e).fields.msgId),
      [fullMessage(1).msgId, fullMessage(2).msgId, fullMessage(3).msgId],
    );
    await client.xadd('restart-in', '*', 'payload', 'after');
    await waitFor(() => inbound.includes('after'), { timeoutMs: 15_000, message: 'inbound after the restart' });
  });
});
