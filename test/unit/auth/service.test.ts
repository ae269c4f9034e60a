import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ManualClock } from '../../../src/auth/clock.js';
import { hmacSha1Base64, SecretBox } from '../../../src/auth/crypto.js';
import { AuthService, type AuthServiceOptions, type BrokerView } from '../../../src/auth/service.js';
import type { AccessDecision, AuthVerdict, ClientHandle } from '../../../src/broker/hooks.js';
import type { ConnectPacket, ProtocolVersion } from '../../../src/protocol/packets.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { PeerInfo } from '../../../src/transport/types.js';

const MIN = 60_000;

class FakeClient implements ClientHandle {
  connected = true;
  readonly notices: Array<{ topic: string; body: unknown }> = [];
  disconnectedWith: number | null = null;
  constructor(
    readonly instanceId: string,
    readonly clientId: string,
    readonly principal: unknown,
    readonly protocolVersion: ProtocolVersion = 4,
    readonly username: string | undefined = undefined,
    readonly peer: PeerInfo = { transport: 'tcp', remoteAddress: '10.0.0.9', remotePort: 1, listener: 'mqtt' },
  ) {}
  notify(topic: string, payload: Buffer): void {
    this.notices.push({ topic, body: JSON.parse(payload.toString()) });
  }
  disconnect(reasonCode: number): void {
    this.disconnectedWith = reasonCode;
    this.connected = false;
  }
}

class FakeBroker implements BrokerView {
  readonly live: FakeClient[] = [];
  subscriptions = new Map<string, Set<string>>();
  connections(instanceId: string): number {
    return this.live.filter((c) => c.instanceId === instanceId && c.connected).length;
  }
  clientOnline(instanceId: string, clientId: string): boolean {
    return this.live.some((c) => c.instanceId === instanceId && c.clientId === clientId && c.connected);
  }
  clientSubscriptions(instanceId: string, clientId: string, filter: string): { count: number; has: boolean } {
    const set = this.subscriptions.get(`${instanceId}/${clientId}`) ?? new Set();
    return { count: set.size, has: set.has(filter) };
  }
  instanceSubscriptions(instanceId: string): number {
    let n = 0;
    for (const [key, set] of this.subscriptions) if (key.startsWith(`${instanceId}/`)) n += set.size;
    return n;
  }
  *clients(instanceId?: string): Iterable<ClientHandle> {
    for (const c of this.live) if (c.connected && (instanceId === undefined || c.instanceId === instanceId)) yield c;
  }
}

async function setup(options: Partial<AuthServiceOptions> = {}) {
  const clock = new ManualClock();
  const auth = await AuthService.open({
    store: new MemoryStore(),
    box: SecretBox.ephemeral(),
    options: { allowAnonymous: true, acl: [], listenerInstances: { 'strict-port': 'mqtt-s' }, clock, ...options },
    logger: pino({ level: 'silent' }),
  });
  const broker = new FakeBroker();
  auth.attach(broker);
  await auth.tenancy.createInstance({ id: 'mqtt-s', limits: { maxConnections: 2, maxMessagesPerSecond: 3, maxSubscriptionsPerClient: 2 } });
  await auth.tenancy.createGroup('mqtt-s', 'GID_dev');
  await auth.tenancy.createParentTopic('mqtt-s', 'data');
  await auth.tenancy.createInstance({ id: 'mqtt-r', mode: 'relaxed' });
  const { key, secret } = await auth.keys.create({ id: 'AKfull000001', policies: ['AliyunMQFullAccess'] });
  const limited = await auth.keys.create({
    id: 'AKlimited001',
    policies: [
      {
        Statement: [
          { Effect: 'Allow', Action: ['mq:MqttInstanceAccess', 'mq:ApplyToken'], Resource: 'acs:mq:*:*:instance/*' },
          { Effect: 'Allow', Action: ['mq:PUB', 'mq:SUB'], Resource: 'acs:mq:*:*:topic/*/data' },
          { Effect: 'Allow', Action: 'mq:SUB', Resource: 'acs:mq:*:*:groupId/mqtt-s/GID_dev' },
        ],
      },
    ],
  });
  return { clock, auth, broker, ak: key.id, secret, limitedAk: limited.key.id, limitedSecret: limited.secret };
}

function connect(clientId: string, username?: string, password?: string, protocolVersion: ProtocolVersion = 4): ConnectPacket {
  return {
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion,
    clean: true,
    keepalive: 60,
    clientId,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password: Buffer.from(password) }),
  };
}

function peer(listener = 'mqtt', remoteAddress = '10.0.0.9', serverName?: string): PeerInfo {
  return { transport: 'tcp', remoteAddress, remotePort: 5000, listener, ...(serverName === undefined ? {} : { serverName }) };
}

