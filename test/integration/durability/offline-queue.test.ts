/**
 * Offline queues of persistent sessions live in the store; the oldest part of one also in memory
 * while its window (OfflineWindow: bytes per session and overall) allows, the rest streams back
 * in order from the store when the client returns. By default only the instance cap (1,000,000)
 * bounds a session, as in the managed service; a per-session cap, when set, drops the oldest
 * (counted, logged, visible per client).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { captureLogger, startFerry } from '../../helpers/index.js';
import { rest } from '../api/rest-client.js';
import { connect, uniqueId, type TestClient } from '../mqtt/clients.js';
import { OfflineWindow } from '../../../src/session/offline-window.js';
import type { Delivery } from '../../../src/session/session.js';

/** A persistent session of `clientId` subscribed to `filter` at QoS 1, then left offline. */
async function subscribedOffline(t: TestContext, url: string, clientId: string, filter: string): Promise<void> {
  const sub = await connect(t, url, { clientId, clean: false });
  await sub.client.subscribeAsync(filter, { qos: 1 });
  await sub.client.endAsync();
}

/** Publishes `m<from>` … `m<to - 1>` on `topic` at QoS 1, `batch` at a time, one batch after the other (so in order). */
async function publishNumbered(pub: TestClient, topic: string, from: number, to: number, batch = 100): Promise<void> {
  for (let i = from; i < to; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, to - i) }, (_, k) => pub.client.publishAsync(topic, `m${i + k}`, { qos: 1 })));
  }
}

test('offline queue - without an offline window a backlog streams back in order from the store, never held in memory', async (t) => {
  const ferry = await startFerry(t, { broker: { maxQueuedMessages: 20_000, offlineWindowBytes: 0 } });
  assert.equal(ferry.broker.counters.offlineWindow, null, 'broker.offlineWindowBytes 0 turns the window off');
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const clientId = uniqueId('backlog');
  await subscribedOffline(t, url, clientId, 'backlog/#');

  const pub = await connect(t, url, { clientId: uniqueId() });
  const total = 5000;
  await publishNumbered(pub, 'backlog/x', 0, total);
  const session = ferry.broker.session(clientId);
  assert.equal(session?.online, false);
  assert.equal(session?.queued, 0, 'an offline session keeps its queue in the store only');

  // While it drains, only the pages read ahead are in memory (at most 1,024 + a page of 512).
  let most = 0;
  const sample = setInterval(() => (most = Math.max(most, ferry.broker.session(clientId)?.queued ?? 0)), 1);
  t.after(() => clearInterval(sample));
  const back = await connect(t, url, { clientId, clean: false });
  const got = await back.waitFor(total, 20_000);
  clearInterval(sample);
  // One publishing connection sends in order, so the backlog must come back in that order.
  assert.deepEqual(
    got.map((r) => r.payload),
    Array.from({ length: total }, (_, i) => `m${i}`),
  );
  assert.ok(most > 0 && most <= 1536, `at most 1,536 queued in memory while draining, saw ${most}`);
});

test('offline queue - messages published while a backlog is paged in come after it, in order (pages read ahead are taken first)', async (t) => {
  const ferry = await startFerry(t, { broker: { maxQueuedMessages: 20_000, offlineWindowBytes: 0 } });
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const clientId = uniqueId('live');
  await subscribedOffline(t, url, clientId, 'live/#');
  const pub = await connect(t, url, { clientId: uniqueId() });
  const stored = 4000;
  const live = 1500;
  await publishNumbered(pub, 'live/x', 0, stored);
  const back = await connect(t, url, { clientId, clean: false });
  // Publish the rest as soon as the first messages are back: pages are then held (read ahead)
  // and new deliveries must wait behind them, whether they reach the session before or after
  // its last page arrives.
  await back.waitFor(1, 20_000);
  await publishNumbered(pub, 'live/x', stored, stored + live, 50);
  const got = await back.waitFor(stored + live, 20_000);
  assert.deepEqual(
    got.map((r) => r.payload),
    Array.from({ length: stored + live }, (_, i) => `m${i}`),
  );
  assert.equal(ferry.broker.session(clientId)?.queued, 0, 'nothing left in memory once drained');
});

/** What an entry of `payload` on `topic` counts in an OfflineWindow. */
const cost = (topic: string, payload: string): number => OfflineWindow.cost({ message: { topic, payload: Buffer.from(payload) } } as unknown as Delivery);

