import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../src/config/index.js';

test('config - auth settings come from FERRY_* variables with their checks', () => {
  const { config } = loadConfig({
    env: {
      FERRY_BOOTSTRAP_ACCESS_KEY_ID: 'BOOTKEY0001',
      FERRY_BOOTSTRAP_ACCESS_KEY_SECRET: 'a-long-enough-secret',
      FERRY_DEFAULT_INSTANCE_ID: 'mqtt-home',
      FERRY_LISTENER_INSTANCES: '{"mqtts":"mqtt-a"}',
      FERRY_LOGIN_MAX_FAILURES_PER_USERNAME: '3',
    },
  });
  assert.equal(config.bootstrapAccessKeyId, 'BOOTKEY0001');
  assert.equal(config.bootstrapAccessKeySecret, 'a-long-enough-secret');
  assert.equal(config.broker.defaultInstanceId, 'mqtt-home');
  assert.deepEqual(config.listenerInstances, { mqtts: 'mqtt-a' });
  assert.equal(config.loginMaxFailuresPerUsername, 3);
  assert.equal(config.loginMaxFailuresPerIp, 100);
  assert.equal(config.loginBlockSeconds, 60);
});

test('config - auth settings are validated', () => {
  assert.throws(() => loadConfig({ env: { FERRY_BOOTSTRAP_ACCESS_KEY_ID: 'BOOTKEY0001' } }), (e: unknown) =>
    e instanceof ConfigError && /bootstrapAccessKeySecret is not/.test(e.message),
  );
  assert.throws(() => loadConfig({ env: { FERRY_BOOTSTRAP_ACCESS_KEY_ID: 'x', FERRY_BOOTSTRAP_ACCESS_KEY_SECRET: 'a-long-enough-secret' } }), /8-64/);
  assert.throws(() => loadConfig({ env: { FERRY_BOOTSTRAP_ACCESS_KEY_ID: 'BOOTKEY0001', FERRY_BOOTSTRAP_ACCESS_KEY_SECRET: 'short' } }), /16/);
  assert.throws(() => loadConfig({ env: { FERRY_DEFAULT_INSTANCE_ID: 'Not_An_Id' } }), /3-63/);
  assert.throws(() => loadConfig({ env: { FERRY_LISTENER_INSTANCES: '{"mqtt":"BAD ID"}' } }), /not an instance id/);
  assert.throws(() => loadConfig({ env: { FERRY_LISTENER_INSTANCES: '["mqtt"]' } }), /JSON object/);
});
