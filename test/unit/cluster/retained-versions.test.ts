import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { chunkEntries, decodeRetainedEntry, encodeRetainedEntry, splitChunk } from '../../../src/cluster/retained-entry.js';
import { compareVersions, RetainedVersions, type VersionEntry, type VersionJournal } from '../../../src/cluster/retained-versions.js';

/** A journal that keeps what it was told, as the store would. */
function journal(): VersionJournal & { kept: Map<string, VersionEntry> } {
  const kept = new Map<string, VersionEntry>();
  return { kept, put: (key, entry) => kept.set(key, entry), delete: (key) => void kept.delete(key) };
}

test('cluster retained versions - a peer update is taken only when newer; a tombstone keeps an older message from coming back', () => {
  let now = 1_000_000;
  const a = new RetainedVersions('node-a', null, undefined, () => now);
  const b = new RetainedVersions('node-b', null, undefined, () => now);
  const v1 = a.local('i/t', false, 0);
  assert.equal(b.offer('i/t', v1), true);
  assert.equal(b.offer('i/t', v1), false, 'the same version twice changes nothing');
  now += 5;
  const deletion = a.local('i/t', true, 0);
  assert.equal(b.offer('i/t', deletion), true);
  assert.equal(b.offer('i/t', v1), false, 'the older message does not come back over the deletion');
  assert.equal(b.get('i/t')?.deleted, true);
  // A deletion of a topic this node never had is remembered too.
  assert.equal(b.offer('i/u', { ...a.next(), deleted: true, expiresAt: 0 }), true);
  assert.equal(b.offer('i/u', v1), false);
});

test('cluster retained versions - equal timestamps are ordered by node id; a node never stamps behind what it has seen', () => {
  assert.ok(compareVersions({ ts: 5, node: 'a' }, { ts: 5, node: 'b' }) < 0);
  assert.ok(compareVersions({ ts: 6, node: 'a' }, { ts: 5, node: 'b' }) > 0);
  assert.equal(compareVersions({ ts: 5, node: 'a' }, { ts: 5, node: 'a' }), 0);
  // b's clock is 10 s behind a's: its change made after seeing a's must still win.
  const a = new RetainedVersions('node-a', null, undefined, () => 2_000_000);
  const b = new RetainedVersions('node-b', null, undefined, () => 1_990_000);
  const set = a.local('i/t', false, 0);
  b.offer('i/t', set);
  const cleared = b.local('i/t', true, 0);
  assert.ok(compareVersions(cleared, set) > 0);
  assert.equal(a.offer('i/t', cleared), true);
  // Many changes in one millisecond stay ordered.
  const first = a.next();
  const second = a.next();
  assert.ok(compareVersions(second, first) > 0);
});