test('offline queue - offline sessions keep their oldest entries in memory up to the window (per session, overall), the rest in the store; all come back in order and the window is given back', async (t) => {
  const ferry = await startFerry(t, { broker: { maxQueuedMessages: 20_000 } });
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  // About 1,000 entries per session, 1,500 overall.
  const window = new OfflineWindow(cost('wa/x', 'm0000') * 1500, cost('wa/x', 'm0000') * 1000);
  ferry.broker.counters.offlineWindow = window;
  const ids = { a: uniqueId('wa'), b: uniqueId('wb'), c: uniqueId('wc') };
  for (const [name, clientId] of Object.entries(ids)) {
    await subscribedOffline(t, url, clientId, `w${name}/#`);
  }
  const pub = await connect(t, url, { clientId: uniqueId() });
  const total = 2000;
  const publish = (topic: string): Promise<void> => publishNumbered(pub, topic, 0, total);
  // What fits: entries in order while the session's and the overall bytes allow.
  const fitting = (topic: string, room: number): { n: number; bytes: number } => {
    let bytes = 0;
    let n = 0;
    while (n < total && bytes + cost(topic, `m${n}`) <= room) bytes += cost(topic, `m${n++}`);
    return { n, bytes };
  };
  await publish('wa/x');
  const a = fitting('wa/x', window.perSession);
  assert.equal(ferry.broker.session(ids.a)?.queued, a.n, 'a: as many as its own window holds');
  await publish('wb/x');
  const b = fitting('wb/x', window.total - a.bytes);
  assert.ok(b.n > 0 && b.n < a.n, `b: what is left of the overall window (${b.n})`);
  assert.equal(ferry.broker.session(ids.b)?.queued, b.n);
  await publish('wc/x');
  assert.equal(ferry.broker.session(ids.c)?.queued, 0, 'c: the window is full, its queue is in the store only');
  assert.equal(window.used, a.bytes + b.bytes);

  // b ends its session (clean start): what it held is given back.
  const bClean = await connect(t, url, { clientId: ids.b, clean: true });
  assert.equal(window.used, a.bytes);
  await bClean.client.endAsync();
  // a and c drain everything in order: a from memory, then pages; c from pages only.
  for (const clientId of [ids.a, ids.c]) {
    const back = await connect(t, url, { clientId, clean: false });
    const got = await back.waitFor(total, 20_000);
    assert.deepEqual(
      got.map((r) => r.payload),
      Array.from({ length: total }, (_, i) => `m${i}`),
    );
    await back.client.endAsync();
  }
  assert.equal(window.used, 0, 'nothing stays counted once the queues are drained');
});

test('offline queue - messages that expire while an offline session holds them in memory are purged from the store, skipped and counted once', async (t) => {
  const ferry = await startFerry(t, { broker: { maxQueuedMessages: 20_000, offlineWindowBytes: 32 * 1024 * 1024 } });
  assert.equal(ferry.broker.counters.offlineWindow?.total, 32 * 1024 * 1024, 'broker.offlineWindowBytes 32 MiB');
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const clientId = uniqueId('expiring');
  const v5 = { protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 600 } };
  const sub = await connect(t, url, v5);
  await sub.client.subscribeAsync('expiring/#', { qos: 1 });
  await sub.client.endAsync();
  const pub = await connect(t, url, { protocolVersion: 5, clientId: uniqueId() });
  // Every third message expires after 1 s, the first one too (the head), the others never.
  for (let i = 0; i < 30; i++) {
    await pub.client.publishAsync('expiring/x', `m${i}`, { qos: 1, ...(i % 3 === 0 ? { properties: { messageExpiryInterval: 1 } } : {}) });
  }
  assert.equal(ferry.broker.session(clientId)?.queued, 30, 'held in memory while offline');
  await new Promise((resolve) => setTimeout(resolve, 1200));
  await ferry.broker.housekeeping(); // the store purges the 10 expired entries and reports them
  const back = await connect(t, url, v5);
  const got = await back.waitFor(20, 5000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(
    got.map((r) => r.payload),
    Array.from({ length: 30 }, (_, i) => `m${i}`).filter((_, i) => i % 3 !== 0),
  );
  assert.equal(ferry.broker.session(clientId)?.droppedMessages, 10, 'each expired message counted once');
  assert.equal(ferry.broker.counters.droppedExpired, 10);
  assert.equal(ferry.broker.counters.offlineWindow?.used, 0);
});

