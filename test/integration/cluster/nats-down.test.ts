/**
 * A cluster node whose NATS is not there: at start it serves its own clients, says why in its
 * log (retrying) and in /readyz (503), and joins once NATS comes; losing NATS mid-run turns
 * readiness off again while QoS 0 keeps flowing between its own clients.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../../helpers/index.js';
import { freePort, startNats } from '../../helpers/engines.js';
import { connect } from '../mqtt/clients.js';
import { startNode } from './nodes.js';

async function readiness(http: string): Promise<{ status: number; body: { status: string; problems?: Array<{ check: string; reason: string }> } }> {
  const res = await fetch(`${http}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; problems?: Array<{ check: string; reason: string }> } };
}

test('cluster - NATS unreachable at start: clear error, retries, /readyz 503 until it comes; lost mid-run: 503, QoS 0 flows locally, back when it returns', async (t) => {
  const natsPort = await freePort();
  // The node's own store: with the JetStream store (the default) a node waits for NATS before it starts (jetstream-store.test.ts).
  const node = await startNode(t, 'lonely', `nats://127.0.0.1:${natsPort}`, ['--cluster-store', 'local']);
  const { proc: ferry, http } = node;
  const failure = await waitFor(() => ferry.logs.find((l) => l['msg'] === 'cannot reach NATS; retrying'), { timeoutMs: 10_000, message: 'retry log line' });
  assert.deepEqual(failure['servers'], [`nats://127.0.0.1:${natsPort}`]);
  assert.equal(failure['level'], 'error');
  const down = await readiness(http);
  assert.equal(down.status, 503);
  assert.equal(down.body.status, 'degraded');
  assert.equal(down.body.problems?.[0]?.check, 'cluster');
  assert.match(down.body.problems?.[0]?.reason ?? '', /cannot reach NATS/);

  const nats = await startNats(t, { port: natsPort });
  await waitFor(async () => (await readiness(http)).status === 200, { timeoutMs: 20_000, intervalMs: 100, message: 'ready once NATS runs' });
  // The log line travels through the node's stdout: it may arrive a moment after /readyz says 200.
  await waitFor(() => ferry.logs.some((l) => l['msg'] === 'joined the cluster'), { timeoutMs: 5000, message: "'joined the cluster' logged" });

  await nats.kill();
  await waitFor(async () => (await readiness(http)).status === 503, { timeoutMs: 10_000, intervalMs: 100, message: 'not ready after NATS is lost' });
  const mqttUrl = node.mqtt;
  const sub = await connect(t, mqttUrl, { clientId: 'local-sub' });
  await sub.client.subscribeAsync('local/#', { qos: 0 });
  const pub = await connect(t, mqttUrl, { clientId: 'local-pub' });
  pub.client.publish('local/x', 'still here', { qos: 0 });
  assert.equal((await sub.waitFor(1, 5000))[0]!.payload, 'still here');

  await nats.restart();
  await waitFor(async () => (await readiness(http)).status === 200, { timeoutMs: 20_000, intervalMs: 100, message: 'ready again once NATS is back' });
});
