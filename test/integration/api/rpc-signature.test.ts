/**
 * The compatible RPC endpoint's request signature and error framework, proven with the managed
 * service's own SDK client (@alicloud/pop-core RPCClient) and a few hand-made requests.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalQuery, percentEncode, signRpc, stringToSign } from '../../../src/api/rpc/signature.js';
import { ADMIN, startApi } from './harness.js';
import { call, popClient, refused } from './pop-client.js';

test('rpc - percent-encoding and string-to-sign follow Alibaba Cloud signature v1', () => {
  assert.equal(percentEncode("a b*c~d!e'(f)/+=&"), "a%20b%2Ac~d%21e%27%28f%29%2F%2B%3D%26");
  assert.equal(percentEncode('中'), '%E4%B8%AD');
  const params = new Map([
    ['Version', '2020-04-20'],
    ['Action', 'ListInstances'],
    ['Signature', 'ignored'],
    ['AccessKeyId', 'testid'],
  ]);
  assert.equal(canonicalQuery(params), 'AccessKeyId=testid&Action=ListInstances&Version=2020-04-20');
  assert.equal(stringToSign('get', params), 'GET&%2F&AccessKeyId%3Dtestid%26Action%3DListInstances%26Version%3D2020-04-20');
  // Alibaba Cloud's documented example (ECS DescribeRegions, secret "testsecret").
  const doc = new Map([
    ['AccessKeyId', 'testid'],
    ['Action', 'DescribeRegions'],
    ['Format', 'XML'],
    ['SignatureMethod', 'HMAC-SHA1'],
    ['SignatureNonce', '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf'],
    ['SignatureVersion', '1.0'],
    ['Timestamp', '2016-02-23T12:46:24Z'],
    ['Version', '2014-05-26'],
  ]);
  assert.equal(signRpc('GET', doc, 'testsecret'), 'OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
});

test('rpc - the SDK signs GET and POST requests that Ferry accepts', async (t) => {
  const h = await startApi(t);
  const client = popClient(h.endpoint, ADMIN);
  for (const method of ['GET', 'POST'] as const) {
    const answer = await call(client, 'ListInstances', {}, method);
    assert.match(answer.RequestId, /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    assert.equal(answer['Success'], true);
    const instances = answer['Instances'] as Array<Record<string, unknown>>;
    assert.deepEqual(instances.map((i) => i['InstanceId']), ['mqtt-default']);
  }
  // Values that need percent-encoding sign the same on both sides.
  await h.tenancy.createGroup('mqtt-default', 'GID_sign');
  const sent = await call(client, 'SendMessage', { InstanceId: 'mqtt-default', MqttTopic: 'a/b c/中', Payload: "x*y~z!'()+&=%" });
  assert.match(String(sent['MsgId']), /^[0-9a-f]{32}$/);
});

test('rpc - refused: bad signature, unknown or disabled key, stale or malformed timestamp, reused nonce', async (t) => {
  const h = await startApi(t);
  const body = await refused(call(popClient(h.endpoint, { id: ADMIN.id, secret: 'wrong-secret-000000' }), 'ListInstances'), 'SignatureDoesNotMatch', 400);
  assert.match(String(body['Message']), /server string to sign is:POST&%2F&/);
  assert.equal(body['HostId'], '127.0.0.1');
  await refused(call(popClient(h.endpoint, { id: 'NOSUCHKEY000', secret: 'whatever-secret-0000' }), 'ListInstances'), 'InvalidAccessKeyId.NotFound', 404);

  const { key, secret } = await h.keys.create({ policies: ['AliyunMQFullAccess'] });
  await h.keys.update(key.id, { status: 'Inactive' });
  await refused(call(popClient(h.endpoint, { id: key.id, secret }), 'ListInstances'), 'InvalidAccessKeyId.Inactive', 400);

  const admin = popClient(h.endpoint, ADMIN);
  const stale = new Date(Date.now() - 16 * 60 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  await refused(call(admin, 'ListInstances', { Timestamp: stale }), 'InvalidTimeStamp.Expired', 400);
  const future = new Date(Date.now() + 16 * 60 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  await refused(call(admin, 'ListInstances', { Timestamp: future }), 'InvalidTimeStamp.Expired', 400);
  await refused(call(admin, 'ListInstances', { Timestamp: '2024-01-01 10:00:00' }), 'InvalidTimeStamp.Format', 400);

  await call(admin, 'ListInstances', { SignatureNonce: 'nonce-used-once' });
  await refused(call(admin, 'ListInstances', { SignatureNonce: 'nonce-used-once' }), 'SignatureNonceUsed', 400);
  // A forged request with a fresh nonce does not burn it: the real caller can still use it.
  await refused(call(popClient(h.endpoint, { id: ADMIN.id, secret: 'wrong-secret-000000' }), 'ListInstances', { SignatureNonce: 'nonce-2' }), 'SignatureDoesNotMatch', 400);
  await call(admin, 'ListInstances', { SignatureNonce: 'nonce-2' });
});

test('rpc - refused: missing parameter, bad parameter, unknown action or version, no permission', async (t) => {
  const h = await startApi(t);
  const admin = popClient(h.endpoint, ADMIN);
  const missing = await refused(call(admin, 'SendMessage', { InstanceId: 'mqtt-default', Payload: 'x' }), 'MissingParameter', 400);
  assert.match(String(missing['Message']), /"MqttTopic"/);
  await refused(call(admin, 'SendMessage', { InstanceId: 'mqtt-default', MqttTopic: 'a/+', Payload: 'x' }), 'InvalidParameter', 400);
  await refused(call(admin, 'SendMessage', { InstanceId: 'mqtt-nope', MqttTopic: 'a/b', Payload: 'x' }), 'InstanceNotFound', 404);
  await refused(call(admin, 'NoSuchAction'), 'InvalidAction.NotFound', 404);
  await refused(call(admin, 'BatchSendMessages', { InstanceId: 'mqtt-default' }), 'InvalidAction.NotFound', 404); // 2019-12-11 only
  await refused(call(popClient(h.endpoint, ADMIN, '2018-01-01'), 'ListInstances'), 'InvalidVersion', 400);
  await refused(call(popClient(h.endpoint, ADMIN, '2019-12-11'), 'CloseConnection', { InstanceId: 'mqtt-default', ClientId: 'c' }), 'InvalidAction.NotFound', 404);

  const { key, secret } = await h.keys.create({ policies: ['AliyunMQSubOnlyAccess'] });
  const subOnly = popClient(h.endpoint, { id: key.id, secret });
  const denied = await refused(call(subOnly, 'SendMessage', { InstanceId: 'mqtt-default', MqttTopic: 'a/b', Payload: 'x' }), 'Forbidden.RAM', 403);
  assert.match(String(denied['Message']), /mq:PUB on acs:mq:\*:\*:topic\/mqtt-default\/a\/b/);
  await refused(call(subOnly, 'CreateGroupId', { InstanceId: 'mqtt-default', GroupId: 'GID_x1' }), 'Forbidden.RAM', 403);
  // A topic-scoped key may send to its topics only.
  const scoped = await h.keys.create({
    policies: [{ Statement: [{ Effect: 'Allow', Action: 'mq:PUB', Resource: 'acs:mq:*:*:topic/mqtt-default/allowed' }] }],
  });
  const scopedClient = popClient(h.endpoint, { id: scoped.key.id, secret: scoped.secret });
  await call(scopedClient, 'SendMessage', { InstanceId: 'mqtt-default', MqttTopic: 'allowed/x', Payload: 'ok' });
  await refused(call(scopedClient, 'SendMessage', { InstanceId: 'mqtt-default', MqttTopic: 'other/x', Payload: 'no' }), 'Forbidden.RAM', 403);
});

test('rpc - hand-made requests: duplicate parameter, wrong signature method, non-form POST', async (t) => {
  const h = await startApi(t);
  const dup = await fetch(`${h.endpoint}/?Action=ListInstances&Action=ListInstances&Version=2020-04-20`);
  assert.equal(dup.status, 400);
  const dupBody = (await dup.json()) as Record<string, unknown>;
  assert.equal(dupBody['Code'], 'InvalidParameter');
  const params = new Map([
    ['Action', 'ListInstances'],
    ['Version', '2020-04-20'],
    ['AccessKeyId', ADMIN.id],
    ['SignatureMethod', 'HMAC-SHA256'],
    ['SignatureVersion', '1.0'],
    ['SignatureNonce', 'n1'],
    ['Timestamp', new Date().toISOString().replace(/\.\d+Z$/, 'Z')],
  ]);
  params.set('Signature', signRpc('GET', params, ADMIN.secret));
  const res = await fetch(`${h.endpoint}/?${new URLSearchParams([...params]).toString()}`);
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as Record<string, unknown>)['Code'], 'InvalidParameter');
  const missing = await fetch(`${h.endpoint}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(missing.status, 400);
  assert.equal(((await missing.json()) as Record<string, unknown>)['Code'], 'MissingParameter');
});
