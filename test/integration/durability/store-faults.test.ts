/**
 * Degraded mode: when the store cannot write, Ferry stays up, keeps serving what needs no store,
 * refuses (never acknowledges) what does, reports not-ready, and recovers by itself; every
 * message it acknowledged is delivered afterwards.
 *
 * Two ways to make the store fail, both real: the data directory on a small tmpfs filled by
 * QoS 1 traffic (needs root to mount; skipped otherwise), and the store thread's test-only
 * fault switch (a COMMIT that fails like a disk I/O error), which runs everywhere.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import mqtt from 'mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, waitFor } from '../../helpers/index.js';
import { connect, connectRefused, uniqueId, type TestClient } from '../mqtt/clients.js';
import type { RunningFerry } from '../../../src/internal.js';
import type { SqliteStore } from '../../../src/store/index.js';
import { rest } from '../api/rest-client.js';

const mqttUrl = (ferry: RunningFerry): string => `mqtt://127.0.0.1:${ferry.ports.mqtt}`;

async function readyz(ferry: RunningFerry): Promise<{ status: number; body: { status: string; problems?: Array<{ check: string; reason: string }> } }> {
  const response = await fetch(`http://127.0.0.1:${ferry.ports.http}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string } };
}

async function metric(ferry: RunningFerry, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${ferry.ports.http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

/** A QoS 0 round trip between two clean clients: what needs no store keeps flowing. */
async function roundTrip(pub: TestClient, sub: TestClient, topic: string, text: string): Promise<void> {
  const before = sub.received.length;
  await pub.client.publishAsync(topic, text, { qos: 0 });
  const got = await sub.waitFor(before + 1, 2000);
  assert.equal(got[before]!.payload, text);
}

/** Publishes QoS 1 until the broker refuses one; returns the payloads it acknowledged. */
async function publishUntilRefused(pub: TestClient, topic: string, size: number, max: number): Promise<{ acked: string[]; reasonCode: number }> {
  const acked: string[] = [];
  for (let i = 0; i < max; i++) {
    const text = `m${i}:`.padEnd(size, 'x');
    try {
      await pub.client.publishAsync(topic, text, { qos: 1 });
      acked.push(text.slice(0, text.indexOf(':')));
    } catch (error) {
      return { acked, reasonCode: (error as { code?: number }).code ?? -1 };
    }
  }
  throw new Error(`the broker acknowledged all ${max} messages: the store never failed`);
}

interface Scene {
  bystanderPub: TestClient;
  bystanderSub: TestClient;
  durableId: string;
  topic: string;
}

/** A persistent subscriber that went offline (its messages queue on disk) and a clean QoS 0 pair. */
async function scene(t: TestContext, ferry: RunningFerry): Promise<Scene> {
  const topic = uniqueId('fill');
  const durableId = uniqueId('durable');
  const durable = await connect(t, mqttUrl(ferry), { protocolVersion: 5, clientId: durableId, clean: false, properties: { sessionExpiryInterval: 3600 } });
  await durable.client.subscribeAsync(`${topic}/#`, { qos: 1 });
  await durable.client.endAsync();
  const bystanderSub = await connect(t, mqttUrl(ferry), { protocolVersion: 5, clientId: uniqueId('by-sub') });
  await bystanderSub.client.subscribeAsync('live/#', { qos: 1 });
  const bystanderPub = await connect(t, mqttUrl(ferry), { protocolVersion: 5, clientId: uniqueId('by-pub') });
  await roundTrip(bystanderPub, bystanderSub, 'live/a', 'before');
  return { bystanderPub, bystanderSub, durableId, topic };
}

