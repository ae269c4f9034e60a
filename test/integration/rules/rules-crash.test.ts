/**
 * A rule created through the REST contract survives `kill -9` of Ferry mid-stream: every message
 * Ferry acknowledged (PUBACK) reaches the Redis stream after the restart (at least once), in order
 * per publishing client.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnFerry, tempDir } from '../../helpers/index.js';
import { redisClient, startRedis } from '../../helpers/engines.js';
import { waitFor } from '../../helpers/wait.js';
import { connect } from '../mqtt/clients.js';
import { rest } from '../api/rest-client.js';
import { DEFAULT_INSTANCE_ID } from '../../../src/broker/options.js';

const KEY = { id: 'FERRYRULECRASH1', secret: 'bootstrap-secret-rules-crash-01' };
const ENV = { FERRY_BOOTSTRAP_ACCESS_KEY_ID: KEY.id, FERRY_BOOTSTRAP_ACCESS_KEY_SECRET: KEY.secret };
const ARGS = ['--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0', '--log-level', 'info'];

test('rules - kill -9 mid-stream: every acknowledged message reaches the target after the restart, in order per client', async (t) => {
  const redis = await startRedis(t);
  const client = await redisClient(t, redis);
  const dataDir = tempDir(t);
  let ferry = await spawnFerry(t, ['--data-dir', dataDir, ...ARGS], { env: ENV });
  const endpoint = (): string => `http://127.0.0.1:${ferry.ports['http']}`;
  const instanceId = DEFAULT_INSTANCE_ID;
  const created = await rest(endpoint(), KEY, 'POST', `/instances/${instanceId}/rules`, {
    name: 'to-redis',
    type: 'outbound',
    topics: ['sensors/#'],
    target: `redis://127.0.0.1:${redis.port}/0?stream=sensors`,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const ruleId = created.body['id'] as string;
  assert.match(ruleId, /\S+/);

  const acked: string[] = [];
  const pub = await connect(t, `mqtt://127.0.0.1:${ferry.ports['mqtt']}`, { protocolVersion: 5, clientId: 'GID_car@@@crash1', reconnectPeriod: 0 });
  const publishing = (async () => {
    for (let i = 0; i < 100_000; i++) {
      try {
        await pub.client.publishAsync('sensors/x', `m${i}`, { qos: 1 });
        acked.push(`m${i}`);
      } catch {
        return;
      }
    }
  })();
  await waitFor(() => acked.length >= 300, { timeoutMs: 30_000, message: '300 acknowledged' });
  ferry.child.kill('SIGKILL');
  await ferry.exited;
  // Nothing can be acknowledged after the kill; in-flight publishes never settle (no reconnect).
  const total = acked.length;
  pub.client.end(true);
  // eslint-disable-next-line @typescript-eslint/no-floating-promises -- its loop catches every error: it cannot reject
  void publishing;

  ferry = await spawnFerry(t, ['--data-dir', dataDir, ...ARGS], { env: ENV });
  const got = await waitFor(
    async () => {
      const entries = (await client.xrange('sensors', '-', '+')) as Array<[string, string[]]>;
      const payloads = entries.map(([, f]) => f[f.indexOf('payload') + 1]!);
      return new Set(payloads).size >= total ? payloads : null;
    },
    { timeoutMs: 60_000, intervalMs: 250, message: `all ${total} acknowledged messages in Redis` },
  );
  const firsts: string[] = [];
  for (const p of got) if (!firsts.includes(p)) firsts.push(p);
  assert.deepEqual(firsts.slice(0, total), acked, 'in order, none missing');
  const stats = await rest(endpoint(), KEY, 'GET', `/instances/${instanceId}/rules/${ruleId}/stats`);
  assert.equal(stats.status, 200);
  assert.equal(stats.body['outboxDepth'], 0);
});
