import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHttpServer, createLogger, healthModule, Readiness } from '../../../src/internal.js';

test('http - healthz is ok; readyz follows the readiness state', async (t) => {
  const readiness = new Readiness();
  const app = await createHttpServer({ logger: createLogger({ level: 'silent' }), modules: [healthModule(readiness)] });
  t.after(() => app.close());
  const healthz = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(healthz.statusCode, 200);
  assert.deepEqual(healthz.json(), { status: 'ok' });

  const expectations = [
    ['starting', 503],
    ['ready', 200],
    ['stopping', 503],
  ] as const;
  for (const [state, status] of expectations) {
    readiness.state = state;
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, status, state);
    assert.deepEqual(res.json(), { status: state });
  }
});

test('http - modules are registered under their prefix', async (t) => {
  const app = await createHttpServer({
    logger: createLogger({ level: 'silent' }),
    modules: [{ name: 'demo', prefix: '/api/v1', plugin: async (a) => void a.get('/ping', async () => ({ pong: true })) }],
  });
  t.after(() => app.close());
  assert.deepEqual((await app.inject({ method: 'GET', url: '/api/v1/ping' })).json(), { pong: true });
  assert.equal((await app.inject({ method: 'GET', url: '/ping' })).statusCode, 404);
});
