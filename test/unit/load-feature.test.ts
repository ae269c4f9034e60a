import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FeatureLoadError, loadFeature } from '../../src/load-feature.js';
import { EXIT_CODES, startFailureExitCode } from '../../src/cli/exit-codes.js';

test('load feature - returns the imported module', async () => {
  const mod = await loadFeature('the test feature', () => import('../../src/cluster/options.js'));
  assert.equal(typeof mod.clusterOptions, 'function');
});

test('load feature - a module that cannot be loaded fails naming the feature and the cause; the start exits 1', async () => {
  const missing = './no-such-feature.js';
  const err = await loadFeature('cluster mode (clusterNats)', () => import(missing)).then(
    () => assert.fail('loaded a missing module'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof FeatureLoadError);
  assert.match(err.message, /^cluster mode \(clusterNats\) is configured but its code cannot be loaded: .*no-such-feature\.js/);
  assert.equal((err.cause as NodeJS.ErrnoException).code, 'ERR_MODULE_NOT_FOUND');
  assert.equal(startFailureExitCode(err), EXIT_CODES.failure);
});

test('load feature - an error while the module evaluates is reported the same way', async () => {
  const err = await loadFeature('the AMQP endpoint (amqpPort, amqpsPort)', () => Promise.reject(new TypeError('boom at import'))).catch((e: unknown) => e);
  assert.ok(err instanceof FeatureLoadError);
  assert.equal(err.message, 'the AMQP endpoint (amqpPort, amqpsPort) is configured but its code cannot be loaded: boom at import');
});