test('offline queue - a client that drops in the middle of a backlog gets the rest when it returns', async (t) => {
  const ferry = await startFerry(t, { broker: { maxQueuedMessages: 20_000 } });
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const clientId = uniqueId('halfway');
  await subscribedOffline(t, url, clientId, 'halfway/#');
  const pub = await connect(t, url, { clientId: uniqueId() });
  const total = 3000;
  await publishNumbered(pub, 'halfway/x', 0, total);
  // Gone after about a third, with pages read, entries in flight and acknowledgements not yet stored.
  const first = await connect(t, url, { clientId, clean: false });
  await first.waitFor(1000, 20_000);
  first.client.end(true);
  const part = (await first.waitFor(0)).map((r) => r.payload);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const back = await connect(t, url, { clientId, clean: false });
  const seen = new Set(part);
  const rest: string[] = [];
  const deadline = Date.now() + 20_000;
  while (seen.size < total && Date.now() < deadline) {
    const got = await back.waitFor(rest.length + 1, 20_000);
    for (const r of got.slice(rest.length)) {
      rest.push(r.payload);
      seen.add(r.payload);
    }
  }
  assert.equal(seen.size, total, 'every message arrives (unacknowledged ones again)');
  // After the return, the rest comes in order (a redelivered in-flight message may come first).
  const firstNew = rest.findIndex((p) => !part.includes(p));
  const fresh = rest.slice(firstNew).filter((p) => !part.includes(p));
  assert.deepEqual(fresh, [...fresh].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))));
  assert.ok(rest.length - fresh.length <= 64, `at most the window (64) comes again, got ${rest.length - fresh.length}`);
});

test('offline queue - per-session cap drops the oldest and counts it', async (t) => {
  const ferry = await startFerry(t, { broker: { maxQueuedMessages: 10 } });
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const clientId = uniqueId('capped');
  await subscribedOffline(t, url, clientId, 'capped/#');
  const events: string[] = [];
  ferry.broker.counters.onQueueDrop((event) => events.push(`${event.clientId}:${event.reason}`));
  const pub = await connect(t, url, { clientId: uniqueId() });
  for (let i = 0; i < 25; i++) await pub.client.publishAsync('capped/x', `m${i}`, { qos: 1 });
  assert.equal(ferry.broker.counters.droppedQueueFull, 15);
  assert.deepEqual(events, Array.from({ length: 15 }, () => `${clientId}:queue-full`));
  const back = await connect(t, url, { clientId, clean: false });
  const got = await back.waitFor(10);
  assert.deepEqual(got.map((r) => r.payload), Array.from({ length: 10 }, (_, i) => `m${i + 15}`));
});

test('offline queue - by default no per-session cap: 1,500 QoS 1 messages for an offline session all arrive', async (t) => {
  const ferry = await startFerry(t);
  assert.equal(ferry.config.broker.maxQueuedMessages, 0);
  assert.equal(ferry.config.broker.maxQueuedPerInstance, 1_000_000);
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const clientId = uniqueId('uncapped');
  await subscribedOffline(t, url, clientId, 'uncapped/#');
  const pub = await connect(t, url, { clientId: uniqueId() });
  const total = 1500;
  await publishNumbered(pub, 'uncapped/x', 0, total);
  assert.equal(ferry.broker.counters.droppedQueueFull, 0);
  const back = await connect(t, url, { clientId, clean: false });
  const got = await back.waitFor(total, 20_000);
  assert.equal(got.length, total);
  assert.equal(ferry.broker.session(clientId)?.droppedMessages, 0);
});

test('offline queue - drops over a configured per-session cap are logged once per interval and visible per client', async (t) => {
  const logs = captureLogger('warn');
  const admin = { id: 'FERRYDROPADMIN01', secret: 'drop-admin-secret-0123456789' };
  const ferry = await startFerry(t, { broker: { maxQueuedMessages: 5 }, bootstrapAccessKeyId: admin.id, bootstrapAccessKeySecret: admin.secret }, { logger: logs.logger, announce: null });
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const clientId = uniqueId('dropped');
  await subscribedOffline(t, url, clientId, 'dropped/#');
  const pub = await connect(t, url, { clientId: uniqueId() });
  for (let i = 0; i < 12; i++) await pub.client.publishAsync('dropped/x', `m${i}`, { qos: 1 });
  const answer = await rest(`http://127.0.0.1:${ferry.ports.http}`, admin, 'GET', `/instances/mqtt-default/clients/${encodeURIComponent(clientId)}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal((answer.body as Record<string, unknown>)['droppedMessages'], 7);
  const lines = logs.lines.filter((l) => String(l['msg']).startsWith('offline message'));
  assert.equal(lines.length, 1, 'the first drop is logged at once, the rest wait for the interval');
  assert.equal(lines[0]!['clientId'], clientId);
});
