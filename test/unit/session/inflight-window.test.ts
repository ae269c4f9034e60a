import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InflightWindow } from '../../../src/session/inflight-window.js';
import type { OutboundEntry } from '../../../src/session/session.js';

function entry(packetId: number, qos: 1 | 2 = 1): OutboundEntry {
  return { packetId, qos, delivery: null, released: false };
}

/** Sends one: a new id, and its entry in the window. */
function send(w: InflightWindow): number {
  const id = w.allocate();
  assert.ok(id >= 1 && id <= 65535, `id ${id}`);
  assert.equal(w.has(id), false, `id ${id} handed out while in use`);
  w.set(entry(id));
  return id;
}

test('in-flight window - ids cyclic from 1, a freed id not reused at once, get/has/delete by id, size', () => {
  const w = new InflightWindow();
  assert.equal(send(w), 1);
  assert.equal(send(w), 2);
  assert.equal(w.size, 2);
  assert.equal(w.delete(1), true);
  assert.equal(w.delete(1), false, 'gone already');
  assert.equal(w.delete(7), false, 'never sent');
  assert.equal(w.get(1), undefined);
  assert.equal(w.get(2)?.packetId, 2);
  assert.equal(send(w), 3, 'not the freed 1');
  assert.equal(w.size, 2);
});

test('in-flight window - one message at a time for 70,000 sends: ids wrap from 65535 to 1, each found until acknowledged', () => {
  const w = new InflightWindow();
  let last = 0;
  for (let i = 0; i < 70_000; i++) {
    const id = send(w);
    assert.equal(id, last === 65535 ? 1 : last + 1);
    assert.equal(w.get(id)?.packetId, id);
    assert.equal(w.delete(id), true);
    assert.equal(w.size, 0);
    last = id;
  }
});

test('in-flight window - all 65,535 ids in use: allocate gives 0; distinct ids throughout', () => {
  const w = new InflightWindow();
  const seen = new Set<number>();
  for (let i = 0; i < 65535; i++) seen.add(send(w));
  assert.equal(seen.size, 65535);
  assert.equal(w.size, 65535);
  assert.equal(w.allocate(), 0);
  assert.equal(w.delete(40_000), true);
  assert.equal(w.allocate(), 40_000, 'the only free id');
});

test('in-flight window - entries put back from the store with ids that share a slot: all kept, in the order put', () => {
  const w = new InflightWindow();
  const ids = [5, 1, 9, 13, 65533, 17, 4, 65535];
  for (const id of ids) w.set(entry(id, 2));
  assert.equal(w.size, ids.length);
  for (const id of ids) assert.equal(w.get(id)?.packetId, id);
  assert.deepEqual(
    w.inOrder().map((e) => e.packetId),
    ids,
  );
  // A replaced entry keeps its place (as Map.set).
  const again = entry(9, 2);
  again.released = true;
  w.set(again);
  assert.equal(w.size, ids.length);
  assert.equal(w.get(9), again);
  assert.deepEqual(
    w.inOrder().map((e) => e.packetId),
    ids,
  );
  // New ids skip those in use.
  for (let i = 0; i < 20; i++) assert.ok(!ids.includes(send(w)));
});

test('in-flight window - random sends and out-of-order acknowledgements agree with a Map in send order', () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const w = new InflightWindow();
  const model = new Map<number, OutboundEntry>();
  for (let step = 0; step < 60_000; step++) {
    const limit = step < 30_000 ? 64 : 700; // the window grows mid-way (a client with a larger Receive Maximum)
    const r = rand(10);
    if (model.size < limit && r < 5) {
      const id = w.allocate();
      assert.equal(model.has(id), false);
      const e = entry(id);
      w.set(e);
      model.set(id, e);
    } else if (model.size > 0) {
      // Mostly the oldest (clients acknowledge in order), sometimes any.
      const keys = [...model.keys()];
      const id = r < 8 ? keys[0]! : keys[rand(keys.length)]!;
      assert.equal(w.delete(id), true);
      model.delete(id);
    }
    if (rand(20) === 0) {
      // An id that may or may not be in flight (a late or bogus PUBACK).
      const id = 1 + rand(65535);
      assert.equal(w.delete(id), model.delete(id));
    }
    assert.equal(w.size, model.size);
  }
  assert.deepEqual(w.inOrder(), [...model.values()]);
  for (const [id, e] of model) assert.equal(w.get(id), e);
});

test('in-flight window - one that empties after a large burst starts small again; at 64 slots or fewer it keeps them', () => {
  const w = new InflightWindow();
  const ids: number[] = [];
  for (let i = 0; i < 1000; i++) ids.push(send(w));
  assert.equal(w.capacity, 1024);
  for (const id of ids.slice(0, 999)) w.delete(id);
  assert.equal(w.capacity, 1024, 'not while an entry is left');
  w.delete(ids[999]!);
  assert.equal(w.capacity, 4);
  assert.equal(send(w), 1001, 'ids go on from where they were');
  w.delete(1001);
  for (let i = 0; i < 64; i++) ids[i] = send(w);
  assert.equal(w.capacity, 64);
  for (let i = 0; i < 64; i++) w.delete(ids[i]!);
  assert.equal(w.capacity, 64, 'the default window (64) never reallocates when it empties');
});
