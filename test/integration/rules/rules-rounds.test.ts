/**
 * The rule's dispatcher on the delivery thread (src/rules/thread/lane.ts) with several rounds in
 * flight against a real Redis whose writes start failing mid-stream (maxmemory: OOM, a retryable
 * failure) and recover: every acknowledged message reaches the stream, in order per publishing
 * client (first occurrences), and the failures are counted and retried, not dead-lettered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFerry } from '../../helpers/index.js';
import { redisClient, startRedis, streamFields } from '../../helpers/engines.js';
import { assertFirstOccurrencesInOrder, engineRule as rule } from '../../helpers/rules.js';
import { waitFor } from '../../helpers/wait.js';
import { connect, uniqueId } from '../mqtt/clients.js';

type Entry = [string, string[]];

test('rules - Redis refuses writes mid-stream with several rounds in flight: retried, nothing acknowledged lost, order per client kept', async (t) => {
  const redis = await startRedis(t, { appendfsync: 'everysec' });
  const client = await redisClient(t, redis);
  const ferry = await startFerry(t);
  const engine = ferry.ruleRuntime.engine;
  const id = uniqueId('rule');
  const stream = uniqueId('rounds');
  await engine.apply({ ...rule(ferry, { type: 'outbound', topics: ['rounds/#'], target: `${redis.url}/0?stream=${stream}`, maxAttempts: 1000 }), id });

  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const clients = 4;
  const N = 1500;
  const pubs = await Promise.all(Array.from({ length: clients }, (_, i) => connect(t, url, { clientId: uniqueId(`pub${i}`) })));
  let outage: Promise<void> | null = null;
  // 64 in flight per publisher: the rule's outbox fills faster than one round drains it.
  for (let n = 0; n < N; n += 64) {
    if (n >= N / 3 && outage === null) {
      outage = (async () => {
        await client.config('SET', 'maxmemory', '1');
        await new Promise((resolve) => setTimeout(resolve, 400));
        await client.config('SET', 'maxmemory', '0');
      })();
    }
    await Promise.all(
      pubs.flatMap((p, i) => Array.from({ length: Math.min(64, N - n) }, (_, k) => p.client.publishAsync(`rounds/${i}`, `${i}:${n + k}`, { qos: 1 }))),
    );
  }
  await outage;
  const all = await waitFor(
    async () => {
      const got = ((await client.xrange(stream, '-', '+')) as Entry[]).map((e) => streamFields(e)['payload']!);
      return new Set(got).size >= clients * N ? got : null;
    },
    { timeoutMs: 60_000, intervalMs: 250, message: 'every message after the outage' },
  );
  assertFirstOccurrencesInOrder(all, clients, N);
  await waitFor(async () => (await engine.stats(id))?.outboxDepth === 0, { message: 'outbox empty' });
  const stats = (await engine.stats(id))!;
  assert.ok(stats.failed > 0 && stats.retried > 0, `the outage failed deliveries that were retried (${JSON.stringify(stats)})`);
  assert.match(stats.lastError ?? '', /OOM/);
  assert.equal(stats.deadLettered, 0);
  assert.equal(stats.delivered, clients * N, 'each entry left the outbox once');
});
