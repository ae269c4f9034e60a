/** The native REST API: authentication, schemas and 400s, OpenAPI, and every resource. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import mqtt from 'mqtt';
import { signedHeaders } from '../../../src/api/rest/signing.js';
import { waitFor } from '../../helpers/index.js';
import { ADMIN, startApi, type ApiHarness } from './harness.js';
import { rest } from './rest-client.js';

const I = '/instances/mqtt-default';

async function device(t: TestContext, h: ApiHarness, clientId: string, topics: string[] = [], clean = true): Promise<{ client: mqtt.MqttClient; messages: mqtt.IPublishPacket[] }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.mqttPort}`, { clientId, reconnectPeriod: 0, protocolVersion: 5, clean, properties: clean ? {} : { sessionExpiryInterval: 600 } });
  t.after(() => client.end(true));
  const messages: mqtt.IPublishPacket[] = [];
  client.on('message', (_topic, _payload, packet) => messages.push(packet));
  if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });
  return { client, messages };
}

test('rest - OpenAPI 3 document is served and validates', async (t) => {
  const h = await startApi(t);
  const res = await fetch(`${h.endpoint}/api/v1/openapi.json`);
  assert.equal(res.status, 200);
  const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
  assert.match(doc.openapi, /^3\./);
  const result = await new Validator().validate(doc as unknown as Parameters<Validator["validate"]>[0]);
  assert.equal(result.valid, true, JSON.stringify(result.errors));
  for (const path of ['/api/v1/instances', '/api/v1/instances/{instanceId}/messages', '/api/v1/instances/{instanceId}/clients/{clientId}/kick', '/api/v1/auth/token']) {
    assert.ok(doc.paths[path] !== undefined, `${path} documented`);
  }
});

test('rest - authentication: signatures, nonces, timestamps, bearer tokens', async (t) => {
  const h = await startApi(t);
  assert.equal((await rest(h.endpoint, null, 'GET', '/instances')).status, 401);
  const ok = await rest(h.endpoint, ADMIN, 'GET', '/instances?tag=');
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal((await rest(h.endpoint, { id: ADMIN.id, secret: 'wrong-secret-00000000' }, 'GET', '/instances')).body.error?.code, 'SignatureDoesNotMatch');
  // Replaying a signed request fails on its nonce; a stale date fails too.
  const url = `${h.endpoint}/api/v1/instances`;
  const headers = signedHeaders({ method: 'GET', path: '/api/v1/instances', query: '', body: '' }, ADMIN);
  assert.equal((await fetch(url, { headers })).status, 200);
  const replay = await fetch(url, { headers });
  assert.equal(replay.status, 401);
  assert.equal(((await replay.json()) as { error: { code: string } }).error.code, 'NonceUsed');
  const stale = signedHeaders({ method: 'GET', path: '/api/v1/instances', query: '', body: '', date: new Date(Date.now() - 20 * 60_000).toISOString() }, ADMIN);
  assert.equal(((await (await fetch(url, { headers: stale })).json()) as { error: { code: string } }).error.code, 'RequestExpired');
  // A body changed after signing does not verify.
  const signed = signedHeaders({ method: 'POST', path: '/api/v1/instances/mqtt-default/topics', query: '', body: '{"name":"aaa"}' }, ADMIN);
  const tampered = await fetch(`${h.endpoint}/api/v1/instances/mqtt-default/topics`, { method: 'POST', headers: { ...signed, 'content-type': 'application/json' }, body: '{"name":"bbb"}' });
  assert.equal(tampered.status, 401);

  const login = await rest(h.endpoint, null, 'POST', '/auth/token', { accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret, ttlSeconds: 600 });
  assert.equal(login.status, 201);
  const bearer = { bearer: String(login.body['token']) };
  assert.equal((await rest(h.endpoint, bearer, 'GET', '/auth/whoami')).body['id'], ADMIN.id);
  const viaSignature = await rest(h.endpoint, ADMIN, 'POST', '/auth/token', {});
  assert.equal(viaSignature.status, 201);
  assert.equal((await rest(h.endpoint, null, 'POST', '/auth/token', { accessKeyId: ADMIN.id, accessKeySecret: 'nope' })).status, 401);
  assert.equal((await rest(h.endpoint, bearer, 'DELETE', '/auth/token')).status, 204);
  assert.equal((await rest(h.endpoint, bearer, 'GET', '/auth/whoami')).body.error?.code, 'InvalidToken');
});

test('rest - schemas: 400 names the offending field; policies: 403', async (t) => {
  const h = await startApi(t);
  const bad = await rest(h.endpoint, ADMIN, 'POST', `${I}/messages`, { topic: 'a/b', payload: 'x', qos: 5 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error?.field, 'body.qos');
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/messages`, { payload: 'x' })).body.error?.field, 'body.topic');
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/messages`, { topic: 'a/b', payload: 'x', color: 'red' })).body.error?.field, 'body.color');
  assert.equal((await rest(h.endpoint, ADMIN, 'GET', `${I}/clients?limit=0`)).body.error?.field, 'querystring.limit');
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/messages`, { topic: 'a/+', payload: 'x' })).body.error?.field, 'body.topic');
  assert.equal((await rest(h.endpoint, ADMIN, 'GET', '/instances/mqtt-nope/clients')).status, 404);
  const { key, secret } = await h.keys.create({ policies: ['AliyunMQReadOnlyAccess'] });
  const reader = { id: key.id, secret };
  assert.equal((await rest(h.endpoint, reader, 'GET', `${I}/clients`)).status, 200);
  const denied = await rest(h.endpoint, reader, 'POST', `${I}/messages`, { topic: 'a/b', payload: 'x' });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error?.code, 'PermissionCheckFailed');
});

test('rest - publish with v5 properties, retained messages, clients, subscriptions, kick', async (t) => {
  const h = await startApi(t);
  const sub = await device(t, h, 'GID_rest@@@sub', ['cmd/#']);
  const pub = await rest(h.endpoint, ADMIN, 'POST', `${I}/messages`, {
    topic: 'cmd/one',
    payload: Buffer.from([0, 1, 2, 255]).toString('base64'),
    payloadEncoding: 'base64',
    qos: 1,
    retain: true,
    messageExpiryInterval: 3600,
    properties: { contentType: 'application/octet-stream', userProperties: { a: '1' }, responseTopic: 'reply/x', correlationData: Buffer.from('c1').toString('base64') },
  });
  assert.equal(pub.status, 200, JSON.stringify(pub.body));
  assert.match(String(pub.body['msgId']), /^[0-9a-f]{32}$/);
  await waitFor(() => sub.messages.length === 1);
  const packet = sub.messages[0]!;
  assert.deepEqual([...packet.payload as Buffer], [0, 1, 2, 255]);
  assert.equal(packet.qos, 1);
  assert.equal(packet.properties?.contentType, 'application/octet-stream');
  assert.deepEqual({ ...packet.properties?.userProperties }, { a: '1' });
  assert.equal(packet.properties?.responseTopic, 'reply/x');

  const retained = await rest(h.endpoint, ADMIN, 'GET', `${I}/retained?filter=cmd/%23`);
  assert.deepEqual(retained.body.items?.map((m) => m['topic']), ['cmd/one']);
  const one = await rest(h.endpoint, ADMIN, 'GET', `${I}/retained/cmd/one`);
  assert.equal(one.body['payload'], Buffer.from([0, 1, 2, 255]).toString('base64'));
  assert.equal((await rest(h.endpoint, ADMIN, 'DELETE', `${I}/retained/cmd/one`)).status, 204);
  assert.equal((await rest(h.endpoint, ADMIN, 'GET', `${I}/retained/cmd/one`)).status, 404);
  assert.equal(sub.messages.length, 1, 'deleting a retained message publishes nothing');

  await device(t, h, 'GID_rest@@@a', ['x/1', 'x/2']);
  const persistent = await device(t, h, 'GID_rest@@@b', ['x/3'], false);
  const clients = await rest(h.endpoint, ADMIN, 'GET', `${I}/clients?prefix=GID_rest&limit=2`);
  assert.deepEqual(clients.body.items?.map((c) => c['clientId']), ['GID_rest@@@a', 'GID_rest@@@b']);
  assert.equal(clients.body['total'], 3);
  const rest2 = await rest(h.endpoint, ADMIN, 'GET', `${I}/clients?prefix=GID_rest&limit=2&cursor=${String(clients.body['next'])}`);
  assert.deepEqual(rest2.body.items?.map((c) => c['clientId']), ['GID_rest@@@sub']);
  const detail = await rest(h.endpoint, ADMIN, 'GET', `${I}/clients/${encodeURIComponent('GID_rest@@@a')}`);
  assert.equal(detail.body['connected'], true);
  assert.equal(detail.body['protocolVersion'], 5);
  assert.deepEqual((detail.body['subscriptionList'] as Array<Record<string, unknown>>).map((s) => s['topicFilter']), ['x/1', 'x/2']);
  const subs = await rest(h.endpoint, ADMIN, 'GET', `${I}/subscriptions?topicFilter=x/3`);
  assert.deepEqual(subs.body.items?.map((s) => s['clientId']), ['GID_rest@@@b']);

  const gone = new Promise<number | undefined>((resolve) => persistent.client.once('disconnect', (p) => resolve(p.reasonCode)));
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/clients/${encodeURIComponent('GID_rest@@@b')}/kick`)).status, 200);
  assert.equal(await gone, 0x98);
  await waitFor(async () => (await rest(h.endpoint, ADMIN, 'GET', `${I}/clients?connected=false`)).body.items?.some((c) => c['clientId'] === 'GID_rest@@@b'));
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/clients/nobody/kick`)).status, 404);
});

test('rest - instances, topics, groups, tags, access keys', async (t) => {
  const h = await startApi(t);
  const created = await rest(h.endpoint, ADMIN, 'POST', '/instances', { instanceId: 'mqtt-strict1', mode: 'strict' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body['mode'], 'strict');
  assert.equal((await rest(h.endpoint, ADMIN, 'PATCH', '/instances/mqtt-strict1', { name: 'factory' })).body['name'], 'factory');
  assert.equal((await rest(h.endpoint, ADMIN, 'PUT', '/instances/mqtt-strict1/tags', { tags: [{ key: 'site', value: 'a' }] })).status, 200);
  assert.deepEqual((await rest(h.endpoint, ADMIN, 'GET', '/instances?tag=site=a')).body.items?.map((i) => i['instanceId']), ['mqtt-strict1']);
  assert.equal((await rest(h.endpoint, ADMIN, 'PUT', '/instances/mqtt-strict1/tags', { tags: [{ key: 'line', value: '2' }] })).status, 200);
  const untagged = await rest(h.endpoint, ADMIN, 'DELETE', '/instances/mqtt-strict1/tags?keys=site');
  assert.equal(untagged.status, 200, 'answers the instance');
  assert.deepEqual(untagged.body['tags'], [{ key: 'line', value: '2' }]);
  assert.equal((await rest(h.endpoint, ADMIN, 'GET', '/instances?tag=site=a')).body['total'], 0);
  assert.deepEqual((await rest(h.endpoint, ADMIN, 'DELETE', '/instances/mqtt-strict1/tags?all=true')).body['tags'], []);
  assert.deepEqual((await rest(h.endpoint, ADMIN, 'GET', '/instances/mqtt-strict1')).body['tags'], []);
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', '/instances/mqtt-strict1/messages', { topic: 'plant/x', payload: 'p' })).status, 400, 'strict: parent topic must exist');
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', '/instances/mqtt-strict1/topics', { name: 'plant' })).status, 201);
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', '/instances/mqtt-strict1/messages', { topic: 'plant/x', payload: 'p' })).status, 200);
  assert.deepEqual((await rest(h.endpoint, ADMIN, 'GET', '/instances/mqtt-strict1/topics')).body.items?.map((x) => x['name']), ['plant']);
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', '/instances/mqtt-strict1/groups', { groupId: 'GID_plant', tags: [{ key: 'k', value: 'v' }] })).status, 201);
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', '/instances/mqtt-strict1/groups', { groupId: 'GID_plant' })).status, 409);
  assert.deepEqual((await rest(h.endpoint, ADMIN, 'GET', '/instances/mqtt-strict1/groups?tag=k=v')).body.items?.map((g) => g['groupId']), ['GID_plant']);
  assert.equal((await rest(h.endpoint, ADMIN, 'DELETE', '/instances/mqtt-strict1/groups/GID_plant')).status, 204);
  assert.equal((await rest(h.endpoint, ADMIN, 'DELETE', '/instances/mqtt-strict1/topics/plant')).status, 204);
  assert.equal((await rest(h.endpoint, ADMIN, 'DELETE', '/instances/mqtt-strict1')).status, 204);
  assert.equal((await rest(h.endpoint, ADMIN, 'GET', '/instances/mqtt-strict1')).status, 404);

  const key = await rest(h.endpoint, ADMIN, 'POST', '/access-keys', { description: 'backend', policies: ['AliyunMQPubOnlyAccess'] });
  assert.equal(key.status, 201);
  const id = String(key.body['id']);
  assert.equal(typeof key.body['secret'], 'string');
  const listed = await rest(h.endpoint, ADMIN, 'GET', '/access-keys');
  assert.ok(listed.body.items?.some((k) => k['id'] === id && k['secret'] === undefined));
  const one = await rest(h.endpoint, ADMIN, 'GET', `/access-keys/${id}`);
  assert.equal(one.status, 200);
  assert.deepEqual([one.body['id'], one.body['status'], one.body['secret']], [id, 'Active', undefined]);
  assert.equal((await rest(h.endpoint, ADMIN, 'GET', '/access-keys/NOSUCHKEY')).status, 404);
  assert.equal((await rest(h.endpoint, ADMIN, 'PATCH', `/access-keys/${id}`, { status: 'Inactive' })).body['status'], 'Inactive');
  assert.equal((await rest(h.endpoint, { id, secret: String(key.body['secret']) }, 'GET', '/instances')).status, 401);
  assert.equal((await rest(h.endpoint, ADMIN, 'PATCH', `/access-keys/${id}`, { policies: [{ Statement: [{ Effect: 'Maybe', Action: 'x', Resource: '*' }] }] })).body.error?.field, 'body.policies.0');
  assert.equal((await rest(h.endpoint, ADMIN, 'DELETE', `/access-keys/${id}`)).status, 204);
});

test('rest - tokens, device credentials, custom identities, permissions, blacklist, traces', async (t) => {
  const h = await startApi(t);
  const applied = await rest(h.endpoint, ADMIN, 'POST', `${I}/tokens`, { resources: ['cmd/a'], actions: 'RW', expireTime: Date.now() + 3_600_000 });
  assert.equal(applied.status, 201, JSON.stringify(applied.body));
  const token = String(applied.body['token']);
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/tokens/query`, { token })).body['valid'], true);
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/tokens/revoke`, { token })).status, 204);
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/tokens/query`, { token })).body['valid'], false);

  const cred = await rest(h.endpoint, ADMIN, 'POST', `${I}/device-credentials`, { clientId: 'GID_cred@@@d1' });
  assert.equal(cred.status, 201);
  assert.match(String(cred.body['DeviceAccessKeyId']), /^DC\./);
  const refreshed = await rest(h.endpoint, ADMIN, 'POST', `${I}/device-credentials/${encodeURIComponent('GID_cred@@@d1')}/refresh`);
  assert.notEqual(refreshed.body['DeviceAccessKeySecret'], cred.body['DeviceAccessKeySecret']);
  assert.deepEqual((await rest(h.endpoint, ADMIN, 'GET', `${I}/device-credentials?groupId=GID_cred`)).body.items, ['GID_cred@@@d1']);
  assert.equal((await rest(h.endpoint, ADMIN, 'DELETE', `${I}/device-credentials/${encodeURIComponent('GID_cred@@@d1')}`)).status, 204);
  assert.equal((await rest(h.endpoint, ADMIN, 'GET', `${I}/device-credentials/${encodeURIComponent('GID_cred@@@d1')}`)).status, 404);

  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/identities`, { username: 'carol', identityType: 'USER', secret: 's', signMode: 'ORIGIN' })).status, 201);
  assert.equal((await rest(h.endpoint, ADMIN, 'PUT', `${I}/identities`, { username: 'carol', identityType: 'USER', secret: 's2', signMode: 'SIGNED' })).status, 200);
  assert.deepEqual((await rest(h.endpoint, ADMIN, 'GET', `${I}/identities?username=carol`)).body.items?.map((x) => x['SignMode']), ['SIGNED']);
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/identities`, { username: 'carol', identityType: 'ROBOT', secret: 's', signMode: 'ORIGIN' })).body.error?.field, 'body.identityType');
  assert.equal((await rest(h.endpoint, ADMIN, 'POST', `${I}/permissions`, { identity: 'carol', identityType: 'USER', topic: 'cmd/#', permitAction: 'PUB', effect: 'ALLOW' })).status, 201);
  assert.equal((await rest(h.endpoint, ADMIN, 'GET', `${I}/permissions?identity=carol`)).body['total'], 1);
  assert.equal((await rest(h.endpoint, ADMIN, 'PUT', `${I}/permissions`, { identity: 'carol', identityType: 'USER', topic: 'cmd/#', permitAction: 'SUB', effect: 'DENY' })).status, 200);
  assert.deepEqual(
    (await rest(h.endpoint, ADMIN, 'GET', `${I}/permissions?identity=carol`)).body.items?.map((x) => [x['PermitAction'], x['Effect']]),
    [['SUB', 'DENY']],
  );
  assert.equal((await rest(h.endpoint, ADMIN, 'DELETE', `${I}/permissions?identity=carol&identityType=USER&topic=${encodeURIComponent('cmd/#')}`)).status, 204);
  assert.equal((await rest(h.endpoint, ADMIN, 'DELETE', `${I}/identities?username=carol&identityType=USER`)).status, 204);
  assert.equal((await rest(h.endpoint, ADMIN, 'PUT', `${I}/blacklist/evil`)).status, 204);
  assert.deepEqual((await rest(h.endpoint, ADMIN, 'GET', `${I}/blacklist`)).body.items, [{ ClientId: 'evil', Effect: 'DENY', PermitAction: 'CONNECT' }]);
  assert.equal((await rest(h.endpoint, ADMIN, 'DELETE', `${I}/blacklist/evil`)).status, 204);

  const trace = await rest(h.endpoint, ADMIN, 'GET', `${I}/traces/devices/c1?beginTime=0&endTime=${Date.now()}`);
  assert.equal(trace.status, 501);
  assert.equal(trace.body.error?.code, 'NotImplemented');
});
