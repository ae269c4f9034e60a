/**
 * Issue 4 proof: strict-mode rules and per-instance quotas as a client sees them (3.1.1 and 5.0),
 * failed-login limiting, and the bootstrap AccessKey and auth records across a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../../src/auth/clock.js';
import { BOOTSTRAP_FILE } from '../../../src/auth/setup.js';
import { startFerry, tempDir } from '../../helpers/index.js';
import { ADMIN, closed, open, publish, received, refused, signature, sleep, startAuthFerry, subscribe } from './fixture.js';

async function strict(t: Parameters<typeof startAuthFerry>[0], limits: Record<string, number> = {}) {
  const env = await startAuthFerry(t, { loginMaxFailuresPerUsername: 3 });
  await env.ferry.auth.tenancy.createInstance({ id: 'mqtt-s', limits });
  await env.ferry.auth.tenancy.createGroup('mqtt-s', 'GID_dev');
  await env.ferry.auth.tenancy.createParentTopic('mqtt-s', 'data');
  const sig = (clientId: string, protocolVersion: 4 | 5 = 4) => ({ ...signature(ADMIN.id, ADMIN.secret, 'mqtt-s', clientId), protocolVersion });
  return { ...env, sig };
}

test('strict mode - unknown group, unknown parent topic, bad topics and big payloads are refused', async (t) => {
  const env = await strict(t);
  assert.equal(await refused(t, env.url, env.sig('GID_nope@@@1')), 2, 'unknown Group ID');
  assert.equal(await refused(t, env.url, env.sig('GID_nope@@@1', 5)), 0x85);
  assert.equal(await refused(t, env.url, env.sig('free-form-id', 5)), 0x85);
  const v5 = await open(t, env.url, env.sig('GID_dev@@@5', 5));
  assert.deepEqual(await subscribe(v5, ['data/#', 'nope/#', 'data/ü']), [1, 0x8f, 0x8f]);
  assert.equal(await publish(v5, 'nope/x'), 0x90, 'unknown parent topic');
  assert.equal(await publish(v5, `data/${'x'.repeat(60)}`), 0x90, 'longer than 64 characters');
  assert.equal(await publish(v5, 'data/x', Buffer.alloc(64 * 1024)), 0, '64 KB is fine');
  assert.equal(await publish(v5, 'data/x', Buffer.alloc(64 * 1024 + 1)), null, 'one byte more is not');
  await closed(v5);
  assert.equal(v5.disconnectReason, 0x95);
  const v4 = await open(t, env.url, env.sig('GID_dev@@@4'));
  assert.equal(await publish(v4, 'nope/x'), null, '3.1.1: invalid param closes the connection');
  await closed(v4);
  assert.deepEqual(env.ferry.auth.tenancy.listParentTopics('mqtt-s').map((p) => p.name), ['data'], 'nothing was auto-created');
});

test('quotas - 30 subscriptions per client in strict mode', async (t) => {
  const env = await strict(t);
  const v5 = await open(t, env.url, env.sig('GID_dev@@@s5', 5));
  const filters = Array.from({ length: 30 }, (_, i) => `data/${i}`);
  assert.deepEqual(await subscribe(v5, filters), filters.map(() => 1));
  assert.deepEqual(await subscribe(v5, ['data/30', 'data/0']), [0x97, 1], 'the 31st is refused; re-subscribing is not new');
  const v4 = await open(t, env.url, env.sig('GID_dev@@@s4'));
  assert.deepEqual(await subscribe(v4, filters), filters.map(() => 1));
  assert.deepEqual(await subscribe(v4, 'data/30'), [0x80]);
  assert.equal(v4.closed, false);
});

test('quotas - connections per instance', async (t) => {
  const env = await strict(t, { maxConnections: 2 });
  const a = await open(t, env.url, env.sig('GID_dev@@@c1'));
  await open(t, env.url, env.sig('GID_dev@@@c2', 5));
  assert.equal(await refused(t, env.url, env.sig('GID_dev@@@c3')), 3, '3.1.1: server unavailable');
  assert.equal(await refused(t, env.url, env.sig('GID_dev@@@c3', 5)), 0x97);
  const again = await open(t, env.url, env.sig('GID_dev@@@c1'));
  assert.equal(again.connack.returnCode, 0, 'taking over an own session is allowed at the quota');
  await closed(a);
  assert.equal((await open(t, env.url, { clientId: 'anon' })).connack.returnCode, 0, 'other instances are not affected');
  assert.equal(env.ferry.auth.quotas.count('mqtt-s').connectionsRefused, 2);
  const metrics = await env.ferry.http.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /ferry_instance_quota_refusals_total\{instance="mqtt-s",quota="connections"\} 2/);
});

test('quotas - messages per second per instance (token bucket)', async (t) => {
  const env = await strict(t, { maxMessagesPerSecond: 5 });
  const sub = await open(t, env.url, env.sig('GID_dev@@@sub'));
  assert.deepEqual(await subscribe(sub, 'data/#'), [1]);
  const v5 = await open(t, env.url, env.sig('GID_dev@@@p5', 5));
  const codes: Array<number | null> = [];
  for (let i = 0; i < 6; i++) codes.push(await publish(v5, 'data/x', `m${i}`));
  assert.deepEqual(codes, [0, 0, 0, 0, 0, 0x97]);
  const v4 = await open(t, env.url, env.sig('GID_dev@@@p4'));
  assert.equal(await publish(v4, 'data/x', 'dropped'), 0, '3.1.1 is acknowledged and the message dropped');
  env.clock.advance(1000);
  assert.equal(await publish(v4, 'data/x', 'after a second'), 0);
  const got = await received(sub, 6);
  await sleep(100);
  assert.deepEqual(got.map((r) => r.payload), ['m0', 'm1', 'm2', 'm3', 'm4', 'after a second']);
  assert.equal(env.ferry.auth.quotas.count('mqtt-s').messagesThrottled, 2);
});

test('failed logins - a username is blocked after repeated failures, then released', async (t) => {
  const env = await strict(t);
  const bad = { ...env.sig('GID_dev@@@b1'), password: 'wrong' };
  for (let i = 0; i < 3; i++) assert.equal(await refused(t, env.url, bad), 4);
  assert.equal(await refused(t, env.url, env.sig('GID_dev@@@b1')), 5, 'blocked even with the right password');
  assert.equal(await refused(t, env.url, env.sig('GID_dev@@@b1', 5)), 0x8a);
  env.clock.advance(60_000);
  assert.equal((await open(t, env.url, env.sig('GID_dev@@@b1'))).connack.returnCode, 0);
  const metric = await env.ferry.metrics.registry.getSingleMetric('ferry_auth_failures_total')!.get();
  const value = (reason: string) => metric.values.find((v) => v.labels['reason'] === reason && v.labels['instance'] === 'mqtt-s')?.value;
  assert.equal(value('bad-signature'), 3);
  assert.equal(value('rate-limited'), 2);
});

test('bootstrap key - generated at first start, written to the data dir, shown once; records survive a restart', async (t) => {
  const dataDir = tempDir(t);
  const shown: string[] = [];
  const clock = new ManualClock(Date.now());
  const first = await startFerry(t, { dataDir }, { announce: (text) => shown.push(text), authClock: clock });
  const file = join(dataDir, BOOTSTRAP_FILE);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const key = JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId: string; accessKeySecret: string };
  assert.equal(shown.length, 1);
  assert.ok(shown[0]!.includes(key.accessKeySecret));
  await first.auth.tenancy.createInstance({ id: 'mqtt-keep' });
  await first.auth.tenancy.createGroup('mqtt-keep', 'GID_dev');
  const cred = await first.auth.devices.register('mqtt-keep', 'GID_dev@@@1');
  const url = (p: number) => `mqtt://127.0.0.1:${p}`;
  assert.equal((await open(t, url(first.ports.mqtt), signature(key.accessKeyId, key.accessKeySecret, 'mqtt-keep', 'GID_dev@@@0'))).connack.returnCode, 0);
  await first.stop();
  const db = readFileSync(join(dataDir, 'ferry.db'));
  assert.equal(db.includes(Buffer.from(key.accessKeySecret)), false, 'the AccessKey secret is not in the database in clear');
  assert.equal(db.includes(Buffer.from(cred.DeviceAccessKeySecret)), false, 'nor the device secret');
  rmSync(file);
  const second = await startFerry(t, { dataDir }, { announce: (text) => shown.push(text), authClock: clock });
  assert.equal(shown.length, 1, 'not shown again');
  assert.equal(existsSync(file), false, 'not written again');
  assert.equal((await open(t, url(second.ports.mqtt), signature(key.accessKeyId, key.accessKeySecret, 'mqtt-keep', 'GID_dev@@@0'))).connack.returnCode, 0);
  const { hmacSha1Base64 } = await import('../../../src/auth/crypto.js');
  const device = await open(t, url(second.ports.mqtt), {
    clientId: 'GID_dev@@@1',
    username: `DeviceCredential|${cred.DeviceAccessKeyId}|mqtt-keep`,
    password: hmacSha1Base64(cred.DeviceAccessKeySecret, 'GID_dev@@@1'),
  });
  assert.equal(device.connack.returnCode, 0);
});

test('default instance - FERRY_DEFAULT_INSTANCE_ID names the instance of clients that name none', async (t) => {
  const ferry = await startFerry(t, { storeEngine: 'memory', broker: { defaultInstanceId: 'mqtt-home' } }, { announce: null });
  assert.equal(ferry.auth.tenancy.get('mqtt-home')?.mode, 'relaxed');
  assert.equal(ferry.auth.tenancy.get('mqtt-default'), undefined);
  await open(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { clientId: 'anon-home' });
  assert.ok(ferry.broker.session('anon-home', 'mqtt-home'));
  assert.ok(ferry.broker.session('anon-home'), 'the broker\'s default follows the setting');
});

test('secrets - no password, secret or token reaches the logs, even at debug level', async (t) => {
  const { captureLogger } = await import('../../helpers/index.js');
  const logs = captureLogger('debug');
  const clock = new ManualClock(Date.now());
  const ferry = await startFerry(t, { storeEngine: 'memory', bootstrapAccessKeyId: ADMIN.id, bootstrapAccessKeySecret: ADMIN.secret }, { logger: logs.logger, authClock: clock, announce: null });
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const token = ferry.auth.tokens.apply({ instanceId: 'mqtt-default', accessKeyId: ADMIN.id, resources: ['a/#'], actions: 'R', expireTime: clock.now() + 3600_000 }).token;
  const cred = await ferry.auth.devices.register('mqtt-default', 'dev-1');
  const good = await open(t, url, { ...signature(ADMIN.id, ADMIN.secret, 'mqtt-default', 'c1'), protocolVersion: 5 });
  assert.equal(await publish(good, 'b/x'), 0);
  await refused(t, url, { clientId: 'c2', username: `Signature|${ADMIN.id}|mqtt-default`, password: 'typed-wrong-password-123' });
  const tok = await open(t, url, { clientId: 'c3', username: `Token|${ADMIN.id}|mqtt-default`, password: `R|${token}` });
  assert.equal(await publish(tok, 'a/x'), null, 'an R token used to publish: notice and disconnect');
  await refused(t, url, { clientId: 'dev-1', username: `DeviceCredential|${cred.DeviceAccessKeyId}|mqtt-default`, password: `${cred.DeviceAccessKeySecret}-as-password` });
  await ferry.stop();
  const text = JSON.stringify(logs.lines);
  for (const secret of [ADMIN.secret, 'typed-wrong-password-123', token, token.split('.')[1]!, cred.DeviceAccessKeySecret]) {
    assert.equal(text.includes(secret), false, `found a secret in the logs: ${secret.slice(0, 6)}…`);
  }
  assert.ok(logs.lines.some((l) => l['msg'] === 'authentication refused' && l['cause'] === 'bad-signature'), 'refusals are logged, with their cause');
});

test('strict mode - MQTT 5 keepalive is capped at 8 minutes and packets at 128 KB; relaxed and 3.1.1 are not', async (t) => {
  const env = await strict(t);
  const v5 = async (clientId: string, keepalive: number) => open(t, env.url, { ...env.sig(clientId, 5), keepalive });
  const long = await v5('GID_dev@@@k1', 600);
  assert.equal(long.connack.properties?.serverKeepAlive, 480, 'capped and announced');
  assert.equal(long.connack.properties?.maximumPacketSize, 128 * 1024);
  assert.equal((await v5('GID_dev@@@k2', 0)).connack.properties?.serverKeepAlive, 480, 'no keepalive is capped too');
  assert.equal((await v5('GID_dev@@@k3', 300)).connack.properties?.serverKeepAlive, undefined, 'a shorter one stands');

  // 10 KB of payload (under the 64 KB payload limit) with 120 KB of user properties: 130 KB packet.
  const props = { userProperties: { a: 'p'.repeat(60 * 1024), b: 'q'.repeat(60 * 1024) } };
  const c = await v5('GID_dev@@@p1', 60);
  assert.equal(await publish(c, 'data/small', Buffer.alloc(10 * 1024)), 0);
  c.client.publish('data/big', Buffer.alloc(10 * 1024), { qos: 1, properties: props });
  await closed(c);
  assert.equal(c.disconnectReason, 0x95, 'Packet Too Large');

  // 3.1.1 on the strict instance: the broker's limits only (its 1 MB packets), no keepalive cap to announce.
  const v4 = await open(t, env.url, { ...env.sig('GID_dev@@@p4'), keepalive: 600 });
  assert.equal(await publish(v4, 'data/x', Buffer.alloc(60 * 1024)), 0);
  // The relaxed default instance: neither limit.
  const relaxed = await open(t, env.url, { clientId: 'anon-relaxed', protocolVersion: 5, keepalive: 600 });
  assert.equal(relaxed.connack.properties?.serverKeepAlive, undefined);
  assert.equal(relaxed.connack.properties?.maximumPacketSize, 1024 * 1024);
  const big = await new Promise<number | undefined>((resolve) => {
    relaxed.client.publish('any/big', Buffer.alloc(10 * 1024), { qos: 1, properties: props }, (err, packet) => resolve(err === undefined || err === null ? ((packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0) : -1));
  });
  assert.equal(big, 0);
});
