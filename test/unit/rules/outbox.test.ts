import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOT_BYTES, Outbox } from '../../../src/rules/outbox.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { plainMessage } from '../../helpers/connector-fixtures.js';

const bounds = { maxMessages: 1_000_000, maxBytes: 1024 ** 4, overflow: 'drop-oldest' as const };

describe('outbox', () => {
  it('outbox - entries appended here are handed out from memory, oldest first, removed ones skipped', async () => {
    const store = new MemoryStore();
    const outbox = new Outbox(store, 'r1', bounds);
    await outbox.load();
    for (let i = 0; i < 5; i++) outbox.append(`m${i}`, Buffer.from(`p${i}`), 1000 + i);
    const all = outbox.peek(10)!;
    assert.deepEqual(all.map((e) => e.meta), ['m0', 'm1', 'm2', 'm3', 'm4']);
    outbox.remove(all[0]!.seq);
    outbox.remove(all[2]!.seq);
    assert.deepEqual(outbox.peek(2)!.map((e) => e.payload.toString()), ['p1', 'p3']);
    assert.equal(outbox.depth, 3);
    await store.close();
  });

  it('outbox - a payload that views a larger buffer is copied, so the window pins only what it counts', async () => {
    const store = new MemoryStore();
    const outbox = new Outbox(store, 'r1', bounds);
    await outbox.load();
    const read = Buffer.alloc(65536, 7);
    const payload = read.subarray(100, 164);
    outbox.append('m', payload, 1, { type: 'message', message: { ...plainMessage(1), payload } });
    const [entry] = outbox.peek(1)!;
    assert.equal(entry!.payload.length, 64);
    assert.notEqual(entry!.payload.buffer, read.buffer);
    assert.ok(entry!.item?.type === 'message');
    assert.equal(entry!.item.message.payload, entry!.payload, 'the kept item carries the copy too');
    await store.close();
  });

  it('outbox - after a restart, or beyond the in-memory budget, peek hands out the in-memory run and answers null when the oldest is on disk only', async () => {
    const store = new MemoryStore();
    const first = new Outbox(store, 'r1', bounds);
    await first.load();
    first.append('m0', Buffer.from('p0'), 1);
    await store.whenDurable();
    const again = new Outbox(store, 'r1', bounds);
    await again.load();
    assert.equal(again.depth, 1);
    assert.equal(again.peek(10), null, 'loaded entries are on disk only');

    const big = new Outbox(store, 'r2', bounds);
    await big.load();
    const chunk = Buffer.alloc(1024 * 1024);
    const fit = Math.floor(HOT_BYTES / (chunk.length + 1));
    for (let i = 0; i < fit; i++) big.append('m', chunk, i);
    assert.equal(big.peek(fit)!.length, fit);
    big.append('m', chunk, fit);
    assert.equal(big.peek(fit + 1)!.length, fit, 'the entry beyond the budget is not in memory: peek stops before it');
    // Once earlier entries are delivered, memory is freed for new ones again.
    for (const entry of big.peek(fit)!) big.remove(entry.seq);
    assert.equal(big.peek(10), null, 'the oldest entry left is on disk only');
    assert.equal(big.has(big.first()), true);
    big.remove(big.first());
    assert.equal(big.depth, 0);
    big.append('m', chunk, fit + 1);
    assert.equal(big.peek(1)!.length, 1);
    await store.close();
  });
});