/** Authenticates and, on success, "connects" a fake client the way the broker would. */
async function login(
  env: Awaited<ReturnType<typeof setup>>,
  packet: ConnectPacket,
  where: PeerInfo = peer(),
): Promise<{ verdict: AuthVerdict; client: FakeClient | null }> {
  const verdict = await env.auth.authenticate(packet, where);
  if (!verdict.ok) return { verdict, client: null };
  const client = new FakeClient(verdict.instanceId, packet.clientId, verdict.principal, packet.protocolVersion, packet.username, where);
  env.broker.live.push(client);
  env.auth.connected(client);
  return { verdict, client };
}

const refused = (v: AuthVerdict): number => (v.ok ? 0 : v.reasonCode);
// These principals are answered at once (only an authorization callback answers later).
const denial = (d: AccessDecision | Promise<AccessDecision>): string => {
  assert.ok(!(d instanceof Promise), 'decided at once');
  return typeof d === 'object' ? `${d.deny.toString(16)}${d.disconnect ? '!' : ''}` : d;
};

test('auth service - anonymous clients reach only the default instance, and only when allowed', async () => {
  const env = await setup();
  const ok = await login(env, connect('dev'));
  assert.deepEqual(ok.verdict.ok && [ok.verdict.instanceId, (ok.verdict.principal as { mode: string }).mode], ['mqtt-default', 'anonymous']);
  const named = await login(env, connect('dev2', 'just-a-name', 'pw'));
  assert.equal(named.verdict.ok, true, 'a username that is no identity is anonymous on the default instance');
  assert.equal(refused((await login(env, connect('GID_dev@@@1'), peer('strict-port'))).verdict), 0x87, 'a listener bound to another instance');
  const closed = await setup({ allowAnonymous: false });
  assert.equal(refused((await login(closed, connect('dev'))).verdict), 0x87);
  assert.equal(refused((await login(closed, connect('dev', 'just-a-name', 'pw'))).verdict), 0x86);
});

test('auth service - Signature mode: accepted, forged, unknown instance, wrong instance, no instance access', async () => {
  const env = await setup();
  const id = 'GID_dev@@@1';
  const ok = await login(env, connect(id, `Signature|${env.ak}|mqtt-s`, hmacSha1Base64(env.secret, id)));
  assert.equal(ok.verdict.ok && ok.verdict.instanceId, 'mqtt-s');
  assert.equal(refused((await login(env, connect(id, `Signature|${env.ak}|mqtt-s`, hmacSha1Base64('forged', id)))).verdict), 0x86);
  assert.equal(refused((await login(env, connect(id, `Signature|${env.ak}|mqtt-s`, hmacSha1Base64(env.secret, 'GID_dev@@@2')))).verdict), 0x86);
  assert.equal(refused((await login(env, connect(id, `Signature|${env.ak}|mqtt-nope`, hmacSha1Base64(env.secret, id)))).verdict), 0x86);
  const viaOther = await login(env, connect('c1', `Signature|${env.ak}|mqtt-r`, hmacSha1Base64(env.secret, 'c1')), peer('strict-port'));
  assert.equal(refused(viaOther.verdict), 0x87, 'the username names another instance than the listener serves');
  const viaHost = await login(env, connect('c1', `Signature|${env.ak}|mqtt-r`, hmacSha1Base64(env.secret, 'c1')), peer('mqtts', '10.0.0.9', 'mqtt-s.example.com'));
  assert.equal(refused(viaHost.verdict), 0x87, 'the TLS server name names another instance');
  assert.equal(refused((await login(env, connect('plain-id', `Signature|${env.ak}|mqtt-s`, hmacSha1Base64(env.secret, 'plain-id')))).verdict), 0x85);
  await env.auth.keys.create({ id: 'AKnoaccess01', secret: 'no-access-secret-01', policies: [{ Statement: [{ Effect: 'Allow', Action: 'mq:PUB', Resource: '*' }] }] });
  assert.equal(refused((await login(env, connect(id, 'Signature|AKnoaccess01|mqtt-s', hmacSha1Base64('no-access-secret-01', id)))).verdict), 0x87);
  assert.equal(refused((await login(env, connect(id, `Nonsense|${env.ak}|mqtt-s`, 'x'))).verdict), 0x86);
  assert.equal(refused((await login(env, connect(id, `Signature|${env.ak}`, 'x'))).verdict), 0x86);
});

