/**
 * Issue 4 proof: the `$SYS` token flows over real sockets — upload on a live connection, the
 * expiry notice about 5 minutes ahead, the invalid notice and disconnect on expiry, revocation
 * (at once, on every connection) and on a topic outside the grant, for 3.1.1 and 5.0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, closed, open, publish, received, refused, sleep, startAuthFerry, subscribe } from './fixture.js';

const MIN = 60_000;

async function setup(t: Parameters<typeof startAuthFerry>[0]) {
  const env = await startAuthFerry(t);
  await env.ferry.auth.tenancy.createInstance({ id: 'mqtt-t' });
  await env.ferry.auth.tenancy.createGroup('mqtt-t', 'GID_app');
  await env.ferry.auth.tenancy.createParentTopic('mqtt-t', 'chat');
  const apply = (actions: string, resources: string[], minutes: number) =>
    env.ferry.auth.tokens.apply({ instanceId: 'mqtt-t', accessKeyId: ADMIN.id, resources, actions, expireTime: env.clock.now() + minutes * MIN });
  return { ...env, apply, username: `Token|${ADMIN.id}|mqtt-t` };
}

test('auth tokens - $SYS/uploadToken replaces a token on a live connection; the grant follows', async (t) => {
  const env = await setup(t);
  const c = await open(t, env.url, { clientId: 'GID_app@@@u1', username: env.username, password: `R|${env.apply('R', ['chat/room1'], 60).token}`, protocolVersion: 5 });
  const next = env.apply('W', ['chat/room1'], 60);
  assert.equal(await publish(c, '$SYS/uploadToken', JSON.stringify({ token: next.token, type: 'W' })), 0, 'PUBACK after the token is checked');
  assert.equal(await publish(c, 'chat/room1', 'now allowed'), 0);
  assert.deepEqual(await subscribe(c, 'chat/room1'), [1], 'the R token is still held');
  assert.equal(c.closed, false);
});

test('auth tokens - expiry notice 5 minutes ahead, then the invalid notice (code 2) and a disconnect', async (t) => {
  const env = await setup(t);
  const token = env.apply('R', ['chat/#'], 30);
  const c = await open(t, env.url, { clientId: 'GID_app@@@e1', username: env.username, password: `R|${token.token}` });
  env.clock.advance(25 * MIN - 1);
  await sleep(100);
  assert.equal(c.received.length, 0);
  env.clock.advance(1);
  const [notice] = await received(c, 1);
  assert.equal(notice!.topic, '$SYS/tokenExpireNotice', 'delivered without any subscription');
  assert.deepEqual(JSON.parse(notice!.payload), { expireTime: token.expireTime, type: 'R' });
  env.clock.advance(5 * MIN);
  const all = await received(c, 2);
  assert.equal(all[1]!.topic, '$SYS/tokenInvalidNotice');
  assert.deepEqual(JSON.parse(all[1]!.payload), { code: 2, type: 'R' });
  await closed(c);
});

test('auth tokens - revocation sends code 3 and disconnects every holder at once', async (t) => {
  const env = await setup(t);
  const shared = env.apply('R', ['chat/#'], 60);
  const a = await open(t, env.url, { clientId: 'GID_app@@@r1', username: env.username, password: `R|${shared.token}` });
  const b = await open(t, env.url, { clientId: 'GID_app@@@r2', username: env.username, password: `R|${shared.token}`, protocolVersion: 5 });
  const other = await open(t, env.url, { clientId: 'GID_app@@@r3', username: env.username, password: `R|${env.apply('R', ['chat/#'], 60).token}` });
  assert.equal(env.ferry.auth.tokens.query('mqtt-t', shared.token), true);
  await env.ferry.auth.tokens.revoke('mqtt-t', shared.token);
  await Promise.all([closed(a), closed(b)]);
  for (const c of [a, b]) {
    assert.deepEqual(c.received.map((r) => [r.topic, JSON.parse(r.payload)]), [['$SYS/tokenInvalidNotice', { code: 3, type: 'R' }]]);
  }
  assert.equal(b.disconnectReason, 0x87);
  assert.equal(env.ferry.auth.tokens.query('mqtt-t', shared.token), false);
  await sleep(100);
  assert.equal(other.closed, false, 'other tokens are untouched');
});

test('auth tokens - a topic outside the grant: code 4, a wrong action: code 5, then disconnect', async (t) => {
  const env = await setup(t);
  const password = `R|${env.apply('R', ['chat/in/#'], 60).token}|W|${env.apply('W', ['chat/out'], 60).token}`;
  const v4 = await open(t, env.url, { clientId: 'GID_app@@@m1', username: env.username, password });
  assert.equal(await subscribe(v4, 'chat/elsewhere'), null);
  await closed(v4);
  assert.deepEqual(JSON.parse(v4.received[0]!.payload), { code: 4 });
  const v5 = await open(t, env.url, { clientId: 'GID_app@@@m2', username: env.username, password, protocolVersion: 5 });
  assert.equal(await publish(v5, 'chat/in/x'), null, 'an R-only topic used to publish');
  await closed(v5);
  assert.equal(v5.received[0]?.topic, '$SYS/tokenInvalidNotice');
  assert.deepEqual(JSON.parse(v5.received[0]!.payload), { code: 5 });
  assert.equal(v5.disconnectReason, 0x87);
});

test('auth tokens - an invalid upload disconnects with its code; removing the key invalidates tokens (-1)', async (t) => {
  const env = await setup(t);
  const c = await open(t, env.url, { clientId: 'GID_app@@@x1', username: env.username, password: `R|${env.apply('R', ['chat/#'], 60).token}` });
  c.client.publish('$SYS/uploadToken', JSON.stringify({ token: 'forged.token', type: 'W' }), { qos: 1 });
  await closed(c);
  assert.deepEqual(JSON.parse(c.received[0]!.payload), { code: 1, type: 'W' });

  const { key, secret } = await env.ferry.auth.keys.create({ policies: ['AliyunMQFullAccess'] });
  void secret;
  const token = env.ferry.auth.tokens.apply({ instanceId: 'mqtt-t', accessKeyId: key.id, resources: ['chat/#'], actions: 'R', expireTime: env.clock.now() + 60 * MIN });
  const d = await open(t, env.url, { clientId: 'GID_app@@@x2', username: `Token|${key.id}|mqtt-t`, password: `R|${token.token}` });
  await env.ferry.auth.keys.delete(key.id);
  await closed(d);
  assert.deepEqual(JSON.parse(d.received[0]!.payload), { code: -1, type: 'R' });
});

test('auth tokens - a token is accepted under every type its actions cover (R,W as R, W, RW), and grants that type only', async (t) => {
  const env = await setup(t);
  const rw = env.apply('R,W', ['chat/#'], 60).token;
  // The same R,W token in both slots: reads and writes.
  const both = await open(t, env.url, { clientId: 'GID_app@@@c1', username: env.username, password: `R|${rw}|W|${rw}`, protocolVersion: 5 });
  assert.deepEqual(await subscribe(both, 'chat/a'), [1]);
  assert.equal(await publish(both, 'chat/a'), 0);
  const asRw = await open(t, env.url, { clientId: 'GID_app@@@c2', username: env.username, password: `RW|${rw}`, protocolVersion: 5 });
  assert.deepEqual(await subscribe(asRw, 'chat/b'), [1]);
  assert.equal(await publish(asRw, 'chat/b'), 0);
  // Presented as R only: it serves reading; a publish is a type mismatch (code 5).
  const asR = await open(t, env.url, { clientId: 'GID_app@@@c3', username: env.username, password: `R|${rw}`, protocolVersion: 5 });
  assert.deepEqual(await subscribe(asR, 'chat/c'), [1]);
  assert.equal(await publish(asR, 'chat/c'), null);
  await closed(asR);
  assert.deepEqual(JSON.parse(asR.received[0]!.payload), { code: 5, type: 'R' });
  // An RW token uploaded as W fills the W slot of an R connection.
  const up = await open(t, env.url, { clientId: 'GID_app@@@c4', username: env.username, password: `R|${env.apply('R', ['chat/#'], 60).token}`, protocolVersion: 5 });
  assert.equal(await publish(up, '$SYS/uploadToken', JSON.stringify({ token: rw, type: 'W' })), 0);
  assert.equal(await publish(up, 'chat/d'), 0);
  // Revoking the token shared by two slots still cuts the connection at once.
  await env.ferry.auth.tokens.revoke('mqtt-t', rw);
  await Promise.all([closed(both), closed(asRw), closed(up)]);

  // A type the actions do not cover stays refused: an R token as W or RW, a W token as R.
  const r = env.apply('R', ['chat/#'], 60).token;
  const w = env.apply('W', ['chat/#'], 60).token;
  for (const password of [`W|${r}`, `RW|${r}`, `R|${w}`, `R|${r}|W|${r}`]) {
    assert.equal(await refused(t, env.url, { clientId: 'GID_app@@@no', username: env.username, password, protocolVersion: 5 }), 0x86, password);
  }
  const wrongUpload = await open(t, env.url, { clientId: 'GID_app@@@c5', username: env.username, password: `R|${r}` });
  wrongUpload.client.publish('$SYS/uploadToken', JSON.stringify({ token: r, type: 'W' }), { qos: 1 });
  await closed(wrongUpload);
  assert.deepEqual(JSON.parse(wrongUpload.received[0]!.payload), { code: 5, type: 'W' });
});
