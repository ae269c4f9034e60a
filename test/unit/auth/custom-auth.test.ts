import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hmacSha1Base64, SecretBox } from '../../../src/auth/crypto.js';
import { CustomAuth } from '../../../src/auth/custom-auth.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { ManagementError } from '../../../src/tenancy/errors.js';
import { Tenancy } from '../../../src/tenancy/registry.js';

async function setup() {
  const store = new MemoryStore();
  const box = SecretBox.ephemeral();
  const tenancy = await Tenancy.open(store);
  await tenancy.createInstance({ id: 'mqtt-s' });
  await tenancy.createParentTopic('mqtt-s', 'home');
  const auth = await CustomAuth.open(store, box, tenancy);
  return { store, box, tenancy, auth };
}

test('custom auth - USER identities with ORIGIN, CLIENT identities with SIGNED, CLIENT tried first', async () => {
  const { auth, store, box, tenancy } = await setup();
  await auth.putIdentity('mqtt-s', { username: 'app', identityType: 'USER', secret: 'plain-pw', signMode: 'ORIGIN' }, 'add');
  await auth.putIdentity('mqtt-s', { username: 'app', identityType: 'CLIENT', clientId: 'GID_a@@@1', secret: 'k1', signMode: 'SIGNED' }, 'add');
  assert.deepEqual(auth.authenticate('mqtt-s', 'app', 'GID_a@@@2', 'plain-pw'), { username: 'app', identityType: 'USER', clientId: 'GID_a@@@2' });
  assert.equal(auth.authenticate('mqtt-s', 'app', 'GID_a@@@1', 'plain-pw'), null, 'the CLIENT identity of this client id applies');
  assert.deepEqual(auth.authenticate('mqtt-s', 'app', 'GID_a@@@1', hmacSha1Base64('k1', 'GID_a@@@1'))?.identityType, 'CLIENT');
  assert.equal(auth.authenticate('mqtt-s', 'app', 'GID_a@@@2', 'wrong'), null);
  assert.equal(auth.authenticate('mqtt-default', 'app', 'GID_a@@@2', 'plain-pw'), null, 'identities are per instance');
  assert.equal(auth.hasUsername('mqtt-s', 'app', 'x'), true);
  assert.equal(auth.hasUsername('mqtt-s', 'nobody', 'x'), false);
  const stored = JSON.stringify(await store.listRecords('auth.customIdentities'));
  assert.ok(!stored.includes('plain-pw'), 'secrets sealed at rest');
  const reloaded = await CustomAuth.open(store, box, tenancy);
  assert.ok(reloaded.authenticate('mqtt-s', 'app', 'GID_a@@@2', 'plain-pw'));
  assert.deepEqual(
    reloaded.queryIdentities('mqtt-s', { identityType: 'USER' }).map((i) => [i.Username, i.Secret]),
    [['app', 'plain-pw']],
  );
  await reloaded.deleteIdentity('mqtt-s', 'app', 'USER');
  assert.equal(reloaded.authenticate('mqtt-s', 'app', 'GID_a@@@2', 'plain-pw'), null);
  await assert.rejects(
    auth.putIdentity('mqtt-s', { username: 'a|b', identityType: 'USER', secret: 's', signMode: 'ORIGIN' }, 'add'),
    /must not contain/,
  );
  await assert.rejects(
    auth.putIdentity('mqtt-s', { username: 'ghost', identityType: 'USER', secret: 's', signMode: 'ORIGIN' }, 'update'),
    (e: unknown) => e instanceof ManagementError && e.code === 'CustomAuthIdentityNotFound',
  );
});

test('custom auth - permissions: DENY wins, ALLOW must cover, nothing matching is denied', async () => {
  const { auth } = await setup();
  const put = (Identity: string, IdentityType: 'USER' | 'CLIENT', Topic: string, PermitAction: 'PUB' | 'SUB' | 'PUB_SUB', Effect: 'ALLOW' | 'DENY') =>
    auth.putPermission('mqtt-s', { Identity, IdentityType, Topic, PermitAction, Effect }, 'add');
  await put('app', 'USER', 'home/#', 'PUB_SUB', 'ALLOW');
  await put('app', 'USER', 'home/secret', 'SUB', 'DENY');
  await put('GID_a@@@1', 'CLIENT', 'home/door', 'PUB', 'DENY');
  const user = { username: 'app', identityType: 'USER' as const, clientId: 'GID_a@@@2' };
  const one = { username: 'app', identityType: 'USER' as const, clientId: 'GID_a@@@1' };
  assert.equal(auth.check('mqtt-s', user, 'publish', 'home/door'), 'allow');
  assert.equal(auth.check('mqtt-s', one, 'publish', 'home/door'), 'deny', 'the CLIENT deny applies to that client id');
  assert.equal(auth.check('mqtt-s', user, 'subscribe', 'home/+'), 'deny', 'home/+ would receive home/secret');
  assert.equal(auth.check('mqtt-s', user, 'subscribe', 'home/public'), 'allow');
  assert.equal(auth.check('mqtt-s', user, 'publish', 'home/secret'), 'allow', 'the deny is for SUB only');
  assert.equal(auth.check('mqtt-s', user, 'publish', 'other/x'), 'no-match');
  await auth.putPermission('mqtt-s', { Identity: 'app', IdentityType: 'USER', Topic: 'home/#', PermitAction: 'PUB', Effect: 'ALLOW' }, 'update');
  assert.equal(auth.check('mqtt-s', user, 'subscribe', 'home/public'), 'no-match', 'update replaced the permission');
  assert.equal(auth.queryPermissions('mqtt-s', { identity: 'app' }).length, 2);
  await auth.deletePermission('mqtt-s', 'app', 'USER', 'home/secret');
  assert.equal(auth.queryPermissions('mqtt-s').length, 2);
  await assert.rejects(put('app', 'USER', 'garden/#', 'PUB', 'ALLOW'), /does not exist/, 'strict: the parent topic must exist');
  await assert.rejects(put('app', 'USER', 'home/#', 'ALL' as 'PUB', 'ALLOW'), /PermitAction/);
});

test('custom auth - the connection blacklist', async () => {
  const { auth, store, box, tenancy } = await setup();
  const cut: string[] = [];
  auth.onBlacklisted((i, c) => cut.push(`${i}/${c}`));
  await auth.blacklistAdd('mqtt-s', 'GID_a@@@bad');
  assert.equal(auth.isBlacklisted('mqtt-s', 'GID_a@@@bad'), true);
  assert.equal(auth.isBlacklisted('mqtt-default', 'GID_a@@@bad'), false);
  assert.deepEqual(auth.blacklistQuery('mqtt-s'), [{ ClientId: 'GID_a@@@bad', Effect: 'DENY', PermitAction: 'CONNECT' }]);
  assert.deepEqual(cut, ['mqtt-s/GID_a@@@bad']);
  const reloaded = await CustomAuth.open(store, box, tenancy);
  assert.equal(reloaded.isBlacklisted('mqtt-s', 'GID_a@@@bad'), true);
  await reloaded.blacklistDelete('mqtt-s', 'GID_a@@@bad');
  assert.equal(reloaded.isBlacklisted('mqtt-s', 'GID_a@@@bad'), false);
});
