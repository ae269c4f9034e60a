import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hmacSha1Base64, SecretBox } from '../../../src/auth/crypto.js';
import { DeviceCredentials } from '../../../src/auth/device-credentials.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { ManagementError } from '../../../src/tenancy/errors.js';
import { Tenancy } from '../../../src/tenancy/registry.js';

async function setup() {
  const store = new MemoryStore();
  const box = SecretBox.ephemeral();
  const tenancy = await Tenancy.open(store);
  await tenancy.createInstance({ id: 'mqtt-s' });
  await tenancy.createGroup('mqtt-s', 'GID_dev');
  const devices = new DeviceCredentials(store, box, tenancy);
  return { store, box, tenancy, devices };
}

test('device credentials - register, verify, re-register keeps, refresh rotates, unregister removes', async () => {
  const { devices, store } = await setup();
  const changes: string[] = [];
  devices.onChange((i, c) => changes.push(`${i}/${c}`));
  const cred = await devices.register('mqtt-s', 'GID_dev@@@1');
  assert.match(cred.DeviceAccessKeyId, /^DC\.[A-Za-z0-9]{20}$/);
  assert.match(cred.DeviceAccessKeySecret, /^DC\.[A-Za-z0-9]{30}$/);
  assert.equal(cred.ClientId, 'GID_dev@@@1');
  assert.equal(cred.InstanceId, 'mqtt-s');
  const password = hmacSha1Base64(cred.DeviceAccessKeySecret, 'GID_dev@@@1');
  assert.equal(await devices.verify(cred.DeviceAccessKeyId, 'mqtt-s', 'GID_dev@@@1', password), true);
  assert.equal(await devices.verify(cred.DeviceAccessKeyId, 'mqtt-s', 'GID_dev@@@2', hmacSha1Base64(cred.DeviceAccessKeySecret, 'GID_dev@@@2')), false, 'bound to its client id');
  assert.equal(await devices.verify(cred.DeviceAccessKeyId, 'mqtt-default', 'GID_dev@@@1', password), false, 'bound to its instance');
  assert.equal(await devices.verify('DC.unknown', 'mqtt-s', 'GID_dev@@@1', password), false);
  assert.deepEqual(await devices.register('mqtt-s', 'GID_dev@@@1'), cred, 'registering again returns the credential');
  assert.deepEqual(await devices.get('mqtt-s', 'GID_dev@@@1'), cred);
  const stored = JSON.stringify(await store.listRecords('auth.deviceCredentials'));
  assert.ok(!stored.includes(cred.DeviceAccessKeySecret), 'the secret is sealed at rest');

  const refreshed = await devices.refresh('mqtt-s', 'GID_dev@@@1');
  assert.equal(refreshed.DeviceAccessKeyId, cred.DeviceAccessKeyId);
  assert.notEqual(refreshed.DeviceAccessKeySecret, cred.DeviceAccessKeySecret);
  assert.equal(await devices.verify(cred.DeviceAccessKeyId, 'mqtt-s', 'GID_dev@@@1', password), false, 'the old secret stops working');
  assert.equal(
    await devices.verify(cred.DeviceAccessKeyId, 'mqtt-s', 'GID_dev@@@1', hmacSha1Base64(refreshed.DeviceAccessKeySecret, 'GID_dev@@@1')),
    true,
  );
  await devices.unregister('mqtt-s', 'GID_dev@@@1');
  assert.equal(await devices.verify(cred.DeviceAccessKeyId, 'mqtt-s', 'GID_dev@@@1', password), false);
  await assert.rejects(devices.get('mqtt-s', 'GID_dev@@@1'), (e: unknown) => e instanceof ManagementError && e.code === 'DeviceCredentialNotFound');
  assert.deepEqual(changes, ['mqtt-s/GID_dev@@@1', 'mqtt-s/GID_dev@@@1']);
});

test('device credentials - client ids follow the instance rules', async () => {
  const { devices } = await setup();
  await assert.rejects(devices.register('mqtt-s', 'GID_unknown@@@1'), /does not exist/);
  await assert.rejects(devices.register('mqtt-s', 'free'), /GroupID/);
  await assert.rejects(devices.register('mqtt-none', 'GID_dev@@@1'), (e: unknown) => e instanceof ManagementError && e.code === 'InstanceNotFound');
});

test('device credentials - client ids of a group are listed in pages', async () => {
  const { devices, tenancy } = await setup();
  await tenancy.createGroup('mqtt-s', 'GID_other');
  for (let i = 0; i < 7; i++) await devices.register('mqtt-s', `GID_dev@@@d${i}`);
  await devices.register('mqtt-s', 'GID_other@@@x');
  const first = await devices.list('mqtt-s', 'GID_dev', 3);
  assert.deepEqual(first.ClientIdList, ['GID_dev@@@d0', 'GID_dev@@@d1', 'GID_dev@@@d2']);
  assert.equal(first.Total, 7);
  assert.equal(first.NextToken, 'GID_dev@@@d2');
  const second = await devices.list('mqtt-s', 'GID_dev', 3, first.NextToken!);
  assert.deepEqual(second.ClientIdList, ['GID_dev@@@d3', 'GID_dev@@@d4', 'GID_dev@@@d5']);
  const last = await devices.list('mqtt-s', 'GID_dev', 3, second.NextToken!);
  assert.deepEqual(last.ClientIdList, ['GID_dev@@@d6']);
  assert.equal(last.NextToken, null);
  const byPage = await devices.list('mqtt-s', 'GID_dev', 3, undefined, 3);
  assert.deepEqual(byPage.ClientIdList, ['GID_dev@@@d6']);
  await assert.rejects(devices.list('mqtt-s', 'GID_dev', 101), /PageSize/);
});
