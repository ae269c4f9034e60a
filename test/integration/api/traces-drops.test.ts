/**
 * Issue 10 item 6: a dropped offline message is counted, traced and visible per client. A live
 * Ferry (SQLite store, tracing on), mqtt.js clients, an offline persistent session queued beyond
 * a cap; then QueryMqttTraceMessageOfClient (pop-core) and the REST trace and client routes show
 * each drop with its MsgId and cause, and the per-client count matches.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningFerry } from '../../../src/internal.js';
import { startFerry } from '../../helpers/index.js';
import { waitFor } from '../../helpers/wait.js';
import { connect, uniqueId } from '../mqtt/clients.js';
import { call, popClient } from './pop-client.js';
import { rest } from './rest-client.js';

const KEY = { id: 'FERRYDROPTRACE01', secret: 'drop-trace-secret-0123456789' };
const I = 'mqtt-default';

type Rec = Record<string, unknown>;

async function start(t: TestContext, broker: Record<string, number>): Promise<{ ferry: RunningFerry; url: string; endpoint: string }> {
  const ferry = await startFerry(
    t,
    { tracing: true, traceFlushIntervalMs: 20, broker, bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret },
    { announce: null },
  );
  return { ferry, url: `mqtt://127.0.0.1:${ferry.ports.mqtt}`, endpoint: `http://127.0.0.1:${ferry.ports.http}` };
}

/** A persistent session subscribed to `filter`, then offline. */
async function offline(t: TestContext, url: string, clientId: string, filter: string): Promise<void> {
  const sub = await connect(t, url, { clientId, clean: false });
  await sub.client.subscribeAsync(filter, { qos: 1 });
  await sub.client.endAsync();
}

/** The MsgIds of a publisher's pub_mqtt records, in publish order. */
async function publishedIds(ferry: RunningFerry, clientId: string, count: number): Promise<string[]> {
  return waitFor(async () => {
    await ferry.traces.flush();
    const page = await ferry.traces.queryMessageOfClient({ instanceId: I, clientId, beginTime: Date.now() - 60_000, endTime: Date.now() + 1000, pageSize: 100 });
    const ids = page.MessageOfClientList.filter((r) => r.Action === 'pub_mqtt').map((r) => r.MsgId);
    return ids.length >= count ? ids : null;
  });
}

