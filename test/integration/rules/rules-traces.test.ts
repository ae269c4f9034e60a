/**
 * Issue 8: message traces gain the rule hop, with a real redis-server. Outbound: a device's
 * PUBLISH → rule → Redis stream, then the trace by MsgId shows pub_mqtt and rule_out (the rule
 * and the target's scheme in ActionInfo); a target that is down and out of attempts shows
 * rule_retry / rule_dead. Inbound: a backend's stream entry → MQTT is pub_mq of the new MsgId.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type Redis } from 'ioredis';
import type { RunningFerry } from '../../../src/internal.js';
import { startFerry, tempDir } from '../../helpers/index.js';
import { type Engine, freePort, redisClient, startRedis, streamFields, suiteTeardown } from '../../helpers/engines.js';
import { waitFor } from '../../helpers/wait.js';
import { engineRule as rule } from '../../helpers/rules.js';
import { connect, uniqueId } from '../mqtt/clients.js';

type Entry = [string, string[]];

function range(ferry: RunningFerry): { instanceId: string; beginTime: number; endTime: number } {
  return { instanceId: ferry.config.broker.defaultInstanceId, beginTime: Date.now() - 60_000, endTime: Date.now() + 1000 };
}

/** pub_* then everything after it of one MsgId, as [Action, ClientId, ActionInfo]. */
async function hops(ferry: RunningFerry, msgId: string): Promise<string[][]> {
  await ferry.traces.flush();
  const published = await ferry.traces.queryMessagePublish({ ...range(ferry), msgId });
  const delivered = await ferry.traces.queryMessageSubscribe({ ...range(ferry), msgId, pageSize: 100 });
  return [...published.MessageTraceLists, ...delivered.MessageTraceLists].map((r) => [r.Action, r.ClientId, r.ActionInfo]);
}

