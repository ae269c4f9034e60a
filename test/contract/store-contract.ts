/**
 * The Store contract: every implementation (memory, SQLite, later JetStream) must pass this
 * suite unchanged. Run it with runStoreContract() from an implementation's test file.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SESSION_NEVER_EXPIRES,
  type DeliveryInfo,
  type DroppedEntry,
  type LoadedSession,
  type MessageId,
  type NewMessage,
  type QueueLimits,
  type QueuedMessage,
  type SessionRecord,
  type Store,
  type StoreOptions,
  type SubscriptionRecord,
} from '../../src/store/types.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { QueuedRecords } from '../../src/store/queued-records.js';

export interface StoreFixture {
  readonly store: Store;
  /** Closes the store and opens the same storage again; null for a non-durable store. */
  readonly reopen: (() => Promise<Store>) | null;
  readonly dispose: () => Promise<void>;
}

export interface ContractTarget {
  readonly name: string;
  readonly create: (options?: StoreOptions) => Promise<StoreFixture>;
}

const T0 = 1_700_000_000_000;

export function session(clientId: string, extra: Partial<SessionRecord> = {}): SessionRecord {
  return { clientId, instanceId: 'inst-a', protocolVersion: 5, expiryInterval: 3600, disconnectedAt: null, ...extra };
}

export function message(text: string, extra: Partial<NewMessage> = {}): NewMessage {
  return {
    topic: 'a/b',
    payload: Buffer.from(text),
    qos: 1,
    retain: false,
    properties: null,
    expiresAt: 0,
    createdAt: T0,
    ...extra,
  };
}

export function delivery(messageId: MessageId, extra: Partial<DeliveryInfo> = {}): DeliveryInfo {
  return { messageId, qos: 1, retain: false, subscriptionIds: null, shareGroup: null, shareFilter: null, ...extra };
}