/** What must hold while the store cannot write. */
async function assertDegraded(t: TestContext, ferry: RunningFerry, s: Scene): Promise<void> {
  const ready = await readyz(ferry);
  assert.equal(ready.status, 503);
  assert.equal(ready.body.status, 'degraded');
  assert.equal(ready.body.problems?.[0]?.check, 'store');
  assert.equal(await metric(ferry, 'ferry_store_writable'), 0);
  assert.ok((await metric(ferry, 'ferry_acks_refused_unstored_total')) >= 1);

  // QoS 0, and QoS 1 between connected clean sessions, need no store: they flow.
  await roundTrip(s.bystanderPub, s.bystanderSub, 'live/a', 'during');
  await s.bystanderPub.client.publishAsync('live/q1', 'clean qos1', { qos: 1 });
  await s.bystanderSub.waitFor(s.bystanderSub.received.length, 2000);

  // A session that must outlive its connection needs the store: Server unavailable.
  assert.equal(
    await connectRefused(t, mqttUrl(ferry), { protocolVersion: 5, clientId: uniqueId('p5'), clean: false, properties: { sessionExpiryInterval: 60 } }),
    0x88,
  );
  assert.equal(await connectRefused(t, mqttUrl(ferry), { protocolVersion: 4, clientId: uniqueId('p4'), clean: false }), 3);

  // A persistent subscription's SUBACK waits for its commit: refused (0x80), not granted.
  const persistent = await connect(t, mqttUrl(ferry), { protocolVersion: 5, clientId: uniqueId('sub'), clean: true });
  const granted = await persistent.client.subscribeAsync('live/#', { qos: 1 });
  assert.ok(granted.length === 1, 'clean session: SUBACK as usual');

  // MQTT 3.1.1 has no failure code in PUBACK: the connection is closed instead of acknowledging.
  const v4 = mqtt.connect(mqttUrl(ferry), { protocolVersion: 4, clientId: uniqueId('v4'), reconnectPeriod: 0 });
  t.after(() => v4.end(true));
  await new Promise<void>((resolve) => v4.once('connect', () => resolve()));
  const closed = new Promise<void>((resolve) => v4.once('close', () => resolve()));
  let acked = false;
  v4.publish(`${s.topic}/v4`, 'v4', { qos: 1 }, (error) => {
    if (error === undefined || error === null) acked = true;
  });
  await closed;
  assert.equal(acked, false, 'a 3.1.1 PUBACK must not go out for an unstored message');
}

/** Recovery: ready again, persistent work accepted, every acknowledged message delivered. */
async function assertRecovered(t: TestContext, ferry: RunningFerry, s: Scene, acked: string[]): Promise<void> {
  await waitFor(async () => (await readyz(ferry)).status === 200, { timeoutMs: 20_000, intervalMs: 100, message: 'readyz 200 after recovery' });
  assert.equal(await metric(ferry, 'ferry_store_writable'), 1);
  // Commits are timed (the failed ones are not): the histograms have samples, the batches counted.
  assert.ok((await metric(ferry, 'ferry_store_commit_seconds_count')) >= 1);
  assert.ok((await metric(ferry, 'ferry_store_commit_wait_seconds_count')) >= 1);
  assert.ok((await metric(ferry, 'ferry_store_commit_batches_total')) >= (await metric(ferry, 'ferry_store_commit_seconds_count')));
  const back = await connect(t, mqttUrl(ferry), { protocolVersion: 5, clientId: s.durableId, clean: false, properties: { sessionExpiryInterval: 3600 } });
  assert.equal(back.connack.sessionPresent, true);
  await waitFor(
    () => {
      const got = new Set(back.received.map((r) => r.payload.slice(0, r.payload.indexOf(':'))));
      return acked.every((id) => got.has(id));
    },
    { timeoutMs: 15_000, message: `all ${acked.length} acknowledged messages delivered` },
  );
  // New persistent work is acknowledged again.
  const pub = await connect(t, mqttUrl(ferry), { protocolVersion: 5, clientId: uniqueId('after') });
  await pub.client.publishAsync(`${s.topic}/after`, 'after:', { qos: 1 });
  await waitFor(() => back.received.some((r) => r.payload === 'after:'), { message: 'message after recovery' });
  await roundTrip(s.bystanderPub, s.bystanderSub, 'live/a', 'after');
}

const KEY = { id: 'FERRYBOOTFAULT1', secret: 'bootstrap-secret-store-faults-01' };