describe('rules in message traces (Redis)', () => {
  let redis: Engine;
  let client: Redis;
  const suite = suiteTeardown();

  before(async () => {
    redis = await startRedis(suite);
    client = await redisClient(suite, redis);
  });

  it('rules traces - publish → rule → Redis: the MsgId shows pub_mqtt, the subscriber and rule_out with the rule and scheme', async (t) => {
    const ferry = await startFerry(t, { tracing: true, traceFlushIntervalMs: 20 });
    const stream = uniqueId('traced');
    const out = rule(ferry, { type: 'outbound', topics: ['traced/#'], target: `${redis.url}/0?stream=${stream}` });
    await ferry.ruleRuntime.engine.apply(out);
    const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
    const subId = uniqueId('tsub');
    const sub = await connect(t, url, { clientId: subId });
    await sub.client.subscribeAsync('traced/#', { qos: 1 });
    const devId = uniqueId('tdev');
    const device = await connect(t, url, { clientId: devId });
    for (let i = 0; i < 3; i++) await device.client.publishAsync('traced/t', `v${i}`, { qos: 1 });
    const all = await waitFor(async () => {
      const got = (await client.xrange(stream, '-', '+')) as Entry[];
      return got.length >= 3 ? got : null;
    });
    await sub.waitFor(3);
    const msgIds = all.map((e) => streamFields(e)['msgId']!);
    assert.equal(new Set(msgIds).size, 3);
    const info = `Push To Rule Target (rule ${out.id}, redis)`;
    for (const msgId of msgIds) {
      const seen = await waitFor(async () => {
        const h = await hops(ferry, msgId);
        return h.some((r) => r[0] === 'rule_out') ? h : null;
      });
      assert.deepEqual(seen[0], ['pub_mqtt', devId, 'Pub From Mqtt Client']);
      assert.deepEqual(
        seen.slice(1).sort((a, b) => a[0]!.localeCompare(b[0]!)),
        [['rule_out', '', info], ['sub', subId, 'Push To Mqtt Client']],
      );
    }
    const record = (await ferry.traces.queryMessageSubscribe({ ...range(ferry), msgId: msgIds[0]! })).MessageTraceLists.find((r) => r.Action === 'rule_out')!;
    assert.equal(record.ActionCode, 'mqtt.trace.action.msg.rule.out');
    assert.equal(record.MsgId, msgIds[0]);
  });

  it('rules traces - a target that stays down: rule_retry, then rule_dead when the attempts are used up', async (t) => {
    const ferry = await startFerry(t, { tracing: true, traceFlushIntervalMs: 20 });
    const port = await freePort(); // nothing listens here
    const dead = rule(ferry, { type: 'outbound', topics: ['down/#'], target: `redis://127.0.0.1:${port}/0?stream=x`, maxAttempts: 2 });
    await ferry.ruleRuntime.engine.apply(dead);
    const devId = uniqueId('ddev');
    const device = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { clientId: devId });
    await device.client.publishAsync('down/x', 'lost?', { qos: 1 });
    await waitFor(async () => ((await ferry.ruleRuntime.engine.stats(dead.id))!.deadLettered === 1 ? true : null), { timeoutMs: 30_000 });
    const [letter] = (await ferry.ruleRuntime.engine.deadLetters(dead.id, { limit: 10 })).items;
    const msgId = (letter!.item as { message: { msgId: string } }).message.msgId;
    assert.deepEqual(await hops(ferry, msgId), [
      ['pub_mqtt', devId, 'Pub From Mqtt Client'],
      ['rule_retry', '', `Rule Target Failed, Retrying (rule ${dead.id}, redis)`],
      ['rule_dead', '', `Dead-Lettered By Rule (rule ${dead.id}, redis)`],
    ]);
  });

  it('rules traces - an outbox item from before a restart gets its rule_out under the MsgId it was published with', async (t) => {
    const dataDir = tempDir(t, 'ferry-rule-trace-');
    const config = { dataDir, tracing: true, traceFlushIntervalMs: 20 };
    const first = await startFerry(t, config);
    const down = `redis://127.0.0.1:${await freePort()}/0?stream=x`; // the target is down in the first run
    const stream = uniqueId('later');
    const spec = rule(first, { type: 'outbound', topics: ['later/#'], target: down });
    await first.ruleRuntime.engine.apply(spec);
    const devId = uniqueId('ldev');
    const device = await connect(t, `mqtt://127.0.0.1:${first.ports.mqtt}`, { clientId: devId });
    await device.client.publishAsync('later/x', 'kept', { qos: 1 });
    const published = await waitFor(async () => {
      await first.traces.flush();
      const page = await first.traces.queryMessageOfClient({ ...range(first), clientId: devId });
      return page.MessageOfClientList.length > 0 ? page.MessageOfClientList : null;
    });
    const msgId = published[0]!.MsgId;
    device.client.end(true);
    await first.stop();

    // Second run, same data: the rule's outbox is there; the target is up now.
    const second = await startFerry(t, config);
    await second.ruleRuntime.engine.apply({ ...spec, target: `${redis.url}/0?stream=${stream}` });
    const [entry] = await waitFor(async () => {
      const got = (await client.xrange(stream, '-', '+')) as Entry[];
      return got.length >= 1 ? got : null;
    });
    assert.equal(streamFields(entry!)['msgId'], msgId);
    const seen = await waitFor(async () => {
      const h = await hops(second, msgId);
      return h.some((r) => r[0] === 'rule_out') ? h : null;
    });
    assert.deepEqual(seen[0], ['pub_mqtt', devId, 'Pub From Mqtt Client'], 'the first run\'s record, same MsgId');
    assert.deepEqual(seen[seen.length - 1], ['rule_out', '', `Push To Rule Target (rule ${spec.id}, redis)`]);
    for (const r of seen.slice(1, -1)) assert.equal(r[0], 'rule_retry', 'failed tries of the first run');
  });

  it('rules traces - inbound: a backend message published into MQTT is pub_mq of its new MsgId', async (t) => {
    const ferry = await startFerry(t, { tracing: true, traceFlushIntervalMs: 20 });
    const stream = uniqueId('incmds');
    await client.xgroup('CREATE', stream, 'ferry', '$', 'MKSTREAM');
    await ferry.ruleRuntime.engine.apply(rule(ferry, { type: 'inbound', source: `${redis.url}/0?stream=${stream}&group=ferry`, parentTopic: 'incmd' }));
    const subId = uniqueId('insub');
    const sub = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { clientId: subId });
    await sub.client.subscribeAsync('incmd/#', { qos: 1 });
    await client.xadd(stream, '*', 'mqttSecondTopic', '/dev1/light', 'qoslevel', '1', 'payload', 'on');
    await sub.waitFor(1);
    const received = await waitFor(async () => {
      await ferry.traces.flush();
      const page = await ferry.traces.queryMessageOfClient({ ...range(ferry), clientId: subId });
      return page.MessageOfClientList.length > 0 ? page.MessageOfClientList : null;
    });
    assert.equal(received[0]!.Action, 'sub');
    assert.deepEqual(await hops(ferry, received[0]!.MsgId), [
      ['pub_mq', '', 'Pub From MQ'],
      ['sub', subId, 'Push To Mqtt Client'],
    ]);
  });
});