test('auth service - Signature mode grants follow the policy; 3.1.1 is disconnected, 5.0 gets reason codes', async () => {
  const env = await setup();
  const id = 'GID_dev@@@1';
  const v4 = (await login(env, connect(id, `Signature|${env.limitedAk}|mqtt-s`, hmacSha1Base64(env.limitedSecret, id)))).client!;
  assert.equal(env.auth.authorizePublish(v4, 'data/x', 10), 'allow');
  assert.equal(env.auth.authorizeSubscribe(v4, 'data/#'), 'allow');
  assert.equal(denial(env.auth.authorizePublish(v4, 'other/x', 10)), '87!', 'resource auth failed, then disconnect');
  const v5 = (await login(env, connect('GID_dev@@@2', `Signature|${env.limitedAk}|mqtt-s`, hmacSha1Base64(env.limitedSecret, 'GID_dev@@@2'), 5))).client!;
  assert.equal(denial(env.auth.authorizePublish(v5, 'other/x', 10)), '87');
  assert.equal(env.auth.authorizeWill(v5, 'data/will'), true);
  assert.equal(env.auth.authorizeWill(v5, 'other/will'), false);
  assert.equal(denial(env.auth.authorizePublish(v5, '$SYS/x', 10)), '87', 'no $ topics for keys');
});

test('auth service - strict instance rules: topics, payload, subscriptions per client, message rate, connections', async () => {
  const env = await setup();
  const sig = (id: string, v: ProtocolVersion = 5) => connect(id, `Signature|${env.ak}|mqtt-s`, hmacSha1Base64(env.secret, id), v);
  const c = (await login(env, sig('GID_dev@@@1'))).client!;
  assert.equal(denial(env.auth.authorizePublish(c, 'nope/x', 1)), '90', 'unknown parent topic: invalid param');
  assert.equal(denial(env.auth.authorizeSubscribe(c, 'nope/#')), '8f');
  assert.equal(denial(env.auth.authorizePublish(c, 'data/x', 64 * 1024 + 1)), '95!', 'payload above 64 KB');
  env.broker.subscriptions.set('mqtt-s/GID_dev@@@1', new Set(['data/a', 'data/b']));
  assert.equal(denial(env.auth.authorizeSubscribe(c, 'data/c')), '97', '30 per client in strict mode; 2 here');
  assert.equal(env.auth.authorizeSubscribe(c, 'data/a'), 'allow', 'subscribing again is no new subscription');
  const results = [1, 2, 3, 4].map(() => denial(env.auth.authorizePublish(c, 'data/x', 1)));
  assert.deepEqual(results, ['allow', 'allow', 'allow', '97'], '3 messages per second');
  env.clock.advance(1000);
  assert.equal(env.auth.authorizePublish(c, 'data/x', 1), 'allow');
  assert.equal(env.auth.quotas.count('mqtt-s').messagesThrottled, 1);
  await login(env, sig('GID_dev@@@2'));
  assert.equal(refused((await login(env, sig('GID_dev@@@3'))).verdict), 0x97, 'connection quota of 2');
  const again = await env.auth.authenticate(sig('GID_dev@@@2'), peer());
  assert.equal(again.ok, true, 'taking over an own session is no new connection');
  assert.equal(refused((await login(env, sig('GID_unknown@@@1'))).verdict), 0x85, 'unknown group');
  const v3 = (await login(env, sig('GID_dev@@@2', 4))).client!;
  assert.equal(denial(env.auth.authorizePublish(v3, 'nope/x', 1)), '90!', '3.1.1: invalid param disconnects');
});

