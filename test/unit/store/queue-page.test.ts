/**
 * A stored queue page crosses to the main thread as columns plus one payload buffer, transferred,
 * and stays columnar there (ColumnPage) until an entry is asked for: every entry must come out
 * exactly as the plain row it was packed from, whichever packer made the page, in any order asked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import fc from 'fast-check';
import { ColumnPage, packQueueColumns, packQueuePage, queuePageTransfer, type QueueColumns, type QueuePage } from '../../../src/store/sqlite/queue-page.js';
import type { QueueRow } from '../../../src/store/sqlite/rows.js';
import type { QueuedMessage } from '../../../src/store/types.js';

const text = fc.option(fc.constantFrom('g1', 'group-two', 'a/+/c', 'x'), { nil: null });
const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

/** Rows as `readQueue` selects them: seqs increasing, topics repeating, payloads on both sides of 1 KiB. */
const rows: fc.Arbitrary<QueueRow[]> = fc
  .array(
    fc.record({
      gap: fc.integer({ min: 1, max: 5 }),
      message_id: fc.integer({ min: 1, max: 2 ** 40 }),
      dqos: fc.constantFrom(1, 2),
      dretain: fc.constantFrom(0, 1),
      sub_ids: fc.option(fc.array(fc.integer({ min: 1, max: 268_435_455 }), { minLength: 1, maxLength: 3 }).map((ids) => ids.join(',')), { nil: null }),
      share_group: text,
      share_filter: text,
      topic: fc.constantFrom('t', 'bench/backlog/0', 'a/b/c', 'ü/€'),
      payload: fc.oneof(bytes(100), bytes(3000)),
      qos: fc.constantFrom(0, 1, 2),
      retain: fc.constantFrom(0, 1),
      properties: fc.option(bytes(40), { nil: null }),
      expires_at: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 45 })),
      created_at: fc.integer({ min: 0, max: 2 ** 45 }),
      trace_id: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 40 })),
    }),
    { maxLength: 40 },
  )
  .map((drafts) => {
    let seq = 1000;
    return drafts.map(({ gap, ...row }) => ({ ...row, id: row.message_id, seq: (seq += gap) }));
  });

/** The plain form of a row: what `readQueue` answered before pages stayed columnar. */
function plain(clientId: string, row: QueueRow): QueuedMessage {
  const traceId = row.trace_id ?? 0;
  return {
    clientId,
    seq: row.seq,
    messageId: row.message_id,
    qos: row.dqos as 1 | 2,
    retain: row.dretain === 1,
    subscriptionIds: row.sub_ids === null ? null : row.sub_ids.split(',').map(Number),
    shareGroup: row.share_group,
    shareFilter: row.share_filter,
    message: {
      id: row.message_id,
      topic: row.topic,
      payload: row.payload,
      qos: row.qos as 0 | 1 | 2,
      retain: row.retain === 1,
      properties: row.properties,
      expiresAt: row.expires_at,
      createdAt: row.created_at,
      ...(traceId !== 0 ? { traceId } : {}),
    },
  };
}

/** The same rows as `readQueuePage`'s JSON entries and concatenated blobs. */
function asColumns(list: readonly QueueRow[]): [QueueColumns[], Buffer | null] {
  const columns = list.map((r): QueueColumns => [
    r.seq, r.message_id, r.dqos, r.dretain, r.sub_ids, r.share_group, r.share_filter,
    r.topic, r.qos, r.retain, r.expires_at, r.created_at, r.trace_id ?? null, r.payload.length, r.properties?.length ?? null,
  ]);
  const blobs = Buffer.concat(list.flatMap((r) => (r.properties === null ? [r.payload] : [r.payload, r.properties])));
  return [columns, list.length === 0 ? null : blobs];
}

/** Sends a page across a real MessageChannel the way the store thread does; returns what arrives. */
function transferred(page: QueuePage): QueuePage {
  const { port1, port2 } = new MessageChannel();
  try {
    const transfer = queuePageTransfer(page);
    port1.postMessage(page, transfer);
    for (const buffer of transfer) assert.equal(buffer.byteLength, 0, 'moved, not copied: the sender keeps nothing');
    return receiveMessageOnPort(port2)!.message as QueuePage;
  } finally {
    port1.close();
  }
}

test('queue page: columnar entries equal their rows, from either packer, after a real transfer, asked in any order', () => {
  fc.assert(
    fc.property(rows, fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 }), (list, byColumns, seed) => {
      const expected = list.map((row) => plain('cid', row));
      const distinct = new Set(list.flatMap((r) => [r.topic, r.sub_ids, r.share_group, r.share_filter]).filter((s) => s !== null));
      const packed = byColumns ? packQueueColumns(...asColumns(list)) : packQueuePage(list);
      assert.equal(packed.strs.length, distinct.size, 'each distinct string crosses once');
      const page = new ColumnPage('cid', transferred(packed));
      assert.equal(page.length, list.length);
      assert.equal(page.bytes, list.reduce((n, r) => n + r.payload.length + (r.properties?.length ?? 0), 0));
      assert.deepEqual(Array.from({ length: page.length }, (_, i) => page.entry(i)), expected);
      // Taken one by one in another order (a session takes them in order; storeDropped peeks seqs).
      const order = expected.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101));
      for (const i of order) {
        assert.equal(page.seq(i), expected[i]!.seq);
        assert.deepEqual(page.entry(i), expected[i]);
      }
    }),
    { numRuns: 300 },
  );
});

test('queue page: a large payload is copied out of the page buffer, a small one is a view into it; no entry past the end', () => {
  const row = (seq: number, size: number): QueueRow => ({
    seq, message_id: seq, dqos: 1, dretain: 0, sub_ids: null, share_group: null, share_filter: null,
    id: seq, topic: 't', payload: Buffer.alloc(size, seq), qos: 1, retain: 0, properties: null, expires_at: 0, created_at: 1, trace_id: 0,
  });
  const page = new ColumnPage('c', transferred(packQueuePage([row(1, 10), row(2, 1024)])));
  const [small, large] = [page.entry(0).message.payload, page.entry(1).message.payload];
  assert.equal(small.buffer, page.entry(0).message.payload.buffer, 'small payloads share the page buffer');
  assert.notEqual(large.buffer, small.buffer, 'a large payload does not pin the page buffer');
  assert.equal(large.byteLength, 1024);
  assert.throws(() => page.entry(2), RangeError);
  assert.throws(() => page.seq(-1), RangeError);
});
