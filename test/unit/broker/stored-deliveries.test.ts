/**
 * A session takes a stored page's entries as Deliveries made in one step from the page's fields
 * (StoredDeliveries.make through StoredQueuePage.take). Each must equal what the old chain made
 * (the entry as a record, Persistence.messageFrom, Persistence.deliveryFrom, seq set after), for
 * every kind of entry and for both page kinds (SQLite's columns, the listed page of the other
 * stores); and it must have the very shapes V8 gives a live publish's Message and Delivery, which
 * a child node checks with its own eyes (%HaveSameMap).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import fc from 'fast-check';
import pino from 'pino';
import { Persistence, StoredDeliveries } from '../../../src/broker/persistence.js';
import { Message } from '../../../src/session/message.js';
import type { Delivery } from '../../../src/session/session.js';
import { encodeProperties } from '../../../src/store/properties.js';
import { ListedQueuePage } from '../../../src/store/listed-page.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { ColumnPage, packQueuePage, queuePageTransfer, type QueuePage } from '../../../src/store/sqlite/queue-page.js';
import type { QueueRow } from '../../../src/store/sqlite/rows.js';
import type { StoredQueuePage } from '../../../src/store/types.js';

/** Ids the store hands out in this run start here: older ones were stored by another run. */
const FIRST_ID = 5000;

const text = fc.option(fc.constantFrom('g1', 'group-two', 'a/+/c'), { nil: null });

/** Properties as the store keeps them: none, or some of the forwardable ones encoded. */
const properties = fc.option(
  fc
    .record(
      {
        payloadFormatIndicator: fc.constantFrom(0, 1),
        contentType: fc.constantFrom('text/plain', 'application/json'),
        correlationData: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a)),
        userProperties: fc.array(fc.tuple(fc.constantFrom('k', 'key'), fc.constantFrom('v', 'ü')), { minLength: 1, maxLength: 2 }),
      },
      { requiredKeys: ['contentType'] },
    )
    .map((p) => encodeProperties(p)),
  { nil: null },
);

/** Rows of every kind: each optional column both ways, ids on both sides of the run's first id, payloads on both sides of 1 KiB. */
const rows: fc.Arbitrary<QueueRow[]> = fc
  .array(
    fc.record({
      gap: fc.integer({ min: 1, max: 5 }),
      message_id: fc.oneof(fc.integer({ min: 1, max: FIRST_ID - 1 }), fc.integer({ min: FIRST_ID, max: 2 ** 40 })),
      dqos: fc.constantFrom(1, 2),
      dretain: fc.constantFrom(0, 1),
      sub_ids: fc.option(fc.array(fc.integer({ min: 1, max: 268_435_455 }), { minLength: 1, maxLength: 3 }).map((ids) => ids.join(',')), { nil: null }),
      share_group: text,
      share_filter: text,
      topic: fc.constantFrom('t', 'bench/backlog/0', 'ü/€'),
      payload: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1024, max: 3000 })).map((n) => Buffer.alloc(n, n & 0xff)),
      qos: fc.constantFrom(0, 1, 2),
      retain: fc.constantFrom(0, 1),
      properties,
      expires_at: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 45 })),
      created_at: fc.integer({ min: 0, max: 2 ** 45 }),
      trace_id: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 40 })),
    }),
    { maxLength: 30 },
  )
  .map((drafts) => {
    let seq = 2 ** 31 - 40; // seqs on both sides of 2^31
    return drafts.map(({ gap, ...row }) => ({ ...row, id: row.message_id, seq: (seq += gap) }));
  });

function transferred(page: QueuePage): QueuePage {
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(page, queuePageTransfer(page));
    return receiveMessageOnPort(port2)!.message as QueuePage;
  } finally {
    port1.close();
  }
}

/** A Persistence whose run stored a message (first id FIRST_ID), as a broker's does once it queued. */
function persistence(): Persistence {
  const p = new Persistence(new MemoryStore({}, FIRST_ID), pino({ level: 'silent' }));
  p.retained('i', new Message('r', Buffer.from('x'), 1, true, undefined, 0, null));
  return p;
}