test('auth service - Token mode: connect, grant checks with notices, upload, revocation, expiry', async () => {
  const env = await setup();
  const id = 'GID_dev@@@t1';
  const now = env.clock.now();
  const r = env.auth.tokens.apply({ instanceId: 'mqtt-s', accessKeyId: env.ak, resources: ['data/in/#'], actions: 'R', expireTime: now + 60 * MIN });
  const w = env.auth.tokens.apply({ instanceId: 'mqtt-s', accessKeyId: env.ak, resources: ['data/out'], actions: 'W', expireTime: now + 10 * MIN });
  const username = `Token|${env.ak}|mqtt-s`;
  assert.equal(refused((await login(env, connect(id, username, `R|${r.token}|W|garbage`))).verdict), 0x86, 'one bad token rejects the set');
  assert.equal(refused((await login(env, connect(id, username, `W|${r.token}`))).verdict), 0x86, 'an R token presented as W');
  assert.equal(refused((await login(env, connect(id, `Token|${env.limitedAk}|mqtt-s`, `R|${r.token}`))).verdict), 0x86, 'another key');
  const { client } = await login(env, connect(id, username, `R|${r.token}|W|${w.token}`));
  const c = client!;
  assert.equal(env.auth.authorizeSubscribe(c, 'data/in/+'), 'allow');
  assert.equal(env.auth.authorizePublish(c, 'data/out', 1), 'allow');
  assert.equal(env.auth.authorizePublish(c, '$SYS/uploadToken', 1), 'allow');

  assert.equal(denial(env.auth.authorizePublish(c, 'data/in/x', 1)), '87!');
  assert.deepEqual(c.notices.pop(), { topic: '$SYS/tokenInvalidNotice', body: { code: 5 } });
  assert.equal(denial(env.auth.authorizePublish(c, 'data/elsewhere', 1)), '87!');
  assert.deepEqual(c.notices.pop()?.body, { code: 4 });

  // Expiry: the W token expires after 10 minutes; its notice comes 5 minutes before.
  env.clock.advance(5 * MIN);
  assert.deepEqual(c.notices.pop(), { topic: '$SYS/tokenExpireNotice', body: { expireTime: w.expireTime, type: 'W' } });
  // A fresh W token uploaded in time replaces it.
  const w2 = env.auth.tokens.apply({ instanceId: 'mqtt-s', accessKeyId: env.ak, resources: ['data/out'], actions: 'W', expireTime: env.clock.now() + 30 * MIN });
  assert.equal(env.auth.onSystemPublish(c, '$SYS/uploadToken', Buffer.from(JSON.stringify({ token: w2.token, type: 'W' }))), 'handled');
  env.clock.advance(6 * MIN);
  assert.equal(c.connected, true, 'the replaced token no longer expires the connection');
  assert.equal(c.notices.length, 0);

  // Revocation cuts at once.
  await env.auth.tokens.revoke('mqtt-s', w2.token);
  assert.deepEqual(c.notices.pop(), { topic: '$SYS/tokenInvalidNotice', body: { code: 3, type: 'W' } });
  assert.equal(c.connected, false);
  assert.equal(c.disconnectedWith, 0x87);
  assert.equal(refused((await login(env, connect(id, username, `W|${w2.token}`))).verdict), 0x86, 'a revoked token cannot connect');
});

test('auth service - Token mode: expiry disconnects, bad uploads disconnect, key removal invalidates (-1)', async () => {
  const env = await setup();
  const username = `Token|${env.ak}|mqtt-s`;
  const t = env.auth.tokens.apply({ instanceId: 'mqtt-s', accessKeyId: env.ak, resources: ['data/#'], actions: 'R,W', expireTime: env.clock.now() + 2 * MIN });
  const a = (await login(env, connect('GID_dev@@@a', username, `RW|${t.token}`))).client!;
  env.clock.advance(2 * MIN);
  assert.deepEqual(a.notices, [{ topic: '$SYS/tokenInvalidNotice', body: { code: 2, type: 'RW' } }], 'under 5 minutes of validity: no expire notice');
  assert.equal(a.connected, false);

  const t2 = env.auth.tokens.apply({ instanceId: 'mqtt-s', accessKeyId: env.ak, resources: ['data/#'], actions: 'R', expireTime: env.clock.now() + 60 * MIN });
  const b = (await login(env, connect('GID_dev@@@b', username, `R|${t2.token}`))).client!;
  env.auth.onSystemPublish(b, '$SYS/uploadToken', Buffer.from('{oops'));
  assert.deepEqual(b.notices.pop()?.body, { code: 1 });
  assert.equal(b.connected, false);
  const c = (await login(env, connect('GID_dev@@@c', username, `R|${t2.token}`))).client!;
  env.auth.onSystemPublish(c, '$SYS/uploadToken', Buffer.from(JSON.stringify({ token: t2.token, type: 'W' })));
  assert.deepEqual(c.notices.pop()?.body, { code: 5, type: 'W' });
  const d = (await login(env, connect('GID_dev@@@d', username, `R|${t2.token}`))).client!;
  await env.auth.keys.update(env.ak, { status: 'Inactive' });
  assert.deepEqual(d.notices.pop()?.body, { code: -1, type: 'R' });
  assert.equal(d.connected, false);
});

