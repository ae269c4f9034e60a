/** Client ids, P2P topics, CONNECT credentials and RPC parameter flattening of ferry-mqtt/sdk. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { parseTokenPassword } from '../../../src/auth/token-wire.js';
import { checkClientId, clientId, credentials, FerryInputError, flattenParams, p2pTargetOf, p2pTopic, parseClientId, tokenPassword } from '../../../src/sdk/index.js';

test('sdk client ids - GroupID@@@DeviceID is built, parsed and checked as a strict instance does', () => {
  assert.equal(clientId('GID_car', 'dev-1'), 'GID_car@@@dev-1');
  assert.deepEqual(parseClientId('GID_car@@@dev-1'), { groupId: 'GID_car', deviceId: 'dev-1' });
  assert.equal(parseClientId('car@@@dev-1'), null, 'the group must be GID_…');
  assert.equal(parseClientId('GID_car@@@'), null, 'the device id must not be empty');
  assert.equal(checkClientId(`GID_car@@@${'x'.repeat(54)}`), null, '64 characters');
  assert.match(checkClientId(`GID_car@@@${'x'.repeat(55)}`)!, /64/);
  assert.throws(() => clientId('GID_car', 'dev 1'), FerryInputError);
  assert.throws(() => clientId('GID', 'dev1'), /Group ID/);
});

test('sdk p2p - topics are <parent>/p2p/<clientId> and round-trip', () => {
  assert.equal(p2pTopic('chat', 'GID_a@@@b'), 'chat/p2p/GID_a@@@b');
  assert.equal(p2pTargetOf('chat/p2p/GID_a@@@b'), 'GID_a@@@b');
  assert.equal(p2pTargetOf('chat/room/1'), null);
  assert.throws(() => p2pTopic('chat/x', 'GID_a@@@b'), FerryInputError);
  assert.throws(() => p2pTopic('chat', 'GID_a@@@#'), FerryInputError);
});

test('sdk credentials - every mode builds the username and password the reference specifies', () => {
  const sig = (secret: string, text: string) => createHmac('sha1', secret).update(text).digest('base64');
  assert.deepEqual(credentials({ mode: 'signature', accessKeyId: 'AK1', accessKeySecret: 'SK1', instanceId: 'mqtt-x' }, 'GID_a@@@1'), { username: 'Signature|AK1|mqtt-x', password: sig('SK1', 'GID_a@@@1') });
  assert.deepEqual(credentials({ mode: 'device-credential', deviceAccessKeyId: 'DC.k', deviceAccessKeySecret: 'DC.s', instanceId: 'mqtt-x' }, 'GID_a@@@1'), { username: 'DeviceCredential|DC.k|mqtt-x', password: sig('DC.s', 'GID_a@@@1') });
  assert.deepEqual(credentials({ mode: 'custom', username: 'u', secret: 's', signMode: 'ORIGIN' }, 'c'), { username: 'u', password: 's' });
  assert.deepEqual(credentials({ mode: 'custom', username: 'u', secret: 's', signMode: 'SIGNED' }, 'c'), { username: 'u', password: sig('s', 'c') });
  assert.deepEqual(credentials({ mode: 'anonymous' }, 'c'), {});
  const token = credentials({ mode: 'token', accessKeyId: 'AK1', instanceId: 'mqtt-x', tokens: [{ type: 'R', token: 'r1' }, { type: 'W', token: 'w1' }] }, 'c');
  assert.deepEqual(token, { username: 'Token|AK1|mqtt-x', password: 'R|r1|W|w1' });
  assert.deepEqual([...parseTokenPassword(token.password!)!], [['R', 'r1'], ['W', 'w1']], 'the broker reads back what the SDK wrote');
  assert.throws(() => tokenPassword([{ type: 'R', token: 'a' }, { type: 'R', token: 'b' }]), /one token per type/);
  assert.throws(() => tokenPassword([]), /at least one/);
  assert.throws(() => credentials({ mode: 'signature', accessKeyId: 'A|B', accessKeySecret: 's', instanceId: 'i' }, 'c'), FerryInputError);
});

test('sdk rpc - lists and objects are flattened as the Alibaba Cloud SDKs send them', () => {
  assert.deepEqual(Object.fromEntries(flattenParams({ InstanceId: 'i', ClientIdList: ['a', 'b'], Tag: [{ Key: 'k', Value: 'v' }], Skip: undefined, N: 3, B: true })), {
    InstanceId: 'i', 'ClientIdList.1': 'a', 'ClientIdList.2': 'b', 'Tag.1.Key': 'k', 'Tag.1.Value': 'v', N: '3', B: 'true',
  });
});
