import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledPolicy, resourceName, validatePolicy, type PolicyDocument } from '../../../src/auth/policy.js';

const topic = (t: string, instanceId = 'mqtt-a') => ({ type: 'topic' as const, instanceId, topic: t });

test('policy - allow, explicit deny wins, nothing allowed is denied', () => {
  const doc: PolicyDocument = {
    Version: '1',
    Statement: [
      { Effect: 'Allow', Action: ['mq:PUB', 'mq:SUB'], Resource: resourceName.topic('mqtt-a', 'telemetry') },
      { Effect: 'Deny', Action: 'mq:PUB', Resource: resourceName.topic('mqtt-a', 'telemetry/admin/#') },
    ],
  };
  const p = new CompiledPolicy([doc]);
  assert.equal(p.evaluate('mq:PUB', topic('telemetry/dev1')), 'allow');
  assert.equal(p.evaluate('mq:PUB', topic('telemetry')), 'allow', 'a parent resource covers the parent itself');
  assert.equal(p.evaluate('mq:PUB', topic('telemetry/admin/x')), 'deny');
  assert.equal(p.evaluate('mq:SUB', topic('telemetry/admin/x')), 'allow', 'the deny is for mq:PUB only');
  assert.equal(p.evaluate('mq:PUB', topic('other/x')), 'implicit-deny');
  assert.equal(p.evaluate('mq:PUB', topic('telemetry/x', 'mqtt-b')), 'implicit-deny', 'another instance');
  assert.equal(p.evaluate('mq:ApplyToken', { type: 'instance', instanceId: 'mqtt-a' }), 'implicit-deny');
});

test('policy - a subscription filter needs an allow covering all of it and no overlapping deny', () => {
  const p = new CompiledPolicy([
    {
      Statement: [
        { Effect: 'Allow', Action: 'mq:SUB', Resource: resourceName.topic('mqtt-a', 'a/+/state') },
        { Effect: 'Allow', Action: 'mq:SUB', Resource: resourceName.topic('mqtt-a', 'b') },
        { Effect: 'Deny', Action: 'mq:SUB', Resource: resourceName.topic('mqtt-a', 'b/secret') },
      ],
    },
  ]);
  assert.equal(p.evaluate('mq:SUB', topic('a/+/state')), 'allow');
  assert.equal(p.evaluate('mq:SUB', topic('a/#')), 'implicit-deny');
  assert.equal(p.evaluate('mq:SUB', topic('b/public')), 'allow');
  assert.equal(p.evaluate('mq:SUB', topic('b/#')), 'deny', 'b/# would receive b/secret');
  assert.equal(p.evaluate('mq:SUB', topic('+/x')), 'implicit-deny', 'a wildcard parent is not covered by a parent resource');
});

test('policy - action globs are case-insensitive; resource globs on instances, groups and parents', () => {
  const p = new CompiledPolicy([
    {
      Statement: [
        { Effect: 'Allow', Action: 'MQ:pub', Resource: 'acs:mq:cn-hangzhou:1234:topic/mqtt-*/dev*' },
        { Effect: 'Allow', Action: 'mq:Create*', Resource: 'acs:mq:*:*:groupId/mqtt-a/GID_*' },
        { Effect: 'Allow', Action: 'mq:MqttInstanceAccess', Resource: 'acs:mq:*:*:instance/mqtt-a' },
      ],
    },
  ]);
  assert.equal(p.allows('mq:PUB', topic('device/1', 'mqtt-x')), true);
  assert.equal(p.allows('mq:PUB', topic('Device/1', 'mqtt-x')), true, 'parent topic names are case-insensitive');
  assert.equal(p.allows('mq:PUB', topic('other/1', 'mqtt-x')), false);
  assert.equal(p.allows('mq:CreateMqttGroupId', { type: 'groupId', instanceId: 'mqtt-a', groupId: 'GID_x' }), true);
  assert.equal(p.allows('mq:DeleteMqttGroupId', { type: 'groupId', instanceId: 'mqtt-a', groupId: 'GID_x' }), false);
  assert.equal(p.allows('mq:MqttInstanceAccess', { type: 'instance', instanceId: 'mqtt-a' }), true);
  assert.equal(p.allows('mq:MqttInstanceAccess', { type: 'instance', instanceId: 'mqtt-b' }), false);
});

test('policy - system policies by name', () => {
  const full = new CompiledPolicy(['AliyunMQFullAccess']);
  assert.equal(full.allows('mq:PUB', topic('x')), true);
  assert.equal(full.allows('mq:ApplyToken', { type: 'instance', instanceId: 'mqtt-z' }), true);
  const pub = new CompiledPolicy(['AliyunMQPubOnlyAccess']);
  assert.equal(pub.allows('mq:PUB', topic('x')), true);
  assert.equal(pub.allows('mq:SUB', topic('x')), false);
  const sub = new CompiledPolicy(['AliyunMQSubOnlyAccess']);
  assert.equal(sub.allows('mq:SUB', topic('x/#')), true);
  assert.equal(sub.allows('mq:PUB', topic('x')), false);
  assert.throws(() => new CompiledPolicy(['NoSuchPolicy']), /unknown system policy/);
  assert.equal(full.allows('mq:SUB', topic('$SYS/x')), false, 'topic resources never cover $ topics');
});

test('policy - validation names what is wrong', () => {
  assert.equal(validatePolicy({ Statement: [] }), null);
  assert.match(validatePolicy(null) ?? '', /object/);
  assert.match(validatePolicy({ Statement: [{ Effect: 'Maybe', Action: 'mq:PUB', Resource: '*' }] }) ?? '', /Effect/);
  assert.match(validatePolicy({ Statement: [{ Effect: 'Allow', Action: 'ecs:Run', Resource: '*' }] }) ?? '', /action/);
  assert.match(validatePolicy({ Statement: [{ Effect: 'Allow', Action: 'mq:PUB', Resource: 'topic/x' }] }) ?? '', /resource/);
  assert.match(validatePolicy({ Statement: [{ Effect: 'Allow', Action: 'mq:PUB', Resource: 'acs:mq:*:*:queue/a/b' }] }) ?? '', /unknown resource type/);
  assert.match(validatePolicy({ Statement: [{ Effect: 'Allow', Action: [], Resource: '*' }] }) ?? '', /Action/);
});