test('store faults - injected commit failures: degraded, refusing, recovering, nothing acknowledged lost', async (t) => {
  const ferry = await startFerry(t, { bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret }, { announce: null });
  const store = ferry.broker.persistence!.store as SqliteStore;
  const endpoint = `http://127.0.0.1:${ferry.ports.http}`;
  const instance = ferry.config.broker.defaultInstanceId;
  const s = await scene(t, ferry);
  // A persistent session connected before the fault, to subscribe during it.
  const persistent = await connect(t, mqttUrl(ferry), { protocolVersion: 5, clientId: uniqueId('keep'), clean: false, properties: { sessionExpiryInterval: 600 } });
  const pub = await connect(t, mqttUrl(ferry), { protocolVersion: 5, clientId: uniqueId('pub') });
  const acked: string[] = [];
  for (let i = 0; i < 20; i++) {
    await pub.client.publishAsync(`${s.topic}/x`, `ok${i}:`, { qos: 1 });
    acked.push(`ok${i}`);
  }

  store.injectFaults({ failCommits: true });
  const refused = await publishUntilRefused(pub, `${s.topic}/x`, 16, 5);
  assert.equal(refused.acked.length, 0, 'the first message needing the store is refused');
  assert.equal(refused.reasonCode, 0x80, 'MQTT 5 PUBACK Unspecified error');
  await assertDegraded(t, ferry, s);

  // SUBACK of a persistent session waits for the commit of its subscription: refused.
  // (mqtt.js turns a SUBACK reason code 0x80 into this error.)
  await assert.rejects(persistent.client.subscribeAsync('keep/#', { qos: 1 }), /Unspecified error/, 'SUBACK 0x80: the subscription is not durable');
  // The API answers a publish only once it is durable for persistent subscribers: 503 now.
  const published = await rest(endpoint, KEY, 'POST', `/instances/${instance}/messages`, { topic: `${s.topic}/api`, payload: 'api' });
  assert.equal(published.status, 503);
  assert.equal(published.body.error?.code, 'ServiceUnavailable');
  // The console's alarm reads the instance stats.
  const stats = await rest(endpoint, KEY, 'GET', `/instances/${instance}/stats`);
  assert.equal((stats.body['series'] as Record<string, unknown>)['store_degraded'], 1);
  // ... while one with no persistent subscriber needs no store and succeeds.
  assert.equal((await rest(endpoint, KEY, 'POST', `/instances/${instance}/messages`, { topic: 'live/api', payload: 'api' })).status, 200);

  store.injectFaults({ failCommits: false });
  await assertRecovered(t, ferry, s, acked);
  assert.equal((await persistent.client.subscribeAsync('keep/#', { qos: 1 }))[0]?.qos, 1, 'granted again after recovery');
  assert.equal((await rest(endpoint, KEY, 'POST', `/instances/${instance}/messages`, { topic: `${s.topic}/api`, payload: 'api2:' })).status, 200);
});

test('store faults - data directory on a full disk: Ferry stays up, refuses, recovers when space returns', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('mounting a tmpfs needs root');
    return;
  }
  const mountPoint = mkdtempSync(join(tmpdir(), 'ferry-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]);
  } catch (error) {
    rmSync(mountPoint, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs here: ${(error as Error).message}`);
    return;
  }
  const running: { ferry: RunningFerry | null } = { ferry: null };
  t.after(async () => {
    await running.ferry?.stop(); // before the unmount: the store holds files there
    try {
      execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    } catch {
      execFileSync('umount', ['-l', mountPoint]);
    }
  });
  const ferry = await startFerry(t, { dataDir: mountPoint });
  running.ferry = ferry;
  const s = await scene(t, ferry);
  const pub = await connect(t, mqttUrl(ferry), { protocolVersion: 5, clientId: uniqueId('pub') });
  const { acked, reasonCode } = await publishUntilRefused(pub, `${s.topic}/x`, 16 * 1024, 2000);
  assert.ok(acked.length > 10, `some messages fit before the disk filled (${acked.length})`);
  assert.equal(reasonCode, 0x97, 'MQTT 5 PUBACK Quota exceeded: the disk is full');
  await assertDegraded(t, ferry, s);

  execFileSync('mount', ['-o', 'remount,size=64m', mountPoint]);
  await assertRecovered(t, ferry, s, acked);
});
