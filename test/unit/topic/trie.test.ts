import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionTrie, type SharedGroup } from '../../../src/topic/trie.js';

function matches(trie: SubscriptionTrie<string, number>, topic: string): string[] {
  const out: string[] = [];
  trie.match(topic, {
    subscriber: (s) => out.push(s),
    sharedGroup: (g: SharedGroup<string, number>) => out.push(`share:${g.name}:${g.order.join(',')}`),
  });
  return out.sort();
}

test('trie - literal, + and # filters match as the spec says', () => {
  const trie = new SubscriptionTrie<string, number>();
  trie.add('a/b/c', 'exact', 0);
  trie.add('a/+/c', 'plus', 0);
  trie.add('a/#', 'hash', 0);
  trie.add('#', 'all', 0);
  trie.add('+/+', 'two', 0);
  trie.add('a/b', 'ab', 0);
  assert.deepEqual(matches(trie, 'a/b/c'), ['all', 'exact', 'hash', 'plus']);
  assert.deepEqual(matches(trie, 'a/b'), ['ab', 'all', 'hash', 'two']);
  // [MQTT-4.7.1-2] "a/#" also matches the parent "a".
  assert.deepEqual(matches(trie, 'a'), ['all', 'hash']);
  assert.deepEqual(matches(trie, 'x/y/z'), ['all']);
  // Empty levels are levels.
  assert.deepEqual(matches(trie, 'a//c'), ['all', 'hash', 'plus']);
  assert.deepEqual(matches(trie, '/x'), ['all', 'two']);
});

test('trie - $ topics are not matched by leading wildcards [MQTT-4.7.2-1]', () => {
  const trie = new SubscriptionTrie<string, number>();
  trie.add('#', 'all', 0);
  trie.add('+/info', 'plus', 0);
  trie.add('$SYS/#', 'sys', 0);
  trie.add('$SYS/+', 'sysplus', 0);
  assert.deepEqual(matches(trie, '$SYS/info'), ['sys', 'sysplus']);
});

test('trie - remove prunes and counts; one entry per subscriber and filter', () => {
  const trie = new SubscriptionTrie<string, number>();
  assert.equal(trie.add('a/+', 's1', 0), true);
  assert.equal(trie.add('a/+', 's1', 1), false);
  trie.add('a/#', 's2', 0);
  assert.equal(trie.size, 2);
  assert.equal(trie.remove('a/+', 's1'), true);
  assert.equal(trie.remove('a/+', 's1'), false);
  assert.equal(trie.remove('nope/x', 's1'), false);
  assert.deepEqual(matches(trie, 'a/b'), ['s2']);
  trie.remove('a/#', 's2');
  assert.equal(trie.size, 0);
  assert.deepEqual(matches(trie, 'a/b'), []);
});

test('trie - shared groups live beside plain subscribers', () => {
  const trie = new SubscriptionTrie<string, number>();
  trie.addShared('g', 'a/+', 'm1', 0);
  trie.addShared('g', 'a/+', 'm2', 0);
  trie.addShared('h', 'a/+', 'm3', 0);
  trie.add('a/+', 'plain', 0);
  assert.deepEqual(matches(trie, 'a/x'), ['plain', 'share:g:m1,m2', 'share:h:m3']);
  assert.equal(trie.removeShared('g', 'a/+', 'm1'), true);
  assert.deepEqual(trie.getShared('g', 'a/+')?.order, ['m2']);
  trie.removeShared('g', 'a/+', 'm2');
  assert.equal(trie.getShared('g', 'a/+'), undefined);
  assert.equal(trie.size, 2);
});
