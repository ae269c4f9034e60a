import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hmacSha1Base64, loadOrCreateMasterKey, MASTER_KEY_FILE, randomAlphanumeric, safeEqual, SecretBox } from '../../../src/auth/crypto.js';
import { tempDir } from '../../helpers/temp.js';

test('crypto - HMAC-SHA1 signature matches the managed service formula', () => {
  // Base64(HmacSHA1(key = secret, data = clientId)), as the demos compute it (value from Python's hmac).
  assert.equal(hmacSha1Base64('secretKey123', 'GID_test@@@0001'), '6Fwy9wb1spGPi5p9wNMldmrMSvA=');
});

test('crypto - constant-time equality compares content and length', () => {
  assert.equal(safeEqual('abc', 'abc'), true);
  assert.equal(safeEqual('abc', 'abd'), false);
  assert.equal(safeEqual('abc', 'abcd'), false);
  assert.equal(safeEqual('', ''), true);
});

test('crypto - random identifiers use the alphabet and length asked for', () => {
  const id = randomAlphanumeric(40);
  assert.match(id, /^[A-Za-z0-9]{40}$/);
  assert.notEqual(randomAlphanumeric(40), id);
});

test('crypto - secret box seals and opens, bound to its context', () => {
  const box = SecretBox.ephemeral();
  const sealed = box.seal('s3cret', 'ak:ONE');
  assert.ok(!sealed.includes('s3cret'));
  assert.notEqual(box.seal('s3cret', 'ak:ONE'), sealed, 'a fresh IV every time');
  assert.equal(box.open(sealed, 'ak:ONE'), 's3cret');
  assert.throws(() => box.open(sealed, 'ak:TWO'), 'sealed for another record');
  const parts = sealed.split('.');
  parts[3] = Buffer.from('tampered').toString('base64url');
  assert.throws(() => box.open(parts.join('.'), 'ak:ONE'), 'altered ciphertext');
  assert.throws(() => SecretBox.ephemeral().open(sealed, 'ak:ONE'), 'another key');
});

test('crypto - master key file is created once, private, and reused', (t) => {
  const dir = tempDir(t);
  const key = loadOrCreateMasterKey(dir);
  assert.equal(key.length, 32);
  assert.equal(statSync(join(dir, MASTER_KEY_FILE)).mode & 0o777, 0o600);
  assert.deepEqual(loadOrCreateMasterKey(dir), key);
  const sealed = new SecretBox(key).seal('x', 'c');
  assert.equal(new SecretBox(loadOrCreateMasterKey(dir)).open(sealed, 'c'), 'x');
  writeFileSync(join(dir, MASTER_KEY_FILE), Buffer.alloc(5));
  assert.throws(() => loadOrCreateMasterKey(dir), /damaged/);
});
