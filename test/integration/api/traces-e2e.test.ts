/**
 * Issue 5 end to end: a live Ferry (startFerry, tracing on), mqtt.js clients, then the four
 * QueryMqttTrace* actions through @alicloud/pop-core's RPCClient and the REST trace routes.
 * The MsgId that SendMessage and REST publish answer is the one the traces record; `ferry send`
 * and `ferry trace` show the same through the CLI.
 * Field names and codes: reference managed-service.md §4.2 (trace enums) and §6.2.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runClientCommand } from '../../../src/cli/commands/index.js';
import { startFerry } from '../../helpers/index.js';
import { connect, uniqueId } from '../mqtt/clients.js';
import { call, popClient, refused } from './pop-client.js';
import { rest } from './rest-client.js';

const KEY = { id: 'FERRYBOOT0005', secret: 'bootstrap-secret-issue-5-0123' };
const I = 'mqtt-default';
const DEVICE_FIELDS = ['Action', 'ActionCode', 'ActionInfo', 'ChannelId', 'Time'];
const MESSAGE_FIELDS = ['Action', 'ActionCode', 'ActionInfo', 'ClientId', 'MsgId', 'Time'];
const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;

type Rec = Record<string, unknown>;

function fields(records: unknown, expected: string[]): Rec[] {
  assert.ok(Array.isArray(records), `a list, got ${JSON.stringify(records)}`);
  for (const r of records as Rec[]) assert.deepEqual(Object.keys(r).sort(), expected);
  return records as Rec[];
}

const pick = (records: Rec[], ...keys: string[]): unknown[][] => records.map((r) => keys.map((k) => r[k]));

/** One sample of a metric in the text format, or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('api e2e - traces of a live broker through pop-core and REST; SendMessage/publish MsgIds are the traced ones', async (t) => {
  const ferry = await startFerry(
    t,
    { tracing: true, traceFlushIntervalMs: 20, bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret },
    { announce: null },
  );
  const endpoint = `http://127.0.0.1:${ferry.ports.http}`;
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const rpc = popClient(endpoint, KEY);
  const begin = Date.now() - 1000;

  // A subscriber, a QoS 1 publisher that then sends DISCONNECT, and a backend's SendMessage.
  const subId = uniqueId('e2esub');
  const pubId = uniqueId('e2epub');
  const sub = await connect(t, url, { clientId: subId });
  await sub.client.subscribeAsync('e2e/#', { qos: 1 });
  const pub = await connect(t, url, { clientId: pubId });
  await pub.client.publishAsync('e2e/from-device', 'hello', { qos: 1 });
  await sub.waitFor(1);
  await pub.client.endAsync();
  const sent = await call(rpc, 'SendMessage', { InstanceId: I, MqttTopic: 'e2e/from-backend', Payload: 'aGk=' });
  const sentMsgId = String(sent['MsgId']);
  assert.match(sentMsgId, /^[0-9a-f]{32}$/);
  const published = await rest(endpoint, KEY, 'POST', `/instances/${I}/messages`, { topic: 'e2e/from-rest', payload: 'r', qos: 1 });
  assert.equal(published.status, 200);
  const restMsgId = String(published.body['msgId']);
  assert.match(restMsgId, /^[0-9a-f]{32}$/);
  assert.notEqual(restMsgId, sentMsgId);
  await sub.waitFor(3);
  await ferry.traces.flush();
  const range = { MqttRegionId: 'local', InstanceId: I, BeginTime: begin, EndTime: Date.now() + 1000 };

  // QueryMqttTraceDevice: the publisher's connect and disconnect.
  const device = await call(rpc, 'QueryMqttTraceDevice', { ...range, ClientId: pubId, CurrentPage: 1, PageSize: 10 });
  assert.deepEqual([device['CurrentPage'], device['PageSize'], device['Total']], [1, 10, 2]);
  const deviceInfo = fields(device['DeviceInfoList'], DEVICE_FIELDS);
  assert.deepEqual(pick(deviceInfo, 'Action', 'ActionCode', 'ActionInfo'), [
    ['connect', 'mqtt.trace.action.connect', 'accepted'],
    ['disconnect', 'mqtt.trace.action.disconnect', 'disconnected by client'],
  ]);
  assert.match(String(deviceInfo[0]!['ChannelId']), /^[0-9a-f]{32}$/);
  assert.equal(deviceInfo[0]!['ChannelId'], deviceInfo[1]!['ChannelId']);
  assert.match(String(deviceInfo[0]!['Time']), TIME);
  const newestFirst = await call(rpc, 'QueryMqttTraceDevice', { ...range, ClientId: pubId, CurrentPage: 1, PageSize: 1, Reverse: true });
  assert.deepEqual(pick(newestFirst['DeviceInfoList'] as Rec[], 'Action'), [['disconnect']]);
  assert.equal(newestFirst['Total'], 2);

  // QueryMqttTraceMessageOfClient: pub_mqtt on the publisher, three deliveries on the subscriber.
  const ofPublisher = await call(rpc, 'QueryMqttTraceMessageOfClient', { ...range, ClientId: pubId, CurrentPage: 1, PageSize: 10 });
  assert.deepEqual([ofPublisher['CurrentPage'], ofPublisher['PageSize'], ofPublisher['Total']], [1, 10, 1]);
  const pubRecord = fields(ofPublisher['MessageOfClientList'], MESSAGE_FIELDS)[0]!;
  assert.deepEqual(pick([pubRecord], 'Action', 'ActionCode', 'ActionInfo', 'ClientId'), [
    ['pub_mqtt', 'mqtt.trace.action.msg.pub.mqtt', 'Pub From Mqtt Client', pubId],
  ]);
  const deviceMsgId = String(pubRecord['MsgId']);
  assert.match(deviceMsgId, /^[0-9a-f]{32}$/);
  const ofSubscriber = await call(rpc, 'QueryMqttTraceMessageOfClient', { ...range, ClientId: subId, CurrentPage: 1, PageSize: 10 });
  assert.deepEqual(pick(fields(ofSubscriber['MessageOfClientList'], MESSAGE_FIELDS), 'Action', 'ActionCode', 'ActionInfo', 'MsgId', 'ClientId'), [
    ['sub', 'mqtt.trace.action.msg.sub', 'Push To Mqtt Client', deviceMsgId, subId],
    ['sub', 'mqtt.trace.action.msg.sub', 'Push To Mqtt Client', sentMsgId, subId],
    ['sub', 'mqtt.trace.action.msg.sub', 'Push To Mqtt Client', restMsgId, subId],
  ]);

  // QueryMqttTraceMessagePublish / Subscribe by the device's MsgId.
  const inbound = await call(rpc, 'QueryMqttTraceMessagePublish', { ...range, MsgId: deviceMsgId });
  assert.deepEqual(pick(fields(inbound['MessageTraceLists'], MESSAGE_FIELDS), 'Action', 'ClientId', 'MsgId'), [['pub_mqtt', pubId, deviceMsgId]]);
  const outbound = await call(rpc, 'QueryMqttTraceMessageSubscribe', { ...range, MsgId: deviceMsgId, CurrentPage: 1, PageSize: 10 });
  assert.deepEqual([outbound['CurrentPage'], outbound['PageSize'], outbound['Total']], [1, 10, 1]);
  assert.deepEqual(pick(fields(outbound['MessageTraceLists'], MESSAGE_FIELDS), 'Action', 'ClientId'), [['sub', subId]]);
  const filtered = await call(rpc, 'QueryMqttTraceMessageSubscribe', { ...range, MsgId: deviceMsgId, CurrentPage: 1, PageSize: 10, ClientId: 'someone-else' });
  assert.equal(filtered['Total'], 0);

  // SendMessage's MsgId is queryable: pub_mq (server-made, no client) and its delivery.
  const sentIn = await call(rpc, 'QueryMqttTraceMessagePublish', { ...range, MsgId: sentMsgId });
  assert.deepEqual(pick(fields(sentIn['MessageTraceLists'], MESSAGE_FIELDS), 'Action', 'ActionCode', 'ActionInfo', 'ClientId', 'MsgId'), [
    ['pub_mq', 'mqtt.trace.action.msg.pub.mq', 'Pub From MQ', '', sentMsgId],
  ]);
  const sentOut = await call(rpc, 'QueryMqttTraceMessageSubscribe', { ...range, MsgId: sentMsgId.toUpperCase(), CurrentPage: 1, PageSize: 10 });
  assert.deepEqual(pick(sentOut['MessageTraceLists'] as Rec[], 'Action', 'ClientId', 'MsgId'), [['sub', subId, sentMsgId]]);

  // Refusals in the managed service's shape (not 500s).
  await refused(call(rpc, 'QueryMqttTraceMessagePublish', { ...range, MsgId: 'not-a-msg-id' }), 'InvalidParameter', 400);
  await refused(call(rpc, 'QueryMqttTraceDevice', { ...range, ClientId: pubId, CurrentPage: 1, PageSize: 101 }), 'InvalidParameter', 400);
  const { MqttRegionId: _, ...noRegion } = range;
  await refused(call(rpc, 'QueryMqttTraceDevice', { ...noRegion, ClientId: pubId, CurrentPage: 1, PageSize: 10 }), 'MissingParameter', 400);

  // The same through the REST trace routes.
  const times = `beginTime=${range.BeginTime}&endTime=${range.EndTime}`;
  const devices = await rest(endpoint, KEY, 'GET', `/instances/${I}/traces/devices/${encodeURIComponent(pubId)}?${times}`);
  assert.equal(devices.status, 200);
  assert.equal(devices.body['total'], 2);
  assert.deepEqual(pick(fields(devices.body.items, DEVICE_FIELDS), 'Action', 'ActionInfo'), [
    ['connect', 'accepted'],
    ['disconnect', 'disconnected by client'],
  ]);
  const messages = await rest(endpoint, KEY, 'GET', `/instances/${I}/traces/clients/${encodeURIComponent(subId)}/messages?${times}&pageSize=2&page=2`);
  assert.equal(messages.status, 200);
  assert.deepEqual([messages.body['total'], messages.body['page'], messages.body['pageSize']], [3, 2, 2]);
  assert.deepEqual(pick(fields(messages.body.items, MESSAGE_FIELDS), 'Action', 'MsgId'), [['sub', restMsgId]]);
  const byId = await rest(endpoint, KEY, 'GET', `/instances/${I}/traces/messages/${restMsgId}?${times}`);
  assert.equal(byId.status, 200);
  const restPublished = fields(byId.body['published'], MESSAGE_FIELDS);
  assert.deepEqual(pick(restPublished, 'Action', 'ActionCode', 'ClientId', 'MsgId'), [['pub_mq', 'mqtt.trace.action.msg.pub.mq', '', restMsgId]]);
  const deliveries = byId.body['deliveries'] as { items: Rec[]; total: number };
  assert.equal(deliveries.total, 1);
  assert.deepEqual(pick(fields(deliveries.items, MESSAGE_FIELDS), 'Action', 'ClientId'), [['sub', subId]]);
  const deviceById = await rest(endpoint, KEY, 'GET', `/instances/${I}/traces/messages/${deviceMsgId.toUpperCase()}?${times}`);
  assert.deepEqual(pick(deviceById.body['published'] as Rec[], 'Action', 'ClientId'), [['pub_mqtt', pubId]]);
  const badId = await rest(endpoint, KEY, 'GET', `/instances/${I}/traces/messages/xyz?${times}`);
  assert.equal(badId.status, 400);
  assert.equal(badId.body.error?.field, 'params.msgId');

  // Per-action API metrics: RPC requests carry their action (bounded: unknown names are "unknown"),
  // and are counted once (not also by the HTTP hook without an action).
  await refused(call(rpc, 'NoSuchAction'), 'InvalidAction.NotFound', 404);
  const metrics = await (await fetch(`${endpoint}/metrics`)).text();
  assert.equal(sample(metrics, 'ferry_api_requests_total', 'method="POST",route="/",status="200",action="SendMessage"'), 1);
  assert.equal(sample(metrics, 'ferry_api_requests_total', 'method="POST",route="/",status="200",action="QueryMqttTraceMessageSubscribe"'), 3);
  assert.equal(sample(metrics, 'ferry_api_requests_total', 'method="POST",route="/",status="400",action="QueryMqttTraceDevice"'), 2);
  assert.equal(sample(metrics, 'ferry_api_requests_total', 'method="POST",route="/",status="404",action="unknown"'), 1);
  assert.equal(sample(metrics, 'ferry_api_request_duration_seconds_count', 'method="POST",route="/",action="QueryMqttTraceDevice"'), 4);
  assert.equal(sample(metrics, 'ferry_api_requests_total', 'method="POST",route="/",status="200"'), undefined);
  assert.ok(!/^ferry_api_requests_total\{[^}]*action="NoSuchAction"/m.test(metrics));
  // REST requests keep their route label.
  assert.ok((sample(metrics, 'ferry_api_requests_total', 'method="POST",route="/api/v1/instances/:instanceId/messages",status="200"') ?? 0) >= 1);
});

test('api e2e - ferry send and ferry trace with the data directory\'s key', async (t) => {
  const ferry = await startFerry(t, { tracing: true, traceFlushIntervalMs: 20 }, { announce: null });
  const common = ['--endpoint', `http://127.0.0.1:${ferry.ports.http}`, '--data-dir', ferry.config.dataDir];
  const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const [command, ...rest] = argv;
    const code = await runClientCommand(command!, [...rest, ...common], { out: (s) => void (out += s), err: (s) => void (err += s), env: {} });
    return { code, out, err };
  };
  const subId = uniqueId('e2ecli');
  const sub = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { clientId: subId });
  await sub.client.subscribeAsync('cli/#', { qos: 1 });
  const sent = await run('send', 'cli/x', 'from-cli', '--json');
  assert.equal(sent.code, 0, sent.err);
  const msgId = (JSON.parse(sent.out) as { msgId: string }).msgId;
  await sub.waitFor(1);
  await ferry.traces.flush();

  const message = await run('trace', 'message', msgId);
  assert.equal(message.code, 0, message.err);
  assert.match(message.out, /^TIME\s+ACTION\s+CLIENT_ID\s+ACTION_INFO$/m);
  assert.match(message.out, /\spub_mq\s+Pub From MQ$/m);
  assert.match(message.out, new RegExp(`\\ssub\\s+${subId}\\s+Push To Mqtt Client$`, 'm'));
  const json = JSON.parse((await run('trace', 'message', msgId, '--json')).out) as { published: Rec[]; deliveries: { items: Rec[] } };
  assert.deepEqual(pick(json.published, 'Action', 'MsgId'), [['pub_mq', msgId]]);
  assert.deepEqual(pick(json.deliveries.items, 'ClientId'), [[subId]]);
  assert.match((await run('trace', 'messages', subId)).out, new RegExp(`\\s${msgId}\\s+sub\\s+Push To Mqtt Client$`, 'm'));
  assert.match((await run('trace', 'device', subId)).out, /\sconnect\s+accepted$/m);
  const bad = await run('trace', 'message', 'nope');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /InvalidParameter: .*\[params\.msgId\]/);
});
