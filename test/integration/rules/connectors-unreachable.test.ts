import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createConnectorRegistry } from '../../../src/rules/connectors/index.js';
import { freePort } from '../../helpers/engines.js';
import { asMessages, plainMessage } from '../../helpers/connector-fixtures.js';
import { waitFor } from '../../helpers/wait.js';

const registry = createConnectorRegistry();

describe('unreachable connectors', () => {
  for (const [scheme, query] of [
    ['redis', 'stream=s'],
    ['nats', 'subject=s'],
    ['amqp', 'exchange=x'],
    ['http', ''],
  ] as const) {
    it(`unreachable connectors - ${scheme}: start() resolves, health says why, deliver fails fast and retryable, no password shown`, async (t) => {
      const port = await freePort(); // nothing listens there
      const url = scheme === 'http' ? `http://u:pw-123@127.0.0.1:${port}/hook` : `${scheme}://u:pw-123@127.0.0.1:${port}/?${query}`;
      const logs: string[] = [];
      const logger = { info: (o: object, m: string) => logs.push(JSON.stringify(o) + m), warn: (o: object, m: string) => logs.push(JSON.stringify(o) + m), error: (o: object, m: string) => logs.push(JSON.stringify(o) + m) };
      const target = registry.createTarget(url, { timeoutMs: 2_000, logger });
      t.after(() => target.stop());
      await target.start();
      const started = Date.now();
      const [outcome] = await target.deliver(asMessages([plainMessage(1)]));
      assert.ok(outcome && !outcome.ok && outcome.retryable, JSON.stringify(outcome));
      assert.ok(Date.now() - started < 5_000, 'fails within the timeout');
      const health = await waitFor(async () => {
        const h = await target.health();
        return h.lastError !== undefined ? h : undefined;
      }, { message: 'health has the last error' });
      assert.notEqual(health.state, 'connected');
      assert.match(health.lastError ?? '', /ECONNREFUSED|refused|connect|fetch failed/i);
      assert.equal(target.url.includes('pw-123'), false);
      assert.equal(logs.some((l) => l.includes('pw-123')), false, 'no log line carries the password');
      assert.ok(logs.length > 0, 'the failure is logged');
      await target.stop();
      assert.equal((await target.health()).state, 'stopped');
      const [afterStop] = await target.deliver(asMessages([plainMessage(2)]));
      assert.ok(afterStop && !afterStop.ok);
    });
  }

  it('unreachable connectors - a redis source whose server never answers still stops (Ferry shutdown does not hang)', async () => {
    const port = await freePort(); // nothing listens there
    const source = registry.createSource(`redis://127.0.0.1:${port}/0?stream=s&group=g`, { parentTopic: 'cmd' });
    await source.start();
    source.consume(async () => undefined);
    // Long enough for ioredis to be reconnecting with a command queued (it never settles then).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = Date.now();
    await source.stop();
    assert.ok(Date.now() - started < 5_000, `stopped in ${Date.now() - started} ms`);
    assert.equal((await source.health()).state, 'stopped');
  });
});