function sub(clientId: string, key: string, extra: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return {
    clientId,
    key,
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    subscriptionId: 0,
    shareGroup: null,
    filter: key,
    ...extra,
  };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function loaded(store: Store, clientId: string): Promise<LoadedSession | undefined> {
  for await (const entry of store.loadSessions()) if (entry.session.clientId === clientId) return entry;
  return undefined;
}

/** True once `id` is no longer stored, waiting up to 2 s (deletes a store does later). */
async function gone(store: Store, id: MessageId): Promise<boolean> {
  for (let waited = 0; waited < 2000; waited += 10) {
    if ((await store.getMessage(id)) === undefined) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

/**
 * Up to `limit` queued entries with seq > afterSeq, oldest first, all made from the store's page;
 * each also taken field by field (`take`, what a session does) must give the same record.
 */
export async function readQueue(store: Store, clientId: string, afterSeq: number, limit: number): Promise<QueuedMessage[]> {
  const page = await store.readQueuePage(clientId, afterSeq, limit);
  const entries = Array.from({ length: page.length }, (_, i) => page.entry(i));
  const records = new QueuedRecords(clientId);
  const taken = Array.from({ length: page.length }, (_, i) => page.take(i, records));
  assert.deepEqual(taken, entries, 'take gives the fields entry gives');
  return entries;
}

async function texts(store: Store, clientId: string, limit = 1_000_000): Promise<string[]> {
  return (await readQueue(store, clientId, 0, limit)).map((entry) => entry.message.payload.toString());
}

/** Collects what the store reports through onDrop. */
function dropsOf(store: Store): DroppedEntry[] {
  const drops: DroppedEntry[] = [];
  store.onDrop((dropped) => drops.push(...dropped));
  return drops;
}

/** Fills a session's queue with `n` new messages; returns their ids. */
function fill(store: Store, clientId: string, n: number, prefix = 'm', extra: Partial<NewMessage> = {}): MessageId[] {
  const ids: MessageId[] = [];
  for (let i = 0; i < n; i++) {
    const id = store.addMessage(message(`${prefix}${i}`, extra));
    store.enqueue(clientId, delivery(id));
    ids.push(id);
  }
  return ids;
}

export function runStoreContract(target: ContractTarget): void {
  const withStore = (name: string, body: (fx: StoreFixture) => Promise<void>, options?: StoreOptions): void => {
    test(name, async () => {
      const fx = await target.create(options);
      try {
        await body(fx);
      } finally {
        await fx.dispose();
      }
    });
  };

  describe(`Store contract: ${target.name}`, () => {
    withStore('sessions and subscriptions: put, update, get, load, delete', async ({ store }) => {
      store.putSession(session('c1'));
      store.putSession(session('c2', { protocolVersion: 4, expiryInterval: SESSION_NEVER_EXPIRES }));
      store.putSubscription(sub('c1', 'x/+', { qos: 2, noLocal: true, retainHandling: 2, subscriptionId: 7 }));
      store.putSubscription(
        sub('c1', '$share/g1/y/#', { shareGroup: 'g1', filter: 'y/#', retainAsPublished: true, qos: 0 }),
      );
      store.putSubscription(sub('c1', 'x/+', { qos: 1, noLocal: true, retainHandling: 2, subscriptionId: 8 })); // replaces
      await store.commit();
      assert.equal(store.setDisconnectedAt('c1', T0), true);
      assert.equal(store.setDisconnectedAt('nobody', T0), false);
      assert.deepEqual(store.getSession('c1'), session('c1', { disconnectedAt: T0 }));
      store.putSession(session('c1', { expiryInterval: 60, disconnectedAt: T0 + 1, protocolVersion: 3 }));
      assert.deepEqual(store.getSession('c1'), session('c1', { expiryInterval: 60, disconnectedAt: T0 + 1, protocolVersion: 3 }));
      const all = await collect(store.loadSessions());
      assert.deepEqual(
        all.map((s) => s.session.clientId),
        ['c1', 'c2'],
      );
      const c1 = all[0]!;
      assert.deepEqual(c1.subscriptions, [
        sub('c1', '$share/g1/y/#', { shareGroup: 'g1', filter: 'y/#', retainAsPublished: true, qos: 0 }),
        sub('c1', 'x/+', { qos: 1, noLocal: true, retainHandling: 2, subscriptionId: 8 }),
      ]);
      store.deleteSubscription('c1', 'x/+');
      store.deleteSubscription('c1', 'x/+'); // already gone
      assert.equal((await loaded(store, 'c1'))!.subscriptions.length, 1);
      assert.equal(store.deleteSession('c1'), true);
      assert.equal(store.deleteSession('c1'), false);
      assert.equal(store.getSession('c1'), undefined);
      // A new session under the same client id starts empty.
      store.putSession(session('c1'));
      assert.deepEqual((await loaded(store, 'c1'))!.subscriptions, []);
      await store.commit();
    });

    withStore('unknown sessions and messages are refused', async ({ store }) => {
      const id = store.addMessage(message('x'));
      assert.throws(() => store.enqueue('ghost', delivery(id)));
      store.putSession(session('c1'));
      // An id no message ever had (a caller's bug) is refused at once.
      assert.throws(() => store.enqueue('c1', delivery(999_999)));
      assert.throws(() => store.setRetained('t', 999_999));
      assert.throws(() => store.putSubscription(sub('ghost', 'a')));
      assert.equal(store.queueDepth('c1'), 0);
      await store.commit();
    });

    withStore('messages are stored once and deleted with their last reference', async ({ store }) => {
      store.putSession(session('c1'));
      store.putSession(session('c2'));
      const orphan = store.addMessage(message('never referenced'));
      assert.ok((await store.getMessage(orphan)) !== undefined, 'visible within its batch');
      const shared = store.addMessage(message('shared', { retain: true }));
      const a = store.enqueue('c1', delivery(shared));
      const b = store.enqueue('c2', delivery(shared, { qos: 2 }));
      store.setRetained('a/b', shared);
      await store.commit();
      assert.equal(await store.getMessage(orphan), undefined, 'unreferenced at commit: gone');
      assert.equal((await store.stats()).messages, 1, 'one stored copy for three references');
      const [q1] = await readQueue(store, 'c1', 0, 10);
      const [q2] = await readQueue(store, 'c2', 0, 10);
      assert.equal(q1!.messageId, q2!.messageId);
      assert.equal(q2!.qos, 2);

      store.removeQueued('c1', a);
      store.removeQueued('c1', a); // already gone: nothing happens
      await store.commit();
      assert.deepEqual(await texts(store, 'c1'), []);
      assert.equal(store.queueDepth('c1'), 0);
      assert.ok(await store.getMessage(shared));
      assert.equal(store.moveToInflight('c2', b, 10) > 0, true);
      await store.commit();
      assert.ok(await store.getMessage(shared), 'in-flight holds it');
      assert.equal(store.deleteRetained('a/b'), true);
      assert.equal(store.deleteRetained('a/b'), false, 'already gone');
      await store.commit();
      assert.ok(await store.getMessage(shared), 'still in flight');
      store.releaseInflight('c2', 10); // PUBREC
      await store.commit();
      assert.equal(await store.getMessage(shared), undefined, 'released: the client has it');
      assert.equal((await store.stats()).messages, 0);
      store.removeInflight('c2', 10); // PUBCOMP
      await store.commit();
      assert.deepEqual((await loaded(store, 'c2'))!.inflight, []);
    });

    withStore('a reference dropped and taken again in one batch keeps the message', async ({ store }) => {
      store.putSession(session('c1'));
      const id = store.addMessage(message('x'));
      const seq = store.enqueue('c1', delivery(id));
      await store.commit();
      store.removeQueued('c1', seq);
      // A read in the middle of the batch (a read's answer takes a turn: it is awaited later).
      const during = readQueue(store, 'c1', 0, 10);
      store.enqueue('c1', delivery(id));
      assert.deepEqual(await during, []);
      await store.commit();
      assert.deepEqual(await texts(store, 'c1'), ['x']);
    });

    withStore('queue keeps order and pages by seq', async ({ store }) => {
      store.putSession(session('c1'));
      store.putSession(session('c2'));
      for (let i = 0; i < 25; i++) {
        store.enqueue('c1', delivery(store.addMessage(message(`m${i}`)), { subscriptionIds: [1, i + 2] }));
        if (i % 5 === 0) store.enqueue('c2', delivery(store.addMessage(message(`other${i}`))));
      }
      await store.commit();
      assert.equal(store.queueDepth('c1'), 25);
      const seen: string[] = [];
      let after = 0;
      for (;;) {
        const page = await readQueue(store, 'c1', after, 10);
        if (page.length === 0) break;
        assert.ok(page.length <= 10);
        for (const entry of page) {
          assert.ok(entry.seq > after, 'seq increases');
          assert.equal(entry.clientId, 'c1');
          after = entry.seq;
          seen.push(entry.message.payload.toString());
        }
      }
      assert.deepEqual(
        seen,
        Array.from({ length: 25 }, (_, i) => `m${i}`),
      );
      const page = await readQueue(store, 'c1', 0, 3);
      assert.deepEqual(page[2]!.subscriptionIds, [1, 4]);
      store.removeQueued('c1', page[1]!.seq);
      assert.deepEqual((await texts(store, 'c1')).slice(0, 3), ['m0', 'm2', 'm3']);
      assert.equal(store.queueDepth('c1'), 24);
      assert.deepEqual(await texts(store, 'c2'), ['other0', 'other5', 'other10', 'other15', 'other20']);
      assert.deepEqual(await readQueue(store, 'nobody', 0, 10), []);
      await store.commit();
    });

    withStore('a large queue pages without loading it all', async ({ store }) => {
      store.putSession(session('big'));
      fill(store, 'big', 5000);
      await store.commit();
      let after = 0;
      let count = 0;
      let last = -1;
      for (;;) {
        const page = await readQueue(store, 'big', after, 512);
        if (page.length === 0) break;
        for (const entry of page) {
          const n = Number(entry.message.payload.toString().slice(1));
          assert.equal(n, last + 1);
          last = n;
        }
        count += page.length;
        after = page[page.length - 1]!.seq;
      }
      assert.equal(count, 5000);
    }, { limits: { maxQueuedPerSession: 10_000, maxQueuedPerInstance: 10_000, retentionMs: 1e12 } });

    const capped: QueueLimits = { maxQueuedPerSession: 3, maxQueuedPerInstance: 5, retentionMs: 1e12 };
    withStore('per-session cap drops the oldest and reports it', async ({ store }) => {
      const drops = dropsOf(store);
      store.putSession(session('c1'));
      const ids = fill(store, 'c1', 3);
      store.enqueue('c1', delivery(store.addMessage(message('m3'))));
      await store.commit();
      assert.deepEqual(
        drops.map((d) => [d.clientId, d.messageId, d.reason]),
        [['c1', ids[0], 'session-cap']],
      );
      const two = fill(store, 'c1', 2, 'n');
      assert.equal(two.length, 2);
      assert.deepEqual(await texts(store, 'c1'), ['m3', 'n0', 'n1']);
      await store.commit();
      assert.equal(store.queueDepth('c1'), 3);
      assert.equal(drops.length, 3);
      assert.equal(await store.getMessage(ids[0]!), undefined, 'dropped message freed');
    }, { limits: capped });

    withStore('per-instance cap drops the oldest of the instance, other instances untouched', async ({ store }) => {
      store.putSession(session('a1'));
      store.putSession(session('a2'));
      store.putSession(session('b1', { instanceId: 'inst-b' }));
      fill(store, 'a1', 3, 'a1-');
      fill(store, 'b1', 3, 'b1-');
      fill(store, 'a2', 2, 'a2-');
      await store.commit();
      const drops = dropsOf(store);
      store.enqueue('a2', delivery(store.addMessage(message('a2-2'))));
      await store.commit();
      assert.deepEqual(
        drops.map((d) => [d.clientId, d.reason]),
        [['a1', 'instance-cap']],
      );
      store.enqueue('a1', delivery(store.addMessage(message('a1-3'))));
      await store.commit();
      assert.deepEqual(
        drops.map((d) => [d.clientId, d.reason]),
        [
          ['a1', 'instance-cap'],
          ['a1', 'instance-cap'],
        ],
      );
      assert.deepEqual(await texts(store, 'a1'), ['a1-2', 'a1-3']);
      assert.deepEqual(await texts(store, 'a2'), ['a2-0', 'a2-1', 'a2-2']);
      assert.deepEqual(await texts(store, 'b1'), ['b1-0', 'b1-1', 'b1-2']);
      // A deleted session's entries stop counting against the instance at once.
      store.deleteSession('a2');
      assert.deepEqual(fill(store, 'a1', 1, 'z').length, 1);
      await store.commit();
      assert.equal(store.queueDepth('a1'), 3);
      assert.equal((await store.stats()).queued, 6);
    }, { limits: capped });

    withStore('per-instance limits can differ by instance', async ({ store }) => {
      store.putSession(session('a1'));
      store.putSession(session('b1', { instanceId: 'inst-b' }));
      fill(store, 'a1', 4);
      fill(store, 'b1', 4);
      await store.commit();
      assert.equal(store.queueDepth('a1'), 2);
      assert.equal(store.queueDepth('b1'), 4);
    }, {
      limits: (instanceId) =>
        instanceId === 'inst-a'
          ? { maxQueuedPerSession: 2, maxQueuedPerInstance: 100, retentionMs: 1e12 }
          : { maxQueuedPerSession: 100, maxQueuedPerInstance: 100, retentionMs: 1e12 },
    });

    // Entries of topic 'a/b' (3 bytes) with 7-byte payloads: 10 bytes each against the byte caps.
    const bytesCapped: QueueLimits = {
      maxQueuedPerSession: 1000,
      maxQueuedPerInstance: 1000,
      retentionMs: 1e12,
      maxQueuedBytesPerSession: 35,
      maxQueuedBytesPerInstance: 60,
    };
    withStore('per-session byte cap drops the oldest (payload + topic bytes) and reports it', async ({ store }) => {
      const drops = dropsOf(store);
      store.putSession(session('c1'));
      const ids = fill(store, 'c1', 3, 'bytes-');
      await store.commit();
      assert.equal((await store.stats()).queuedBytes, 30);
      assert.equal(drops.length, 0);
      store.enqueue('c1', delivery(store.addMessage(message('bytes-3'))));
      await store.commit();
      assert.deepEqual(drops.map((d) => [d.clientId, d.messageId, d.reason]), [['c1', ids[0], 'session-bytes']]);
      assert.deepEqual(await texts(store, 'c1'), ['bytes-1', 'bytes-2', 'bytes-3']);
      assert.equal(store.queueDepth('c1'), 3);
      assert.equal((await store.stats()).queuedBytes, 30);
      // One big entry (3 + 22 bytes) pushes out as many old ones as it needs, oldest first.
      store.enqueue('c1', delivery(store.addMessage(message('b'.repeat(22)))));
      await store.commit();
      assert.deepEqual(drops.slice(1).map((d) => d.reason), ['session-bytes', 'session-bytes']);
      assert.deepEqual(await texts(store, 'c1'), ['bytes-3', 'b'.repeat(22)]);
      assert.equal((await store.stats()).queuedBytes, 35);
      assert.equal(await store.getMessage(ids[0]!), undefined, 'dropped message freed');
      // A message bigger than the cap on its own is dropped itself (and counted as such).
      const huge = store.addMessage(message('h'.repeat(40)));
      store.enqueue('c1', delivery(huge));
      await store.commit();
      assert.deepEqual(drops.slice(3).map((d) => [d.messageId === huge, d.reason]), [
        [false, 'session-bytes'],
        [false, 'session-bytes'],
        [true, 'session-bytes'],
      ]);
      assert.equal(store.queueDepth('c1'), 0);
      assert.equal((await store.stats()).queuedBytes, 0);
    }, { limits: bytesCapped });

    withStore('per-instance byte cap drops the oldest of the instance; removed and deleted entries stop counting', async ({ store }) => {
      store.putSession(session('a1'));
      store.putSession(session('a2'));
      store.putSession(session('b1', { instanceId: 'inst-b' }));
      fill(store, 'a1', 3, 'a1-msg');
      fill(store, 'b1', 3, 'b1-msg');
      const a2 = fill(store, 'a2', 3, 'a2-msg');
      await store.commit();
      assert.equal((await store.stats()).queuedBytes, 90);
      const drops = dropsOf(store);
      fill(store, 'a2', 1, 'a2-new');
      await store.commit();
      assert.deepEqual(drops.map((d) => [d.clientId, d.reason]), [['a1', 'instance-bytes']]);
      assert.deepEqual(await texts(store, 'a1'), ['a1-msg1', 'a1-msg2']);
      assert.deepEqual(await texts(store, 'b1'), ['b1-msg0', 'b1-msg1', 'b1-msg2'], 'other instances untouched');
      // Delivered (removed) and moved-to-in-flight entries give their bytes back.
      const page = await readQueue(store, 'a2', 0, 2);
      store.removeQueued('a2', page[0]!.seq);
      store.moveToInflight('a2', page[1]!.seq, 1);
      fill(store, 'a1', 2, 'a1-new');
      await store.commit();
      assert.equal(drops.length, 1, 'room was made by the removals');
      // A deleted session's entries stop counting at once.
      store.deleteSession('a2');
      fill(store, 'a1', 1, 'a1-end');
      await store.commit();
      assert.equal(drops.length, 1);
      assert.deepEqual(await texts(store, 'a1'), ['a1-msg1', 'a1-msg2', 'a1-new0', 'a1-new1', 'a1-end0']);
      assert.equal((await store.stats()).queuedBytes, 80);
      assert.equal(await store.getMessage(a2[0]!), undefined);
    }, { limits: { ...bytesCapped, maxQueuedBytesPerSession: 0 } });

    withStore('outbound in-flight: moved from the queue and completed before a commit leaves nothing behind', async ({ store }) => {
      store.putSession(session('c1'));
      const [a, b, c, d] = fill(store, 'c1', 4);
      await store.commit();
      const page = await readQueue(store, 'c1', 0, 10);
      assert.equal(page.length, 4);
      // A draining session: each entry goes into the window and is acknowledged in the same batch.
      store.moveToInflight('c1', page[0]!.seq, 1);
      store.moveToInflight('c1', page[1]!.seq, 2);
      store.removeInflight('c1', 1); // PUBACK
      // QoS 2 in one batch: the release needs the in-flight row, the completion then removes it.
      store.moveToInflight('c1', page[2]!.seq, 3);
      store.releaseInflight('c1', 3);
      store.removeInflight('c1', 3);
      // Packet id 1 is free again and reused for the last entry.
      store.moveToInflight('c1', page[3]!.seq, 1);
      assert.equal(store.queueDepth('c1'), 0);
      await store.commit();
      assert.equal(store.queueDepth('c1'), 0);
      assert.deepEqual(await texts(store, 'c1'), []);
      const state = (await loaded(store, 'c1'))!;
      assert.deepEqual(
        state.inflight.map((e) => [e.packetId, e.message?.payload.toString() ?? null]),
        [
          [2, 'm1'],
          [1, 'm3'],
        ],
      );
      // SQLite reclaims an acknowledged queue head with its messages once its thread idles (50 ms).
      assert.equal(await gone(store, a!), true, 'delivered: its message is gone');
      assert.equal(await gone(store, c!), true);
      assert.ok(await store.getMessage(b!));
      assert.ok(await store.getMessage(d!));
      assert.equal((await store.stats()).messages, 2);
      store.removeInflight('c1', 2);
      store.removeInflight('c1', 1);
      await store.commit();
      assert.deepEqual((await loaded(store, 'c1'))!.inflight, []);
      assert.equal((await store.stats()).messages, 0);
    });

    withStore('outbound in-flight: window order, QoS 2 release, completion', async ({ store }) => {
      store.putSession(session('c1'));
      const m1 = store.addMessage(message('direct'));
      const s1 = store.addInflight('c1', 5, delivery(m1, { qos: 2, subscriptionIds: [9], shareGroup: 'g', shareFilter: 'a/#' }));
      const queued = store.enqueue('c1', delivery(store.addMessage(message('queued'))));
      const s2 = store.moveToInflight('c1', queued, 3);
      assert.ok(s2 > s1);
      assert.equal(store.queueDepth('c1'), 0);
      store.releaseInflight('c1', 5);
      store.releaseInflight('c1', 5); // idempotent
      store.releaseInflight('c1', 77); // unknown: nothing happens
      store.removeInflight('c1', 77);
      await store.commit();
      assert.equal(store.queueDepth('c1'), 0);
      const state = (await loaded(store, 'c1'))!;
      assert.deepEqual(
        state.inflight.map((e) => [e.packetId, e.qos, e.released, e.message?.payload.toString() ?? null]),
        [
          [5, 2, true, null],
          [3, 1, false, 'queued'],
        ],
      );
      assert.deepEqual(state.inflight[0]!.subscriptionIds, [9]);
      assert.equal(state.inflight[0]!.shareGroup, 'g');
      assert.equal(state.inflight[0]!.shareFilter, 'a/#');
      store.removeInflight('c1', 3);
      store.removeInflight('c1', 5);
      await store.commit();
      assert.deepEqual((await loaded(store, 'c1'))!.inflight, []);
      assert.equal((await store.stats()).messages, 0);
    });

    withStore('inbound QoS 2 packet ids awaiting PUBREL', async ({ store }) => {
      store.putSession(session('c1'));
      store.addInboundQos2('c1', 7);
      store.addInboundQos2('c1', 2);
      store.addInboundQos2('c1', 7); // a resent PUBLISH with the same id
      await store.commit();
      assert.deepEqual((await loaded(store, 'c1'))!.inboundQos2, [2, 7]);
      store.removeInboundQos2('c1', 7);
      store.removeInboundQos2('c1', 7); // already gone
      store.removeInboundQos2('nobody', 7);
      await store.commit();
      assert.deepEqual((await loaded(store, 'c1'))!.inboundQos2, [2]);
    });

    withStore('retained messages: set, replace, delete, load', async ({ store }) => {
      const props = Buffer.from('{"c":"text/plain"}');
      const first = store.addMessage(message('one', { topic: 's/1', retain: true, properties: props }));
      store.setRetained('s/1', first);
      store.setRetained('s/2', store.addMessage(message('two', { topic: 's/2', retain: true })));
      const replacement = store.addMessage(message('one bis', { topic: 's/1', retain: true }));
      store.setRetained('s/1', replacement);
      await store.commit();
      assert.equal(await store.getMessage(first), undefined, 'replaced retained message freed');
      let all = await collect(store.loadRetained());
      assert.deepEqual(
        all.map((r) => [r.topic, r.message.payload.toString(), r.message.retain]),
        [
          ['s/1', 'one bis', true],
          ['s/2', 'two', true],
        ],
      );
      assert.equal(store.deleteRetained('s/2'), true);
      await store.commit();
      all = await collect(store.loadRetained());
      assert.deepEqual(
        all.map((r) => r.topic),
        ['s/1'],
      );
      const withProps = store.addMessage(message('p', { topic: 's/3', properties: props }));
      store.setRetained('s/3', withProps);
      await store.commit();
      assert.deepEqual((await store.getMessage(withProps))!.properties, props);
    });

    withStore('wills: put, replace, delete, load', async ({ store }) => {
      const will = {
        clientId: 'c1',
        topic: 'will/c1',
        payload: Buffer.from('bye'),
        qos: 1 as const,
        retain: true,
        properties: null,
        expiresAt: 0,
        publishAt: T0 + 30_000,
      };
      store.putWill(will);
      store.putWill({ ...will, clientId: 'c0', publishAt: T0 });
      store.putWill({ ...will, payload: Buffer.from('bye!') });
      await store.commit();
      const wills = await collect(store.loadWills());
      assert.deepEqual(wills, [
        { ...will, clientId: 'c0', publishAt: T0 },
        { ...will, payload: Buffer.from('bye!') },
      ]);
      assert.equal(store.deleteWill('c0'), true);
      assert.equal(store.deleteWill('c0'), false);
      await store.commit();
      assert.equal((await collect(store.loadWills())).length, 1);
    });

    withStore('metadata holds JSON values', async ({ store }) => {
      store.setMeta('node', { id: 'n1', started: [1, 2] });
      store.setMeta('n', 3);
      assert.deepEqual(await store.getMeta('node'), { id: 'n1', started: [1, 2] });
      assert.equal(await store.getMeta('missing'), undefined);
      store.deleteMeta('n');
      store.deleteMeta('n'); // already gone
      await store.commit();
      assert.equal(await store.getMeta('n'), undefined);
    });

    withStore('records: put, replace, get, delete per collection', async ({ store }) => {
      store.putRecord('instances', 'mqtt-a', { name: 'a', mode: 'strict' });
      store.putRecord('instances', 'mqtt-b', { name: 'b' });
      store.putRecord('groups', 'mqtt-a', ['GID_x']);
      assert.deepEqual(await store.getRecord('instances', 'mqtt-a'), { name: 'a', mode: 'strict' });
      assert.deepEqual(await store.getRecord('groups', 'mqtt-a'), ['GID_x']);
      store.putRecord('instances', 'mqtt-a', { name: 'a2' });
      assert.deepEqual(await store.getRecord('instances', 'mqtt-a'), { name: 'a2' });
      assert.equal(await store.getRecord('instances', 'missing'), undefined);
      assert.equal(await store.getRecord('nothing', 'mqtt-a'), undefined);
      store.deleteRecord('instances', 'mqtt-b');
      store.deleteRecord('instances', 'mqtt-b'); // already gone
      await store.commit();
      assert.equal(await store.getRecord('instances', 'mqtt-b'), undefined);
      assert.deepEqual(await store.listRecords('instances'), [{ key: 'mqtt-a', value: { name: 'a2' } }]);
      assert.throws(() => store.putRecord('instances', '', 1));
    });

    withStore('records: listed in byte order, by prefix, paged after a key', async ({ store }) => {
      const keys = ['b\u001f2', 'a\u001f1', 'b\u001f10', 'b', 'c\u001fz', 'b\u001f1', '\u00e9', 'Z', '\u{1F600}', '\uffee'];
      for (const key of keys) store.putRecord('k', key, key.length);
      store.putRecord('other', 'b\u001f3', 0);
      const all = (await store.listRecords('k')).map((r) => r.key);
      const bytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(all, bytes);
      assert.deepEqual(
        (await store.listRecords('k', { prefix: 'b\u001f' })).map((r) => r.key),
        ['b\u001f1', 'b\u001f10', 'b\u001f2'],
      );
      assert.deepEqual(
        (await store.listRecords('k', { prefix: 'b\u001f', after: 'b\u001f1', limit: 1 })).map((r) => r.key),
        ['b\u001f10'],
      );
      assert.deepEqual((await store.listRecords('k', { prefix: 'zz' })).map((r) => r.key), []);
      const paged: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.listRecords('k', after === undefined ? { limit: 3 } : { limit: 3, after });
        if (page.length === 0) break;
        paged.push(...page.map((r) => r.key));
        after = page[page.length - 1]!.key;
      }
      assert.deepEqual(paged, bytes);
    });

    withStore('records: survive a reopen', async (fx) => {
      if (fx.reopen === null) return;
      fx.store.putRecord('keys', 'AK1', { secret: 'enc', policies: ['full'] });
      fx.store.putRecord('keys', 'AK2', { secret: 'enc2' });
      fx.store.deleteRecord('keys', 'AK2');
      await fx.store.commit();
      const store = await fx.reopen();
      assert.deepEqual(await store.listRecords('keys'), [{ key: 'AK1', value: { secret: 'enc', policies: ['full'] } }]);
    });

    withStore('deleting a session hides its queue at once and frees it through purge', async ({ store }) => {
      store.putSession(session('c1'));
      const ids = fill(store, 'c1', 30);
      store.addInflight('c1', 1, delivery(store.addMessage(message('inflight'))));
      store.addInboundQos2('c1', 4);
      await store.commit();
      store.deleteSession('c1');
      assert.equal(store.queueDepth('c1'), 0);
      assert.deepEqual(await readQueue(store, 'c1', 0, 10), []);
      store.putSession(session('c1'));
      assert.deepEqual(await readQueue(store, 'c1', 0, 10), []);
      assert.deepEqual((await loaded(store, 'c1'))!.inflight, []);
      assert.deepEqual((await loaded(store, 'c1'))!.inboundQos2, []);
      await store.commit();
      const first = await store.purgeExpired(T0, 10);
      assert.equal(first.reclaimed, 10);
      assert.equal(first.done, false);
      const rest = await store.purgeExpired(T0, 1000);
      assert.equal(rest.reclaimed, 20);
      assert.equal(rest.done, true);
      await store.commit();
      assert.equal(await store.getMessage(ids[0]!), undefined);
      assert.equal((await store.stats()).messages, 0);
    });

    withStore('purge: expired sessions, expired messages, retention, expired retained', async ({ store }) => {
      const hour = 3_600_000;
      store.putSession(session('gone', { expiryInterval: 60, disconnectedAt: T0 }));
      store.putSession(session('forever', { expiryInterval: SESSION_NEVER_EXPIRES, disconnectedAt: T0 }));
      store.putSession(session('online', { expiryInterval: 60, disconnectedAt: null }));
      store.putSession(session('kept', { expiryInterval: 10 * 24 * 3600, disconnectedAt: T0 }));
      fill(store, 'gone', 3);
      fill(store, 'kept', 2, 'expiring', { expiresAt: T0 + 1000 });
      fill(store, 'kept', 2, 'old', { createdAt: T0 - 4 * 24 * hour });
      fill(store, 'kept', 2, 'fresh', { createdAt: T0 });
      store.setRetained('r/old', store.addMessage(message('r', { expiresAt: T0 + 500 })));
      store.setRetained('r/new', store.addMessage(message('r')));
      await store.commit();

      const early = await store.purgeExpired(T0 + 59_000, 1000);
      assert.deepEqual(early.expiredSessions, []);
      assert.equal(early.expiredMessages, 2);
      assert.equal(early.retentionDropped, 0, 'old entries wait behind younger ones in seq order');
      assert.equal(early.expiredRetained, 1);

      const result = await store.purgeExpired(T0 + 61_000, 1000);
      assert.deepEqual(result.expiredSessions, ['gone']);
      assert.equal(result.reclaimed, 3);
      assert.equal(result.done, true);
      assert.equal(store.getSession('gone'), undefined);
      assert.ok(store.getSession('forever'));
      assert.ok(store.getSession('online'));
      // Retention (default 3 days) counts from createdAt; the older entries are now at the front.
      assert.equal(result.retentionDropped, 2);
      assert.deepEqual(await texts(store, 'kept'), ['fresh0', 'fresh1']);
      assert.deepEqual(
        (await collect(store.loadRetained())).map((r) => r.topic),
        ['r/new'],
      );
      const later = await store.purgeExpired(T0 + 62_000, 1000);
      assert.equal(later.retentionDropped, 0);
      assert.equal(later.done, true);
      const beyond = await store.purgeExpired(T0 + 3 * 24 * hour + 1, 1000);
      assert.equal(beyond.retentionDropped, 2);
      assert.equal(store.queueDepth('kept'), 0);
      await store.commit();
      assert.equal((await store.stats()).messages, 1, 'only the retained r/new remains');
    });

    withStore('purge respects its budget', async ({ store }) => {
      for (let i = 0; i < 5; i++) store.putSession(session(`s${i}`, { expiryInterval: 1, disconnectedAt: T0 }));
      await store.commit();
      const first = await store.purgeExpired(T0 + 2000, 2);
      assert.equal(first.expiredSessions.length, 2);
      assert.equal(first.done, false);
      const second = await store.purgeExpired(T0 + 2000, 100);
      assert.equal(second.expiredSessions.length, 3);
      assert.equal(second.done, true);
    });

    withStore('group commit: one batch per turn, shared promise, close refuses work', async ({ store }) => {
      store.putSession(session('c1'));
      const p1 = store.whenDurable();
      fill(store, 'c1', 3);
      const p2 = store.whenDurable();
      assert.equal(p1, p2, 'callers of one batch share its promise');
      await p1;
      await store.whenDurable(); // nothing pending: resolves
      fill(store, 'c1', 1, 'late');
      await store.commit();
      assert.equal(store.queueDepth('c1'), 4);
      await store.close();
      assert.throws(() => store.putSession(session('c2')), StoreUnavailableError);
    });

    withStore('logs: append, read in order, remove, drop, summaries, survive a reopen', async (fx) => {
      const { store } = fx;
      const a1 = store.appendLog('outbox/r1', '{"n":1}', Buffer.from('one'), T0);
      const b1 = store.appendLog('outbox/r2', '{"n":1}', Buffer.from('other'), T0 + 5);
      const a2 = store.appendLog('outbox/r1', '{"n":2}', Buffer.from([0, 255]), T0 + 1);
      const a3 = store.appendLog('outbox/r1', '{"n":3}', Buffer.alloc(0), T0 + 2);
      assert.ok(a1 < a2 && a2 < a3 && b1 > a1, 'seqs increase');
      const all = await store.readLog('outbox/r1', 0, 10);
      assert.deepEqual(all.map((e) => [e.seq, e.meta, e.payload.toString('hex'), e.createdAt]), [
        [a1, '{"n":1}', Buffer.from('one').toString('hex'), T0],
        [a2, '{"n":2}', '00ff', T0 + 1],
        [a3, '{"n":3}', '', T0 + 2],
      ]);
      assert.ok(Buffer.isBuffer(all[0]!.payload));
      assert.deepEqual((await store.readLog('outbox/r1', a1, 1)).map((e) => e.seq), [a2]);
      store.removeLog('outbox/r1', a2);
      store.removeLog('outbox/r1', 999_999); // absent: nothing happens
      assert.deepEqual((await store.getLogEntries('outbox/r1', [a3, a2, a1])).map((e) => e.seq), [a3, a1]);
      await store.commit();
      const summaries = await store.logSummaries('outbox/');
      assert.deepEqual(summaries.map((s) => [s.log, s.count, s.firstSeq, s.lastSeq, s.oldestCreatedAt]), [
        ['outbox/r1', 2, a1, a3, T0],
        ['outbox/r2', 1, b1, b1, T0 + 5],
      ]);
      assert.equal(summaries[0]!.bytes, 3 + 7 + 0 + 7);
      store.dropLog('outbox/r2');
      await store.commit();
      assert.deepEqual(await store.readLog('outbox/r2', 0, 10), []);
      if (fx.reopen === null) return;
      const reopened = await fx.reopen();
      assert.deepEqual((await reopened.readLog('outbox/r1', 0, 10)).map((e) => e.payload.toString()), ['one', '']);
      assert.ok(reopened.appendLog('outbox/r1', '{}', Buffer.alloc(1), T0) > a3, 'seqs continue after a restart');
      await reopened.commit();
    });

    withStore('logs: removals and appends of one batch apply in their order', async ({ store }) => {
      const [a, b, c] = [1, 2, 3].map((n) => store.appendLog('outbox/r1', `{"n":${n}}`, Buffer.from([n]), T0));
      await store.commit();
      // One turn: a run of removals, an append, the removal of what it appended, more removals.
      store.removeLog('outbox/r1', a!);
      store.removeLog('outbox/r1', b!);
      const d = store.appendLog('outbox/r1', '{"n":4}', Buffer.from([4]), T0);
      const e = store.appendLog('outbox/r1', '{"n":5}', Buffer.from([5]), T0);
      store.removeLog('outbox/r1', d);
      store.removeLog('outbox/r2', c!); // another log: not this entry
      store.removeLog('outbox/r1', c!);
      await store.commit();
      assert.deepEqual((await store.readLog('outbox/r1', 0, 10)).map((x) => x.seq), [e]);
      // Removals alone (lazy: they ride with the next batch) still commit with it.
      store.removeLog('outbox/r1', e);
      store.putSession(session('c1'));
      await store.commit();
      assert.deepEqual(await store.readLog('outbox/r1', 0, 10), []);
    });

    withStore('many sessions load in pages', async ({ store }) => {
      for (let i = 0; i < 600; i++) {
        store.putSession(session(`c${String(i).padStart(4, '0')}`));
        store.putSubscription(sub(`c${String(i).padStart(4, '0')}`, `t/${i}`));
      }
      await store.commit();
      const all = await collect(store.loadSessions());
      assert.equal(all.length, 600);
      assert.equal(all[599]!.subscriptions[0]!.key, 't/599');
      assert.equal(new Set(all.map((s) => s.session.clientId)).size, 600);
    });

    test('reload after close: everything comes back (durable stores)', async (t) => {
      const fx = await target.create();
      try {
        if (fx.reopen === null) {
          t.skip('not durable');
          return;
        }
        let store = fx.store;
        store.putSession(session('c1', { disconnectedAt: T0, expiryInterval: 120 }));
        store.putSubscription(sub('c1', '$share/g/x/#', { shareGroup: 'g', filter: 'x/#', subscriptionId: 4 }));
        fill(store, 'c1', 10);
        const inflightMessage = store.addMessage(message('in flight', { qos: 2 }));
        store.addInflight('c1', 11, delivery(inflightMessage, { qos: 2 }));
        store.addInflight('c1', 12, delivery(store.addMessage(message('pubrec sent', { qos: 2 })), { qos: 2 }));
        store.releaseInflight('c1', 12);
        store.addInboundQos2('c1', 300);
        store.setRetained('r', store.addMessage(message('kept', { retain: true, topic: 'r' })));
        store.putWill({
          clientId: 'c1',
          topic: 'w',
          payload: Buffer.from('w'),
          qos: 1,
          retain: false,
          properties: null,
          expiresAt: 0,
          publishAt: T0 + 5,
        });
        store.setMeta('k', { v: 1 });
        const lastSeq = store.enqueue('c1', delivery(store.addMessage(message('m10'))));
        await store.commit();

        store = await fx.reopen();
        const state = (await loaded(store, 'c1'))!;
        assert.deepEqual(state.session, session('c1', { disconnectedAt: T0, expiryInterval: 120 }));
        assert.equal(state.subscriptions[0]!.shareGroup, 'g');
        assert.equal(state.queueDepth, 11);
        assert.deepEqual(
          state.inflight.map((e) => [e.packetId, e.released, e.message?.payload.toString() ?? null]),
          [
            [11, false, 'in flight'],
            [12, true, null],
          ],
        );
        assert.deepEqual(state.inboundQos2, [300]);
        assert.deepEqual(await texts(store, 'c1'), [...Array.from({ length: 10 }, (_, i) => `m${i}`), 'm10']);
        assert.deepEqual(
          (await collect(store.loadRetained())).map((r) => r.message.payload.toString()),
          ['kept'],
        );
        assert.equal((await collect(store.loadWills()))[0]!.publishAt, T0 + 5);
        assert.deepEqual(await store.getMeta('k'), { v: 1 });
        // Sequences and ids continue after a restart.
        const fresh = store.addMessage(message('after restart'));
        assert.notEqual(fresh, inflightMessage);
        assert.ok(store.enqueue('c1', delivery(fresh)) > lastSeq);
        assert.equal((await texts(store, 'c1')).at(-1), 'after restart');
        // Caps and counts are rebuilt from disk.
        assert.equal(store.queueDepth('c1'), 12);
        store.deleteSession('c1');
        await store.commit();
        store = await fx.reopen();
        assert.equal((await store.purgeExpired(T0, 1000)).reclaimed, 12);
        await store.commit();
        assert.equal((await store.stats()).messages, 1, 'the retained message only');
      } finally {
        await fx.dispose();
      }
    });
  });
}