/** What the old chain made of entry `i`: the record, then its Message and Delivery, then the seq. */
function oldChain(p: Persistence, page: StoredQueuePage, i: number): Delivery {
  const queued = page.entry(i);
  const delivery = p.deliveryFrom(queued, p.messageFrom(queued.message, new Map()));
  delivery.seq = queued.seq;
  return delivery;
}

test('stored deliveries: each entry of a columnar or a listed page is the Delivery the old chain made', () => {
  const p = persistence();
  fc.assert(
    fc.property(rows, (list) => {
      const columns = new ColumnPage('cid', transferred(packQueuePage(list)));
      const listed = new ListedQueuePage(Array.from({ length: columns.length }, (_, i) => columns.entry(i)));
      for (const page of [columns, listed]) {
        const expected = Array.from({ length: page.length }, (_, i) => oldChain(p, page, i));
        const taken = new StoredDeliveries(page, FIRST_ID);
        const got: Delivery[] = [];
        for (let d = taken.take(); d !== undefined; d = taken.take()) got.push(d);
        assert.deepEqual(got, expected);
        assert.equal(taken.left, 0);
        for (let i = 0; i < got.length; i++) {
          const row = list[i]!;
          assert.equal(got[i]!.message.traceId, row.trace_id !== 0 && row.message_id >= FIRST_ID ? row.trace_id : 0, 'trace ids of this run only');
          // A listed page keeps its entries: the delivery's subscription ids are its own array.
          if (page === listed && got[i]!.subscriptionIds !== undefined) assert.notEqual(got[i]!.subscriptionIds, listed.entry(i).subscriptionIds);
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('stored deliveries: a paged Delivery and its Message have the shapes of a live publish (V8 maps, small-integer fields)', () => {
  // In a child node that can ask V8: a Delivery made from a page read as floats from a
  // Float64Array once had heap numbers where live ones hold small integers (qos, seq, storeId),
  // a different map for the send path to meet at a drain's start (bench/RESULTS.md issue 15 §37).
  const url = (path: string): string => new URL(path, import.meta.url).href;
  const script = `
    import { StoredDeliveries } from '${url('../../../src/broker/persistence.js')}';
    import { Message } from '${url('../../../src/session/message.js')}';
    import { ColumnPage, packQueuePage } from '${url('../../../src/store/sqlite/queue-page.js')}';
    const row = (seq, subIds, group) => ({ seq, message_id: 7, id: 7, dqos: 1, dretain: 0, sub_ids: subIds, share_group: group,
      share_filter: group === null ? null : 'a/#', topic: 't', payload: Buffer.from('p'), qos: 1, retain: 0, properties: null,
      expires_at: 0, created_at: 1733600000000, trace_id: 0 });
    const page = new ColumnPage('c', packQueuePage([row(11, null, null), row(12, '3', null), row(13, null, 'g')]));
    const taken = new StoredDeliveries(page, Number.MAX_SAFE_INTEGER);
    const paged = [taken.take(), taken.take(), taken.take()];
    // As the router and Persistence.enqueued make them.
    const message = new Message('t', Buffer.from('p'), 1, false, undefined, 0, null);
    message.storeId = 7;
    const live = [
      { message, qos: 1, retain: false, subscriptionIds: undefined, shared: null },
      { message, qos: 1, retain: false, subscriptionIds: [3], shared: null },
      { message, qos: 1, retain: false, subscriptionIds: undefined, shared: { group: 'g', filter: 'a/#' } },
    ];
    live.forEach((d, i) => { d.seq = 11 + i; });
    console.log(JSON.stringify({
      deliveries: paged.map((d, i) => %HaveSameMap(d, live[i])),
      messages: paged.map((d) => %HaveSameMap(d.message, message)),
      smis: paged.map((d) => [%IsSmi(d.qos), %IsSmi(d.seq), %IsSmi(d.message.qos), %IsSmi(d.message.storeId), %IsSmi(d.message.expiresAt)]),
    }));`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' });
  const seen = JSON.parse(out) as { deliveries: boolean[]; messages: boolean[]; smis: boolean[][] };
  assert.deepEqual(seen.deliveries, [true, true, true], 'same Delivery maps as live');
  assert.deepEqual(seen.messages, [true, true, true], 'same Message map as live');
  assert.deepEqual(seen.smis, [[true, true, true, true, true], [true, true, true, true, true], [true, true, true, true, true]]);
});
