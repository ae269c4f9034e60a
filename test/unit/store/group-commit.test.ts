import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from '../../../src/store/group-commit.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';

test('group commit: one flush per event-loop turn, shared by every waiter', async () => {
  let flushes = 0;
  const batch = new GroupCommit(0, () => flushes++);
  await batch.whenDurable(); // nothing pending
  assert.equal(flushes, 0);
  for (let i = 0; i < 100; i++) batch.touch();
  const waits = Array.from({ length: 10 }, () => batch.whenDurable());
  assert.equal(new Set(waits).size, 1);
  await Promise.all(waits);
  assert.equal(flushes, 1);
  batch.touch();
  await batch.commitNow();
  assert.equal(flushes, 2);
});

test('group commit: commitDelayMs gathers mutations of several turns', async () => {
  let flushes = 0;
  const batch = new GroupCommit(500, () => flushes++); // long enough for a loaded machine
  batch.touch();
  const first = batch.whenDurable();
  await new Promise((resolve) => setImmediate(resolve));
  batch.touch();
  assert.equal(batch.whenDurable(), first);
  assert.equal(flushes, 0);
  await first;
  assert.equal(flushes, 1);
});

test('group commit: a failed flush rejects its waiters', async () => {
  const batch = new GroupCommit(0, () => {
    throw new Error('disk full');
  });
  batch.touch();
  await assert.rejects(batch.whenDurable(), /disk full/);
});

test('memory store with commitDelayMs still resolves whenDurable', async () => {
  const store = new MemoryStore({ commitDelayMs: 5 });
  store.setMeta('a', 1);
  await store.whenDurable();
  assert.equal(await store.getMeta('a'), 1);
  await store.close();
});
