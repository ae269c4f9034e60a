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
