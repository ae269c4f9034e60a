/**
 * Every action of the compatible endpoint, called through @alicloud/pop-core's RPCClient.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import type { TraceQueries } from '../../../src/management/traces.js';
import { waitFor } from '../../helpers/index.js';
import { ADMIN, startApi, type ApiHarness } from './harness.js';
import { call, popClient, refused } from './pop-client.js';

const I = 'mqtt-default';

async function mqttClient(t: TestContext, h: ApiHarness, clientId: string, topics: string[] = []): Promise<{ client: mqtt.MqttClient; messages: Array<{ topic: string; payload: string }> }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.mqttPort}`, { clientId, reconnectPeriod: 0, protocolVersion: 5 });
  t.after(() => client.end(true));
  const messages: Array<{ topic: string; payload: string }> = [];
  client.on('message', (topic, payload) => messages.push({ topic, payload: payload.toString('utf8') }));
  if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });
  return { client, messages };
}

test('rpc - SendMessage and BatchSendMessages (2019-12-11) reach subscribers', async (t) => {
  const h = await startApi(t);
  const sub = await mqttClient(t, h, 'GID_app@@@sub1', ['cmd/#']);
  const sent = await call(popClient(h.endpoint, ADMIN), 'SendMessage', { InstanceId: I, MqttTopic: 'cmd/dev1', Payload: 'aGVsbG8=' });
  assert.match(String(sent['MsgId']), /^[0-9a-f]{32}$/);
  await waitFor(() => sub.messages.length === 1);
  assert.deepEqual(sub.messages[0], { topic: 'cmd/dev1', payload: 'aGVsbG8=' });

  const v2019 = popClient(h.endpoint, ADMIN, '2019-12-11');
  await call(v2019, 'SendMessage', { InstanceId: I, MqttTopic: 'cmd/dev2', Payload: 'two', ReceiptId: 'r1' });
  const batch = await call(v2019, 'BatchSendMessages', {
    InstanceId: I,
    Messages: [
      { Id: 1, Payload: 'b1', ReceiptId: 'x', Topics: ['cmd/a', 'cmd/b'] },
      { Id: 2, Payload: 'b2', Topics: ['bad/+'] },
    ],
  });
  const responses = batch['Responses'] as Array<Record<string, unknown>>;
  assert.equal(responses.length, 2);
  assert.equal(responses[0]!['Id'], 1);
  assert.match(String(responses[0]!['MsgId']), /^[0-9a-f]{32}$/);
  assert.equal(responses[0]!['ErrorCode'], '');
  assert.equal(responses[1]!['ErrorCode'], 'InvalidParameter');
  await waitFor(() => sub.messages.length === 4);
  assert.deepEqual(sub.messages.slice(1).map((m) => `${m.topic}=${m.payload}`), ['cmd/dev2=two', 'cmd/a=b1', 'cmd/b=b1']);
  await refused(call(v2019, 'BatchSendMessages', { InstanceId: I }), 'MissingParameter', 400);
});

test('rpc - QuerySessionByClientId, BatchQuerySessionByClientIds, CloseConnection', async (t) => {
  const h = await startApi(t);
  const admin = popClient(h.endpoint, ADMIN);
  const dev = await mqttClient(t, h, 'GID_dev@@@d1');
  assert.equal((await call(admin, 'QuerySessionByClientId', { InstanceId: I, ClientId: 'GID_dev@@@d1' }))['OnlineStatus'], true);
  assert.equal((await call(admin, 'QuerySessionByClientId', { InstanceId: I, ClientId: 'GID_dev@@@none' }))['OnlineStatus'], false);
  const batch = await call(admin, 'BatchQuerySessionByClientIds', { InstanceId: I, ClientIdList: ['GID_dev@@@d1', 'GID_dev@@@none'] });
  assert.deepEqual(batch['OnlineStatusList'], [
    { ClientId: 'GID_dev@@@d1', OnlineStatus: true },
    { ClientId: 'GID_dev@@@none', OnlineStatus: false },
  ]);
  await refused(call(admin, 'BatchQuerySessionByClientIds', { InstanceId: I, ClientIdList: Array.from({ length: 11 }, (_, i) => `c${i}`) }), 'InvalidParameter', 400);
  await refused(call(admin, 'BatchQuerySessionByClientIds', { InstanceId: I }), 'MissingParameter', 400);

  const closed = new Promise<number | undefined>((resolve) => dev.client.once('disconnect', (packet) => resolve(packet.reasonCode)));
  const answer = await call(admin, 'CloseConnection', { InstanceId: I, ClientId: 'GID_dev@@@d1' });
  assert.deepEqual({ Code: answer['Code'], Success: answer['Success'], Message: answer['Message'] }, { Code: 200, Success: true, Message: 'operation success.' });
  assert.equal(await closed, 0x98);
  await waitFor(async () => (await call(admin, 'QuerySessionByClientId', { InstanceId: I, ClientId: 'GID_dev@@@d1' }))['OnlineStatus'] === false);
  // The 2019-12-11 version has the session queries too.
  const v2019 = popClient(h.endpoint, ADMIN, '2019-12-11');
  assert.equal((await call(v2019, 'QuerySessionByClientId', { InstanceId: I, ClientId: 'x' }))['OnlineStatus'], false);
});

test('rpc - ApplyToken, QueryToken, RevokeToken', async (t) => {
  const h = await startApi(t);
  const admin = popClient(h.endpoint, ADMIN);
  const applied = await call(admin, 'ApplyToken', { InstanceId: I, Resources: 'cmd/a,cmd/b', Actions: 'R,W', ExpireTime: Date.now() + 3_600_000 });
  const token = String(applied['Token']);
  assert.ok(token.length > 20);
  assert.equal((await call(admin, 'QueryToken', { InstanceId: I, Token: token }))['TokenStatus'], true);
  await call(admin, 'RevokeToken', { InstanceId: I, Token: token });
  assert.equal((await call(admin, 'QueryToken', { InstanceId: I, Token: token }))['TokenStatus'], false);
  await refused(call(admin, 'ApplyToken', { InstanceId: I, Resources: 'a', Actions: 'X', ExpireTime: Date.now() + 3_600_000 }), 'ParameterFieldCheckFailed', 400);
  await refused(call(admin, 'ApplyToken', { InstanceId: I, Resources: 'a', Actions: 'R' }), 'MissingParameter', 400);
  // 2019-12-11 has the token actions too.
  const v2019 = popClient(h.endpoint, ADMIN, '2019-12-11');
  const old = await call(v2019, 'ApplyToken', { InstanceId: I, Resources: 'cmd/a', Actions: 'R', ExpireTime: Date.now() + 3_600_000 });
  assert.equal((await call(v2019, 'QueryToken', { InstanceId: I, Token: String(old['Token']) }))['TokenStatus'], true);
  // A key without mq:ApplyToken is refused.
  const { key, secret } = await h.keys.create({ policies: ['AliyunMQPubOnlyAccess'] });
  await refused(call(popClient(h.endpoint, { id: key.id, secret }), 'ApplyToken', { InstanceId: I, Resources: 'a', Actions: 'W', ExpireTime: Date.now() + 3_600_000 }), 'Forbidden.RAM', 403);
});

test('rpc - CreateGroupId, ListGroupId, DeleteGroupId with tags', async (t) => {
  const h = await startApi(t);
  const admin = popClient(h.endpoint, ADMIN);
  await call(admin, 'CreateGroupId', { InstanceId: I, GroupId: 'GID_one', Tags: [{ Key: 'env', Value: 'prod' }] });
  await call(admin, 'CreateGroupId', { InstanceId: I, GroupId: 'GID_two' });
  await refused(call(admin, 'CreateGroupId', { InstanceId: I, GroupId: 'GID_one' }), 'GroupIdAlreadyExsited', 400);
  await refused(call(admin, 'CreateGroupId', { InstanceId: I, GroupId: 'bad' }), 'ParameterFieldCheckFailed', 400);
  const list = (await call(admin, 'ListGroupId', { InstanceId: I }))['Data'] as Array<Record<string, unknown>>;
  assert.deepEqual(list.map((g) => g['GroupId']), ['GID_one', 'GID_two']);
  assert.equal(typeof list[0]!['CreateTime'], 'number');
  assert.equal(list[0]!['IndependentNaming'], true);
  assert.deepEqual(list[0]!['Tags'], [{ TagKey: 'env', TagValue: 'prod' }]);
  const filtered = (await call(admin, 'ListGroupId', { InstanceId: I, Tags: [{ Key: 'env', Value: 'prod' }] }))['Data'] as Array<Record<string, unknown>>;
  assert.deepEqual(filtered.map((g) => g['GroupId']), ['GID_one']);
  await call(admin, 'DeleteGroupId', { InstanceId: I, GroupId: 'GID_one' });
  await refused(call(admin, 'DeleteGroupId', { InstanceId: I, GroupId: 'GID_one' }), 'GroupIdNotFound', 404);
  const v2019 = popClient(h.endpoint, ADMIN, '2019-12-11');
  const old = (await call(v2019, 'ListGroupId', { InstanceId: I }))['Data'] as Array<Record<string, unknown>>;
  assert.deepEqual(old.map((g) => g['GroupId']), ['GID_two']);
  assert.equal(old[0]!['Tags'], undefined);
});

test('rpc - device credentials: register, get, refresh, list, unregister', async (t) => {
  const h = await startApi(t);
  const admin = popClient(h.endpoint, ADMIN);
  const reg = (await call(admin, 'RegisterDeviceCredential', { InstanceId: I, ClientId: 'GID_cred@@@dev1' }))['DeviceCredential'] as Record<string, unknown>;
  assert.equal(reg['ClientId'], 'GID_cred@@@dev1');
  assert.equal(reg['InstanceId'], I);
  assert.match(String(reg['DeviceAccessKeyId']), /^DC\./);
  assert.match(String(reg['DeviceAccessKeySecret']), /^DC\./);
  const got = (await call(admin, 'GetDeviceCredential', { InstanceId: I, ClientId: 'GID_cred@@@dev1' }))['DeviceCredential'] as Record<string, unknown>;
  assert.deepEqual(got, reg);
  const fresh = (await call(admin, 'RefreshDeviceCredential', { InstanceId: I, ClientId: 'GID_cred@@@dev1' }))['DeviceCredential'] as Record<string, unknown>;
  assert.equal(fresh['DeviceAccessKeyId'], reg['DeviceAccessKeyId']);
  assert.notEqual(fresh['DeviceAccessKeySecret'], reg['DeviceAccessKeySecret']);
  await call(admin, 'RegisterDeviceCredential', { InstanceId: I, ClientId: 'GID_cred@@@dev2' });
  await call(admin, 'RegisterDeviceCredential', { InstanceId: I, ClientId: 'GID_cred@@@dev3' });
  const page1 = (await call(admin, 'ListDeviceCredentialClientId', { InstanceId: I, GroupId: 'GID_cred', PageSize: 2 }))['DeviceCredentialClientIdList'] as Record<string, unknown>;
  assert.deepEqual(page1['ClientIdList'], ['GID_cred@@@dev1', 'GID_cred@@@dev2']);
  assert.equal(page1['Total'], '3');
  assert.equal(page1['PageSize'], '2');
  const page2 = (await call(admin, 'ListDeviceCredentialClientId', { InstanceId: I, GroupId: 'GID_cred', PageSize: 2, NextToken: page1['NextToken'] }))[
    'DeviceCredentialClientIdList'
  ] as Record<string, unknown>;
  assert.deepEqual(page2['ClientIdList'], ['GID_cred@@@dev3']);
  await refused(call(admin, 'ListDeviceCredentialClientId', { InstanceId: I, GroupId: 'GID_cred', PageSize: 101 }), 'InvalidParameter', 400);
  await call(admin, 'UnRegisterDeviceCredential', { InstanceId: I, ClientId: 'GID_cred@@@dev1' });
  await refused(call(admin, 'GetDeviceCredential', { InstanceId: I, ClientId: 'GID_cred@@@dev1' }), 'DeviceCredentialNotFound', 404);
});

test('rpc - custom auth identities, permissions and the connect blacklist', async (t) => {
  const h = await startApi(t);
  const admin = popClient(h.endpoint, ADMIN);
  const done = { Code: 200, Success: true, Message: 'operation success.' };
  const pick = (a: Record<string, unknown>): unknown => ({ Code: a['Code'], Success: a['Success'], Message: a['Message'] });
  assert.deepEqual(pick(await call(admin, 'AddCustomAuthIdentity', { InstanceId: I, Username: 'alice', Secret: 's1', IdentityType: 'USER', SignMode: 'ORIGIN' })), done);
  await call(admin, 'AddCustomAuthIdentity', { InstanceId: I, Username: 'bob', Secret: 's2', IdentityType: 'CLIENT', SignMode: 'SIGNED', ClientId: 'GID_x@@@bob' });
  await call(admin, 'UpdateCustomAuthIdentity', { InstanceId: I, Username: 'alice', Secret: 's1b', IdentityType: 'USER', SignMode: 'SIGNED' });
  await refused(call(admin, 'AddCustomAuthIdentity', { InstanceId: I, Username: 'x', Secret: 's', IdentityType: 'ROBOT', SignMode: 'ORIGIN' }), 'InvalidParameter', 400);
  const q1 = await call(admin, 'QueryCustomAuthIdentity', { InstanceId: I, Size: 1 }, 'GET');
  const d1 = q1['Data'] as { NextToken: string; Results: Array<Record<string, unknown>> };
  assert.deepEqual(d1.Results, [{ Username: 'alice', IdentityType: 'USER', ClientId: '', Secret: 's1b', SignMode: 'SIGNED' }]);
  const d2 = (await call(admin, 'QueryCustomAuthIdentity', { InstanceId: I, Size: 1, NextToken: d1.NextToken }, 'GET'))['Data'] as typeof d1;
  assert.equal(d2.Results[0]!['Username'], 'bob');
  assert.equal(d2.NextToken, '');
  const byType = (await call(admin, 'QueryCustomAuthIdentity', { InstanceId: I, Size: 10, IdentityType: 'CLIENT' }, 'GET'))['Data'] as typeof d1;
  assert.deepEqual(byType.Results.map((r) => r['Username']), ['bob']);
  await call(admin, 'DeleteCustomAuthIdentity', { InstanceId: I, Username: 'bob', IdentityType: 'CLIENT', ClientId: 'GID_x@@@bob' });
  await refused(call(admin, 'DeleteCustomAuthIdentity', { InstanceId: I, Username: 'bob', IdentityType: 'CLIENT', ClientId: 'GID_x@@@bob' }), 'CustomAuthIdentityNotFound', 404);

  await call(admin, 'AddCustomAuthPermission', { InstanceId: I, Identity: 'alice', IdentityType: 'USER', Topic: 'cmd/#', PermitAction: 'PUB_SUB', Effect: 'ALLOW' });
  await call(admin, 'UpdateCustomAuthPermission', { InstanceId: I, Identity: 'alice', IdentityType: 'USER', Topic: 'cmd/#', PermitAction: 'SUB', Effect: 'DENY' });
  const perms = (await call(admin, 'QueryCustomAuthPermission', { InstanceId: I, Size: 10, Identity: 'alice' }, 'GET'))['Data'] as { Results: unknown[] };
  assert.deepEqual(perms.Results, [{ Identity: 'alice', IdentityType: 'USER', Topic: 'cmd/#', PermitAction: 'SUB', Effect: 'DENY' }]);
  await refused(call(admin, 'AddCustomAuthPermission', { InstanceId: I, Identity: 'alice', IdentityType: 'USER', Topic: 'cmd/#', PermitAction: 'ALL', Effect: 'ALLOW' }), 'InvalidParameter', 400);
  await call(admin, 'DeleteCustomAuthPermission', { InstanceId: I, Identity: 'alice', IdentityType: 'USER', Topic: 'cmd/#' });
  assert.deepEqual(((await call(admin, 'QueryCustomAuthPermission', { InstanceId: I, Size: 10 }, 'GET'))['Data'] as { Results: unknown[] }).Results, []);

  const victim = await mqttClient(t, h, 'GID_x@@@bad');
  const kicked = new Promise<void>((resolve) => victim.client.once('close', () => resolve()));
  await call(admin, 'AddCustomAuthConnectBlack', { InstanceId: I, ClientId: 'GID_x@@@bad' });
  await kicked;
  const black = (await call(admin, 'QueryCustomAuthConnectBlack', { InstanceId: I, Size: 10 }, 'GET'))['Data'] as { Results: unknown[] };
  assert.deepEqual(black.Results, [{ ClientId: 'GID_x@@@bad', Effect: 'DENY', PermitAction: 'CONNECT' }]);
  await call(admin, 'DeleteCustomAuthConnectBlack', { InstanceId: I, ClientId: 'GID_x@@@bad' });
  assert.deepEqual(((await call(admin, 'QueryCustomAuthConnectBlack', { InstanceId: I, Size: 10, ClientId: 'GID_x@@@bad' }, 'GET'))['Data'] as { Results: unknown[] }).Results, []);
  await refused(call(admin, 'QueryCustomAuthConnectBlack', { InstanceId: I }, 'GET'), 'MissingParameter', 400);
});

test('rpc - ListInstances, TagResources, ListTagResources, UntagResources', async (t) => {
  const h = await startApi(t);
  await h.tenancy.createInstance({ id: 'mqtt-second' });
  const admin = popClient(h.endpoint, ADMIN);
  const all = (await call(admin, 'ListInstances'))['Instances'] as Array<Record<string, unknown>>;
  assert.deepEqual(all.map((i) => i['InstanceId']), ['mqtt-default', 'mqtt-second']);
  assert.equal(typeof all[0]!['InstanceStatus'], 'number');
  assert.equal(all[0]!['KernelVersion'], 'V3.3.0');
  const tagged = await call(admin, 'TagResources', { ResourceType: 'instance', ResourceId: ['mqtt-second'], Tag: [{ Key: 'team', Value: 'iot' }, { Key: 'env', Value: 'dev' }] });
  assert.equal(tagged['Data'], true);
  const filtered = (await call(admin, 'ListInstances', { Tags: JSON.stringify([{ key: 'team', value: 'iot' }]) }))['Instances'] as Array<Record<string, unknown>>;
  assert.deepEqual(filtered.map((i) => i['InstanceId']), ['mqtt-second']);
  assert.deepEqual(filtered[0]!['MqttTags'], [{ TagKey: 'env', TagValue: 'dev' }, { TagKey: 'team', TagValue: 'iot' }]);
  const listed = await call(admin, 'ListTagResources', { ResourceType: 'instance', ResourceId: ['mqtt-second'] });
  assert.deepEqual(listed['TagResources'], [
    { ResourceId: 'mqtt-second', ResourceType: 'instance', TagKey: 'env', TagValue: 'dev' },
    { ResourceId: 'mqtt-second', ResourceType: 'instance', TagKey: 'team', TagValue: 'iot' },
  ]);
  await call(admin, 'UntagResources', { ResourceType: 'instance', ResourceId: ['mqtt-second'], TagKey: ['env'] });
  assert.equal((((await call(admin, 'ListTagResources', { ResourceType: 'instance' }))['TagResources']) as unknown[]).length, 1);
  await call(admin, 'UntagResources', { ResourceType: 'instance', ResourceId: ['mqtt-second'], All: true });
  assert.deepEqual((await call(admin, 'ListTagResources', { ResourceType: 'instance' }))['TagResources'], []);
  await refused(call(admin, 'TagResources', { ResourceType: 'instance', ResourceId: ['mqtt-nope'], Tag: [{ Key: 'a', Value: 'b' }] }), 'InstanceNotFound', 404);
  await refused(call(admin, 'TagResources', { ResourceType: 'instance', ResourceId: ['mqtt-second'] }), 'MissingParameter', 400);
  // A key scoped to one instance lists only that instance and may not tag the other.
  const scoped = await h.keys.create({
    policies: [{ Statement: [{ Effect: 'Allow', Action: ['mq:ListMqttInstance', 'mq:TagResources'], Resource: 'acs:mq:*:*:instance/mqtt-second' }] }],
  });
  const client = popClient(h.endpoint, { id: scoped.key.id, secret: scoped.secret });
  assert.deepEqual(((await call(client, 'ListInstances'))['Instances'] as Array<Record<string, unknown>>).map((i) => i['InstanceId']), ['mqtt-second']);
  await refused(call(client, 'TagResources', { ResourceType: 'instance', ResourceId: ['mqtt-default'], Tag: [{ Key: 'a', Value: 'b' }] }), 'Forbidden.RAM', 403);
});

test('rpc - trace queries: NotImplemented without traces, managed-service shapes with them', async (t) => {
  const bare = await startApi(t);
  const range = { MqttRegionId: 'cn-local', InstanceId: I, ClientId: 'c1', BeginTime: 0, EndTime: Date.now(), CurrentPage: 1, PageSize: 10 };
  await refused(call(popClient(bare.endpoint, ADMIN), 'QueryMqttTraceDevice', range), 'NotImplemented', 501);

  const record = { Time: '2026-01-01 00:00:00.000', MsgId: 'A'.repeat(32), ClientId: 'c1', Action: 'sub', ActionCode: 'mqtt.trace.action.msg.sub', ActionInfo: 'Push To Mqtt Client' };
  const seen: unknown[] = [];
  const traces: TraceQueries = {
    deviceEvents: async (q) => (seen.push(q), { total: 1, items: [{ Time: record.Time, ChannelId: 'ch1', Action: 'connect', ActionCode: 'mqtt.trace.action.connect', ActionInfo: 'accepted' }] }),
    messagesOfClient: async (q) => (seen.push(q), { total: 1, items: [record] }),
    messagePublish: async (q) => (seen.push(q), [record]),
    messageSubscribe: async (q) => (seen.push(q), { total: 1, items: [record] }),
  };
  const h = await startApi(t, { deps: { traces } });
  const admin = popClient(h.endpoint, ADMIN);
  const device = await call(admin, 'QueryMqttTraceDevice', { ...range, Reverse: true });
  assert.deepEqual({ ...device, RequestId: '' }, {
    RequestId: '',
    CurrentPage: 1,
    PageSize: 10,
    Total: 1,
    DeviceInfoList: [{ Time: record.Time, ChannelId: 'ch1', Action: 'connect', ActionCode: 'mqtt.trace.action.connect', ActionInfo: 'accepted' }],
  });
  assert.deepEqual(seen[0], { instanceId: I, beginTime: 0, endTime: range.EndTime, currentPage: 1, pageSize: 10, reverse: true, clientId: 'c1' });
  assert.deepEqual((await call(admin, 'QueryMqttTraceMessageOfClient', range))['MessageOfClientList'], [record]);
  const { ClientId: _c, CurrentPage: _p, PageSize: _s, ...publishRange } = range;
  assert.deepEqual((await call(admin, 'QueryMqttTraceMessagePublish', { ...publishRange, MsgId: record.MsgId }))['MessageTraceLists'], [record]);
  const subs = await call(admin, 'QueryMqttTraceMessageSubscribe', { ...range, MsgId: record.MsgId });
  assert.equal(subs['Total'], 1);
  assert.deepEqual(subs['MessageTraceLists'], [record]);
  await refused(call(admin, 'QueryMqttTraceDevice', { ...range, PageSize: 101 }), 'InvalidParameter', 400);
  await refused(call(admin, 'QueryMqttTraceDevice', { ...range, MqttRegionId: '' }), 'MissingParameter', 400);
});
