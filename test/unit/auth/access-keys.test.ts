import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessKeys } from '../../../src/auth/access-keys.js';
import { hmacSha1Base64, SecretBox } from '../../../src/auth/crypto.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { ManagementError } from '../../../src/tenancy/errors.js';

test('access keys - create, verify a signature, deactivate, delete', async () => {
  const store = new MemoryStore();
  const keys = await AccessKeys.open(store, SecretBox.ephemeral());
  const { key, secret } = await keys.create({ policies: ['AliyunMQFullAccess'], description: 'backend' });
  assert.match(key.id, /^FERRY[A-Za-z0-9]{19}$/);
  assert.match(secret, /^[A-Za-z0-9]{30}$/);
  const password = hmacSha1Base64(secret, 'GID_a@@@1');
  assert.equal(keys.verifySignature(key.id, 'GID_a@@@1', password), true);
  assert.equal(keys.verifySignature(key.id, 'GID_a@@@2', password), false, 'signature of another client id');
  assert.equal(keys.verifySignature('FERRYunknownunknown', 'GID_a@@@1', password), false);
  assert.ok(keys.policy(key.id));
  const changes: string[] = [];
  keys.onChange((id) => changes.push(id));
  await keys.update(key.id, { status: 'Inactive' });
  assert.equal(keys.verifySignature(key.id, 'GID_a@@@1', password), false);
  assert.equal(keys.policy(key.id), undefined);
  await keys.delete(key.id);
  assert.equal(keys.get(key.id), undefined);
  assert.deepEqual(changes, [key.id, key.id]);
  await assert.rejects(keys.delete(key.id), (e: unknown) => e instanceof ManagementError && e.code === 'AccessKeyNotFound');
});

test('access keys - secrets are sealed in the store and survive a reload', async () => {
  const store = new MemoryStore();
  const box = SecretBox.ephemeral();
  const keys = await AccessKeys.open(store, box);
  const { key, secret } = await keys.create({ id: 'AKfixed0001', secret: 'a-secret-of-enough-length', policies: [] });
  assert.equal(secret, 'a-secret-of-enough-length');
  const stored = JSON.stringify(await store.getRecord('auth.accessKeys', key.id));
  assert.ok(!stored.includes(secret), 'no plain secret in the store');
  const again = await AccessKeys.open(store, box);
  assert.equal(again.secret(key.id), secret);
  assert.equal(again.get(key.id)?.policies.length, 0);
  const info = JSON.stringify(again.list());
  assert.ok(!info.includes(secret), 'listings never carry the secret');
});

test('access keys - input checks', async () => {
  const keys = await AccessKeys.open(new MemoryStore(), SecretBox.ephemeral());
  await assert.rejects(keys.create({ id: 'bad id!' }), /8-64/);
  await assert.rejects(keys.create({ secret: 'short' }), /16/);
  await assert.rejects(keys.create({ policies: ['Nope'] }), (e: unknown) => e instanceof ManagementError && e.code === 'PolicyInvalid');
  await keys.create({ id: 'AKduplicate1' });
  await assert.rejects(keys.create({ id: 'AKduplicate1' }), (e: unknown) => e instanceof ManagementError && e.code === 'AccessKeyAlreadyExists');
});

test('access keys - bootstrap from configuration, or generated once', async () => {
  const store = new MemoryStore();
  const box = SecretBox.ephemeral();
  const keys = await AccessKeys.open(store, box);
  const generated = await keys.ensureBootstrap(null);
  assert.ok(generated.created !== null, 'first start generates a key');
  const again = await (await AccessKeys.open(store, box)).ensureBootstrap(null);
  assert.equal(again.id, generated.id);
  assert.equal(again.created, null, 'later starts do not generate or show it again');
  assert.ok(keys.policy(generated.id)?.allows('mq:ApplyToken', { type: 'instance', instanceId: 'mqtt-x' }));

  const given = await keys.ensureBootstrap({ id: 'BOOTSTRAPKEY1', secret: 'bootstrap-secret-0001' });
  assert.deepEqual(given, { id: 'BOOTSTRAPKEY1', created: null });
  assert.equal(keys.secret('BOOTSTRAPKEY1'), 'bootstrap-secret-0001');
  await keys.update('BOOTSTRAPKEY1', { status: 'Inactive', policies: [] });
  await keys.ensureBootstrap({ id: 'BOOTSTRAPKEY1', secret: 'bootstrap-secret-0002' });
  assert.equal(keys.secret('BOOTSTRAPKEY1'), 'bootstrap-secret-0002', 'the configured secret wins');
  assert.ok(keys.policy('BOOTSTRAPKEY1')?.allows('mq:PUB', { type: 'topic', instanceId: 'i', topic: 't' }), 'full access restored');
});
