import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RELAXED_LIMITS, resolveLimits, STRICT_LIMITS } from '../../../src/tenancy/limits.js';
import {
  checkClientId,
  checkGroupId,
  checkInstanceId,
  checkInstanceName,
  checkParentTopic,
  checkTopic,
  p2pTarget,
  parseClientId,
} from '../../../src/tenancy/names.js';

test('names - instance ids are host name labels', () => {
  assert.equal(checkInstanceId('mqtt-default'), null);
  assert.equal(checkInstanceId('mqtt-cn-0pp12gl2'), null);
  assert.notEqual(checkInstanceId('MQTT-x'), null, 'lower case only');
  assert.notEqual(checkInstanceId('mq'), null, 'at least 3');
  assert.notEqual(checkInstanceId('-mqtt'), null);
  assert.notEqual(checkInstanceId('mqtt_x'), null);
  assert.notEqual(checkInstanceId('a'.repeat(64)), null);
  assert.equal(checkInstanceName('My_instance-1'), null);
  assert.notEqual(checkInstanceName('ab'), null);
  assert.notEqual(checkInstanceName('has space'), null);
});

test('names - Group IDs: GID_ or GID-, 7 to 64 characters', () => {
  assert.equal(checkGroupId('GID_abc'), null);
  assert.equal(checkGroupId('GID-a_b-c'), null);
  assert.notEqual(checkGroupId('GID_ab'), null, '6 characters');
  assert.notEqual(checkGroupId('gid_abcd'), null);
  assert.notEqual(checkGroupId('GROUP_abc'), null);
  assert.notEqual(checkGroupId('GID_a.b'), null);
  assert.equal(checkGroupId(`GID_${'x'.repeat(60)}`), null);
  assert.notEqual(checkGroupId(`GID_${'x'.repeat(61)}`), null, '65 characters');
});

test('names - client ids: GroupID@@@DeviceID in strict mode, anything MQTT allows in relaxed', () => {
  assert.deepEqual(parseClientId('GID_test@@@0001'), { groupId: 'GID_test', deviceId: '0001' });
  assert.equal(parseClientId('plain'), null);
  assert.equal(checkClientId('strict', STRICT_LIMITS, 'GID_test@@@0001'), null);
  assert.match(checkClientId('strict', STRICT_LIMITS, 'plain') ?? '', /<GroupID>@@@<DeviceID>/);
  assert.match(checkClientId('strict', STRICT_LIMITS, 'GID_test@@@') ?? '', /device id/);
  assert.match(checkClientId('strict', STRICT_LIMITS, 'GID_test@@@a b') ?? '', /device id/);
  assert.match(checkClientId('strict', STRICT_LIMITS, `GID_test@@@${'d'.repeat(54)}`) ?? '', /64/);
  assert.equal(checkClientId('relaxed', RELAXED_LIMITS, 'anything goes'), null);
  assert.notEqual(checkClientId('relaxed', RELAXED_LIMITS, 'GID_x@@@1'), null, 'a GID id still needs a valid group');
});

test('names - topics in strict mode: 3 to 64 characters of the managed set; P2P on its parent', () => {
  assert.equal(checkTopic('strict', STRICT_LIMITS, 'abc/def', false), null);
  assert.match(checkTopic('strict', STRICT_LIMITS, 'ab', false) ?? '', /shorter/);
  assert.match(checkTopic('strict', STRICT_LIMITS, `a/${'b'.repeat(63)}`, false) ?? '', /longer/);
  assert.match(checkTopic('strict', STRICT_LIMITS, 'abc/d:e', false) ?? '', /only use/);
  assert.equal(checkTopic('strict', STRICT_LIMITS, 'abc/+/d', true), null);
  assert.equal(checkTopic('strict', STRICT_LIMITS, `abc/p2p/GID_x@@@${'d'.repeat(60)}`, false), null);
  assert.equal(checkTopic('relaxed', RELAXED_LIMITS, 'a', false), null);
  assert.equal(checkTopic('relaxed', RELAXED_LIMITS, 'ü/ß:%', false), null);
  assert.equal(p2pTarget('abc/p2p/GID_x@@@1'), 'GID_x@@@1');
  assert.equal(p2pTarget('abc/x/p2p/GID_x@@@1'), null, 'p2p must be the second level');
  assert.equal(p2pTarget('abc/p2p/'), null);
  assert.equal(checkParentTopic('strict', 'abc'), null);
  assert.notEqual(checkParentTopic('strict', 'ab'), null);
  assert.notEqual(checkParentTopic('relaxed', '$SYS'), null);
});

test('names - limits override a mode\'s defaults and are checked', () => {
  const limits = resolveLimits('strict', { maxConnections: 10 });
  assert.equal(typeof limits === 'object' && limits.maxConnections, 10);
  assert.equal(typeof limits === 'object' && limits.maxSubscriptionsPerClient, 30);
  assert.match(String(resolveLimits('strict', { nope: 1 })), /unknown limit/);
  assert.match(String(resolveLimits('strict', { maxConnections: -1 })), /integer/);
  assert.match(String(resolveLimits('strict', { minTokenValidityMs: 10, maxTokenValidityMs: 5 })), /above/);
});
