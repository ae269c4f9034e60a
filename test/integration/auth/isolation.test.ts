/**
 * Issue 4 proof: cross-tenant attacks fail. A client of one instance can neither read, publish
 * into, nor take over the session of a client of another instance — also with the same client
 * id, the same topics, retained messages, shared groups and P2P. And P2P reaches its target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, open, publish, received, refused, signature, sleep, startAuthFerry, subscribe } from './fixture.js';

async function setup(t: Parameters<typeof startAuthFerry>[0]) {
  const env = await startAuthFerry(t);
  const auth = env.ferry.auth;
  await auth.tenancy.createInstance({ id: 'mqtt-a', mode: 'relaxed' });
  await auth.tenancy.createInstance({ id: 'mqtt-b', mode: 'relaxed' });
  const scoped = async (instanceId: string) =>
    auth.keys.create({
      policies: [{ Statement: [{ Effect: 'Allow', Action: 'mq:*', Resource: [`acs:mq:*:*:instance/${instanceId}`, `acs:mq:*:*:topic/${instanceId}/*`] }] }],
    });
  const keyA = await scoped('mqtt-a');
  const keyB = await scoped('mqtt-b');
  const inA = (clientId: string, v: 4 | 5 = 4) => ({ ...signature(keyA.key.id, keyA.secret, 'mqtt-a', clientId), protocolVersion: v });
  const inB = (clientId: string, v: 4 | 5 = 4) => ({ ...signature(keyB.key.id, keyB.secret, 'mqtt-b', clientId), protocolVersion: v });
  return { ...env, keyA, keyB, inA, inB };
}

test('isolation - a subscriber of one instance never reads another instance\'s messages or retained messages', async (t) => {
  const env = await setup(t);
  const readerA = await open(t, env.url, env.inA('reader'));
  const spyB = await open(t, env.url, env.inB('spy'));
  assert.deepEqual(await subscribe(readerA, 'telemetry/#'), [1]);
  assert.deepEqual(await subscribe(spyB, ['telemetry/#', '#']), [1, 1]);
  const writerA = await open(t, env.url, env.inA('writer'));
  assert.equal(await publish(writerA, 'telemetry/dev1', 'secret reading'), 0);
  writerA.client.publish('telemetry/retained', 'kept', { qos: 1, retain: true });
  await received(readerA, 2);
  const lateSpy = await open(t, env.url, env.inB('late-spy'));
  assert.deepEqual(await subscribe(lateSpy, 'telemetry/#'), [1]);
  await sleep(300);
  assert.equal(spyB.received.length, 0, 'nothing crossed into mqtt-b');
  assert.equal(lateSpy.received.length, 0, 'retained messages are per instance');
  const lateReader = await open(t, env.url, env.inA('late-reader'));
  assert.deepEqual(await subscribe(lateReader, 'telemetry/#'), [1]);
  assert.deepEqual((await received(lateReader, 1)).map((r) => r.payload), ['kept']);
});

test('isolation - a client cannot publish into another instance, nor name it with its key or token', async (t) => {
  const env = await setup(t);
  const victimB = await open(t, env.url, env.inB('victim'));
  assert.deepEqual(await subscribe(victimB, 'cmd/#'), [1]);
  const attackerA = await open(t, env.url, env.inA('attacker'));
  assert.equal(await publish(attackerA, 'cmd/open-door', 'evil'), 0, 'accepted in its own instance');
  await sleep(200);
  assert.equal(victimB.received.length, 0);
  // Naming mqtt-b with mqtt-a's key, or with mqtt-a's key's signature under a foreign key id.
  assert.equal(await refused(t, env.url, signature(env.keyA.key.id, env.keyA.secret, 'mqtt-b', 'attacker')), 5);
  assert.equal(await refused(t, env.url, { ...signature(env.keyA.key.id, env.keyA.secret, 'mqtt-b', 'attacker'), username: `Signature|${env.keyB.key.id}|mqtt-b` }), 4);
  const tokenA = env.ferry.auth.tokens.apply({ instanceId: 'mqtt-a', accessKeyId: ADMIN.id, resources: ['cmd/#'], actions: 'W', expireTime: env.clock.now() + 3600_000 });
  assert.equal(await refused(t, env.url, { clientId: 'attacker', username: `Token|${ADMIN.id}|mqtt-b`, password: `W|${tokenA.token}` }), 4);
  assert.throws(
    () => env.ferry.auth.tokens.apply({ instanceId: 'mqtt-b', accessKeyId: env.keyA.key.id, resources: ['cmd/#'], actions: 'W', expireTime: env.clock.now() + 3600_000 }),
    /may not apply/,
  );
});

test('isolation - the same client id in another instance neither takes over nor resumes the session', async (t) => {
  const env = await setup(t);
  const owner = await open(t, env.url, { ...env.inA('GID_xyz@@@shared', 5), clean: false, properties: { sessionExpiryInterval: 600 } });
  assert.deepEqual(await subscribe(owner, 'inbox/#'), [1]);
  const intruder = await open(t, env.url, { ...env.inB('GID_xyz@@@shared', 5), clean: false, properties: { sessionExpiryInterval: 600 } });
  assert.equal(intruder.connack.sessionPresent, false, 'no session of mqtt-a resumed in mqtt-b');
  await sleep(200);
  assert.equal(owner.closed, false, 'the owner was not taken over');
  const sender = await open(t, env.url, env.inA('sender'));
  assert.equal(await publish(sender, 'inbox/1', 'for owner'), 0);
  assert.deepEqual((await received(owner, 1)).map((r) => r.payload), ['for owner']);
  assert.equal(intruder.received.length, 0);
  owner.client.end(true);
  await sleep(100);
  assert.equal(await publish(sender, 'inbox/2', 'queued for owner'), 0);
  const back = await open(t, env.url, { ...env.inA('GID_xyz@@@shared', 5), clean: false, properties: { sessionExpiryInterval: 600 } });
  assert.equal(back.connack.sessionPresent, true);
  assert.deepEqual((await received(back, 1)).map((r) => r.payload), ['queued for owner']);
});

test('isolation - shared subscription groups are per instance', async (t) => {
  const env = await setup(t);
  const memberA = await open(t, env.url, env.inA('member-a', 5));
  const memberB = await open(t, env.url, env.inB('member-b', 5));
  assert.deepEqual(await subscribe(memberA, '$share/workers/jobs/#'), [1]);
  assert.deepEqual(await subscribe(memberB, '$share/workers/jobs/#'), [1]);
  const producerA = await open(t, env.url, env.inA('producer'));
  for (let i = 0; i < 4; i++) assert.equal(await publish(producerA, `jobs/${i}`), 0);
  await received(memberA, 4);
  await sleep(200);
  assert.equal(memberB.received.length, 0);
});

test('P2P - <parent>/p2p/<clientId> reaches that client of the same instance with no subscription', async (t) => {
  const env = await setup(t);
  await env.ferry.auth.tenancy.createInstance({ id: 'mqtt-s' });
  await env.ferry.auth.tenancy.createGroup('mqtt-s', 'GID_dev');
  await env.ferry.auth.tenancy.createParentTopic('mqtt-s', 'notify');
  const target = await open(t, env.url, signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@target'));
  const twinB = await open(t, env.url, env.inB('GID_dev@@@target'));
  const bystander = await open(t, env.url, { ...signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@bystander'), protocolVersion: 5 });
  assert.deepEqual(await subscribe(bystander, 'notify/#'), [1]);
  const sender = await open(t, env.url, { ...signature(ADMIN.id, ADMIN.secret, 'mqtt-s', 'GID_dev@@@sender'), protocolVersion: 5 });
  assert.equal(await publish(sender, 'notify/p2p/GID_dev@@@target', 'just for you'), 0, 'a 64-character-rule exception for P2P');
  const [message] = await received(target, 1);
  assert.equal(message!.topic, 'notify/p2p/GID_dev@@@target');
  assert.equal(message!.payload, 'just for you');
  await sleep(200);
  assert.equal(bystander.received.length, 0, 'P2P goes to its target only, even past notify/#');
  assert.equal(twinB.received.length, 0, 'the same client id in another instance gets nothing');
  // A sender in mqtt-b reaches mqtt-b's client of that id, not mqtt-s's.
  const senderB = await open(t, env.url, env.inB('senderB'));
  assert.equal(await publish(senderB, 'notify/p2p/GID_dev@@@target', 'b only'), 0);
  assert.deepEqual((await received(twinB, 1)).map((r) => r.payload), ['b only']);
  await sleep(100);
  assert.equal(target.received.length, 1);
});

test('isolation - deleting an instance ends its sessions, queues and retained messages, and nothing else', async (t) => {
  const env = await setup(t);
  const persistentA = await open(t, env.url, { ...env.inA('keeper'), clean: false });
  assert.deepEqual(await subscribe(persistentA, 'data/#'), [1]);
  const writerA = await open(t, env.url, env.inA('writer'));
  writerA.client.publish('data/retained', 'kept', { qos: 1, retain: true });
  const keeperB = await open(t, env.url, { ...env.inB('keeper'), clean: false });
  assert.deepEqual(await subscribe(keeperB, 'data/#'), [1]);
  await sleep(200);
  const broker = env.ferry.broker;
  assert.ok(broker.session('keeper', 'mqtt-a'));

  await env.ferry.auth.tenancy.deleteInstance('mqtt-a');
  await persistentA.whenClosed;
  assert.equal(broker.session('keeper', 'mqtt-a'), undefined, 'session of the deleted instance ended');
  assert.equal(broker.tenants.get('mqtt-a'), undefined, 'tenant state gone');
  assert.ok(broker.session('keeper', 'mqtt-b'), 'the other instance keeps its session');
  assert.equal(keeperB.closed, false);
});
