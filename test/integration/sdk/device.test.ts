/**
 * ferry-mqtt/sdk, device side, against a real Ferry over TCP: every authentication mode, P2P,
 * client id checks, and the token refresher uploading a new token on `$SYS/tokenExpireNotice`
 * (and on its own schedule) without reconnecting.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import type { MqttClient } from 'mqtt';
import { ManualClock } from '../../../src/auth/clock.js';
import { connectDevice, deviceMqttOptions, FerryInputError, RestClient, type Device, type DeviceOptions, type TokenType } from '../../../src/sdk/index.js';
import { issueCert, makeCa, makeSelfSignedCert, startFerry, tempDir, waitFor } from '../../helpers/index.js';

const ADMIN = { id: 'FERRYSDKADMIN01', secret: 'sdk-admin-secret-0123456789' };
const MIN = 60_000;

async function setup(t: TestContext, clock?: ManualClock) {
  const ferry = await startFerry(t, { storeEngine: 'memory', bootstrapAccessKeyId: ADMIN.id, bootstrapAccessKeySecret: ADMIN.secret }, { announce: null, ...(clock === undefined ? {} : { authClock: clock }) });
  const rest = new RestClient({ endpoint: `http://127.0.0.1:${ferry.ports.http}`, auth: { accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret } });
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const open = async (options: Omit<DeviceOptions, 'url'>): Promise<Device> => {
    const device = await connectDevice({ url, ...options, mqtt: { reconnectPeriod: 0, ...options.mqtt } });
    t.after(() => device.end(true));
    return device;
  };
  return { ferry, rest, url, open };
}

function nextMessage(client: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) => {
    const on = (t: string, payload: Buffer): void => {
      if (t !== topic) return;
      client.off('message', on);
      resolve(payload.toString());
    };
    client.on('message', on);
  });
}

test('sdk device - Signature, DeviceCredential and custom identities connect; P2P reaches a client without a subscription', async (t) => {
  const { rest, open } = await setup(t);
  const signed = await open({ clientId: 'GID_sdk@@@sig1', auth: { mode: 'signature', accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret, instanceId: 'mqtt-default' } });
  const credential = await rest.registerDeviceCredential('mqtt-default', 'GID_sdk@@@dc1');
  const device = await open({
    clientId: 'GID_sdk@@@dc1',
    auth: { mode: 'device-credential', deviceAccessKeyId: credential.DeviceAccessKeyId, deviceAccessKeySecret: credential.DeviceAccessKeySecret, instanceId: 'mqtt-default' },
    mqtt: { protocolVersion: 5 },
  });
  await rest.request('post', '/instances/{instanceId}/identities', { params: { instanceId: 'mqtt-default' }, body: { username: 'sensor', identityType: 'USER', secret: 'sensor-secret', signMode: 'SIGNED' } });
  await rest.request('post', '/instances/{instanceId}/permissions', { params: { instanceId: 'mqtt-default' }, body: { identity: 'sensor', identityType: 'USER', topic: 'chat/#', permitAction: 'PUB_SUB', effect: 'ALLOW' } });
  const custom = await open({ clientId: 'free-form-id', auth: { mode: 'custom', username: 'sensor', secret: 'sensor-secret', signMode: 'SIGNED' } });

  const got = nextMessage(device.mqtt, 'chat/p2p/GID_sdk@@@dc1');
  await signed.sendP2P('chat', 'GID_sdk@@@dc1', 'hello dc1');
  assert.equal(await got, 'hello dc1', 'P2P from a Signature client to a DeviceCredential client');
  const back = nextMessage(custom.mqtt, 'chat/p2p/free-form-id');
  await device.sendP2P('chat', 'free-form-id', 'hi custom');
  assert.equal(await back, 'hi custom');
});

test('sdk device - a wrong secret rejects with the CONNACK code; a malformed client id is refused before connecting', async (t) => {
  const { open } = await setup(t);
  await assert.rejects(
    open({ clientId: 'GID_sdk@@@bad', auth: { mode: 'signature', accessKeyId: ADMIN.id, accessKeySecret: 'wrong', instanceId: 'mqtt-default' } }),
    (err: Error & { code?: number }) => err.code === 4 || err.code === 0x86,
  );
  await assert.rejects(open({ clientId: 'no-separator', auth: { mode: 'signature', accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret, instanceId: 'mqtt-default' } }), FerryInputError);
  await assert.rejects(connectDevice({ url: 'mqtt://127.0.0.1:1', clientId: 'GID_sdk@@@x1', auth: { mode: 'anonymous' }, mqtt: { reconnectPeriod: 0 } }), /connect/i);
});

test('sdk device - Token mode with an R and a W token; the refresher uploads a new token on the expiry notice and on schedule', async (t) => {
  const clock = new ManualClock(Date.now());
  const { rest, open } = await setup(t, clock);
  const apply = (type: TokenType, minutes: number) => rest.applyToken('mqtt-default', { resources: ['chat/#'], actions: type, expireTime: clock.now() + minutes * MIN });
  const r = await apply('R', 30);
  const w = await apply('W', 20);
  const fetched: Array<[TokenType, string]> = [];
  const device = await open({
    clientId: 'GID_sdk@@@tok1',
    auth: { mode: 'token', accessKeyId: ADMIN.id, instanceId: 'mqtt-default', tokens: [{ type: 'R', token: r.token, expireTime: r.expireTime }, { type: 'W', token: w.token }] },
    tokenRefresh: {
      clock,
      async fetchToken(type, reason) {
        fetched.push([type, reason]);
        return apply(type, 60);
      },
    },
  });
  await device.mqtt.subscribeAsync('chat/#', { qos: 1 });
  const echo = nextMessage(device.mqtt, 'chat/a');
  await device.mqtt.publishAsync('chat/a', 'with both tokens', { qos: 1 });
  assert.equal(await echo, 'with both tokens');

  // W's expiry is not given to the refresher: only the broker's notice (5 minutes ahead) renews it.
  const refreshedW = once(device.tokens!, 'refreshed');
  clock.advance(15 * MIN);
  const [grant, reason] = (await refreshedW) as [{ type: TokenType; token: string }, string];
  assert.equal(grant.type, 'W');
  assert.equal(reason, 'expire-notice');
  // R expires at 30 min and is renewed 6 minutes ahead (24 min), before the broker's notice (25).
  assert.deepEqual(fetched, [['W', 'expire-notice']]);
  const refreshedR = once(device.tokens!, 'refreshed');
  clock.advance(9 * MIN);
  assert.equal(((await refreshedR) as [{ type: TokenType }, string])[1], 'scheduled');
  clock.advance(2 * MIN);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(fetched, [['W', 'expire-notice'], ['R', 'scheduled']], 'no notice for a token already replaced');

  // Past the old tokens' expiry the connection still reads and writes with the uploaded ones.
  clock.advance(5 * MIN);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(device.mqtt.connected, true);
  assert.equal(fetched.length, 2);
  const after = nextMessage(device.mqtt, 'chat/b');
  await device.mqtt.publishAsync('chat/b', 'after expiry', { qos: 1 });
  assert.equal(await after, 'after expiry');
  assert.match(String(device.mqtt.options.password), /^R\|[^|]+\|W\|[^|]+$|^W\|[^|]+\|R\|[^|]+$/, 'a reconnect would present the new tokens');
  assert.ok(!String(device.mqtt.options.password).includes(r.token));
});

test('sdk device - a revoked token: the invalid notice is reported and a fresh token is ready for the reconnect', async (t) => {
  const clock = new ManualClock(Date.now());
  const { rest, open } = await setup(t, clock);
  const first = await rest.applyToken('mqtt-default', { resources: ['chat/#'], actions: 'R', expireTime: clock.now() + 60 * MIN });
  const errors: Error[] = [];
  const device = await open({
    clientId: 'GID_sdk@@@rev1',
    auth: { mode: 'token', accessKeyId: ADMIN.id, instanceId: 'mqtt-default', tokens: [{ type: 'R', token: first.token, expireTime: first.expireTime }] },
    tokenRefresh: { clock, fetchToken: () => rest.applyToken('mqtt-default', { resources: ['chat/#'], actions: 'R', expireTime: clock.now() + 60 * MIN }), onError: (e) => errors.push(e) },
  });
  const invalid = once(device.tokens!, 'invalid');
  const refreshed = once(device.tokens!, 'refreshed');
  await rest.revokeToken('mqtt-default', first.token);
  assert.deepEqual((await invalid)[0], { code: 3, type: 'R' });
  assert.equal(((await refreshed) as [unknown, string])[1], 'invalid-notice');
  await waitFor(() => !device.mqtt.connected);
  assert.match(errors[0]!.message, /code 3/);
  assert.ok(!String(device.mqtt.options.password).includes(first.token));
  // The next connection with the fresh password is accepted.
  device.mqtt.reconnect();
  await new Promise((resolve, reject) => device.mqtt.once('connect', resolve).once('error', reject));
});

test('sdk device - X.509: a device certificate from files connects over mutual TLS, its CN being the client id', async (t) => {
  const dir = tempDir(t, 'ferry-sdk-x509-');
  const server = makeSelfSignedCert(dir);
  const ferry = await startFerry(t, { storeEngine: 'memory', bootstrapAccessKeyId: ADMIN.id, bootstrapAccessKeySecret: ADMIN.secret, tlsCert: server.certFile, tlsKey: server.keyFile, x509DeviceAuth: true }, { announce: null });
  const rest = new RestClient({ endpoint: `http://127.0.0.1:${ferry.ports.http}`, auth: { accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret } });
  const ca = makeCa(dir, 'sdk-fleet-ca');
  const { registerCode } = (await rest.request('get', '/instances/{instanceId}/ca-certificates/register-code', { params: { instanceId: 'mqtt-default' } })) as { registerCode: string };
  await rest.request('post', '/instances/{instanceId}/ca-certificates', { params: { instanceId: 'mqtt-default' }, body: { name: 'fleet', content: ca.cert, verification: issueCert(dir, ca, registerCode).cert } });
  const cert = issueCert(dir, ca, 'meter-7');
  const url = `mqtts://127.0.0.1:${ferry.ports.mqtts!}`;
  const device = await connectDevice({ url, clientId: 'meter-7', auth: { mode: 'x509', certFile: cert.certFile, keyFile: cert.keyFile, caFile: server.certFile }, mqtt: { reconnectPeriod: 0 } });
  t.after(() => device.end(true));
  assert.equal((await rest.client('mqtt-default', 'meter-7')).connected, true);
  await assert.rejects(
    connectDevice({ url, clientId: 'meter-8', auth: { mode: 'x509', certFile: cert.certFile, keyFile: cert.keyFile, caFile: server.certFile }, mqtt: { reconnectPeriod: 0 } }),
    (err: Error & { code?: number }) => err.code === 4,
    'a client id other than the CN is refused',
  );
  assert.throws(() => deviceMqttOptions({ url, clientId: 'x', auth: { mode: 'x509', certFile: `${dir}/missing.pem`, keyFile: cert.keyFile } }), /cannot read certFile/);
});
