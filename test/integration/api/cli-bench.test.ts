/** `ferry bench` against a real Ferry: its JSON summary agrees with what Ferry itself counted (/metrics). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, startFerry, waitFor } from '../../helpers/index.js';

/** Value of one unlabelled sample line of /metrics. */
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line !== undefined, `${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

interface Summary {
  scenario: string;
  clients: { requested: number; connected: number; failed: number };
  messages: { sent?: number; acknowledged?: number; received?: number; perSecond: number; clientsShort?: number };
  latencyMs: { count: number; p50: number; p99: number; max: number } | null;
  connectMs: { count: number } | null;
  errors: { total: number };
}

test('cli bench - pub and sub summaries match the messages Ferry counted', async (t) => {
  const ferry = await startFerry(t, {}, { announce: null });
  const common = ['--data-dir', ferry.config.dataDir, '--qos', '1'];
  const inBefore = await metric(ferry.ports.http, 'ferry_messages_received_total');
  const outBefore = await metric(ferry.ports.http, 'ferry_messages_sent_total');

  const subs = runCli(['bench', 'sub', '-c', '2', '--topic', 'bench/#', '--count', '200', '--duration', '60s', ...common]);
  await waitFor(() => ferry.broker.subscriptionCount >= 2, { timeoutMs: 30_000 });
  const pubs = await runCli(['bench', 'pub', '-c', '4', '--count', '50', '--size', '32', '--topic', 'bench/%i/%c', '--mode', 'signature', ...common]);
  assert.equal(pubs.code, 0, pubs.stderr);
  const pub = JSON.parse(pubs.stdout) as Summary;
  const subbed = await subs;
  assert.equal(subbed.code, 0, subbed.stderr);
  const sub = JSON.parse(subbed.stdout) as Summary;

  assert.deepEqual([pub.clients.connected, pub.clients.failed, pub.errors.total], [4, 0, 0]);
  assert.equal(pub.messages.sent, 200);
  assert.equal(pub.messages.acknowledged, 200);
  assert.equal(pub.latencyMs?.count, 200, 'one publish-to-PUBACK latency per message');
  assert.ok(pub.latencyMs.p50 > 0 && pub.latencyMs.p50 <= pub.latencyMs.p99 && pub.latencyMs.p99 <= pub.latencyMs.max);
  assert.ok(pub.messages.perSecond > 0);
  assert.equal(pub.connectMs?.count, 4);

  assert.equal(sub.messages.received, 400, 'each of the 2 subscribers got all 200');
  assert.equal(sub.messages.clientsShort, 0);
  assert.equal(sub.latencyMs?.count, 400, 'every payload carried its send time');
  assert.equal(sub.errors.total, 0);

  assert.equal((await metric(ferry.ports.http, 'ferry_messages_received_total')) - inBefore, pub.messages.acknowledged);
  assert.equal((await metric(ferry.ports.http, 'ferry_messages_sent_total')) - outBefore, sub.messages.received);
});

test('cli bench - conn holds the clients; failures are counted, reported in one line and exit 1', async (t) => {
  const ferry = await startFerry(t, {}, { announce: null });
  const dir = ['--data-dir', ferry.config.dataDir];
  const holding = runCli(['bench', 'conn', '-c', '5', '--duration', '3s', ...dir]);
  await waitFor(async () => (await metric(ferry.ports.http, 'ferry_connections')) === 5, { timeoutMs: 30_000 });
  const conn = await holding;
  assert.equal(conn.code, 0, conn.stderr);
  const held = JSON.parse(conn.stdout) as Summary;
  assert.deepEqual([held.clients.connected, held.connectMs?.count, held.errors.total], [5, 5, 0]);

  // A custom identity allowed only on ok/#: every publish elsewhere is refused with 0x87.
  assert.equal((await runCli(['identity', 'add', 'erin', '--secret', 's', '--sign-mode', 'ORIGIN', ...dir])).code, 0);
  assert.equal((await runCli(['identity', 'permit', 'erin', 'ok/#', ...dir])).code, 0);
  const refused = await runCli(['bench', 'pub', '-c', '2', '--count', '5', '--qos', '1', '--mode', 'custom', '--username', 'erin', '--secret', 's', '--sign-mode', 'ORIGIN', ...dir]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, 'ferry bench: 10 error(s), the most frequent: publish refused: Not authorized (0x87)\n');
  const summary = JSON.parse(refused.stdout) as Summary;
  assert.deepEqual([summary.messages.sent, summary.messages.acknowledged, summary.errors.total], [10, 0, 10]);

  const unreachable = await runCli(['bench', 'conn', '-c', '3', '--url', 'mqtt://127.0.0.1:9', ...dir]);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /^ferry bench: 3 error\(s\), the most frequent: cannot connect: .*ECONNREFUSED/);
  assert.equal((JSON.parse(unreachable.stdout) as Summary).clients.failed, 3);
});
