import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostInstance, resolveInstance, type ResolveContext } from '../../../src/tenancy/resolve.js';

const known = new Set(['mqtt-default', 'mqtt-a', 'mqtt-b']);
const context: ResolveContext = {
  defaultInstanceId: 'mqtt-default',
  listenerInstances: { 'mqtt-b-port': 'mqtt-b', broken: 'mqtt-gone' },
  exists: (id) => known.has(id),
};

test('resolve - username, then listener, then host name, then the default instance', () => {
  assert.deepEqual(resolveInstance({ usernameInstanceId: 'mqtt-a', listener: 'mqtt' }, context), { ok: true, instanceId: 'mqtt-a', source: 'username' });
  assert.deepEqual(resolveInstance({ listener: 'mqtt-b-port' }, context), { ok: true, instanceId: 'mqtt-b', source: 'listener' });
  assert.deepEqual(resolveInstance({ listener: 'mqtts', serverName: 'MQTT-A.mqtt.example.com' }, context), {
    ok: true,
    instanceId: 'mqtt-a',
    source: 'host',
  });
  assert.deepEqual(resolveInstance({ listener: 'mqtt', serverName: 'broker.example.com' }, context), {
    ok: true,
    instanceId: 'mqtt-default',
    source: 'default',
  });
  assert.deepEqual(resolveInstance({ listener: 'mqtt' }, context), { ok: true, instanceId: 'mqtt-default', source: 'default' });
});

test('resolve - unknown instances and disagreeing sources are refused', () => {
  const unknown = resolveInstance({ usernameInstanceId: 'mqtt-zzz', listener: 'mqtt' }, context);
  assert.equal(unknown.ok === false && unknown.reason, 'unknown-instance');
  const listener = resolveInstance({ usernameInstanceId: 'mqtt-a', listener: 'mqtt-b-port' }, context);
  assert.equal(listener.ok === false && listener.reason, 'instance-mismatch');
  const host = resolveInstance({ usernameInstanceId: 'mqtt-a', listener: 'wss', serverName: 'mqtt-b.example.com' }, context);
  assert.equal(host.ok === false && host.reason, 'instance-mismatch');
  const both = resolveInstance({ listener: 'mqtt-b-port', serverName: 'mqtt-a.example.com' }, context);
  assert.equal(both.ok === false && both.reason, 'instance-mismatch');
  const gone = resolveInstance({ listener: 'broken' }, context);
  assert.equal(gone.ok === false && gone.reason, 'unknown-instance');
});

test('resolve - host names name an instance by their first label only if it exists', () => {
  assert.equal(hostInstance('mqtt-a.example.com', context.exists), 'mqtt-a');
  assert.equal(hostInstance('mqtt-a', context.exists), undefined, 'a bare label is not <instance>.<domain>');
  assert.equal(hostInstance('www.example.com', context.exists), undefined);
  assert.equal(hostInstance(undefined, context.exists), undefined);
});
