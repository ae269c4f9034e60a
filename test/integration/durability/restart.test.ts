/**
 * Durability across restarts with real processes: a graceful stop and start, and kill -9 under
 * QoS 1 and QoS 2 load. What Ferry acknowledged (PUBACK / PUBREC) must be there afterwards;
 * QoS 2 messages must not be delivered twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnFerry, tempDir, type FerryChild } from '../../helpers/index.js';
import { connect, expectNoMore, uniqueId } from '../mqtt/clients.js';
import type { TestContext } from 'node:test';

// The queue cap is raised above what the crash tests publish (up to ~1,100 messages), so every
// acknowledged message must be there: the default cap (1,000) would drop the oldest by design.
const ARGS = ['--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0', '--log-level', 'info', '--max-queued-messages', '100000'];

async function start(t: TestContext, dataDir: string, extra: readonly string[] = []): Promise<FerryChild> {
  return spawnFerry(t, ['--data-dir', dataDir, ...ARGS, ...extra]);
}

/** The offline window (off by default) on, large enough for the whole backlog of the drain test. */
const WINDOW = ['--offline-window-bytes', String(32 * 1024 * 1024)];

const url = (ferry: FerryChild) => `mqtt://127.0.0.1:${ferry.ports['mqtt']}`;

test('durability - sessions, offline queue and retained messages survive a graceful restart', async (t) => {
  const dataDir = tempDir(t);
  const topic = uniqueId('restart');
  const clientId = uniqueId('durable');
  let ferry = await start(t, dataDir);

  const v5 = { protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 3600 } };
  const sub = await connect(t, url(ferry), v5);
  await sub.client.subscribeAsync(`${topic}/#`, { qos: 2 });
  await sub.client.endAsync();

  const pub = await connect(t, url(ferry), { protocolVersion: 5, clientId: uniqueId() });
  for (let i = 0; i < 50; i++) await pub.client.publishAsync(`${topic}/q`, `m${i}`, { qos: (i % 2) + 1 as 1 | 2 });
  await pub.client.publishAsync(`${topic}/retained`, 'kept', { qos: 1, retain: true });
  await pub.client.endAsync();

  ferry.child.kill('SIGTERM');
  assert.equal((await ferry.exited).code, 0);
  ferry = await start(t, dataDir);

  const back = await connect(t, url(ferry), v5);
  assert.equal(back.connack.sessionPresent, true);
  // 50 queued + the retained one (delivered live, since the subscription existed).
  const got = await back.waitFor(51, 5000);
  // In order per QoS (mqtt.js surfaces a QoS 2 message only after its PUBREL round trip).
  for (const qos of [1, 2]) {
    assert.deepEqual(
      got.filter((r) => r.topic === `${topic}/q` && r.packet.qos === qos).map((r) => r.payload),
      Array.from({ length: 50 }, (_, i) => `m${i}`).filter((_, i) => i % 2 === qos - 1),
    );
  }
  await expectNoMore(back, 51);

  const late = await connect(t, url(ferry), { protocolVersion: 4, clientId: uniqueId() });
  await late.client.subscribeAsync(`${topic}/retained`, { qos: 1 });
  const [retained] = await late.waitFor(1);
  assert.equal(retained?.payload, 'kept');
  assert.equal(retained?.packet.retain, true);
});

