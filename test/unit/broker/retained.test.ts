import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetainedStore } from '../../../src/broker/retained.js';
import { Message } from '../../../src/session/message.js';

const msg = (topic: string, payload = 'x', expiresAt = 0) =>
  new Message(topic, Buffer.from(payload), 0, true, undefined, expiresAt, null);

const topics = (messages: Message[]) => messages.map((m) => m.topic).sort();

test('retained - filters select retained topics; $ topics need an explicit first level', () => {
  const store = new RetainedStore(0);
  for (const t of ['a', 'a/b', 'a/b/c', 'a/x/c', '$SYS/x', 'b']) store.set(msg(t));
  assert.deepEqual(topics(store.match('a/#', 0)), ['a', 'a/b', 'a/b/c', 'a/x/c']);
  assert.deepEqual(topics(store.match('a/+/c', 0)), ['a/b/c', 'a/x/c']);
  assert.deepEqual(topics(store.match('#', 0)), ['a', 'a/b', 'a/b/c', 'a/x/c', 'b']);
  assert.deepEqual(topics(store.match('+', 0)), ['a', 'b']);
  assert.deepEqual(topics(store.match('$SYS/#', 0)), ['$SYS/x']);
  assert.deepEqual(topics(store.match('a/b', 0)), ['a/b']);
  assert.equal(store.size, 6);
});

test('retained - an empty payload deletes [MQTT-3.3.1-10]; a new one replaces', () => {
  const store = new RetainedStore(0);
  store.set(msg('a/b', 'one'));
  store.set(msg('a/b', 'two'));
  assert.equal(store.get('a/b')?.payload.toString(), 'two');
  store.set(msg('a/b', ''));
  assert.equal(store.get('a/b'), undefined);
  assert.equal(store.size, 0);
  assert.deepEqual(store.match('#', 0), []);
});

test('retained - expired messages are dropped; the cap refuses new topics', () => {
  const store = new RetainedStore(2);
  store.set(msg('a', 'x', 1000));
  assert.equal(store.set(msg('b')), true);
  assert.equal(store.set(msg('c')), false);
  assert.deepEqual(topics(store.match('#', 2000)), ['b']);
  assert.equal(store.size, 1);
});
