/** The nonce cache and the bearer token table stay bounded per AccessKey (docs/security.md). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BearerTokens } from '../../../src/api/rest/bearer.js';
import { MAX_NONCE_LENGTH, NonceCache } from '../../../src/api/rpc/nonce-cache.js';

const WINDOW = 15 * 60_000;

test('nonce cache - long nonces are refused unstored, each key has its own quota, entries expire', () => {
  const limits: string[] = [];
  const cache = new NonceCache(WINDOW, 3, (v) => limits.push(v));
  assert.equal(cache.use('low', 'x'.repeat(MAX_NONCE_LENGTH + 1), 0), 'too-long');
  assert.equal(cache.size, 0);
  for (const n of ['a', 'b', 'c']) assert.equal(cache.use('low', n, 0), 'ok');
  assert.equal(cache.use('low', 'a', 1), 'used');
  assert.equal(cache.use('low', 'd', 1), 'quota', 'the key is at its quota');
  assert.equal(cache.use('admin', 'd', 1), 'ok', 'another key is not');
  assert.deepEqual(limits, ['too-long', 'quota']);
  // Remembered for two windows, then forgotten (and the quota is free again).
  assert.equal(cache.use('low', 'a', 2 * WINDOW - 1), 'used');
  assert.equal(cache.use('low', 'a', 2 * WINDOW + 1), 'ok');
  assert.equal(cache.size, 2);
});

test('bearer tokens - a key over its quota is refused without touching other keys\' tokens', () => {
  let now = 0;
  const tokens = new BearerTokens(() => now, 2);
  const admin = tokens.issue('admin', 60)!;
  assert.ok(tokens.issue('low', 60));
  assert.ok(tokens.issue('low', 60));
  assert.equal(tokens.issue('low', 60), null);
  assert.equal(tokens.verify(admin.token)?.accessKeyId, 'admin');
  now = 61_000;
  assert.ok(tokens.issue('low', 60), 'expired tokens free the quota');
  assert.equal(tokens.verify(admin.token), undefined, 'and expire themselves');
  const t = tokens.issue('low', 60)!;
  assert.equal(tokens.revoke(t.token), true);
  assert.ok(tokens.issue('low', 60), 'a revoked token frees its slot');
});

test('nonce cache - with a cluster ledger a nonce another node used is refused; a ledger that cannot answer refuses and forgets the nonce here', async () => {
  // The ledger's logic stands in for the KV bucket (tested for real in test/integration/cluster/metadata.test.ts).
  const claimed = new Map<string, number>();
  let down = false;
  const ledger = {
    claim: (id: string, ttlMs: number): Promise<boolean> => {
      if (down) return Promise.reject(new Error('no JetStream'));
      if (claimed.has(id)) return Promise.resolve(false);
      claimed.set(id, ttlMs);
      return Promise.resolve(true);
    },
  };
  const nodeA = new NonceCache(WINDOW, 10, null, ledger);
  const nodeB = new NonceCache(WINDOW, 10, null, ledger);
  assert.equal(await nodeA.claim('key', 'n1', 0), 'ok');
  assert.deepEqual([...claimed.values()], [2 * WINDOW], 'remembered cluster-wide for two windows');
  assert.equal(await nodeB.claim('key', 'n1', 1), 'used', 'replayed on another node');
  assert.equal(await nodeB.claim('other-key', 'n1', 1), 'ok', 'nonces are per AccessKey');
  assert.equal(await nodeA.claim('key', 'n1', 2), 'used', 'and on the first, without asking the ledger');
  down = true;
  await assert.rejects(nodeA.claim('key', 'n2', 3), /no JetStream/);
  down = false;
  assert.equal(await nodeA.claim('key', 'n2', 4), 'ok', 'the refused request may be retried with its nonce');
  assert.equal(await new NonceCache(WINDOW, 10).claim('key', 'n1', 0), 'ok', 'a single node has no ledger');
});
