/**
 * Signed API requests while JetStream elects a leader (docs/cluster.md, "API nonces and bearer
 * tokens"): a signed request's nonce is one KV create in JetStream, which cannot answer for a few
 * seconds after the NATS server leading the nonce bucket is killed. The node asks again for up
 * to 2 s (what a request made late in the election needs), then answers 503 with Retry-After,
 * never later than the SDKs wait; `ferry cluster status` run at that moment asks again and
 * succeeds instead of failing at once. Real processes: three nats-server -js routed into
 * one cluster (bucket R3) and one Ferry node given all three.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { CLI_PATH, cleanEnv, waitFor } from '../../helpers/index.js';
import { startNatsCluster } from '../../helpers/engines.js';
import { rest } from '../api/rest-client.js';
import { signedHeaders } from '../../../src/api/rest/signing.js';
import { ADMIN, BOOTSTRAP, startNode, untilReady } from './nodes.js';

const exec = promisify(execFile);

test('cluster nonces - a NATS server killed under the nonce check: signed requests wait for the election (or get 503 with Retry-After in time) and ferry cluster status succeeds', { timeout: 90_000 }, async (t) => {
  const nats = await startNatsCluster(t, 3);
  const node = await startNode(t, 'nonce-node', nats.urls, [...BOOTSTRAP, '--cluster-replicas', '3']);
  await untilReady(node);
  // The first signed request creates the nonce bucket (R3).
  assert.equal((await rest(node.http, ADMIN, 'GET', '/cluster')).status, 200);

  // Kill the server that leads the bucket's stream: JetStream cannot take a create until another is elected.
  const nc = await natsConnect({ servers: nats.servers.map((s) => s.url) });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const leader = await waitFor(async () => (await jsm.streams.info('KV_ferry_nonces')).cluster?.leader, { timeoutMs: 10_000, message: 'the nonce stream has a leader' });
  const victim = nats.servers.find((_, i) => leader.endsWith(`-${i}`));
  assert.ok(victim !== undefined, `the leader ${leader} is one of the test's servers`);
  await nc.close();
  await victim.kill();
  const killedAt = Date.now();

  // An operator's `ferry cluster status` at that moment, and signed REST calls all through the election.
  const cli = exec(process.execPath, [CLI_PATH, 'cluster', 'status', '--json', '--endpoint', node.http, '--access-key-id', ADMIN.id, '--access-key-secret', ADMIN.secret], {
    env: cleanEnv(),
  });
  const answers: Array<{ at: number; status: number; ms: number; code?: string; retryAfter?: string }> = [];
  const recovered = (): boolean => node.proc.logs.some((l) => l['msg'] === 'JetStream checks signature nonces again');
  let recoveredAt = 0;
  // Four callers, staggered, so some request is waiting when JetStream answers again.
  const caller = async (delayMs: number): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    while (Date.now() - killedAt < 30_000) {
      const started = Date.now();
      const res = await fetch(`${node.http}/api/v1/cluster`, { headers: signedHeaders({ method: 'GET', path: '/api/v1/cluster', query: '', body: '' }, ADMIN) });
      const body = (await res.json()) as { error?: { code: string } };
      answers.push({
        at: started - killedAt,
        status: res.status,
        ms: Date.now() - started,
        ...(body.error === undefined ? {} : { code: body.error.code }),
        ...(res.headers.get('retry-after') === null ? {} : { retryAfter: res.headers.get('retry-after')! }),
      });
      if (recoveredAt === 0 && recovered()) recoveredAt = Date.now();
      // A few more calls once JetStream answers again, then stop.
      if (recoveredAt !== 0 && Date.now() - recoveredAt > 1000) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  await Promise.all([0, 450, 900, 1350].map(caller));
  answers.sort((x, y) => x.at - y.at);
  const { stdout } = await cli;
  t.diagnostic(`answers after the kill: ${JSON.stringify(answers)}`);
  const down = node.proc.logs.find((l) => String(l['msg'] ?? '').startsWith('JetStream cannot check signature nonces now'));
  const up = node.proc.logs.find((l) => l['msg'] === 'JetStream checks signature nonces again');
  t.diagnostic(`down: ${JSON.stringify(down)} up: ${JSON.stringify(up)}`);
  assert.ok(down !== undefined, 'JetStream could not answer a nonce check for a while (else this test proves nothing)');
  assert.ok(up !== undefined, 'and answered again');
  // Never accepted unchecked, never left hanging past what the SDKs wait (3 s): 200, or 503 with Retry-After within about 2 s.
  for (const a of answers) {
    assert.ok(a.status === 200 || (a.status === 503 && a.code === 'ServiceUnavailable' && a.retryAfter === '1'), JSON.stringify(a));
    assert.ok(a.ms < 2800, `answered within the wait (${JSON.stringify(a)})`);
  }
  assert.equal(answers.at(-1)?.status, 200);
  // Requests made late in the election were answered once it was over (they waited instead of failing).
  const metrics = await (await fetch(`${node.http}/metrics`)).text();
  assert.match(metrics, /ferry_cluster_nonce_checks_delayed_total\{outcome="answered"\} [1-9]/);
  assert.equal((JSON.parse(stdout) as { enabled: boolean }).enabled, true, 'ferry cluster status answered (asking again after a 503 with Retry-After)');
});
