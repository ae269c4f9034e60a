import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { filterCovers } from '../../../src/topic/filter.js';
import { SubscriptionTrie, type MatchVisitor } from '../../../src/topic/trie.js';
import type { MatchCacheLimits } from '../../../src/topic/match-cache.js';

type Op =
  | { kind: 'add'; filter: string; sub: string; opt: number }
  | { kind: 'remove'; filter: string; sub: string }
  | { kind: 'addShared'; group: string; filter: string; sub: string }
  | { kind: 'removeShared'; group: string; filter: string; sub: string }
  | { kind: 'match'; topic: string };

/**
 * What a visitor saw: "sub:options" in visit order, then "share:group:filter:members" in visit
 * order. (The router collects the two kinds apart, so only each kind's own order matters.)
 */
function visits(trie: SubscriptionTrie<string, number>, topic: string, cached: boolean): string[] {
  const subs: string[] = [];
  const groups: string[] = [];
  const visitor: MatchVisitor<string, number> = {
    subscriber: (s, o) => subs.push(`${s}:${o}`),
    sharedGroup: (g) => groups.push(`share:${g.name}:${g.filter}:${g.order.join(',')}`),
  };
  if (cached) trie.match(topic, visitor);
  else trie.walk(topic, visitor);
  return [...subs, ...groups];
}

// A small alphabet so filters and topics collide often; '$x' exercises [MQTT-4.7.2-1].
const level = fc.constantFrom('a', 'b', '', '$x');
const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
const wildcardFilter = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '', '+', '$x'), { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));
// Literal filters often: they invalidate one entry only, the path most likely to go wrong.
const filter = fc.oneof({ weight: 2, arbitrary: topic }, { weight: 1, arbitrary: wildcardFilter });
const sub = fc.constantFrom('s1', 's2', 's3', 's4');
const group = fc.constantFrom('g', 'h');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('add' as const), filter, sub, opt: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), filter, sub }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('addShared' as const), group, filter, sub }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeShared' as const), group, filter, sub }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('match' as const), topic }) },
);

function check(limits: MatchCacheLimits | undefined, ops: Op[]): void {
  const trie = new SubscriptionTrie<string, number>(limits);
  // The model: every live subscription, matched with filterCovers (the ACL code's relation).
  const plain = new Map<string, number>(); // "filter\0sub" → options
  const shared = new Map<string, Set<string>>(); // "group\0filter" → members
  for (const o of ops) {
    switch (o.kind) {
      case 'add':
        trie.add(o.filter, o.sub, o.opt);
        plain.set(`${o.filter}\0${o.sub}`, o.opt);
        break;
      case 'remove':
        assert.equal(trie.remove(o.filter, o.sub), plain.delete(`${o.filter}\0${o.sub}`));
        break;
      case 'addShared': {
        trie.addShared(o.group, o.filter, o.sub, 0);
        const key = `${o.group}\0${o.filter}`;
        if (!shared.has(key)) shared.set(key, new Set());
        shared.get(key)!.add(o.sub);
        break;
      }
      case 'removeShared': {
        const key = `${o.group}\0${o.filter}`;
        const members = shared.get(key);
        const had = members?.delete(o.sub) ?? false;
        if (members?.size === 0) shared.delete(key);
        assert.equal(trie.removeShared(o.group, o.filter, o.sub), had);
        break;
      }
      case 'match': {
        const walked = visits(trie, o.topic, false);
        // Twice: the first may fill the cache, the second is answered from it.
        assert.deepEqual(visits(trie, o.topic, true), walked, `first match of ${o.topic}`);
        assert.deepEqual(visits(trie, o.topic, true), walked, `cached match of ${o.topic}`);
        const expected: string[] = [];
        for (const [key, opt] of plain) {
          const [f, s] = key.split('\0') as [string, string];
          if (filterCovers(f, o.topic)) expected.push(`${s}:${opt}`);
        }
        for (const [key, members] of shared) {
          const [g, f] = key.split('\0') as [string, string];
          if (filterCovers(f, o.topic)) expected.push(`share:${g}:${f}:${[...members].join(',')}`);
        }
        assert.deepEqual([...walked].sort(), expected.sort(), `model match of ${o.topic}`);
        break;
      }
    }
  }
}

test('match cache - cached matches equal the plain matcher and the model under random changes', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => check(undefined, ops)),
    { numRuns: 1000 },
  );
});

test('match cache - tiny bounds (eviction, oversized results, long topics) change nothing visible', () => {
  const limits = { maxEntries: 2, maxTopicLength: 5, maxResultSize: 2 };
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => check(limits, ops)),
    { numRuns: 1000 },
  );
});

test('match cache - repeated topics hit, a change drops only what it can affect', () => {
  const trie = new SubscriptionTrie<string, number>();
  trie.add('a/b', 's1', 0);
  visits(trie, 'a/b', true);
  visits(trie, 'a/c', true);
  assert.equal(trie.cache.misses, 2);
  visits(trie, 'a/b', true);
  assert.equal(trie.cache.hits, 1);
  // A literal filter only drops its own topic.
  trie.add('a/c', 's2', 1);
  assert.equal(trie.cache.size, 1);
  assert.deepEqual(visits(trie, 'a/c', true), ['s2:1']);
  // A wildcard filter drops everything.
  trie.add('a/+', 's3', 0);
  assert.equal(trie.cache.size, 0);
  assert.deepEqual(visits(trie, 'a/b', true).sort(), ['s1:0', 's3:0']);
});

test('match cache - holds at most maxEntries topics, oldest first out', () => {
  const trie = new SubscriptionTrie<string, number>({ maxEntries: 3, maxTopicLength: 64, maxResultSize: 8 });
  trie.add('#', 's', 0);
  for (const t of ['t1', 't2', 't3', 't4']) visits(trie, t, true);
  assert.equal(trie.cache.size, 3);
  const misses = trie.cache.misses;
  visits(trie, 't4', true);
  assert.equal(trie.cache.misses, misses);
  visits(trie, 't1', true);
  assert.equal(trie.cache.misses, misses + 1);
});

test('match cache - a working set larger than the cache stops filling it; one that fits fills it again', () => {
  const trie = new SubscriptionTrie<string, number>({ maxEntries: 64, maxTopicLength: 64, maxResultSize: 8 });
  trie.add('d/+/t', 'ingest', 1);
  trie.add('d/7/t', 'seven', 0);
  // 1,000 distinct topics cycling: nearly every lookup misses, so few results are stored.
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 1000; i++) {
      const expected = i === 7 ? ['ingest:1', 'seven:0'] : ['ingest:1'];
      assert.deepEqual(visits(trie, `d/${i}/t`, true).sort(), expected);
    }
  }
  // 10,000 misses: all of the first window stored, then one in 64 (storing each: 10,000).
  assert.ok(trie.cache.stores < 2000, `stored ${trie.cache.stores}`);
  // 32 hot topics: sampled lookups find them, the hit rate turns the cache fully back on, and
  // then every lookup hits.
  for (let i = 0; i < 200_000; i++) visits(trie, `d/${i % 32}/t`, true);
  const hits = trie.cache.hits;
  for (let i = 0; i < 1000; i++) visits(trie, `d/${i % 32}/t`, true);
  assert.equal(trie.cache.hits - hits, 1000);
});
