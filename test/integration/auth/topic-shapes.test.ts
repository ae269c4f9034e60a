/**
 * Topic shapes MQTT allows but the managed service's parent-topic rules do not (`/TopicA`, an
 * empty level, a 200-character first level, spaces and non-ASCII), with mqtt.js: the relaxed
 * default instance takes them all (will topic included) and counts their first level as the
 * parent topic as it is; a strict instance keeps the reference's rules.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, closed, open, publish, received, refused, signature, startAuthFerry, subscribe } from './fixture.js';

const SHAPES = ['/TopicA', '/', 'a//b', `${'L'.repeat(200)}/x`, 'with space/ü'];

test('topics - the relaxed default instance accepts every topic MQTT accepts, will topic /TopicA included', async (t) => {
  const env = await startAuthFerry(t);
  for (const protocolVersion of [4, 5] as const) {
    const sub = await open(t, env.url, { clientId: `sub${protocolVersion}`, protocolVersion });
    assert.deepEqual(await subscribe(sub, ['#']), [1]);
    const wild = await open(t, env.url, { clientId: `wild${protocolVersion}`, protocolVersion });
    assert.deepEqual(await subscribe(wild, ['/+', '+/+', '/#', '+/C']), [1, 1, 1, 1]);
    wild.client.end(true);
    const willer = await open(t, env.url, { clientId: `will${protocolVersion}`, protocolVersion, will: { topic: '/TopicA', payload: Buffer.from('gone'), qos: 1, retain: false } });
    const pub = await open(t, env.url, { clientId: `pub${protocolVersion}`, protocolVersion });
    for (const topic of SHAPES) assert.equal(await publish(pub, topic, `to ${topic}`), 0, topic);
    willer.client.stream.destroy();
    const got = await received(sub, SHAPES.length + 1);
    assert.deepEqual(got.map((m) => `${m.topic}=${m.payload}`), [...SHAPES.map((s) => `${s}=to ${s}`), '/TopicA=gone']);
    sub.client.end(true);
    pub.client.end(true);
    await closed(sub);
  }
  // Parent-topic accounting takes the first level as it is, the empty one included.
  const parents = env.ferry.auth.tenancy.listParentTopics('mqtt-default').map((p) => p.name);
  for (const parent of ['', 'a', 'L'.repeat(200), 'with space']) assert.ok(parents.includes(parent), `parent ${JSON.stringify(parent)} in ${JSON.stringify(parents)}`);
});

test('topics - a strict instance keeps the reference rules: /TopicA refused as will, publish and filter', async (t) => {
  const env = await startAuthFerry(t);
  await env.ferry.auth.tenancy.createInstance({ id: 'mqtt-s', mode: 'strict' });
  await env.ferry.auth.tenancy.createGroup('mqtt-s', 'GID_dev');
  await env.ferry.auth.tenancy.createParentTopic('mqtt-s', 'TopicA');
  const sig = (clientId: string) => ({ ...signature(ADMIN.id, ADMIN.secret, 'mqtt-s', clientId), protocolVersion: 5 as const });
  assert.equal(await refused(t, env.url, { ...sig('GID_dev@@@w'), will: { topic: '/TopicA', payload: Buffer.from('x'), qos: 0, retain: false } }), 0x87);
  const c = await open(t, env.url, sig('GID_dev@@@c'));
  assert.deepEqual(await subscribe(c, ['TopicA/#', '/+', '/TopicA']), [1, 0x8f, 0x8f]);
  assert.equal(await publish(c, 'TopicA/ok'), 0);
  assert.equal(await publish(c, '/TopicA'), 0x90);
  assert.deepEqual(env.ferry.auth.tenancy.listParentTopics('mqtt-s').map((p) => p.name), ['TopicA']);
});
