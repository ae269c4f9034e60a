/**
 * The rule delivery thread (src/rules/thread): target connectors run there, and a thread that
 * dies is restarted with a log line and a metric, with every acknowledged message still reaching
 * the target, in order per publishing client (the outbox on the broker thread is the truth).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureLogger, startFerry } from '../../helpers/index.js';
import { redisClient, startRedis, streamFields } from '../../helpers/engines.js';
import { assertFirstOccurrencesInOrder, engineRule as rule } from '../../helpers/rules.js';
import { waitFor } from '../../helpers/wait.js';
import { connect, uniqueId } from '../mqtt/clients.js';

type Entry = [string, string[]];

test('rules - the delivery thread crashes twice mid-stream: restarted, logged, counted, nothing acknowledged lost, order per client kept', async (t) => {
  const redis = await startRedis(t);
  const client = await redisClient(t, redis);
  const logs = captureLogger();
  const ferry = await startFerry(t, {}, { logger: logs.logger });
  const engine = ferry.ruleRuntime.engine;
  const id = uniqueId('rule');
  const stream = uniqueId('flow');
  await engine.apply({ ...rule(ferry, { type: 'outbound', topics: ['flow/#'], target: `${redis.url}/0?stream=${stream}`, maxAttempts: 3 }), id });
  const connected = (): number => logs.lines.filter((l) => l['msg'] === 'connector connected' && l['thread'] === 'rules').length;
  await waitFor(() => connected() >= 1, { message: 'the Redis connector connected on the delivery thread' });
  const thread = engine.deliveryThreadForTests;
  assert.ok(thread !== null, 'the rule delivery thread runs');

  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const pubs = await Promise.all([0, 1, 2].map((i) => connect(t, url, { protocolVersion: 5, clientId: uniqueId(`pub${i}`) })));
  const N = 90;
  const crashing: Array<Promise<void>> = [];
  for (let n = 0; n < N; n++) {
    // Not awaited: the crash lands while rounds are in hand and publishes go on.
    if (n === 30) crashing.push(thread.crashForTests());
    if (n === 60) {
      // The second crash hits the restarted thread, once its target is up again.
      await waitFor(() => connected() >= 2, { message: 'the target connected again on the new thread' });
      crashing.push(thread.crashForTests());
    }
    await Promise.all(pubs.map((p, i) => p.client.publishAsync(`flow/${i}`, `${i}:${n}`, { qos: n % 2 === 0 ? 1 : 0 })));
  }
  await Promise.all(crashing);
  const all = await waitFor(
    async () => {
      const got = ((await client.xrange(stream, '-', '+')) as Entry[]).map((e) => streamFields(e)['payload']!);
      return new Set(got).size >= 3 * N ? got : null;
    },
    { timeoutMs: 60_000, intervalMs: 250, message: 'every message after the restarts' },
  );
  // At least once: a round in hand at the crash is sent again; first occurrences are in order.
  assertFirstOccurrencesInOrder(all, 3, N);
  await waitFor(async () => (await engine.stats(id))?.outboxDepth === 0, { message: 'outbox empty' });
  const stats = (await engine.stats(id))!;
  assert.equal(stats.deadLettered, 0, 'a restart is not a delivery attempt that counts toward the dead letters');
  assert.equal(stats.target?.state, 'connected');
  const crashes = logs.lines.filter((l) => l['msg'] === 'rule delivery thread exited unexpectedly; restarting it (undelivered entries stay in the outboxes)');
  assert.equal(crashes.length, 2, 'one error line per crash');
  assert.equal(crashes[0]!['level'], 'error');
  const metrics = await (await fetch(`http://127.0.0.1:${ferry.ports.http}/metrics`)).text();
  assert.match(metrics, /^ferry_rule_thread_restarts_total 2$/m);
});
