import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue } from '../../../src/session/message-queue.js';

test('queue - FIFO across growth, oldest dropped and counted when full', () => {
  const q = new BoundedQueue<number>(40);
  for (let i = 0; i < 50; i++) {
    const evicted = q.push(i);
    assert.equal(evicted, i < 40 ? undefined : i - 40);
  }
  assert.equal(q.length, 40);
  assert.equal(q.dropped, 10);
  assert.equal(q.shift(), 10);
  assert.deepEqual(q.drain(), Array.from({ length: 39 }, (_, i) => i + 11));
  assert.equal(q.shift(), undefined);
});
