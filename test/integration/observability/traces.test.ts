/**
 * Message and device traces over real sockets: mqtt.js clients against Ferry, then the query API
 * the QueryMqttTrace* actions use.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startFerry } from '../../helpers/index.js';
import { connect, connectRefused, uniqueId } from '../mqtt/clients.js';
import type { RunningFerry } from '../../../src/internal.js';
import { parseTraceTime } from '../../../src/observability/traces/index.js';

const INSTANCE = 'mqtt-default';

function range(): { instanceId: string; beginTime: number; endTime: number } {
  return { instanceId: INSTANCE, beginTime: Date.now() - 60_000, endTime: Date.now() + 60_000 };
}

async function devices(ferry: RunningFerry, clientId: string): Promise<Array<[string, string]>> {
  await ferry.traces.flush();
  const page = await ferry.traces.queryDeviceTrace({ ...range(), clientId, pageSize: 100 });
  return page.DeviceInfoList.map((r) => [r.Action, r.ActionInfo]);
}

async function start(t: TestContext, config: Parameters<typeof startFerry>[1] = {}): Promise<{ ferry: RunningFerry; url: string }> {
  const ferry = await startFerry(t, { tracing: true, traceFlushIntervalMs: 20, ...config });
  return { ferry, url: `mqtt://127.0.0.1:${ferry.ports.mqtt}` };
}

test('traces - connect, subscribe, publish and close are recorded with the managed service codes', async (t) => {
  const { ferry, url } = await start(t);
  const subId = uniqueId('tsub');
  const pubId = uniqueId('tpub');
  const sub = await connect(t, url, { clientId: subId });
  await sub.client.subscribeAsync('trace/#', { qos: 1 });
  const pub = await connect(t, url, { clientId: pubId });
  await pub.client.publishAsync('trace/a', 'hello', { qos: 1 });
  await sub.waitFor(1);
  await pub.client.endAsync(); // DISCONNECT
  sub.client.stream.destroy(); // socket closed without DISCONNECT
  await sleep(100);

  assert.deepEqual(await devices(ferry, pubId), [
    ['connect', 'accepted'],
    ['disconnect', 'disconnected by client'],
  ]);
  assert.deepEqual(await devices(ferry, subId), [
    ['connect', 'accepted'],
    ['close', 'closed by client'],
  ]);
  const device = (await ferry.traces.queryDeviceTrace({ ...range(), clientId: pubId })).DeviceInfoList[0]!;
  assert.equal(device.ActionCode, 'mqtt.trace.action.connect');
  assert.match(device.ChannelId, /^[0-9a-f]{32}$/);
  assert.match(device.Time, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
  assert.ok(Math.abs(parseTraceTime(device.Time) - Date.now()) < 10_000);

  // The publisher's message: pub_mqtt on its side, sub on the subscriber's, one MsgId.
  const published = await ferry.traces.queryMessageOfClient({ ...range(), clientId: pubId });
  assert.equal(published.Total, 1);
  const pubRecord = published.MessageOfClientList[0]!;
  assert.equal(pubRecord.Action, 'pub_mqtt');
  assert.equal(pubRecord.ActionCode, 'mqtt.trace.action.msg.pub.mqtt');
  assert.equal(pubRecord.ActionInfo, 'Pub From Mqtt Client');
  assert.equal(pubRecord.ClientId, pubId);
  assert.match(pubRecord.MsgId, /^[0-9a-f]{32}$/);

  const received = await ferry.traces.queryMessageOfClient({ ...range(), clientId: subId });
  assert.deepEqual(
    received.MessageOfClientList.map((r) => [r.Action, r.ActionInfo, r.MsgId]),
    [['sub', 'Push To Mqtt Client', pubRecord.MsgId]],
  );

  const inbound = await ferry.traces.queryMessagePublish({ ...range(), msgId: pubRecord.MsgId });
  assert.deepEqual(inbound.MessageTraceLists.map((r) => [r.Action, r.ClientId]), [['pub_mqtt', pubId]]);
  const outbound = await ferry.traces.queryMessageSubscribe({ ...range(), msgId: pubRecord.MsgId });
  assert.equal(outbound.Total, 1);
  assert.deepEqual(outbound.MessageTraceLists.map((r) => [r.Action, r.ClientId]), [['sub', subId]]);
  const filtered = await ferry.traces.queryMessageSubscribe({ ...range(), msgId: pubRecord.MsgId, clientId: 'nobody' });
  assert.equal(filtered.Total, 0);
  // The RPC facade's shape (src/management/traces.ts).
  assert.deepEqual((await ferry.traces.messagePublish({ ...range(), msgId: pubRecord.MsgId })).length, 1);
});

test('traces - offline delivery is push_offline and a takeover closes the old connection with clientId conflict', async (t) => {
  const { ferry, url } = await start(t, { broker: { allowAnonymous: true } });
  const subId = uniqueId('toff');
  const sub = await connect(t, url, { clientId: subId, clean: false });
  await sub.client.subscribeAsync('off/#', { qos: 1 });
  await sub.client.endAsync();
  const pub = await connect(t, url, { clientId: uniqueId('tpub') });
  await pub.client.publishAsync('off/x', 'while away', { qos: 1 });

  const back = await connect(t, url, { clientId: subId, clean: false });
  await back.waitFor(1);
  const again = await connect(t, url, { clientId: subId, clean: false }); // takes over `back`
  await sleep(100);
  await ferry.traces.flush();
  const messages = await ferry.traces.queryMessageOfClient({ ...range(), clientId: subId });
  assert.deepEqual(messages.MessageOfClientList.map((r) => r.Action), ['push_offline']);
  assert.equal(messages.MessageOfClientList[0]!.ActionInfo, 'Push Offline Msg To Mqtt Client');
  assert.deepEqual(await devices(ferry, subId), [
    ['connect', 'accepted'],
    ['disconnect', 'disconnected by client'],
    ['connect', 'accepted'],
    ['close', 'clientId conflict'],
    ['connect', 'accepted'],
  ]);
  await again.client.endAsync();
});

test('traces - not authorized CONNECT and a PUBLISH outside the ACL that disconnects', async (t) => {
  const { ferry, url } = await start(t);
  ferry.broker.hooks.authenticator = {
    authenticate: (connect) =>
      connect.username === 'bad' ? { ok: false, reasonCode: 0x87, instanceId: INSTANCE } : { ok: true, instanceId: INSTANCE },
  };
  ferry.broker.hooks.authorizer = {
    authorizePublish: (_c, topic) => (topic.startsWith('forbidden') ? 'deny-disconnect' : 'allow'),
    authorizeSubscribe: () => 'allow',
    authorizeWill: () => true,
  };
  const refusedId = uniqueId('trefused');
  await connectRefused(t, url, { clientId: refusedId, username: 'bad', password: 'x', protocolVersion: 4 });
  const rogueId = uniqueId('trogue');
  const rogue = await connect(t, url, { clientId: rogueId });
  rogue.client.publish('forbidden/x', 'no', { qos: 1 });
  await new Promise<void>((resolve) => rogue.client.once('close', () => resolve()));
  await sleep(50);
  assert.deepEqual(await devices(ferry, refusedId), [['connect', 'not authorized']]);
  assert.deepEqual(await devices(ferry, rogueId), [
    ['connect', 'accepted'],
    ['close', 'resource auth failed'],
  ]);
});

test('traces - paging by page number and cursor, reverse order and time range', async (t) => {
  const { ferry, url } = await start(t);
  const clientId = uniqueId('tpage');
  const before = Date.now() - 1;
  const pub = await connect(t, url, { clientId });
  for (let i = 0; i < 25; i++) await pub.client.publishAsync('page/x', String(i), { qos: 1 });
  await ferry.traces.flush();
  const q = { instanceId: INSTANCE, clientId, beginTime: before, endTime: Date.now() + 1000 };
  const first = await ferry.traces.queryMessageOfClient({ ...q, pageSize: 10 });
  assert.equal(first.Total, 25);
  assert.equal(first.MessageOfClientList.length, 10);
  const third = await ferry.traces.queryMessageOfClient({ ...q, pageSize: 10, currentPage: 3 });
  assert.equal(third.MessageOfClientList.length, 5);
  assert.equal(third.NextCursor, undefined);

  const all: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await ferry.traces.queryMessageOfClient({ ...q, pageSize: 7, cursor });
    all.push(...page.MessageOfClientList.map((r) => r.MsgId));
    cursor = page.NextCursor;
  } while (cursor !== undefined);
  assert.equal(all.length, 25);
  assert.equal(new Set(all).size, 25, 'one MsgId per message');
  const reversed = await ferry.traces.queryMessageOfClient({ ...q, pageSize: 100, reverse: true });
  assert.deepEqual(reversed.MessageOfClientList.map((r) => r.MsgId), [...all].reverse());

  const future = await ferry.traces.queryMessageOfClient({ ...q, beginTime: Date.now() + 500_000, endTime: Date.now() + 600_000 });
  assert.equal(future.Total, 0);
  await assert.rejects(ferry.traces.queryMessageOfClient({ ...q, pageSize: 101 }), /PageSize/);
  await assert.rejects(ferry.traces.queryMessagePublish({ ...q, msgId: 'zz' }), /MsgId/);
  await assert.rejects(ferry.traces.queryDeviceTrace({ ...q, endTime: q.beginTime - 1 }), /EndTime/);
});

test('traces - retention and the row cap purge the oldest records', async (t) => {
  // The writer may use a whole core here: on a busy machine its default share (25 %) drops
  // message events (by design, counted), and this test counts rows, not the CPU budget.
  const { ferry, url } = await start(t, { traceRetention: 3600, traceMaxRows: 1000, traceWriterCpuPercent: 100 });
  const clientId = uniqueId('tpurge');
  const pub = await connect(t, url, { clientId });
  for (let i = 0; i < 30; i += 10) {
    await Promise.all(Array.from({ length: 10 }, () => pub.client.publishAsync('purge/x', 'p', { qos: 1 })));
  }
  await ferry.traces.flush();
  const q = { ...range(), clientId };
  assert.equal((await ferry.traces.queryMessageOfClient(q)).Total, 30);

  assert.deepEqual(await ferry.traces.purge(Date.now()), { expired: 0, overCap: 0 }, 'nothing is older than an hour');
  const later = await ferry.traces.purge(Date.now() + 3600_000 + 60_000);
  assert.ok(later.expired >= 31, `expired ${later.expired}`);
  assert.equal((await ferry.traces.queryMessageOfClient(q)).Total, 0);
  assert.equal((await ferry.traces.queryDeviceTrace(q)).Total, 0);

  for (let i = 0; i < 1100; i += 100) {
    await Promise.all(Array.from({ length: 100 }, () => pub.client.publishAsync('purge/y', 'p', { qos: 1 })));
  }
  await ferry.traces.flush();
  const capped = await ferry.traces.purge();
  assert.equal(capped.overCap, 100);
  assert.equal((await ferry.traces.queryMessageOfClient(q)).Total, 1000);
});

test('traces - tracing off records nothing and costs no trace file', async (t) => {
  const { ferry, url } = await start(t, { tracing: false });
  assert.equal(ferry.broker.tracer, null);
  const clientId = uniqueId('tnone');
  const pub = await connect(t, url, { clientId });
  await pub.client.subscribeAsync('none/#', { qos: 1 });
  await pub.client.publishAsync('none/x', 'x', { qos: 1 });
  await pub.waitFor(1);
  await pub.client.endAsync();
  await ferry.traces.flush();
  assert.equal(existsSync(join(ferry.config.dataDir, 'traces.db')), false);
  assert.equal((await ferry.traces.queryDeviceTrace({ ...range(), clientId })).Total, 0);
  assert.equal((await ferry.traces.queryMessageOfClient({ ...range(), clientId })).Total, 0);
});