async function clientDetail(endpoint: string, clientId: string): Promise<Rec> {
  const answer = await rest(endpoint, KEY, 'GET', `/instances/${I}/clients/${encodeURIComponent(clientId)}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

test('traces - a message dropped over the per-session cap is a drop_offline event of its MsgId and client; the count matches', async (t) => {
  const { ferry, url, endpoint } = await start(t, { maxQueuedMessages: 3 });
  const rpc = popClient(endpoint, KEY);
  const begin = Date.now() - 1000;
  const target = uniqueId('capped');
  await offline(t, url, target, 'drops/#');
  const pubId = uniqueId('droppub');
  const pub = await connect(t, url, { clientId: pubId });
  for (let i = 0; i < 5; i++) await pub.client.publishAsync('drops/x', `m${i}`, { qos: 1 });
  const ids = await publishedIds(ferry, pubId, 5);

  // The per-client count (REST client detail; `ferry client get` prints the same object).
  const detail = await waitFor(async () => {
    const d = await clientDetail(endpoint, target);
    return d['droppedMessages'] === 2 ? d : null;
  });
  assert.equal(detail['connected'], false);

  // QueryMqttTraceMessageOfClient of the offline client: the two oldest, with their cause.
  await ferry.traces.flush();
  const answer = await call(rpc, 'QueryMqttTraceMessageOfClient', {
    MqttRegionId: 'local', InstanceId: I, ClientId: target, BeginTime: begin, EndTime: Date.now() + 1000, CurrentPage: 1, PageSize: 20,
  });
  const list = answer['MessageOfClientList'] as Rec[];
  const drops = list.filter((r) => r['Action'] === 'drop_offline');
  assert.equal(drops.length, detail['droppedMessages'], 'one trace event per counted drop');
  assert.deepEqual(
    drops.map((r) => [r['MsgId'], r['ClientId'], r['ActionCode'], r['ActionInfo']]),
    ids.slice(0, 2).map((id) => [id, target, 'mqtt.trace.action.msg.drop.offline', 'Offline Msg Dropped: session queue full']),
  );

  // By MsgId (REST): the dropped message came in from the publisher and was dropped for the target.
  const byId = await rest(endpoint, KEY, 'GET', `/instances/${I}/traces/messages/${ids[0]}?beginTime=${begin}&endTime=${Date.now() + 1000}`);
  assert.equal(byId.status, 200, JSON.stringify(byId.body));
  const published = byId.body['published'] as Rec[];
  const deliveries = (byId.body['deliveries'] as { items: Rec[] }).items;
  assert.deepEqual(published.map((r) => [r['Action'], r['ClientId']]), [['pub_mqtt', pubId]]);
  assert.deepEqual(deliveries.map((r) => [r['Action'], r['ClientId']]), [['drop_offline', target]]);

  // The kept three arrive, and are pushed as offline messages of the same MsgIds.
  const back = await connect(t, url, { clientId: target, clean: false });
  const got = await back.waitFor(3);
  assert.deepEqual(got.map((r) => r.payload), ['m2', 'm3', 'm4']);
  await sleep(50);
  await ferry.traces.flush();
  const after = await ferry.traces.queryMessageOfClient({ instanceId: I, clientId: target, beginTime: begin, endTime: Date.now() + 1000, pageSize: 100 });
  assert.deepEqual(
    after.MessageOfClientList.map((r) => [r.Action, r.MsgId]),
    [...ids.slice(0, 2).map((id) => ['drop_offline', id]), ...ids.slice(2).map((id) => ['push_offline', id])],
  );
});

test('traces - the instance cap drops the oldest queued message of any session: traced for the client it was queued for', async (t) => {
  const { ferry, url, endpoint } = await start(t, { maxQueuedPerInstance: 4 });
  const first = uniqueId('first');
  const second = uniqueId('second');
  await offline(t, url, first, 'inst/a');
  await offline(t, url, second, 'inst/b');
  const pubId = uniqueId('instpub');
  const pub = await connect(t, url, { clientId: pubId });
  for (let i = 0; i < 3; i++) await pub.client.publishAsync('inst/a', `a${i}`, { qos: 1 });
  for (let i = 0; i < 3; i++) await pub.client.publishAsync('inst/b', `b${i}`, { qos: 1 });
  const ids = await publishedIds(ferry, pubId, 6);
  await waitFor(async () => ((await clientDetail(endpoint, first))['droppedMessages'] === 2 ? true : null));
  assert.equal((await clientDetail(endpoint, second))['droppedMessages'], 0);
  await ferry.traces.flush();
  const page = await rest(endpoint, KEY, 'GET', `/instances/${I}/traces/clients/${encodeURIComponent(first)}/messages?beginTime=${Date.now() - 60_000}&endTime=${Date.now() + 1000}`);
  assert.equal(page.status, 200, JSON.stringify(page.body));
  const items = page.body['items'] as Rec[];
  assert.deepEqual(
    items.map((r) => [r['Action'], r['MsgId'], r['ActionInfo']]),
    ids.slice(0, 2).map((id) => ['drop_offline', id, 'Offline Msg Dropped: instance queue full']),
  );
  const none = await ferry.traces.queryMessageOfClient({ instanceId: I, clientId: second, beginTime: Date.now() - 60_000, endTime: Date.now() + 1000 });
  assert.equal(none.Total, 0);
});

test('traces - a queued message whose expiry passed is purged as a drop_offline (expired) of its MsgId, counted per client', async (t) => {
  const { ferry, url, endpoint } = await start(t, {});
  const target = uniqueId('expiring');
  await offline(t, url, target, 'expiry/#');
  const pubId = uniqueId('exppub');
  const pub = await connect(t, url, { clientId: pubId, protocolVersion: 5 });
  await pub.client.publishAsync('expiry/x', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
  await pub.client.publishAsync('expiry/x', 'long', { qos: 1 });
  const ids = await publishedIds(ferry, pubId, 2);
  await sleep(1100);
  // The broker's housekeeping step (run on a timer in production): expired entries go.
  const result = await ferry.broker.persistence!.store.purgeExpired(Date.now(), 1000);
  assert.equal(result.expiredMessages, 1);
  await ferry.broker.persistence!.store.commit();
  await waitFor(async () => ((await clientDetail(endpoint, target))['droppedMessages'] === 1 ? true : null));
  assert.equal(ferry.broker.counters.droppedExpired, 1, 'counted once broker-wide');
  await ferry.traces.flush();
  const page = await ferry.traces.queryMessageOfClient({ instanceId: I, clientId: target, beginTime: Date.now() - 60_000, endTime: Date.now() + 1000 });
  assert.deepEqual(
    page.MessageOfClientList.map((r) => [r.Action, r.MsgId, r.ActionInfo]),
    [['drop_offline', ids[0], 'Offline Msg Dropped: expired']],
  );
});

test('traces - the per-session byte cap drops the oldest: drop_offline names the byte cap', async (t) => {
  // Each entry is 'bytes/x' (7) + 100 bytes of payload: three fit in 350 bytes, four do not.
  const { ferry, url, endpoint } = await start(t, { maxQueuedBytes: 350 });
  const target = uniqueId('bytes');
  await offline(t, url, target, 'bytes/#');
  const pubId = uniqueId('bytespub');
  const pub = await connect(t, url, { clientId: pubId });
  for (let i = 0; i < 4; i++) await pub.client.publishAsync('bytes/x', Buffer.alloc(100, i), { qos: 1 });
  const ids = await publishedIds(ferry, pubId, 4);
  await waitFor(async () => ((await clientDetail(endpoint, target))['droppedMessages'] === 1 ? true : null));
  await ferry.traces.flush();
  const page = await ferry.traces.queryMessageOfClient({ instanceId: I, clientId: target, beginTime: Date.now() - 60_000, endTime: Date.now() + 1000 });
  assert.deepEqual(
    page.MessageOfClientList.map((r) => [r.Action, r.MsgId, r.ActionInfo]),
    [['drop_offline', ids[0], 'Offline Msg Dropped: session queue bytes full']],
  );
});