test('auth service - verdicts come in the same turn unless the credential check waits (no promise per connect)', async () => {
  const env = await setup();
  const anonymous = env.auth.authenticate(connect('dev'), peer());
  assert.ok(!(anonymous instanceof Promise), 'anonymous: answered in this turn');
  assert.equal(anonymous.ok, true);
  const id = 'GID_dev@@@1';
  const signed = env.auth.authenticate(connect(id, `Signature|${env.ak}|mqtt-s`, hmacSha1Base64(env.secret, id)), peer());
  assert.ok(!(signed instanceof Promise) && signed.ok, 'Signature: answered in this turn');
  const refusedNow = env.auth.authenticate(connect(id, `Signature|${env.ak}|nope`, 'x'), peer());
  assert.ok(!(refusedNow instanceof Promise) && !refusedNow.ok, 'a refusal too');
  const cred = await env.auth.devices.register('mqtt-s', 'GID_dev@@@d9');
  const device = env.auth.authenticate(connect('GID_dev@@@d9', `DeviceCredential|${cred.DeviceAccessKeyId}|mqtt-s`, hmacSha1Base64(cred.DeviceAccessKeySecret, 'GID_dev@@@d9')), peer());
  assert.ok(device instanceof Promise, 'a device credential is looked up: a promise');
  assert.equal((await device).ok, true);
});

test('auth service - DeviceCredential mode and the blacklist', async () => {
  const env = await setup();
  const cred = await env.auth.devices.register('mqtt-s', 'GID_dev@@@d1');
  const username = `DeviceCredential|${cred.DeviceAccessKeyId}|mqtt-s`;
  const good = hmacSha1Base64(cred.DeviceAccessKeySecret, 'GID_dev@@@d1');
  const { client } = await login(env, connect('GID_dev@@@d1', username, good));
  assert.ok(client);
  assert.equal(env.auth.authorizePublish(client, 'data/x', 1), 'allow', 'a device may use every topic of its instance');
  assert.equal(refused((await login(env, connect('GID_dev@@@d2', username, hmacSha1Base64(cred.DeviceAccessKeySecret, 'GID_dev@@@d2')))).verdict), 0x86);
  await env.auth.custom.blacklistAdd('mqtt-s', 'GID_dev@@@d1');
  assert.equal(client.connected, false, 'blacklisting cuts the live connection');
  assert.equal(refused((await login(env, connect('GID_dev@@@d1', username, good))).verdict), 0x8a);
  await env.auth.custom.blacklistDelete('mqtt-s', 'GID_dev@@@d1');
  const back = (await login(env, connect('GID_dev@@@d1', username, good))).client!;
  await env.auth.devices.unregister('mqtt-s', 'GID_dev@@@d1');
  assert.equal(back.connected, false, 'unregistering cuts the device');
});

test('auth service - custom identities with permissions, on a listener-bound instance', async () => {
  const env = await setup();
  await env.auth.custom.putIdentity('mqtt-s', { username: 'app', identityType: 'USER', secret: 'pw', signMode: 'ORIGIN' }, 'add');
  await env.auth.custom.putPermission('mqtt-s', { Identity: 'app', IdentityType: 'USER', Topic: 'data/#', PermitAction: 'PUB_SUB', Effect: 'ALLOW' }, 'add');
  await env.auth.custom.putPermission('mqtt-s', { Identity: 'app', IdentityType: 'USER', Topic: 'data/admin', PermitAction: 'PUB', Effect: 'DENY' }, 'add');
  const c = (await login(env, connect('GID_dev@@@u1', 'app', 'pw', 5), peer('strict-port'))).client!;
  assert.equal(c.instanceId, 'mqtt-s');
  assert.equal(env.auth.authorizePublish(c, 'data/x', 1), 'allow');
  assert.equal(denial(env.auth.authorizePublish(c, 'data/admin', 1)), '87');
  assert.equal(refused((await login(env, connect('GID_dev@@@u1', 'app', 'wrong'), peer('strict-port'))).verdict), 0x86);
  const elsewhere = await login(env, connect('GID_dev@@@u1', 'app', 'pw'));
  assert.equal(elsewhere.client?.instanceId, 'mqtt-default', 'identities are per instance: on the default instance "app" is anonymous');
  assert.equal((elsewhere.client?.principal as { mode: string }).mode, 'anonymous');
});

test('auth service - failed logins are rate limited per username and address', async () => {
  const env = await setup({ loginLimits: { maxFailuresPerIp: 100, maxFailuresPerUsername: 3, windowMs: MIN, blockMs: MIN, maxBlockMs: 60 * MIN, maxEntries: 100 } });
  const id = 'GID_dev@@@1';
  const username = `Signature|${env.ak}|mqtt-s`;
  for (let i = 0; i < 3; i++) assert.equal(refused((await login(env, connect(id, username, 'bad'))).verdict), 0x86);
  assert.equal(refused((await login(env, connect(id, username, hmacSha1Base64(env.secret, id)))).verdict), 0x8a, 'blocked even with the right password');
  env.clock.advance(MIN);
  assert.equal((await login(env, connect(id, username, hmacSha1Base64(env.secret, id)))).verdict.ok, true);
});