test('durability - kill -9 while a session drains its backlog from memory: every acknowledged message comes back after the restart', async (t) => {
  const dataDir = tempDir(t);
  const topic = uniqueId('drain');
  const persistent = { protocolVersion: 4 as const, clientId: uniqueId('drainer'), clean: false };
  let ferry = await start(t, dataDir, WINDOW);
  const sub = await connect(t, url(ferry), persistent);
  await sub.client.subscribeAsync(topic, { qos: 1 });
  await sub.client.endAsync();
  const pub = await connect(t, url(ferry), { protocolVersion: 4, clientId: uniqueId('pub') });
  const total = 10_000;
  for (let i = 0; i < total; i += 100) {
    // Every one acknowledged (durable) before the kill; the offline session holds them in memory too.
    await Promise.all(Array.from({ length: 100 }, (_, k) => pub.client.publishAsync(topic, `m${i + k}`, { qos: 1 })));
  }
  pub.client.end(true);
  // The client returns and Ferry is killed in the middle of the drain: deliveries acknowledged,
  // their removals not yet committed, others in flight.
  const first = await connect(t, url(ferry), persistent);
  let killed = false;
  const killAt = (): void => {
    if (killed || first.received.length < 1000) return;
    killed = true;
    ferry.child.kill('SIGKILL');
  };
  first.client.on('message', killAt);
  killAt();
  await first.waitFor(1000, 20_000);
  await ferry.exited;
  const part = new Set(first.received.map((r) => r.payload));
  first.client.end(true);
  assert.ok(part.size < total, `killed before the end of the drain (${part.size} of ${total})`);

  ferry = await start(t, dataDir, WINDOW);
  const back = await connect(t, url(ferry), persistent);
  assert.equal(back.connack.sessionPresent, true);
  const seen = new Set(part);
  const deadline = Date.now() + 20_000;
  while (seen.size < total && Date.now() < deadline) {
    for (const r of back.received.splice(0)) seen.add(r.payload);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(seen.size, total, 'every acknowledged message arrives (at least once)');
});

for (const qos of [1, 2] as const) {
  test(`durability - kill -9 under QoS ${qos} load loses no acknowledged message${qos === 2 ? ' and duplicates none' : ''}`, async (t) => {
    const dataDir = tempDir(t);
    const topic = uniqueId('crash');
    const subId = uniqueId('offline');
    const persistent = { protocolVersion: 4 as const, clientId: subId, clean: false };
    const acknowledged = new Set<string>();

    for (let round = 0; round < 3; round++) {
      const ferry = await start(t, dataDir);
      if (round === 0) {
        const sub = await connect(t, url(ferry), persistent);
        await sub.client.subscribeAsync(topic, { qos });
        await sub.client.endAsync();
      }
      const pub = await connect(t, url(ferry), { protocolVersion: 4, clientId: uniqueId('pub') });
      // Publish with 16 in flight until the kill; count what Ferry acknowledged.
      let n = 0;
      let stop = false;
      const killAfter = 50 + Math.floor(Math.random() * 300);
      const workers = Array.from({ length: 16 }, async () => {
        while (!stop) {
          const payload = `r${round}-${n++}`;
          try {
            await pub.client.publishAsync(topic, payload, { qos });
            acknowledged.add(payload);
            if (acknowledged.size >= killAfter * (round + 1)) stop = true;
          } catch {
            return;
          }
        }
      });
      await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, 5000))]);
      ferry.child.kill('SIGKILL');
      stop = true;
      await ferry.exited;
      pub.client.end(true);
    }

    const ferry = await start(t, dataDir);
    const sub = await connect(t, url(ferry), persistent);
    assert.equal(sub.connack.sessionPresent, true);
    const deadline = Date.now() + 10_000;
    const seen = new Map<string, number>();
    for (;;) {
      for (const r of sub.received.splice(0)) seen.set(r.payload, (seen.get(r.payload) ?? 0) + 1);
      const missing = [...acknowledged].filter((p) => !seen.has(p));
      if (missing.length === 0) break;
      if (Date.now() > deadline) assert.fail(`${missing.length} acknowledged messages missing, e.g. ${missing.slice(0, 5).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(acknowledged.size >= 150, `only ${acknowledged.size} messages acknowledged`);
    if (qos === 2) {
      const duplicated = [...seen].filter(([, count]) => count > 1);
      assert.deepEqual(duplicated, [], 'QoS 2 messages delivered more than once');
    }
  });
}
