/**
 * Issue 4 proof: every authentication mode accepted and refused over real sockets with mqtt.js,
 * MQTT 3.1.1 and 5.0 (forged, expired, revoked, wrong instance, blacklisted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hmacSha1Base64 } from '../../../src/auth/crypto.js';
import { ADMIN, closed, open, publish, refused, signature, startAuthFerry, subscribe, type AuthFerry } from './fixture.js';

const MIN = 60_000;

async function setup(t: Parameters<typeof startAuthFerry>[0]): Promise<AuthFerry & { wsUrl: string }> {
  const env = await startAuthFerry(t, { listenerInstances: { ws: 'mqtt-r' } });
  const auth = env.ferry.auth;
  await auth.tenancy.createInstance({ id: 'mqtt-s' });
  await auth.tenancy.createGroup('mqtt-s', 'GID_dev');
  await auth.tenancy.createParentTopic('mqtt-s', 'data');
  await auth.tenancy.createInstance({ id: 'mqtt-r', mode: 'relaxed' });
  return { ...env, wsUrl: `ws://127.0.0.1:${env.ferry.ports.ws}/mqtt` };
}

test('auth modes - Signature: accepted on 3.1.1 and 5.0; forged, unknown and wrong instance refused', async (t) => {
  const env = await setup(t);
  const ok4 = await open(t, env.url, signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@sig4'));
  assert.equal(ok4.connack.returnCode, 0);
  const ok5 = await open(t, env.url, { ...signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@sig5'), protocolVersion: 5 });
  assert.equal(ok5.connack.reasonCode, 0);
  assert.deepEqual(await subscribe(ok5, 'data/#'), [1]);
  assert.equal(await publish(ok4, 'data/x', 'hello'), 0);

  const forged = { ...signature(ADMIN.id, 'not-the-secret-at-all', 'mqtt-s', 'GID_dev@@@sig4') };
  assert.equal(await refused(t, env.url, forged), 4, '3.1.1: bad user name or password');
  assert.equal(await refused(t, env.url, { ...forged, protocolVersion: 5 }), 0x86);
  const replayed = { ...signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@sig4'), clientId: 'GID_dev@@@other' };
  assert.equal(await refused(t, env.url, replayed), 4, 'a signature is bound to its client id');
  assert.equal(await refused(t, env.url, signature(ADMIN.id, ADMIN.secret, 'mqtt-nowhere', 'GID_dev@@@sig6')), 4, 'unknown instance');
  // The ws listener serves mqtt-r: naming mqtt-s there is the wrong instance.
  assert.equal(await refused(t, env.wsUrl, signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@sig7')), 5);
  assert.equal(await refused(t, env.wsUrl, { ...signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@sig7'), protocolVersion: 5 }), 0x87);

  const { key, secret } = await env.ferry.auth.keys.create({
    policies: [{ Statement: [{ Effect: 'Allow', Action: ['mq:MqttInstanceAccess', 'mq:PUB', 'mq:SUB'], Resource: ['acs:mq:*:*:instance/mqtt-r', 'acs:mq:*:*:topic/mqtt-r/*'] }] }],
  });
  assert.equal((await open(t, env.url, signature(key.id, secret, 'mqtt-r', 'r1'))).connack.returnCode, 0);
  assert.equal(await refused(t, env.url, signature(key.id, secret, 'mqtt-s', 'GID_dev@@@r1')), 5, 'the key has no access to mqtt-s');
});

test('auth modes - Token: accepted with R/W pairs; forged, expired and revoked refused', async (t) => {
  const env = await setup(t);
  const tokens = env.ferry.auth.tokens;
  const apply = (actions: string, resources: string[], minutes = 60) =>
    tokens.apply({ instanceId: 'mqtt-s', accessKeyId: ADMIN.id, resources, actions, expireTime: env.clock.now() + minutes * MIN }).token;
  const r = apply('R', ['data/#']);
  const w = apply('W', ['data/out']);
  const username = `Token|${ADMIN.id}|mqtt-s`;
  const c = await open(t, env.url, { clientId: 'GID_dev@@@tok', username, password: `R|${r}|W|${w}` });
  assert.deepEqual(await subscribe(c, 'data/in/#'), [1]);
  assert.equal(await publish(c, 'data/out'), 0);
  const rw = await open(t, env.url, { clientId: 'GID_dev@@@tok5', username, password: `RW|${apply('R,W', ['data/#'])}`, protocolVersion: 5 });
  assert.equal(rw.connack.reasonCode, 0);

  assert.equal(await refused(t, env.url, { clientId: 'GID_dev@@@t2', username, password: `R|${r.slice(0, -2)}xx` }), 4, 'forged');
  assert.equal(await refused(t, env.url, { clientId: 'GID_dev@@@t2', username, password: `R|${r}|W|garbage` }), 4, 'one bad token rejects all');
  assert.equal(await refused(t, env.url, { clientId: 'GID_dev@@@t2', username: `Token|${ADMIN.id}|mqtt-r`, password: `R|${r}` }), 4, 'token of another instance');
  const short = apply('R', ['data/#'], 2);
  env.clock.advance(2 * MIN);
  assert.equal(await refused(t, env.url, { clientId: 'GID_dev@@@t3', username, password: `R|${short}`, protocolVersion: 5 }), 0x86, 'expired');
  await tokens.revoke('mqtt-s', w);
  assert.equal(await refused(t, env.url, { clientId: 'GID_dev@@@t4', username, password: `W|${w}` }), 4, 'revoked');
});

test('auth modes - DeviceCredential: accepted; wrong secret and another client id refused; unregister cuts', async (t) => {
  const env = await setup(t);
  const cred = await env.ferry.auth.devices.register('mqtt-s', 'GID_dev@@@d1');
  const username = `DeviceCredential|${cred.DeviceAccessKeyId}|mqtt-s`;
  const c = await open(t, env.url, { clientId: 'GID_dev@@@d1', username, password: hmacSha1Base64(cred.DeviceAccessKeySecret, 'GID_dev@@@d1'), protocolVersion: 5 });
  assert.equal(await publish(c, 'data/d1'), 0);
  assert.equal(await refused(t, env.url, { clientId: 'GID_dev@@@d1', username, password: hmacSha1Base64('DC.wrong', 'GID_dev@@@d1') }), 4);
  assert.equal(
    await refused(t, env.url, { clientId: 'GID_dev@@@d2', username, password: hmacSha1Base64(cred.DeviceAccessKeySecret, 'GID_dev@@@d2') }),
    4,
    'the credential belongs to GID_dev@@@d1 only',
  );
  await env.ferry.auth.devices.unregister('mqtt-s', 'GID_dev@@@d1');
  await closed(c);
  assert.equal(c.disconnectReason, 0x87);
});

test('auth modes - custom identities on a listener-bound instance; permissions with DENY winning', async (t) => {
  const env = await setup(t);
  const custom = env.ferry.auth.custom;
  await custom.putIdentity('mqtt-r', { username: 'fleet', identityType: 'USER', secret: 'fleet-pw', signMode: 'ORIGIN' }, 'add');
  await custom.putIdentity('mqtt-r', { username: 'fleet', identityType: 'CLIENT', clientId: 'special', secret: 'k', signMode: 'SIGNED' }, 'add');
  await custom.putPermission('mqtt-r', { Identity: 'fleet', IdentityType: 'USER', Topic: 'home/#', PermitAction: 'PUB_SUB', Effect: 'ALLOW' }, 'add');
  await custom.putPermission('mqtt-r', { Identity: 'fleet', IdentityType: 'USER', Topic: 'home/secret', PermitAction: 'SUB', Effect: 'DENY' }, 'add');
  const v5 = await open(t, env.wsUrl, { clientId: 'car-1', username: 'fleet', password: 'fleet-pw', protocolVersion: 5 });
  assert.deepEqual(await subscribe(v5, ['home/public', 'home/#', 'garden/x']), [1, 0x87, 0x87], 'home/# could receive home/secret: DENY wins');
  assert.equal(await publish(v5, 'home/secret'), 0, 'the DENY is for SUB only');
  const signed = await open(t, env.wsUrl, { clientId: 'special', username: 'fleet', password: hmacSha1Base64('k', 'special') });
  assert.equal(signed.connack.returnCode, 0);
  assert.equal(await refused(t, env.wsUrl, { clientId: 'special', username: 'fleet', password: 'fleet-pw' }), 4, 'the CLIENT identity wins');
  assert.equal(await refused(t, env.wsUrl, { clientId: 'car-2', username: 'fleet', password: 'nope' }), 4);
  const v4 = await open(t, env.wsUrl, { clientId: 'car-3', username: 'fleet', password: 'fleet-pw' });
  assert.equal(await subscribe(v4, 'garden/x'), null, '3.1.1: resource auth failed closes the connection');
  await closed(v4);
  assert.equal(await refused(t, env.wsUrl, { clientId: 'anon' }), 5, 'no anonymous clients on mqtt-r');
});

test('auth modes - blacklisted client ids are refused and cut, in every mode', async (t) => {
  const env = await setup(t);
  const live = await open(t, env.url, { ...signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@bad'), protocolVersion: 5 });
  await env.ferry.auth.custom.blacklistAdd('mqtt-s', 'GID_dev@@@bad');
  await closed(live);
  assert.equal(live.disconnectReason, 0x87);
  assert.equal(await refused(t, env.url, signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@bad')), 5);
  assert.equal(await refused(t, env.url, { ...signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@bad'), protocolVersion: 5 }), 0x8a);
  assert.equal((await open(t, env.url, signature(ADMIN.id, ADMIN.secret, 'mqtt-r', 'GID_dev@@@bad'))).connack.returnCode, 0, 'only on that instance');
  await env.ferry.auth.custom.blacklistDelete('mqtt-s', 'GID_dev@@@bad');
  assert.equal((await open(t, env.url, signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@bad'))).connack.returnCode, 0);
});

test('auth modes - anonymous clients on the loopback default instance keep working', async (t) => {
  const env = await setup(t);
  const a = await open(t, env.url, { clientId: 'anon-1' });
  const b = await open(t, env.url, { clientId: 'anon-2', username: 'whoever', password: 'whatever' });
  assert.deepEqual(await subscribe(a, 'any/#'), [1]);
  assert.equal(await publish(b, 'any/thing', 'hi'), 0);
  const closedEnv = await startAuthFerry(t, { broker: { allowAnonymous: false } });
  assert.equal(await refused(t, closedEnv.url, { clientId: 'anon-1' }), 5);
  assert.equal(await refused(t, closedEnv.url, { clientId: 'anon-1', username: 'whoever', password: 'x' }), 4);
  assert.equal((await open(t, closedEnv.url, signature(ADMIN.id, ADMIN.secret, 'mqtt-default', 'c1'))).connack.returnCode, 0);
});

test('auth modes - the TLS server name or WebSocket Host <instanceId>.<domain> picks the instance', async (t) => {
  const { makeSelfSignedCert, tempDir } = await import('../../helpers/index.js');
  const cert = makeSelfSignedCert(tempDir(t), { cn: 'mqtt.example.com', altNames: ['DNS:*.mqtt.example.com', 'DNS:localhost'] });
  const env = await startAuthFerry(t, { tlsCert: cert.certFile, tlsKey: cert.keyFile });
  await env.ferry.auth.tenancy.createInstance({ id: 'mqtt-h', mode: 'relaxed' });
  await env.ferry.auth.custom.putIdentity('mqtt-h', { username: 'h-user', identityType: 'USER', secret: 'h-pw', signMode: 'ORIGIN' }, 'add');
  const tlsUrl = `mqtts://127.0.0.1:${env.ferry.ports.mqtts}`;
  const viaSni = await open(t, tlsUrl, { clientId: 'h1', username: 'h-user', password: 'h-pw', servername: 'mqtt-h.mqtt.example.com', rejectUnauthorized: false });
  assert.equal(viaSni.connack.returnCode, 0);
  assert.ok(env.ferry.broker.session('h1', 'mqtt-h'), 'the custom identity of mqtt-h, found through SNI');
  const wsUrl = `ws://127.0.0.1:${env.ferry.ports.ws}/mqtt`;
  const viaHost = await open(t, wsUrl, { clientId: 'h2', username: 'h-user', password: 'h-pw', wsOptions: { headers: { Host: 'mqtt-h.mqtt.example.com' } } });
  assert.equal(viaHost.connack.returnCode, 0);
  assert.ok(env.ferry.broker.session('h2', 'mqtt-h'));
  assert.equal(
    await refused(t, tlsUrl, { ...signature(ADMIN.id, ADMIN.secret, 'mqtt-default', 'h3'), servername: 'mqtt-h.mqtt.example.com', rejectUnauthorized: false }),
    5,
    'a username naming another instance than the server name is refused',
  );
  const plain = await open(t, tlsUrl, { clientId: 'h4', servername: 'localhost', rejectUnauthorized: false });
  assert.equal(plain.connack.returnCode, 0);
  assert.ok(env.ferry.broker.session('h4'), 'no instance in the name: the default instance');
});
