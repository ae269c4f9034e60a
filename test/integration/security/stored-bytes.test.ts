/**
 * Issue 12, stored data: byte caps on what clients can make Ferry keep on disk, done for real
 * (bounded floods over loopback) with the file sizes measured on disk.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startFerry } from '../../helpers/index.js';
import { connect, expectNoMore, uniqueId } from '../mqtt/clients.js';
import { startBystander } from '../../helpers/bystander.js';
import { rawConnect } from '../../helpers/raw-client.js';

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

test('traces - a QoS 0 flood cannot grow traces.db past traceMaxBytes; the space is returned', async (t) => {
  const cap = 1024 * 1024;
  const ferry = await startFerry(t, { traceMaxBytes: cap, traceWriterCpuPercent: 100, traceFlushIntervalMs: 50 });
  const db = join(ferry.config.dataDir, 'traces.db');
  const bystander = await startBystander(t, ferry.ports.mqtt);
  const { client: sub } = await rawConnect(t, ferry.ports.mqtt, { protocolVersion: 5, clientId: 'flood-sink' });
  assert.deepEqual(await sub.subscribe('flood/#', 0), [0]);
  const { client: pub } = await rawConnect(t, ferry.ports.mqtt, { protocolVersion: 5, clientId: 'flooder' });
  let peak = 0;
  // 20 rounds of 3,000 QoS 0 messages (120,000 trace events, several MB), sampling the file.
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 3000; i++) pub.publish(`flood/${round}/${i % 50}`, 'x'.repeat(32), { qos: 0 });
    await new Promise((r) => setTimeout(r, 150));
    sub.inbox.length = 0;
    peak = Math.max(peak, sizeOf(db));
  }
  await ferry.traces.flush();
  const stored = ferry.traces.stats.stored;
  await ferry.traces.purge();
  const after = sizeOf(db);
  assert.ok(stored > 30_000, `the flood was traced (${stored} events stored)`);
  assert.ok(after <= cap, `traces.db is ${after} bytes after the purge, cap ${cap}`);
  // Checked once a second while writing: the file never runs far past the cap.
  assert.ok(peak <= cap * 3, `traces.db peaked at ${peak} bytes, cap ${cap}`);
  const report = await bystander.stop();
  assert.equal(report.lost, 0, JSON.stringify(report));
});

/** A 1,000,000-byte payload that starts with its index. */
function bigPayload(i: number): Buffer {
  const payload = Buffer.alloc(1_000_000, 0x78);
  payload.write(`${i}:`);
  return payload;
}

async function metricsText(ferry: { ports: { http: number } }): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${ferry.ports.http}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** Value of one sample line, e.g. sample(text, 'x_total', 'reason="a",cause="b"'). */
function sample(text: string, name: string, labels: string): number | undefined {
  const prefix = `${name}{${labels}} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

/** An offline persistent session subscribed to `flood/#` (MQTT 3.1.1, clean session false). */
async function offlineSubscriber(t: TestContext, url: string, clientId: string): Promise<void> {
  const sub = await connect(t, url, { clientId, clean: false });
  await sub.client.subscribeAsync('flood/#', { qos: 1 });
  await sub.client.endAsync();
}

/** 50 × 1 MB QoS 1 from one anonymous MQTT 5 client, one at a time; every PUBACK must be a success. */
async function flood(t: TestContext, url: string, db: string): Promise<number> {
  const pub = await connect(t, url, { clientId: uniqueId('flooder'), protocolVersion: 5 });
  let peak = 0;
  for (let i = 0; i < 50; i++) {
    const ack = await pub.client.publishAsync('flood/x', bigPayload(i), { qos: 1 });
    // Accepted, as over the count caps: the oldest queued message makes room, not this one.
    assert.equal((ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0, 0, `PUBACK of message ${i}`);
    peak = Math.max(peak, sizeOf(db));
  }
  await pub.client.endAsync();
  return peak;
}

const MiB = 1024 * 1024;

test('offline queue - 50 × 1 MB QoS 1 for one offline session: acknowledged, oldest dropped over the per-session byte cap, ferry.db bounded', async (t) => {
  const ferry = await startFerry(t, { broker: { maxQueuedBytes: 20 * MiB } });
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const db = join(ferry.config.dataDir, 'ferry.db');
  const clientId = uniqueId('flooded');
  await offlineSubscriber(t, url, clientId);
  const peak = await flood(t, url, db);

  // 20 entries of 1,000,007 bytes fit in 20 MiB, a 21st does not: 30 dropped, oldest first.
  assert.equal(ferry.broker.counters.droppedQueueFullBy['session-bytes'], 30);
  assert.equal(ferry.broker.counters.droppedQueueFull, 30);
  const text = await metricsText(ferry);
  assert.equal(sample(text, 'ferry_messages_dropped_total', 'reason="queue_full",cause="session_bytes"'), 30);
  assert.equal(sample(text, 'ferry_messages_dropped_total', 'reason="queue_full",cause="session_count"'), 0);
  assert.equal(
    sample(text, 'ferry_instance_messages_dropped_total', 'instance="mqtt-default",reason="queue_full",cause="session_bytes"'),
    30,
  );
  // Without the cap the file would hold 50 MB.
  assert.ok(peak < 26 * MiB, `ferry.db peaked at ${peak} bytes with a 20 MiB cap`);

  const back = await connect(t, url, { clientId, clean: false });
  const got = await back.waitFor(20, 15_000);
  assert.deepEqual(
    got.map((r) => Number(r.payload.slice(0, r.payload.indexOf(':')))),
    Array.from({ length: 20 }, (_, i) => 30 + i),
    'the newest 20 arrive, in order',
  );
  await expectNoMore(back, 20, 300);
  assert.equal(ferry.broker.session(clientId)?.droppedMessages, 30);
});

test('offline queue - the per-instance byte cap bounds ferry.db, and ending the session gives the space back to the file system', async (t) => {
  const ferry = await startFerry(t, { broker: { maxQueuedBytesPerInstance: 20 * MiB } });
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const db = join(ferry.config.dataDir, 'ferry.db');
  const clientId = uniqueId('ended');
  await offlineSubscriber(t, url, clientId);
  const peak = await flood(t, url, db);
  assert.equal(ferry.broker.counters.droppedQueueFullBy['instance-bytes'], 30);
  const text = await metricsText(ferry);
  assert.equal(sample(text, 'ferry_messages_dropped_total', 'reason="queue_full",cause="instance_bytes"'), 30);
  assert.ok(peak < 26 * MiB, `ferry.db peaked at ${peak} bytes with a 20 MiB cap`);
  const store = ferry.broker.persistence!.store;
  assert.equal((await store.stats()).queuedBytes, 20 * 1_000_007);

  await ferry.broker.housekeeping();
  const full = sizeOf(db);
  assert.ok(full > 18 * MiB, `the queue is on disk (${full} bytes)`);
  // A clean start ends the session: its queue goes with it.
  const fresh = await connect(t, url, { clientId, clean: true });
  assert.equal(fresh.connack.sessionPresent, false);
  await fresh.client.endAsync();
  assert.equal((await store.stats()).queuedBytes, 0);
  await ferry.broker.housekeeping();
  const after = sizeOf(db);
  // Freed pages beyond 1 MiB (kept for reuse) are given back.
  assert.ok(after < 4 * MiB, `ferry.db shrank from ${full} to ${after} bytes`);
  assert.ok(sizeOf(`${db}-wal`) < 4 * MiB, `the WAL was emptied too (${sizeOf(`${db}-wal`)} bytes)`);
});
