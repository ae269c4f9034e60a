/**
 * Rules end to end with a real redis-server: device → backend (outbound, every property), client
 * status events, backend → device (inbound, P2P, malformed → dead letter), the target killed and
 * restarted mid-stream (nothing lost, per-client order kept), the outbox overflow policy and
 * dead-letter replay.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type Redis } from 'ioredis';
import { startFerry } from '../../helpers/index.js';
import { type Engine, freePort, redisClient, startRedis, streamFields, suiteTeardown } from '../../helpers/engines.js';
import { waitFor } from '../../helpers/wait.js';
import { assertFirstOccurrencesInOrder, engineRule as rule } from '../../helpers/rules.js';
import { connect, uniqueId } from '../mqtt/clients.js';

type Entry = [string, string[]];


describe('rules with Redis', () => {
  let redis: Engine;
  let client: Redis;
  const suite = suiteTeardown();

  before(async () => {
    redis = await startRedis(suite);
    client = await redisClient(suite, redis);
  });

  const entries = async (stream: string): Promise<Entry[]> => (await client.xrange(stream, '-', '+')) as Entry[];

  it('rules - outbound: a device message reaches a Redis stream with every reference property', async (t) => {
    const ferry = await startFerry(t, { tracing: true, traceFlushIntervalMs: 20 });
    const stream = uniqueId('sensors');
    const sensors = rule(ferry, { type: 'outbound', topics: ['sensors/#'], target: `${redis.url}/0?stream=${stream}` });
    await ferry.ruleRuntime.engine.apply(sensors);
    const device = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { protocolVersion: 5, clientId: 'GID_car@@@dev1' });
    await device.client.publishAsync('sensors/room1/temp', Buffer.from([0, 1, 2, 255]), {
      qos: 1,
      properties: { userProperties: { unit: 'C' }, contentType: 'application/octet-stream', messageExpiryInterval: 300 },
    });
    await device.client.publishAsync('other/topic', 'not for this rule', { qos: 1 });
    const [entry] = await waitFor(async () => {
      const all = await entries(stream);
      return all.length >= 1 ? all : null;
    });
    const f = streamFields(entry!);
    assert.equal(f['clientId'], 'GID_car@@@dev1');
    assert.equal(f['topic'], 'sensors/room1/temp');
    assert.equal(f['mqttParentTopic'], 'sensors');
    assert.equal(f['mqttSecondTopic'], '/room1/temp');
    assert.equal(f['qoslevel'], '1');
    assert.equal(f['cleansessionflag'], 'true');
    assert.ok(Math.abs(Number(f['bornTime']) - Date.now()) < 60_000);
    assert.match(f['msgId']!, /^[0-9a-f]{32}$/, 'the trace MsgId');
    assert.deepEqual(JSON.parse(f['mqtt5UserProperty']!), [{ key: 'unit', value: 'C' }]);
    assert.equal(f['mqtt5ContentType'], 'application/octet-stream');
    assert.equal(f['mqtt5MsgExpireInterval'], '300');
    const raw = (await client.xrangeBuffer(stream, '-', '+')) as unknown as Array<[Buffer, Buffer[]]>;
    const payloadAt = raw[0]![1].findIndex((b) => b.toString() === 'payload');
    assert.deepEqual(raw[0]![1][payloadAt + 1], Buffer.from([0, 1, 2, 255]), 'payload bytes unchanged');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await entries(stream)).length, 1, 'only matching topics');
    const stats = (await ferry.ruleRuntime.engine.stats(sensors.id))!;
    assert.equal(stats.delivered, 1);
    assert.equal(stats.outboxDepth, 0);
    assert.equal(stats.target?.state, 'connected');
  });

  it('rules - status: connect, disconnect only on DISCONNECT, tcpclean always, with the reference body', async (t) => {
    const ferry = await startFerry(t);
    const stream = uniqueId('status');
    await ferry.ruleRuntime.engine.apply(rule(ferry, { type: 'status', groups: ['GID_car'], target: `${redis.url}/0?stream=${stream}` }));
    const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
    const clean = await connect(t, url, { clientId: 'GID_car@@@clean' });
    await clean.client.endAsync();
    const dropped = await connect(t, url, { clientId: 'GID_car@@@dropped' });
    dropped.client.stream.destroy();
    const other = await connect(t, url, { clientId: 'GID_bike@@@x' });
    await other.client.endAsync();
    const all = await waitFor(async () => {
      const got = await entries(stream);
      return got.length >= 5 ? got : null;
    });
    const events = all.map((e) => streamFields(e));
    const of = (id: string) => events.filter((e) => e['clientId'] === id).map((e) => e['eventType']);
    assert.deepEqual(of('GID_car@@@clean'), ['connect', 'disconnect', 'tcpclean']);
    assert.deepEqual(of('GID_car@@@dropped'), ['connect', 'tcpclean']);
    assert.deepEqual(of('GID_bike@@@x'), [], 'other groups: no events');
    const bodies = events.map((e) => JSON.parse(e['payload']!) as Record<string, unknown>);
    for (const body of bodies) {
      assert.deepEqual(Object.keys(body).sort(), ['channelId', 'clientId', 'clientIp', 'eventType', 'time']);
      assert.match(body['channelId'] as string, /^[0-9a-f]{32}$/);
      assert.match(body['clientIp'] as string, /^127\.0\.0\.1:\d+$/);
    }
    const cleanBodies = bodies.filter((b) => b['clientId'] === 'GID_car@@@clean');
    assert.equal(new Set(cleanBodies.map((b) => b['channelId'])).size, 1, 'one channelId per connection');
  });

  it('rules - inbound: backend → device via a Redis consumer group, P2P, malformed → dead letter', async (t) => {
    const ferry = await startFerry(t);
    const stream = uniqueId('cmds');
    await client.xgroup('CREATE', stream, 'ferry', '$', 'MKSTREAM');
    const id = uniqueId('rule');
    await ferry.ruleRuntime.engine.apply({ ...rule(ferry, { type: 'inbound', source: `${redis.url}/0?stream=${stream}&group=ferry`, parentTopic: 'cmd' }), id });
    const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
    const sub = await connect(t, url, { protocolVersion: 5, clientId: uniqueId('sub') });
    await sub.client.subscribeAsync('cmd/#', { qos: 1 });
    const p2p = await connect(t, url, { protocolVersion: 5, clientId: 'GID_car@@@dev9' });
    await client.xadd(stream, '*', 'mqttSecondTopic', '/dev1/light', 'qoslevel', '1', 'mqtt5UserProperty', '[{"key":"k","value":"v"}]', 'payload', 'on');
    await client.xadd(stream, '*', 'mqttSecondTopic', '/p2p/GID_car@@@dev9', 'payload', 'just you');
    await client.xadd(stream, '*', 'mqttSecondTopic', '/dev1/x', 'qoslevel', '7', 'payload', 'bad');
    const [got] = await sub.waitFor(1, 5000);
    assert.equal(got!.topic, 'cmd/dev1/light');
    assert.equal(got!.payload, 'on');
    assert.equal(got!.packet.qos, 1);
    assert.deepEqual({ ...got!.packet.properties?.userProperties }, { k: 'v' });
    const [direct] = await p2p.waitFor(1, 5000);
    assert.equal(direct!.payload, 'just you');
    await waitFor(async () => (await ferry.ruleRuntime.engine.deadLetters(id, { limit: 10 })).items.length === 1, { message: 'malformed message dead-lettered' });
    const dead = (await ferry.ruleRuntime.engine.deadLetters(id, { limit: 10 })).items[0]!;
    assert.match(dead.reason, /qoslevel/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(sub.received.length, 1, 'the malformed message was not published');
    // Acknowledged in Redis: nothing pending for the group.
    await waitFor(async () => ((await client.xpending(stream, 'ferry')) as [number])[0] === 0, { message: 'all acked' });
  });

  it('rules - the target killed and restarted mid-stream: nothing lost, order per client kept', async (t) => {
    const own = await startRedis(t);
    const ownClient = await redisClient(t, own);
    const ferry = await startFerry(t);
    const id = uniqueId('rule');
    await ferry.ruleRuntime.engine.apply({ ...rule(ferry, { type: 'outbound', topics: ['flow/#'], target: `${own.url}/0?stream=flow` }), id });
    const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
    const pubs = await Promise.all([0, 1, 2].map((i) => connect(t, url, { protocolVersion: 5, clientId: `pub${i}` })));
    const N = 60;
    let restarting: Promise<void> = Promise.resolve();
    for (let n = 0; n < N; n++) {
      if (n === 20) await own.kill();
      if (n === 40) {
        // The dispatcher must have met the dead target before it comes back, or this test would not
        // exercise the retry path; then restart while publishing goes on (awaited below).
        await waitFor(async () => ((await ferry.ruleRuntime.engine.stats(id))?.failed ?? 0) > 0, { message: 'a failed send to the dead target' });
        restarting = own.restart();
      }
      await Promise.all(pubs.map((p, i) => p.client.publishAsync(`flow/${i}`, `${i}:${n}`, { qos: 1 })));
    }
    await restarting;
    const all = await waitFor(
      async () => {
        const got = ((await ownClient.xrange('flow', '-', '+').catch(() => [])) as Entry[]).map((e) => streamFields(e)['payload']!);
        return new Set(got).size >= 3 * N ? got : null;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'every message after the restart' },
    );
    // At least once: a retried batch may repeat items; first occurrences are in order.
    assertFirstOccurrencesInOrder(all, 3, N);
    const stats = (await ferry.ruleRuntime.engine.stats(id))!;
    assert.ok(stats.failed > 0 && stats.retried > 0, 'failures were seen and retried');
  });

  it('rules - a dead target fills the outbox up to its bound: the oldest are dropped and counted, MQTT goes on', async (t) => {
    const ferry = await startFerry(t);
    const id = uniqueId('rule');
    const port = await freePort();
    await ferry.ruleRuntime.engine.apply({
      ...rule(ferry, { type: 'outbound', topics: ['#'], target: `redis://127.0.0.1:${port}/0?stream=nowhere`, outboxMaxMessages: 10 }),
      id,
    });
    const pub = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { protocolVersion: 5, clientId: uniqueId('p') });
    const sub = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { protocolVersion: 5, clientId: uniqueId('s') });
    await sub.client.subscribeAsync('x/#', { qos: 1 });
    for (let i = 0; i < 50; i++) await pub.client.publishAsync('x/y', `m${i}`, { qos: 1 });
    await sub.waitFor(50, 5000);
    const stats = (await ferry.ruleRuntime.engine.stats(id))!;
    assert.equal(stats.outboxDepth, 10);
    assert.equal(stats.dropped, 40);
    assert.notEqual(stats.target?.state, 'connected');
    const metrics = await (await fetch(`http://127.0.0.1:${ferry.ports.http}/metrics`)).text();
    assert.match(metrics, new RegExp(`ferry_rule_dropped_total\\{instance="[^"]+",rule="${id}"\\} 40`));
    assert.match(metrics, new RegExp(`ferry_rule_outbox_depth\\{instance="[^"]+",rule="${id}"\\} 10`));
  });

  it('rules - built-in queue: outbound into queue://, receive / ack / nack, redelivery after the visibility timeout; inbound from queue://', async (t) => {
    const ferry = await startFerry(t);
    const { engine, queues } = ferry.ruleRuntime;
    const instance = ferry.config.broker.defaultInstanceId;
    await engine.apply(rule(ferry, { type: 'outbound', topics: ['up/#'], target: 'queue://telemetry' }));
    await engine.apply(rule(ferry, { type: 'inbound', source: 'queue://commands', parentTopic: 'down' }));
    const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
    const device = await connect(t, url, { protocolVersion: 5, clientId: 'GID_car@@@d1' });
    await device.client.subscribeAsync('down/#', { qos: 1 });
    await device.client.publishAsync('up/t', 'reading', { qos: 1 });
    const [first] = await waitFor(async () => {
      const got = await queues.receive(instance, 'telemetry', { max: 10, visibilityTimeoutMs: 1000, waitMs: 500 });
      return got.length > 0 ? got : null;
    });
    assert.equal(first!.payload.toString(), 'reading');
    assert.equal(first!.properties['clientId'], 'GID_car@@@d1');
    assert.equal(first!.properties['mqttSecondTopic'], '/t');
    assert.deepEqual(await queues.receive(instance, 'telemetry', { max: 10, visibilityTimeoutMs: 1000, waitMs: 0 }), [], 'leased: invisible');
    // Not acked: visible again after the visibility timeout, deliveries counted.
    const [again] = await queues.receive(instance, 'telemetry', { max: 10, visibilityTimeoutMs: 1000, waitMs: 3000 });
    assert.equal(again!.id, first!.id);
    assert.equal(again!.deliveries, 2);
    assert.equal(await queues.ack(instance, 'telemetry', [first!.receipt]), 0, 'an expired receipt acks nothing');
    assert.equal(await queues.nack(instance, 'telemetry', [again!.receipt]), 1);
    const [third] = await queues.receive(instance, 'telemetry', { max: 10, visibilityTimeoutMs: 5000, waitMs: 2000 });
    assert.equal(await queues.ack(instance, 'telemetry', [third!.receipt]), 1);
    assert.deepEqual(queues.list(instance).find((q) => q.name === 'telemetry'), { name: 'telemetry', depth: 0, inFlight: 0, oldestAgeMs: 0 });
    // A backend sends a command through the built-in queue; the inbound rule publishes it.
    await queues.append(instance, 'commands', [{ payload: Buffer.from('reboot'), properties: { mqttSecondTopic: '/d1', qoslevel: '1' } }]);
    const [command] = await device.waitFor(1, 5000);
    assert.equal(command!.topic, 'down/d1');
    assert.equal(command!.payload, 'reboot');
    await waitFor(() => queues.list(instance).find((q) => q.name === 'commands')?.depth === 0, { message: 'command acked' });
  });
});