test('cluster retained versions - nodes that get the same updates in any order, any number of times, hold the newest of each topic', () => {
  const keys = ['i/a', 'i/b', 'i/c'];
  const op = fc.record({ node: fc.integer({ min: 0, max: 2 }), key: fc.constantFrom(...keys), deleted: fc.boolean(), tick: fc.integer({ min: 0, max: 3 }) });
  fc.assert(
    fc.property(
      fc.array(op, { minLength: 1, maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 3, maxLength: 3 }),
      fc.integer(),
      (ops, skews, seed) => {
        let clock = 1_000_000;
        const nodes = [0, 1, 2].map((i) => new RetainedVersions(`node-${i}`, null, undefined, () => clock - skews[i]!));
        const updates: Array<{ key: string; entry: VersionEntry }> = [];
        let rand = seed >>> 0;
        const next = (n: number): number => {
          rand = (Math.imul(rand, 1103515245) + 12345) >>> 0;
          return rand % n;
        };
        for (const o of ops) {
          clock += o.tick;
          // Some updates reach some nodes before the next change (partial, out of order).
          for (let i = 0; i < 2 && updates.length > 0; i++) {
            const u = updates[next(updates.length)]!;
            nodes[next(3)]!.offer(u.key, u.entry);
          }
          updates.push({ key: o.key, entry: nodes[o.node]!.local(o.key, o.deleted, 0) });
        }
        // Then every node gets every update, in its own order, some twice.
        for (const node of nodes) {
          const order = [...updates, ...updates.filter(() => next(2) === 0)].sort(() => next(3) - 1);
          for (const u of order) node.offer(u.key, u.entry);
        }
        for (const key of keys) {
          const mine = updates.filter((u) => u.key === key).map((u) => u.entry);
          const newest = mine.reduce<VersionEntry | undefined>((best, e) => (best === undefined || compareVersions(e, best) > 0 ? e : best), undefined);
          for (const node of nodes) assert.deepEqual(node.get(key), newest);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('cluster retained versions - tombstones are forgotten after their time or over the cap, expired messages become tombstones, all through the journal', () => {
  let now = 10_000_000;
  const j = journal();
  const v = new RetainedVersions('node-a', j, { tombstoneMs: 1000, maxTombstones: 2 }, () => now);
  v.local('i/old', true, 0);
  v.local('i/live', false, now + 500);
  assert.equal(j.kept.get('i/old')?.deleted, true);
  now += 600;
  assert.equal(v.prune(), 0);
  assert.equal(v.get('i/live')?.deleted, true, 'an expired message is a tombstone');
  assert.equal(j.kept.get('i/live')?.deleted, true);
  now += 500; // i/old is 1100 ms old, i/live's expiry 600 ms ago
  assert.equal(v.prune(), 1);
  assert.equal(v.get('i/old'), undefined);
  assert.equal(j.kept.has('i/old'), false);
  // Over the cap, the oldest tombstone goes at once.
  v.local('i/x', true, 0);
  v.local('i/y', true, 0);
  assert.equal(v.tombstoneCount, 2);
  assert.equal(v.get('i/live'), undefined);
  assert.equal(j.kept.has('i/live'), false);
  // A message set again over its tombstone is no tombstone any more.
  v.local('i/x', false, 0);
  assert.equal(v.tombstoneCount, 1);
  assert.deepEqual([...v.deletions()].map(([k]) => k), ['i/y']);
});

test('cluster retained versions - restored versions keep the newest; a message without one counts as oldest', () => {
  const v = new RetainedVersions('node-a', null, undefined, () => 1000);
  v.restore('i/t', { ts: 5_000_000, node: 'node-b', deleted: false, expiresAt: 0 });
  v.restore('i/t', { ts: 4_000_000, node: 'node-b', deleted: true, expiresAt: 0 });
  assert.equal(v.get('i/t')?.ts, 5_000_000);
  v.adopt('i/t', 0);
  assert.equal(v.get('i/t')?.ts, 5_000_000);
  v.adopt('i/u', 0);
  assert.equal(v.get('i/u')?.ts, 0);
  assert.equal(v.offer('i/u', { ts: 1, node: 'node-c', deleted: false, expiresAt: 0 }), true);
  // The clock is past everything restored.
  assert.ok(v.next().ts > 5_000_000);
});

test('cluster retained entries - a message and a deletion round-trip with their versions, in chunks', () => {
  const message = encodeRetainedEntry({
    version: { ts: 1_765_000_000_123_456, node: 'node-ä', deleted: false, expiresAt: 1234 },
    envelope: { origin: 'node-ä#1', seq: 0, topic: 'inst/a/b', qos: 1, retain: true, wantsAck: false, expiresAt: 1234, properties: { contentType: 'x' }, payload: Buffer.from('hi') },
  });
  const deletion = encodeRetainedEntry({
    version: { ts: 7, node: 'n', deleted: true, expiresAt: 0 },
    envelope: { origin: 'n#1', seq: 0, topic: 'inst/a/c', qos: 0, retain: true, wantsAck: false, expiresAt: 0, properties: undefined, payload: Buffer.alloc(0) },
  });
  const chunks = chunkEntries([message, deletion, message], message.length + 5);
  assert.equal(chunks.length, 2);
  const parts = chunks.map(splitChunk);
  assert.deepEqual(parts.map((p) => p.index), [0, 1]);
  const [m, d] = parts[0]!.entries.map(decodeRetainedEntry);
  assert.deepEqual(m!.version, { ts: 1_765_000_000_123_456, node: 'node-ä', deleted: false, expiresAt: 1234 });
  assert.equal(Buffer.from(m!.envelope.payload).toString(), 'hi');
  assert.equal(m!.envelope.topic, 'inst/a/b');
  assert.deepEqual(d!.version, { ts: 7, node: 'n', deleted: true, expiresAt: 0 });
  assert.throws(() => decodeRetainedEntry(Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), /format 2/);
  assert.throws(() => splitChunk(Buffer.from([0, 0, 0, 0, 0, 0, 0, 9, 1])), /truncated/);
});
